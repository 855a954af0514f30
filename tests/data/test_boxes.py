"""Pixel boxes: one clamp for predictions, augmented copies and the dataset builder's crops."""

from __future__ import annotations

import numpy as np
import pytest

from maskloc.data.augment_export import _pixel_box
from maskloc.data.boxes import clamp_pixel_boxes
from maskloc.data.build.builder import _Face, _output_box


@pytest.mark.parametrize(
    ("box", "size", "expected"),
    [
        ((10, 20, 30, 40), (100, 50), [10, 20, 30, 40]),  # valid: unchanged
        ((-5, -1, 120, 70), (100, 50), [0, 0, 100, 50]),  # beyond every edge: cut at the edges
        ((30, 20, 30, 20), (100, 50), [30, 20, 31, 21]),  # empty: one pixel wide and high
        ((100, 50, 100, 50), (100, 50), [99, 49, 100, 50]),  # on the far corner: its last pixel
        ((40, 30, 10, 5), (100, 50), [40, 30, 41, 31]),  # inverted: one pixel at its start
    ],
)
def test_clamp_gives_a_non_empty_box_inside_the_image(box, size, expected):
    assert clamp_pixel_boxes(box, *size).tolist() == expected


def test_clamp_works_row_by_row_with_each_images_own_size():
    boxes = np.array([[0, 0, 500, 500], [7, 7, 7, 7]])
    out = clamp_pixel_boxes(boxes, np.array([64, 10]), np.array([32, 8]))
    assert out.tolist() == [[0, 0, 64, 32], [7, 7, 8, 8]]
    assert out.dtype == np.int64


def test_augmented_copies_round_outward_then_clamp():
    assert _pixel_box(np.array([0.101, 0.2, 0.499, 1.2]), 100, 50) == [10, 10, 50, 50]
    assert _pixel_box(np.array([1.0, 1.0, 1.0, 1.0]), 100, 50) == [99, 49, 100, 50]


def test_builder_crop_box_is_rounded_and_clamped_to_the_crop():
    face = _Face(index=0, line=2, box=(90.0, 95.0, 130.0, 160.0), label="mask")
    # window (x, y, side) = (100, 100, 50) resized to 100 px: scale 2, the face leaves the window
    assert _output_box(face, (100, 100, 50), 100) == (0, 0, 60, 100)
