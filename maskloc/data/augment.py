"""The augmentation playground's library side: run transforms on one image and its box, say
honestly what happened to the box. Offline export of augmented copies lives in
maskloc/data/augment_export.py.

How the box check works: the four corners of the original box are carried through the same
random transform as keypoints. Their quadrilateral is where the face region really went (exact
for flips, affine maps, rotations and perspective). Albumentations can only return an
axis-aligned box around it, so

- `loose`: the returned box is much larger than the region inside the frame (rotation is the
  classic case: a 30° turn of a square makes its box about 1.8x as large as the face region);
- `clipped`: part of the region left the frame and the box was cut at the border;
- `dropped`: the region left the frame entirely, no box came back (training then keeps the
  original image for that sample).
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import albumentations as A
import numpy as np
import pandas as pd

from .transforms import compose

LOOSE_LIMIT = 0.15  # box area more than 15 % above the area of the region it should enclose
VISIBLE_LIMIT = 0.97  # less than 97 % of the region inside the frame counts as clipped
KEYPOINTS = A.KeypointParams(format="xy", remove_invisible=False)


# --- geometry -----------------------------------------------------------------------------------


def polygon_area(points: np.ndarray) -> float:
    """Shoelace area of a simple polygon given as N x 2 points in order."""
    if len(points) < 3:
        return 0.0
    x, y = points[:, 0], points[:, 1]
    return float(abs(np.dot(x, np.roll(y, -1)) - np.dot(y, np.roll(x, -1))) / 2.0)


def clip_polygon(points: np.ndarray, width: float, height: float) -> np.ndarray:
    """The part of a convex polygon inside [0, width] x [0, height] (Sutherland-Hodgman)."""
    edges = (
        (0, 0.0, 1),  # x >= 0
        (0, float(width), -1),  # x <= width
        (1, 0.0, 1),  # y >= 0
        (1, float(height), -1),  # y <= height
    )
    polygon = [tuple(p) for p in np.asarray(points, dtype=np.float64)]
    for axis, limit, sign in edges:
        if not polygon:
            break

        def inside(p, axis=axis, limit=limit, sign=sign) -> bool:
            return sign * (p[axis] - limit) >= 0

        def cross(p, q, axis=axis, limit=limit):
            t = (limit - p[axis]) / (q[axis] - p[axis])
            return (p[0] + t * (q[0] - p[0]), p[1] + t * (q[1] - p[1]))

        out = []
        for i, current in enumerate(polygon):
            previous = polygon[i - 1]
            if inside(current):
                if not inside(previous):
                    out.append(cross(previous, current))
                out.append(current)
            elif inside(previous):
                out.append(cross(previous, current))
        polygon = out
    return np.asarray(polygon, dtype=np.float64).reshape(-1, 2)


def box_corners(box: Sequence[float], width: int, height: int) -> np.ndarray:
    """Normalised xyxy -> its four pixel corners, clockwise from top left."""
    x0, y0, x1, y1 = (float(v) for v in box)
    x0, x1, y0, y1 = x0 * width, x1 * width, y0 * height, y1 * height
    return np.array([[x0, y0], [x1, y0], [x1, y1], [x0, y1]], dtype=np.float64)


# --- the check ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class BoxCheck:
    """What happened to the box; `issues` is empty when it still fits the face region."""

    issues: tuple[str, ...]
    messages: tuple[str, ...]
    looseness: float  # box area / area of the region inside the frame, minus 1
    visible: float  # fraction of the transformed region that is inside the frame

    @property
    def ok(self) -> bool:
        return not self.issues

    @property
    def status(self) -> str:
        return self.issues[0] if self.issues else "ok"


def check_box(
    box: Sequence[float] | None, corners: np.ndarray, width: int, height: int
) -> BoxCheck:
    """Compare the returned box (normalised xyxy, None if dropped) with where the region went.

    `corners` are the original box's corners after the transform, in output pixels.
    """
    region = polygon_area(corners)
    inside = clip_polygon(corners, width, height)
    visible_area = polygon_area(inside)
    visible = visible_area / region if region > 0 else 0.0
    if box is None:
        return BoxCheck(
            ("dropped",),
            ("dropped: the face left the image; training keeps the original for this sample",),
            0.0,
            visible,
        )
    x0, y0, x1, y1 = (float(v) for v in box)
    box_area = max(0.0, x1 - x0) * width * max(0.0, y1 - y0) * height
    looseness = box_area / visible_area - 1.0 if visible_area > 0 else 0.0
    issues, messages = [], []
    if visible < VISIBLE_LIMIT:
        issues.append("clipped")
        messages.append(
            f"clipped: {1 - visible:.0%} of the face left the image, box cut at the border"
        )
    if looseness > LOOSE_LIMIT:
        issues.append("loose")
        messages.append(f"loose: the box is {looseness:.0%} larger than the face region (yellow)")
    return BoxCheck(tuple(issues), tuple(messages), looseness, visible)


@dataclass
class AugmentedSample:
    """One augmented version: image, its box (normalised xyxy, None if dropped), the check and
    the random parameters each applied transform drew."""

    image: np.ndarray
    box: np.ndarray | None
    check: BoxCheck
    applied: list[tuple[str, dict[str, Any]]]
    region: np.ndarray  # where the original box's corners went, 4 x 2 output pixels


def playground_pipeline(transforms: Sequence[A.BasicTransform], seed: int | None) -> A.Compose:
    """A box-carrying pipeline that also carries corner keypoints and records applied params."""
    with warnings.catch_warnings():  # pixel-only pipelines have no keypoint work: that is fine
        warnings.filterwarnings("ignore", message=".*no transform to process it")
        pipeline = compose(
            list(transforms), seed=seed, save_applied_params=True, keypoint_params=KEYPOINTS
        )
    return pipeline


def augment_sample(
    image: np.ndarray,
    box: Sequence[float],
    transforms: Sequence[A.BasicTransform] | A.Compose,
    seed: int | None = None,
) -> AugmentedSample:
    """Apply the transforms once to an RGB image with one normalised xyxy box."""
    height, width = image.shape[:2]
    pipeline = (
        transforms
        if isinstance(transforms, A.Compose)
        else playground_pipeline(list(transforms), seed)
    )
    box = np.clip(np.asarray(box, dtype=np.float32), 0.0, 1.0)
    out = pipeline(
        image=image,
        bboxes=box[None],
        labels=[0],
        keypoints=box_corners(box, width, height),
    )
    result = out["image"]
    out_box = np.asarray(out["bboxes"][0], dtype=np.float32) if len(out["bboxes"]) else None
    corners = np.asarray(out["keypoints"], dtype=np.float64)[:, :2]
    check = check_box(out_box, corners, result.shape[1], result.shape[0])
    applied = list(out.get("applied_transforms", []))
    return AugmentedSample(result, out_box, check, applied, corners)


def _readable(value: Any) -> str | None:
    """A short text for one applied parameter, None for bulky internals (maps, shapes)."""
    if isinstance(value, float | np.floating):
        return f"{float(value):.3g}"
    if isinstance(value, bool | int | np.integer | str):
        return str(value)
    if isinstance(value, dict) and all(isinstance(v, float | int) for v in value.values()):
        return ", ".join(f"{k}={float(v):.3g}" for k, v in value.items())
    if isinstance(value, np.ndarray) and value.size <= 9:
        return np.array2string(
            value, precision=3, suppress_small=True, separator=", ", max_line_width=10_000
        )
    if isinstance(value, list | tuple) and len(value) <= 8:
        parts = [_readable(v) for v in value]
        return "(" + ", ".join(p for p in parts if p is not None) + ")"
    return None


def _matrix_parts(matrix: np.ndarray) -> list[tuple[str, str]]:
    """An affine 3x3 matrix as angle, scale and shift; a projective one as its raw numbers."""
    m = np.asarray(matrix, dtype=np.float64)
    if m.shape != (3, 3) or abs(m[2, 0]) > 1e-9 or abs(m[2, 1]) > 1e-9:
        text = np.array2string(m, precision=3, suppress_small=True, separator=", ")
        return [("matrix", text.replace("\n", ""))]
    angle = np.degrees(np.arctan2(m[1, 0], m[0, 0]))
    scale = np.sqrt(abs(np.linalg.det(m[:2, :2])))
    return [
        ("angle", f"{angle:.1f}°"),
        ("scale", f"{scale:.3f}"),
        ("shift", f"({m[0, 2]:.1f}, {m[1, 2]:.1f}) px"),
    ]


def _parameter_rows(key: str, value: Any) -> list[tuple[str, str]]:
    if key == "matrix" and isinstance(value, np.ndarray):
        return _matrix_parts(value)
    if key == "holes" and isinstance(value, np.ndarray):
        return [("holes", f"{len(value)} holes")]
    if key == "kernel" and isinstance(value, np.ndarray) and value.ndim == 2:
        return [("kernel", f"{value.shape[0]}x{value.shape[1]} px")]
    text = _readable(value)
    return [] if text is None else [(key, text)]


_SKIPPED = {"shape", "interpolation", "fill", "fill_mask", "seed", "output_shape", "bbox_matrix"}
_SKIPPED |= {"matrix_bbox", "x_min", "x_max", "y_min", "y_max", "max_height", "max_width"}


def describe_applied(applied: Sequence[tuple[str, dict[str, Any]]]) -> pd.DataFrame:
    """The random values each applied transform drew, one row per parameter."""
    rows = []
    for name, params in applied:
        shown = [
            {"transform": name, "parameter": key, "value": text}
            for raw_key, value in params.items()
            if raw_key not in _SKIPPED
            for key, text in _parameter_rows(raw_key, value)
        ]
        rows += shown or [{"transform": name, "parameter": "", "value": "applied"}]
    return pd.DataFrame(rows, columns=["transform", "parameter", "value"])
