"""The multi-task loss, reported part by part:

    (1 - alpha) * class loss + alpha * box loss + presence_weight * presence loss

alpha trades classification against box regression. The class and box terms are averaged over
the images that hold a face only (label >= 0): a no-face window (label NO_FACE_LABEL = -1) has no
class and no box to learn. The presence term (binary cross-entropy of the face-present logit
against "this image holds a face") counts every image, so it is what no-face windows teach.
Without a presence output (old checkpoints) the term is 0.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn
from torchvision.ops import (
    complete_box_iou_loss,
    distance_box_iou_loss,
    generalized_box_iou_loss,
)

from ..config.catalogue import BOX_LOSSES


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
    """alpha trades classification against box regression; class weights counter imbalance;
    presence_weight scales the face-present term (see the module docstring)."""

    def __init__(
        self,
        alpha: float,
        box_kind: str = "l1_giou",
        class_weights: torch.Tensor | None = None,
        presence_weight: float = 0.5,
    ) -> None:
        super().__init__()
        if not 0.0 <= alpha <= 1.0:
            raise ValueError(f"alpha must be within [0, 1], got {alpha}")
        if presence_weight < 0.0:
            raise ValueError(f"presence_weight must be >= 0, got {presence_weight}")
        self.alpha, self.box_kind, self.presence_weight = alpha, box_kind, presence_weight
        self.register_buffer("class_weights", class_weights)

    def forward(
        self,
        outputs: dict[str, torch.Tensor],
        boxes: torch.Tensor,
        labels: torch.Tensor,
    ) -> dict[str, torch.Tensor]:
        face = labels >= 0
        if bool(face.all()):
            class_part = F.cross_entropy(outputs["logits"], labels, weight=self.class_weights)
            box_part = box_loss(outputs["boxes"].float(), boxes, self.box_kind)
        elif bool(face.any()):
            class_part = F.cross_entropy(
                outputs["logits"][face], labels[face], weight=self.class_weights
            )
            box_part = box_loss(outputs["boxes"][face].float(), boxes[face], self.box_kind)
        else:  # a batch of no-face windows only: nothing to classify or box
            class_part = outputs["logits"].sum() * 0.0
            box_part = outputs["boxes"].float().sum() * 0.0
        total = (1.0 - self.alpha) * class_part + self.alpha * box_part
        parts = {"class_loss": class_part, "box_loss": box_part}
        if "presence" in outputs:
            presence_part = F.binary_cross_entropy_with_logits(
                outputs["presence"].float(), face.float()
            )
            total = total + self.presence_weight * presence_part
            parts["presence_loss"] = presence_part
        return {"loss": total, **parts}


def balanced_class_weights(labels: torch.Tensor, num_classes: int) -> torch.Tensor:
    """n / (k * count) per present class (sklearn's 'balanced'); absent classes get weight 0.
    No-face labels (< 0) are not a class and are not counted.

    Weights are normalised to mean 1 over present classes so alpha keeps its meaning.
    """
    counts = torch.bincount(labels[labels >= 0], minlength=num_classes).double()
    present = counts > 0
    weights = torch.zeros(num_classes, dtype=torch.float64)
    weights[present] = counts.sum() / (present.sum() * counts[present])
    weights[present] /= weights[present].mean()
    return weights.float()
