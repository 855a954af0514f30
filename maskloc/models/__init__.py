"""Models: the backbone registry, the heads, `LocalizationModel` (images in, class logits, a box
and a face-presence logit out), EfficientNet-Lite0, offline ImageNet weights, ensembles, and
checkpoints (plain dicts, loaded with weights_only=True)."""

from ..utils.lazy import lazy_exports

__all__, __getattr__, __dir__ = lazy_exports(
    __name__,
    {
        "backbones": ("BACKBONES",),
        "checkpoint": ("CheckpointError", "load_model", "read_checkpoint", "save_checkpoint"),
        "ensemble": ("EnsembleModel",),
        "localization": ("LocalizationModel", "model_summary"),
        "weights": ("WeightsUnavailable", "pretrained_available"),
    },
)
