"""Integer pixel boxes that every checker accepts: inside their image and never empty.

Declared once for everything that turns boxes into pixels: predictions, augmented copies and the
crops of the dataset builder.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike


def clamp_pixel_boxes(boxes: ArrayLike, widths: ArrayLike, heights: ArrayLike) -> np.ndarray:
    """xyxy integer boxes (one box, shape 4, or N x 4) moved inside their image:
    0 <= x0 < x1 <= width and 0 <= y0 < y1 <= height, so every box covers at least one pixel.

    A box that lies on or beyond the right/bottom edge keeps its last pixel column/row.
    """
    boxes = np.asarray(boxes, dtype=np.int64)
    widths, heights = np.asarray(widths, dtype=np.int64), np.asarray(heights, dtype=np.int64)
    x0 = np.clip(boxes[..., 0], 0, widths - 1)
    y0 = np.clip(boxes[..., 1], 0, heights - 1)
    x1 = np.minimum(np.maximum(boxes[..., 2], x0 + 1), widths)
    y1 = np.minimum(np.maximum(boxes[..., 3], y0 + 1), heights)
    return np.stack([x0, y0, x1, y1], axis=-1)


def pixel_boxes(boxes: np.ndarray, widths: np.ndarray, heights: np.ndarray) -> np.ndarray:
    """Normalised xyxy -> integer pixel xyxy inside each image, never empty."""
    scale = np.stack([widths, heights, widths, heights], axis=1)
    pixels = np.rint(np.clip(boxes, 0.0, 1.0) * scale).astype(np.int64)
    return clamp_pixel_boxes(pixels, widths, heights)
