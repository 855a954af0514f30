"""Several trained models answering as one: boxes and class scores averaged.

Why: on a few hundred training images single models plateau, and models from other seeds or
backbones make partly independent mistakes; averaging cancels part of them (see the model card).
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn


class EnsembleModel(nn.Module):
    """Same input contract as LocalizationModel: float images in [0, 1] -> {"logits", "boxes"}."""

    def __init__(self, members: Sequence[nn.Module]) -> None:
        super().__init__()
        if len(members) < 2:
            raise ValueError("an ensemble needs at least two members")
        self.members = nn.ModuleList(members)

    def forward(self, images: torch.Tensor) -> dict[str, torch.Tensor]:
        outputs = [member(images) for member in self.members]
        keys = ["logits", "boxes"] + (["presence"] if all("presence" in o for o in outputs) else [])
        return {key: torch.stack([out[key].float() for out in outputs]).mean(dim=0) for key in keys}
