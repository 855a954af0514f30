"""A harder copy of a split for webcam-like conditions: each image placed at a random spot on a
larger canvas, the canvas filled by stretching the image's own edge pixels outward (not by
mirroring, which would add a second face), boxes moved accordingly."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pandas as pd
from PIL import Image

from ..config.sections import DataConfig
from .folder import load_dataset
from .images import read_rgb
from .layout import (
    BOX_COLUMNS,
    IMAGES_DIR,
    LABELLED_COLUMNS,
    TEST,
    TEST_CSV,
    TEST_LABELS_CSV,
    TRAIN_CSV,
)
from .split import split_table


def zoom_out_image(
    image: np.ndarray, box: np.ndarray, factor: float, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """image on a canvas `factor` times larger (edge-replicated), and its moved pixel box."""
    height, width = image.shape[:2]
    extra_x, extra_y = round(width * (factor - 1)), round(height * (factor - 1))
    left, top = int(rng.integers(0, extra_x + 1)), int(rng.integers(0, extra_y + 1))
    canvas = cv2.copyMakeBorder(
        image, top, extra_y - top, left, extra_x - left, cv2.BORDER_REPLICATE
    )
    return canvas, box + np.array([left, top, left, top], dtype=box.dtype)


def write_zoomed_out(
    data_root: str | Path,
    out_dir: str | Path,
    split: str = TEST,
    factor: float = 2.0,
    seed: int = 0,
) -> int:
    """Write the zoomed-out copy of a split as a dataset folder whose train.csv, test.csv and
    test_labels.csv all list every image (so any --split scores all of it). Returns the count."""
    if factor < 1.0:
        raise ValueError(f"factor must be at least 1, got {factor}")
    out_dir = Path(out_dir)
    if out_dir.exists() and any(out_dir.iterdir()):
        raise FileExistsError(f"{out_dir}: folder exists and is not empty")
    (out_dir / IMAGES_DIR).mkdir(parents=True)
    table = split_table(load_dataset(data_root), split, DataConfig())
    rng = np.random.default_rng(seed)
    rows = []
    for row in table.frame.itertuples(index=False):
        image = read_rgb(row.path)
        box = np.array([getattr(row, c) for c in BOX_COLUMNS], dtype=np.float64)
        canvas, moved = zoom_out_image(image, box, factor, rng)
        name = Path(row.filename).stem + ".jpg"
        Image.fromarray(canvas).save(out_dir / IMAGES_DIR / name, quality=95)
        rows.append(
            [name, *np.rint(moved).astype(int).tolist(), row[table.frame.columns.get_loc("class")]]
        )
    frame = pd.DataFrame(rows, columns=list(LABELLED_COLUMNS))
    frame.to_csv(out_dir / TRAIN_CSV, index=False)
    frame.to_csv(out_dir / TEST_LABELS_CSV, index=False)
    frame[["filename"]].to_csv(out_dir / TEST_CSV, index=False)
    return len(frame)
