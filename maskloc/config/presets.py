"""Presets: named starting points for a run (a sentence and the settings it changes), the one
way to change a config (`override`, which validates again), and the classroom's alpha sweep."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ..utils.messages import N_
from .catalogue import BACKBONES
from .sections import RunConfig
from .settings import SETTINGS, SettingError


@dataclass(frozen=True)
class Preset:
    """A named starting point: a sentence for the user and the settings it changes."""

    description: str
    changes: Mapping[str, Any]


PRESETS: dict[str, Preset] = {
    "classroom": Preset(
        N_(
            "seconds per run on a laptop CPU: 128 px, frozen MobileNetV2 stem with cached "
            "features, the last blocks and the heads train (alpha still matters: both heads "
            "share them); no face-presence output (the lesson is class vs box)"
        ),
        {
            "data.image_size": 128,
            "model.presence": False,  # a third of the work: the no-face windows
            "model.name": "mobilenet_v2",
            "model.frozen_blocks": 14,
            "train.epochs": 12,
            "train.patience": 12,
            "train.lr_backbone": 1e-3,
            "train.cache_stem": True,
            "train.cached_variants": 6,
        },
    ),
    "full": Preset(
        N_("fine-tune the whole MobileNetV2 at 224 px: best quality, minutes per epoch on a CPU"),
        {},
    ),
    "notebook": Preset(
        N_("the course notebook's own CNN, MSE box loss and pooled heads, for comparison"),
        {
            "model.name": "own_cnn",
            "model.box_head": "gap",
            "model.dropout": 0.3,
            "train.box_loss": "mse",
            "train.alpha": 0.5,
            "train.lr_backbone": 1e-3,
        },
    ),
    # Measured on 20 re-labelled pictures (bench/own_pictures.py): held-out IoU 0.50 -> 0.64.
    "finetune": Preset(
        N_(
            "10-50 own pictures on top of a trained model (start from a checkpoint): the whole "
            "trunk frozen and run once per picture and augmented variant, only the heads train "
            "(seconds)"
        ),
        {
            "model.freeze_backbone": True,
            "train.epochs": 25,
            "train.patience": 25,
            "train.batch_size": 4,
            "train.lr_box_head": 2e-3,
            "train.cache_stem": True,
            "train.cached_variants": 8,
        },
    ),
}


def default_pretrained(model_name: str) -> bool:
    """Whether a model starts from ImageNet weights unless told otherwise (own_cnn has none)."""
    facts = BACKBONES.get(model_name)
    return facts is not None and facts.imagenet


def override(base: RunConfig, changes: Mapping[str, Any]) -> RunConfig:
    """A new, validated RunConfig: `base` with {"section.field": value} changes applied.

    Choosing another model without saying whether it is pretrained takes that model's default
    (own_cnn: no ImageNet weights; the others: ImageNet)."""
    raw = base.to_dict()
    for path, value in changes.items():
        section, _, name = path.partition(".")
        if path not in SETTINGS:
            raise SettingError(
                N_("unknown setting {path}; known: {known}"),
                path=repr(path),
                known=", ".join(SETTINGS),
            )
        raw[section][name] = value
    if "model.name" in changes and "model.pretrained" not in changes:
        raw["model"]["pretrained"] = default_pretrained(raw["model"]["name"])
    return RunConfig.from_dict(raw)


# The alpha sweep a class sees by default: both ends (alpha 0 trains only the class head's loss,
# alpha 1 only the box head's) and three steps between.
SWEEP_ALPHAS = (0.0, 0.25, 0.5, 0.75, 1.0)


def preset(name: str) -> RunConfig:
    """A fresh RunConfig for a named preset (see PRESETS)."""
    if name not in PRESETS:
        raise SettingError(
            N_("unknown preset {name}; choose one of {known}"),
            name=repr(name),
            known=", ".join(PRESETS),
        )
    return override(RunConfig(), PRESETS[name].changes)
