"""The multi-task loss: (1 - alpha) * class loss + alpha * box loss, reported part by part."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn
from torchvision.ops import (
    complete_box_iou_loss,
    distance_box_iou_loss,
    generalized_box_iou_loss,
)

from .config import BOX_LOSSES


def box_loss(pred: torch.Tensor, target: torch.Tensor, kind: str) -> torch.Tensor:
    """Mean box loss over the batch for normalised xyxy boxes."""
    if kind == "mse":
        return F.mse_loss(pred, target)
    if kind == "l1":
        return F.l1_loss(pred, target)
    if kind == "giou":
        return generalized_box_iou_loss(pred, target, reduction="mean")
    if kind == "diou":
        return distance_box_iou_loss(pred, target, reduction="mean")
    if kind == "ciou":
        return complete_box_iou_loss(pred, target, reduction="mean")
    if kind == "l1_giou":
        # L1 pulls the corners early; GIoU is scale-free and matches the IoU metric late.
        return 2.0 * F.l1_loss(pred, target) + generalized_box_iou_loss(
            pred, target, reduction="mean"
        )
    raise ValueError(f"unknown box loss {kind!r}; choose one of {BOX_LOSSES}")


class LocalizationLoss(nn.Module):
    """alpha trades classification against box regression; class weights counter imbalance."""

    def __init__(
        self,
        alpha: float,
        box_kind: str = "l1_giou",
        class_weights: torch.Tensor | None = None,
    ) -> None:
        super().__init__()
        if not 0.0 <= alpha <= 1.0:
            raise ValueError(f"alpha must be within [0, 1], got {alpha}")
        self.alpha, self.box_kind = alpha, box_kind
        self.register_buffer("class_weights", class_weights)

    def forward(
        self,
        outputs: dict[str, torch.Tensor],
        boxes: torch.Tensor,
        labels: torch.Tensor,
    ) -> dict[str, torch.Tensor]:
        class_part = F.cross_entropy(outputs["logits"], labels, weight=self.class_weights)
        box_part = box_loss(outputs["boxes"].float(), boxes, self.box_kind)
        total = (1.0 - self.alpha) * class_part + self.alpha * box_part
        return {"loss": total, "class_loss": class_part, "box_loss": box_part}


def balanced_class_weights(labels: torch.Tensor, num_classes: int) -> torch.Tensor:
    """n / (k * count) per present class (sklearn's 'balanced'); absent classes get weight 0.

    Weights are normalised to mean 1 over present classes so alpha keeps its meaning.
    """
    counts = torch.bincount(labels, minlength=num_classes).double()
    present = counts > 0
    weights = torch.zeros(num_classes, dtype=torch.float64)
    weights[present] = counts.sum() / (present.sum() * counts[present])
    weights[present] /= weights[present].mean()
    return weights.float()
