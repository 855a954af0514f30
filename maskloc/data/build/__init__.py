"""The bundled dataset's builder: one square crop per usable face of the raw Mask Wearing photos,
no-face windows for face presence, a photo-grouped test split, and the datasheet that describes
the build."""

from ...utils.lazy import lazy_exports

__all__, __getattr__, __dir__ = lazy_exports(
    __name__,
    {"builder": ("build_dataset",), "records": ("BuildReport", "BuildSettings")},
)
