"""Starting a run from a trained checkpoint (`TrainConfig.init_from`) instead of ImageNet.

The run takes the checkpoint's architecture, input size, normalisation, weights and classes; the
training settings (what is frozen, learning rates, epochs) stay the run's own. A class the new
data has and the checkpoint lacks gets a new output row in the class head (logged), so the old
classes keep their ids and their learned weights.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch

from .checkpoint import CheckpointError, read_checkpoint
from .config import ModelConfig, RunConfig
from .messages import N_
from .models import LocalizationModel

log = logging.getLogger(__name__)

# Taken from the checkpoint: they define the network the weights belong to.
ARCHITECTURE_FIELDS = ("name", "box_format", "box_head", "dropout")


def starting_checkpoint(path: str | Path) -> dict[str, Any]:
    """The checkpoint to start from; CheckpointError when it is an ensemble or incomplete."""
    payload = read_checkpoint(Path(path))
    if "members" in payload:
        raise CheckpointError(
            N_("{path}: an ensemble cannot be fine-tuned; start from one member"), path=path
        )
    missing = {"state_dict", "model_config", "class_names", "image_size", "mean", "std"}
    missing -= payload.keys()
    if missing:
        raise CheckpointError(
            N_("{path}: not a complete checkpoint (no {missing})"),
            path=path,
            missing=", ".join(sorted(missing)),
        )
    return payload


def adopt_checkpoint(config: RunConfig) -> dict[str, Any]:
    """Set the run's architecture and input size to the checkpoint's; returns the checkpoint."""
    payload = starting_checkpoint(config.train.init_from)
    saved = payload["model_config"]
    for name in ARCHITECTURE_FIELDS:
        if name in saved:
            setattr(config.model, name, saved[name])
    # A checkpoint from before the face-presence output has no presence head: the run still
    # gets one when it asks (it starts fresh, learned from the data's no-face windows).
    config.model.presence = config.model.presence or bool(saved.get("presence", False))
    config.model.pretrained = False  # the checkpoint's weights replace ImageNet's
    if config.data.image_size != int(payload["image_size"]):
        log.info(
            "image size %d -> %d (the checkpoint's)", config.data.image_size, payload["image_size"]
        )
    config.data.image_size = int(payload["image_size"])
    return payload


def merged_class_names(kept: Sequence[str], found: Sequence[str]) -> list[str]:
    """The checkpoint's classes keep their ids; classes only the data has follow."""
    return [*kept, *(name for name in found if name not in kept)]


def model_from_checkpoint(
    config: ModelConfig, payload: dict[str, Any], class_names: Sequence[str]
) -> LocalizationModel:
    """The checkpoint's network with `config`'s freezing, one class output per name; rows of new
    classes start from zero weights (the old classes' answers are unchanged at the start)."""
    old_names = list(payload["class_names"])
    new_names = [name for name in class_names if name not in old_names]
    if list(class_names[: len(old_names)]) != old_names:
        raise ValueError(f"class order {list(class_names)} does not start with {old_names}")
    config.num_classes = len(class_names)
    model = LocalizationModel(config, tuple(payload["mean"]), tuple(payload["std"]))
    state = dict(payload["state_dict"])
    target = model.state_dict()
    for key, tensor in state.items():
        wanted = target.get(key)
        if wanted is not None and wanted.shape != tensor.shape and key.startswith("class_head"):
            grown = torch.zeros_like(wanted)
            grown[: tensor.shape[0]] = tensor
            state[key] = grown
    if model.presence_head is not None and not any(k.startswith("presence_head.") for k in state):
        state.update({k: v for k, v in target.items() if k.startswith("presence_head.")})
        log.info("the checkpoint has no face-presence head: it starts fresh")
    try:
        model.load_state_dict(state, strict=True)
    except RuntimeError as error:
        raise CheckpointError(
            N_("checkpoint does not fit its own architecture ({error})"), error=error
        ) from error
    if new_names:
        log.warning(
            "new class(es) %s: added %d output row(s) to the class head (checkpoint had %s)",
            ", ".join(new_names),
            len(new_names),
            ", ".join(old_names),
        )
    return model


def stem_identity(path: str) -> str:
    """Names the starting weights for the stem-feature memo (a rewritten file is new weights)."""
    if not path:
        return "imagenet"
    file = Path(path)
    return f"{file.resolve()}:{file.stat().st_mtime_ns}" if file.exists() else path
