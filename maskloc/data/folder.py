"""A dataset folder in the competition layout, read and validated: its tables, its class
names (mask and no-mask first) and what was refused, row by row."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from ..utils.messages import N_
from .layout import (
    IMAGES_DIR,
    NO_FACE_CSV,
    TEST_CSV,
    TEST_LABELS_CSV,
    TRAIN_CSV,
)
from .table import DataError, RowProblem, Table, class_names_for, read_no_face, read_table


@dataclass
class DatasetFolder:
    """A dataset folder after validation: what can be used, and what was refused and why."""

    root: Path
    train: Table
    test: Table | None
    test_labels: Table | None
    class_names: list[str]
    no_face: Table | None = None

    @property
    def images_dir(self) -> Path:
        return self.root / IMAGES_DIR

    @property
    def problems(self) -> list[RowProblem]:
        tables = (self.train, self.test, self.test_labels, self.no_face)
        return [p for table in tables if table is not None for p in table.problems]

    def labels(self, table: Table) -> np.ndarray:
        lookup = {name: i for i, name in enumerate(self.class_names)}
        return table.frame["class"].map(lookup).to_numpy(np.int64)

    def no_face_frame(self, split: str, sources: set[str] | None = None) -> pd.DataFrame:
        """The no-face rows of one split (`train` or `test`), optionally only from `sources`."""
        if self.no_face is None:
            return pd.DataFrame(columns=["filename", "split", "source", "path"])
        frame = self.no_face.frame
        keep = frame["split"] == split
        if sources is not None:
            keep &= frame["source"].isin(sources)
        return frame[keep].reset_index(drop=True)


def load_dataset(root: str | Path, kept_classes: Sequence[str] = ()) -> DatasetFolder:
    """Read and validate a competition-layout folder; DataError if train.csv itself is unusable.
    `kept_classes` (a starting checkpoint's) keep their ids; the data's other classes follow."""
    root = Path(root)
    if not root.is_dir():
        raise DataError(N_("{folder}: dataset folder not found"), folder=root)
    images = root / IMAGES_DIR
    if not images.is_dir():
        raise DataError(N_("{folder}: no images/ folder"), folder=root)
    train = read_table(root / TRAIN_CSV, images)
    if train.frame.empty:
        raise DataError(
            N_("{file}: no usable rows ({n} rejected)"),
            file=root / TRAIN_CSV,
            n=len(train.problems),
        )
    test = read_table(root / TEST_CSV, images, False) if (root / TEST_CSV).is_file() else None
    class_names = class_names_for(train.frame, kept=kept_classes)
    test_labels = None
    if (root / TEST_LABELS_CSV).is_file():
        test_labels = read_table(root / TEST_LABELS_CSV, images, True, class_names)
    no_face = read_no_face(root / NO_FACE_CSV, images) if (root / NO_FACE_CSV).is_file() else None
    return DatasetFolder(root, train, test, test_labels, class_names, no_face)
