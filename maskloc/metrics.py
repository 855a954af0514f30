"""Localization and classification metrics; IoU from torchvision.ops, class scores from sklearn."""

from __future__ import annotations

import numpy as np
import torch
from sklearn.metrics import balanced_accuracy_score, confusion_matrix
from torchvision.ops import box_iou

# The scores a run is judged by, with the words a UI shows for them; declared once.
SCORE_LABELS = {
    "mean_iou": "mean IoU",
    "iou50": "IoU ≥ 0.5",
    "accuracy": "accuracy",
    "balanced_accuracy": "balanced accuracy",
}
SCORES = tuple(SCORE_LABELS)


def paired_iou(pred: torch.Tensor, target: torch.Tensor, chunk: int = 512) -> torch.Tensor:
    """IoU of pred[i] with target[i] (N x 4 xyxy); chunked so memory stays small for large N."""
    parts = [
        box_iou(pred[i : i + chunk], target[i : i + chunk]).diagonal()
        for i in range(0, len(pred), chunk)
    ]
    return torch.cat(parts) if parts else torch.zeros(0)


def localization_metrics(
    ious: np.ndarray, labels: np.ndarray, predicted: np.ndarray, num_classes: int
) -> dict[str, float | int | list[list[int]]]:
    """mean IoU, IoU>=0.5 rate, accuracy, balanced accuracy (over present classes), confusion."""
    n = len(labels)
    if n == 0:
        return {"n": 0}
    present = np.unique(labels)
    return {
        "n": n,
        "mean_iou": float(np.mean(ious)),
        "iou50": float(np.mean(ious >= 0.5)),
        "accuracy": float(np.mean(labels == predicted)),
        "balanced_accuracy": float(
            balanced_accuracy_score(labels, predicted)
            if len(present) > 1
            else np.mean(labels == predicted)
        ),
        "confusion": confusion_matrix(labels, predicted, labels=list(range(num_classes))).tolist(),
    }
