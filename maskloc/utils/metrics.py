"""Localization and classification metrics; IoU from torchvision.ops, class scores from sklearn."""

from __future__ import annotations

import numpy as np
import torch
from sklearn.metrics import balanced_accuracy_score, confusion_matrix
from torchvision.ops import box_iou

from .messages import N_

# The scores a run is judged by, with the words a UI shows for them; declared once.
SCORE_LABELS = {
    "mean_iou": N_("mean IoU"),
    "iou50": N_("IoU ≥ 0.5"),
    "accuracy": N_("accuracy"),
    "balanced_accuracy": N_("balanced accuracy"),
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


# A person in front of the camera who is told "no face" meets the worse error, so the threshold
# keeps at least this share of the validation faces (the target), then rejects what it can.
MIN_FACE_RECALL = 0.98


def choose_presence_threshold(
    scores: np.ndarray, is_face: np.ndarray, min_recall: float = MIN_FACE_RECALL
) -> float:
    """The face-score cut that maximises face recall + no-face rejection on these (validation)
    scores among the cuts that find at least `min_recall` of the faces; among equally good cuts,
    the middle of the widest gap in logit space (the margin both ways is largest). Faces count
    as found at score >= threshold."""
    logits = np.log(np.clip(scores, 1e-7, 1 - 1e-7) / np.clip(1 - scores, 1e-7, 1 - 1e-7))
    faces, others = logits[is_face], logits[~is_face]
    if not len(faces) or not len(others):
        raise ValueError("choosing a threshold needs both face and no-face images")
    values = np.unique(logits)
    cuts = np.concatenate([[values[0] - 1.0], (values[:-1] + values[1:]) / 2, [values[-1] + 1.0]])
    recall = (faces[None, :] >= cuts[:, None]).mean(axis=1)
    rejection = (others[None, :] < cuts[:, None]).mean(axis=1)
    score = np.where(recall >= min_recall - 1e-12, recall + rejection, -1.0)
    best = np.flatnonzero(score >= score.max() - 1e-12)
    # Consecutive best cuts form runs; take the run spanning the widest logit range, its middle.
    runs = np.split(best, np.flatnonzero(np.diff(best) > 1) + 1)
    # Cut i lies between values[i - 1] and values[i]: a run a..b holds for (values[a-1], values[b]].
    lows = [values[run[0] - 1] if run[0] > 0 else cuts[0] for run in runs]
    highs = [values[run[-1]] if run[-1] < len(values) else cuts[-1] for run in runs]
    widest = int(np.argmax([high - low for low, high in zip(lows, highs, strict=True)]))
    middle = (lows[widest] + highs[widest]) / 2
    return float(1.0 / (1.0 + np.exp(-middle)))


def presence_metrics(
    scores: np.ndarray, is_face: np.ndarray, threshold: float
) -> dict[str, float | int]:
    """Face recall (faces scored >= threshold) and no-face rejection (no-face images below it)."""
    found = scores >= threshold
    faces, others = int(is_face.sum()), int((~is_face).sum())
    out: dict[str, float | int] = {"presence_threshold": float(threshold), "n_no_face": others}
    if faces:
        out["face_recall"] = float(found[is_face].mean())
    if others:
        out["no_face_rejection"] = float((~found[~is_face]).mean())
    return out
