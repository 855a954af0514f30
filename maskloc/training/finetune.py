"""Starting a run from a trained checkpoint (`TrainConfig.init_from`) instead of ImageNet.

The run takes the checkpoint's architecture, input size, normalisation, weights and classes; the
training settings (what is frozen, learning rates, epochs) stay the run's own. A class the new
data has and the checkpoint lacks gets a new output row in the class head (logged), so the old
classes keep their ids and their learned weights.
"""

from __future__ import annotations

import logging
from typing import Any

from ..config.sections import RunConfig
from ..models.checkpoint import starting_checkpoint

logger = logging.getLogger(__name__)

# Taken from the checkpoint: they define the network the weights belong to.
ARCHITECTURE_FIELDS = ("name", "box_format", "box_head", "dropout")


def adopt_checkpoint(config: RunConfig) -> dict[str, Any] | None:
    """Set the run's architecture and input size to those of the checkpoint it starts from, and
    return that checkpoint (None: the run starts from ImageNet, or from random weights)."""
    if not config.train.init_from:
        return None
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
        logger.info(
            "image size %d -> %d (the checkpoint's)", config.data.image_size, payload["image_size"]
        )
    config.data.image_size = int(payload["image_size"])
    return payload
