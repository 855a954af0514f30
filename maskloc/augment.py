"""The augmentation playground's library side: run transforms on one image and its box, say
honestly what happened to the box, and export augmented copies of a dataset (offline
augmentation) as a zip in the competition layout.

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

import io
import warnings
import zipfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any, BinaryIO

import albumentations as A
import numpy as np
import pandas as pd
from PIL import Image

from .data import BOX_COLUMNS, DatasetFolder
from .images import read_rgb
from .transforms import compose

LOOSE_LIMIT = 0.15  # box area more than 15 % above the area of the region it should enclose
VISIBLE_LIMIT = 0.97  # less than 97 % of the region inside the frame counts as clipped
KEYPOINTS = A.KeypointParams(format="xy", remove_invisible=False)

Progress = Callable[[int, int], None]


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


# --- offline export -----------------------------------------------------------------------------


@dataclass(frozen=True)
class ExportReport:
    originals: int
    copies: int
    dropped: int
    test_images: int

    def __str__(self) -> str:
        return (
            f"{self.originals} original and {self.copies} augmented training images, "
            f"{self.test_images} test images; {self.dropped} copies skipped (box left the image)"
        )


def _pixel_box(box: np.ndarray, width: int, height: int) -> list[int]:
    """Normalised xyxy -> integer pixels that still pass the dataset's row checks."""
    x0 = int(np.floor(box[0] * width))
    y0 = int(np.floor(box[1] * height))
    x1 = int(np.ceil(box[2] * width))
    y1 = int(np.ceil(box[3] * height))
    x0, y0 = min(max(0, x0), width - 1), min(max(0, y0), height - 1)
    x1, y1 = min(max(x0 + 1, x1), width), min(max(y0 + 1, y1), height)
    return [x0, y0, x1, y1]


def _number(value: float) -> int | float:
    return int(value) if float(value).is_integer() else float(value)


def _augmented_name(filename: str, k: int, taken: set[str]) -> str:
    path = PurePosixPath(filename.replace("\\", "/"))
    name = str(path.with_name(f"{path.stem}__aug{k}.jpg"))
    while name in taken:
        name = str(PurePosixPath(name).with_name(f"{PurePosixPath(name).stem}_.jpg"))
    taken.add(name)
    return name


def export_augmented(
    folder: DatasetFolder,
    transforms: Sequence[A.BasicTransform],
    copies: int,
    target: BinaryIO | str | Path,
    seed: int = 0,
    name: str = "augmented",
    include_test: bool = True,
    jpeg_quality: int = 92,
    progress: Progress | None = None,
) -> ExportReport:
    """Write a zip holding `name/` in the competition layout: every valid training image, plus
    `copies` augmented versions of each (boxes moved along), plus the test files unchanged.

    Augmented rows keep their original's `source` (or its filename when there is no source
    column), so a grouped split never puts an original and its copy on different sides.
    """
    if copies < 1:
        raise ValueError(f"copies must be at least 1, got {copies}")
    pipeline = compose(list(transforms), seed=seed)
    frame = folder.train.frame
    extra = [c for c in frame.columns if c not in (*BOX_COLUMNS, "filename", "class")]
    extra = [c for c in extra if c not in ("path", "width", "height", "row", "source")]
    rows: list[dict[str, Any]] = []
    taken = set(frame["filename"])
    dropped = 0
    total = len(frame)
    with zipfile.ZipFile(target, "w", compression=zipfile.ZIP_STORED) as archive:
        for done, record in enumerate(frame.to_dict("records"), start=1):
            source = record.get("source") or record["filename"]
            base = {"class": record["class"], "source": source, "origin": record["filename"]}
            archive.write(record["path"], f"{name}/images/{record['filename']}")
            original_box = {c: _number(record[c]) for c in BOX_COLUMNS}
            rows.append({"filename": record["filename"], **original_box, **base})
            image = read_rgb(record["path"])
            height, width = image.shape[:2]
            box = np.array(
                [
                    record["xmin"] / width,
                    record["ymin"] / height,
                    record["xmax"] / width,
                    record["ymax"] / height,
                ],
                dtype=np.float32,
            )
            for k in range(1, copies + 1):
                out = pipeline(image=image, bboxes=box[None], labels=[0])
                if not len(out["bboxes"]):
                    dropped += 1
                    continue
                result = out["image"]
                pixels = _pixel_box(np.asarray(out["bboxes"][0]), result.shape[1], result.shape[0])
                filename = _augmented_name(record["filename"], k, taken)
                buffer = io.BytesIO()
                Image.fromarray(result).save(buffer, "JPEG", quality=jpeg_quality)
                archive.writestr(f"{name}/images/{filename}", buffer.getvalue())
                rows.append(
                    {"filename": filename, **dict(zip(BOX_COLUMNS, pixels, strict=True)), **base}
                )
            if progress is not None:
                progress(done, total)
        columns = ["filename", *BOX_COLUMNS, "class", "source", "origin"]
        train = pd.DataFrame(rows, columns=columns)
        for column in extra:  # keep the user's own extra columns for originals
            train[column] = train["origin"].map(
                dict(zip(frame["filename"], frame[column], strict=True))
            )
        archive.writestr(f"{name}/train.csv", train.to_csv(index=False))
        test_images = 0
        if include_test and folder.test is not None:
            test = folder.test.frame
            written = set(frame["filename"])
            for record in test.to_dict("records"):
                if record["filename"] not in written:
                    archive.write(record["path"], f"{name}/images/{record['filename']}")
                    written.add(record["filename"])
            test_images = len(test)
            archive.writestr(f"{name}/test.csv", test[["filename"]].to_csv(index=False))
            if folder.test_labels is not None:
                labels = folder.test_labels.frame
                keep = [c for c in labels.columns if c not in ("path", "width", "height", "row")]
                archive.writestr(f"{name}/test_labels.csv", labels[keep].to_csv(index=False))
    return ExportReport(len(frame), len(rows) - len(frame), dropped, test_images)
