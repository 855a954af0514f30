"""maskloc: single-object localization (one class, one box per image) for teaching and for use."""

__version__ = "0.1.0"
