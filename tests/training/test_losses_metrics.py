"""The multi-task loss and the metrics, checked against hand-computed values."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from maskloc.config.catalogue import BOX_LOSSES
from maskloc.training.losses import LocalizationLoss, balanced_class_weights, box_loss
from maskloc.utils.metrics import localization_metrics, paired_iou

TARGET = torch.tensor([[0.1, 0.1, 0.5, 0.5], [0.2, 0.2, 0.6, 0.8]])


@pytest.mark.parametrize("kind", BOX_LOSSES)
def test_box_losses_are_zero_on_a_perfect_box_and_grow_with_error(kind):
    assert float(box_loss(TARGET, TARGET, kind)) == pytest.approx(0.0, abs=1e-6)
    near = box_loss(TARGET + 0.02, TARGET, kind)
    far = box_loss(TARGET + 0.2, TARGET, kind)
    assert 0 < float(near) < float(far)


def test_alpha_mixes_the_two_parts():
    outputs = {"logits": torch.tensor([[2.0, 0.0], [0.0, 1.0]]), "boxes": TARGET + 0.1}
    labels = torch.tensor([0, 0])
    for alpha in (0.0, 0.3, 1.0):
        parts = LocalizationLoss(alpha, "l1")(outputs, TARGET, labels)
        assert float(parts["class_loss"]) == pytest.approx(
            float(F.cross_entropy(outputs["logits"], labels))
        )
        assert float(parts["box_loss"]) == pytest.approx(0.1)
        expected = (1 - alpha) * parts["class_loss"] + alpha * parts["box_loss"]
        assert float(parts["loss"]) == pytest.approx(float(expected))


def test_class_weights_raise_the_minority_and_ignore_absent_classes():
    weights = balanced_class_weights(torch.tensor([0, 0, 0, 1]), 3)
    assert weights[1] == pytest.approx(3 * weights[0])
    assert weights[2] == 0
    assert weights[:2].mean() == pytest.approx(1.0)


def test_paired_iou_matches_hand_values():
    pred = torch.tensor([[0.1, 0.1, 0.5, 0.5], [0.0, 0.0, 0.2, 0.2], [0.0, 0.0, 0.1, 0.1]])
    target = torch.tensor([[0.1, 0.1, 0.5, 0.5], [0.1, 0.1, 0.3, 0.3], [0.5, 0.5, 0.6, 0.6]])
    assert paired_iou(pred, target).tolist() == pytest.approx([1.0, 0.01 / 0.07, 0.0])
    chunked = paired_iou(pred.repeat(300, 1), target.repeat(300, 1), chunk=7)  # 900 = 128*7 + 4
    assert chunked.tolist() == pytest.approx([1.0, 0.01 / 0.07, 0.0] * 300)


def test_metrics_balanced_accuracy_and_confusion():
    labels = np.array([0, 0, 0, 0, 1, 1])
    predicted = np.array([0, 0, 0, 0, 0, 1])  # majority bias
    ious = np.array([0.9, 0.6, 0.4, 0.8, 0.3, 0.7])
    metrics = localization_metrics(ious, labels, predicted, 2)
    assert metrics["accuracy"] == pytest.approx(5 / 6)
    assert metrics["balanced_accuracy"] == pytest.approx((1.0 + 0.5) / 2)
    assert metrics["iou50"] == pytest.approx(4 / 6)
    assert metrics["mean_iou"] == pytest.approx(ious.mean())
    assert metrics["confusion"] == [[4, 0], [1, 1]]
