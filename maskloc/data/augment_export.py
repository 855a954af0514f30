"""Offline augmentation: a dataset's training images plus augmented copies (boxes moved along),
written as a zip in the competition layout so any maskloc tool can train on it."""

from __future__ import annotations

import io
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any, BinaryIO

import albumentations as A
import numpy as np
import pandas as pd
from PIL import Image

from ..utils.progress import Progress
from .boxes import clamp_pixel_boxes
from .folder import DatasetFolder
from .images import read_rgb
from .layout import BOX_COLUMNS, LABELLED_WITH_SOURCE
from .transforms import compose


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
    """Normalised xyxy -> integer pixels (rounded outward) that pass the dataset's row checks."""
    scale = np.array([width, height, width, height], dtype=np.float64)
    outward = np.concatenate([np.floor(box[:2] * scale[:2]), np.ceil(box[2:] * scale[2:])])
    return clamp_pixel_boxes(outward, width, height).tolist()


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
        columns = [*LABELLED_WITH_SOURCE, "origin"]
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
