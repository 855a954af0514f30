"""Settings: one declaration per setting (`option`), the sections that hold them (`DataConfig`,
`ModelConfig`, `TrainConfig`, `RunConfig`), presets, the values a setting may take, and where
things are (every MASKLOC_* environment variable is read in `paths`). Light: no torch."""

from .catalogue import AUGMENTATIONS, BACKBONES, BackboneFacts
from .paths import (
    ENVIRONMENT,
    bundled_checkpoint,
    default_data_root,
    runs_root,
    scheduler_address,
    user_data_root,
)
from .presets import PRESETS, SWEEP_ALPHAS, Preset, override, preset
from .sections import DataConfig, ModelConfig, RunConfig, TrainConfig
from .settings import SETTINGS, Phrase, Setting, SettingError

__all__ = [
    "AUGMENTATIONS",
    "BACKBONES",
    "ENVIRONMENT",
    "PRESETS",
    "SETTINGS",
    "SWEEP_ALPHAS",
    "BackboneFacts",
    "DataConfig",
    "ModelConfig",
    "Phrase",
    "Preset",
    "RunConfig",
    "Setting",
    "SettingError",
    "TrainConfig",
    "bundled_checkpoint",
    "default_data_root",
    "override",
    "preset",
    "runs_root",
    "scheduler_address",
    "user_data_root",
]
