"""One pass of a model over a loader (evaluation, scoring a split, test-time flips) and what
came out of it, image by image; `selection_score` says which evaluation is the best."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

import torch
from torch.utils.data import DataLoader

from ..models.localization import LocalizationModel
from ..utils.metrics import (
    choose_presence_threshold,
    localization_metrics,
    paired_iou,
    presence_metrics,
)
from .device import autocast, to_float_images
from .losses import LocalizationLoss


@dataclass
class Predictions:
    """Everything a loader's pass produced, on CPU, in loader order.

    `presence` holds face-present probabilities when the model has that output; rows whose label
    is negative are no-face images (their boxes and classes mean nothing).
    """

    boxes: torch.Tensor
    probabilities: torch.Tensor
    target_boxes: torch.Tensor
    labels: torch.Tensor
    losses: dict[str, float] = field(default_factory=dict)
    presence: torch.Tensor | None = None

    @property
    def predicted(self) -> torch.Tensor:
        return self.probabilities.argmax(dim=1)

    def ious(self) -> torch.Tensor:
        return paired_iou(self.boxes, self.target_boxes)

    def metrics(self, presence_threshold: float | None = None) -> dict[str, Any]:
        """Box and class metrics over the face images; with a presence output, face recall and
        no-face rejection at `presence_threshold` (chosen on these images when None and they
        include no-face ones: that is how a validation pass picks the threshold)."""
        face = self.labels.numpy() >= 0
        scores = localization_metrics(
            self.ious().numpy()[face],
            self.labels.numpy()[face],
            self.predicted.numpy()[face],
            self.probabilities.shape[1],
        )
        if self.presence is not None:
            presence = self.presence.numpy()
            threshold = presence_threshold
            if threshold is None and face.any() and not face.all():
                threshold = choose_presence_threshold(presence, face)
            if threshold is not None:
                scores.update(presence_metrics(presence, face, threshold))
        return {**{f"val_{k}": v for k, v in self.losses.items()}, **scores}


@torch.no_grad()
def run_model(
    model: LocalizationModel,
    loader: DataLoader,
    device: torch.device,
    loss_fn: LocalizationLoss | None = None,
    amp: bool = True,
    flip_tta: bool = False,
) -> Predictions:
    """One pass over a loader in eval mode; with `flip_tta` boxes and scores are averaged with
    those of the mirrored image."""
    was_training = model.training
    model.eval()
    boxes, probs, targets, labels, presence = [], [], [], [], []
    sums: dict[str, float] = defaultdict(float)
    count = 0
    for images, target_boxes, target_labels in loader:
        x = to_float_images(images, device)
        with autocast(device, amp):
            out = model(x)
            if flip_tta:
                mirrored = model(x.flip(3))
                flipped = mirrored["boxes"][:, [2, 1, 0, 3]] * torch.tensor(
                    [-1, 1, -1, 1.0], device=device
                )
                averaged = {
                    "logits": (out["logits"].float() + mirrored["logits"].float()) / 2,
                    "boxes": (out["boxes"] + flipped + torch.tensor([1, 0, 1, 0.0], device=device))
                    / 2,
                }
                if "presence" in out:
                    averaged["presence"] = (out["presence"] + mirrored["presence"]) / 2
                out = averaged
        if loss_fn is not None:
            parts = loss_fn(out, target_boxes.to(device), target_labels.to(device))
            for key, value in parts.items():
                sums[key] += float(value) * len(images)
        count += len(images)
        boxes.append(out["boxes"].float().cpu())
        probs.append(out["logits"].float().softmax(dim=1).cpu())
        if "presence" in out:
            presence.append(torch.sigmoid(out["presence"].float()).cpu())
        targets.append(target_boxes)
        labels.append(target_labels)
    model.train(was_training)
    losses = {key: total / max(count, 1) for key, total in sums.items()}
    return Predictions(
        torch.cat(boxes),
        torch.cat(probs),
        torch.cat(targets),
        torch.cat(labels),
        losses,
        torch.cat(presence) if presence else None,
    )


def selection_score(metrics: dict[str, Any]) -> float:
    """What 'best' means when keeping a model: good boxes and balanced classes count equally;
    with no-face images, telling faces from no faces (mean of recall and rejection) counts too."""
    score = float(metrics.get("mean_iou", 0.0)) + float(metrics.get("balanced_accuracy", 0.0))
    if "no_face_rejection" in metrics and "face_recall" in metrics:
        score += (float(metrics["face_recall"]) + float(metrics["no_face_rejection"])) / 2
    return score
