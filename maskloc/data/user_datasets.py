"""Datasets a user collects (Collect page, "wrong? fix it", imports): ordinary competition-layout
folders (`train.csv` with a `source` column, `images/`) under one root, so everything that reads
the bundled dataset reads them too.

The root is `user_data/` in the repository unless `MASKLOC_USER_DATA` names another folder.
Every change is atomic and ordered so a crash never loses what was collected: an added picture is
written (temp file + rename) before the CSV that names it (temp file + rename), a deleted row
leaves the CSV before its image does. A crash in between leaves at worst an unreferenced image,
never a row without its image.
"""

from __future__ import annotations

import io
import logging
import re
import threading
import time
import uuid
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

import pandas as pd
from PIL import Image

from ..config.paths import user_data_root
from ..utils.archives import zip_folder
from ..utils.atomic import atomic_write_bytes
from ..utils.messages import N_, ExplainedError
from .images import ImageSource, read_rgb
from .layout import (
    BOX_COLUMNS,
    IMAGES_DIR,
    KNOWN_CLASSES,
    LABELLED_WITH_SOURCE,
    SOURCE,
    TRAIN_CSV,
    safe_image_path,
)
from .table import check_row, read_csv_text

log = logging.getLogger(__name__)

NAME_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
# Pictures per class for a useful fine-tune (docs/own-data.md measures one with 20 in all).
RECOMMENDED_PER_CLASS = 10
JPEG_QUALITY = 92

_LOCK = threading.Lock()  # one writer at a time per process (several sessions share a server)


class UserDatasetError(ExplainedError, ValueError):
    """A dataset name, picture or box that a user dataset refuses; the message says why (a
    refused box's reason, a field, is said in the same language)."""


def check_name(name: str) -> str:
    """A dataset name that is a plain folder name: letters, digits, `_ . -`, at most 64."""
    name = name.strip()
    if not NAME_PATTERN.match(name) or ".." in name:
        raise UserDatasetError(
            N_(
                "dataset name {name!r}: use 1-64 letters, digits, '_', '.' or '-' "
                "(starting with a letter or digit)"
            ),
            name=name,
        )
    return name


class UserDataset:
    """One user dataset folder; reads are plain, writes go through the process lock."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    @property
    def name(self) -> str:
        return self.root.name

    @property
    def csv(self) -> Path:
        return self.root / TRAIN_CSV

    @property
    def images(self) -> Path:
        return self.root / IMAGES_DIR

    def rows(self) -> pd.DataFrame:
        """The CSV as strings (all columns kept); empty with the standard columns when new."""
        if not self.csv.is_file() or not self.csv.read_text(encoding="utf-8-sig").strip():
            return pd.DataFrame(columns=list(LABELLED_WITH_SOURCE), dtype=str)
        frame = read_csv_text(self.csv)
        for column in LABELLED_WITH_SOURCE:
            if column not in frame.columns:
                frame[column] = ""
        return frame

    def counts(self) -> dict[str, int]:
        """Pictures per class, the two known classes always listed."""
        counter = Counter(self.rows()["class"])
        return {name: counter.get(name, 0) for name in dict.fromkeys([*KNOWN_CLASSES, *counter])}

    def still_needed(self) -> dict[str, int]:
        """How many more pictures of each class a useful fine-tune wants (0 when enough)."""
        return {n: max(0, RECOMMENDED_PER_CLASS - c) for n, c in self.counts().items()}

    def _missing(self, filename: str) -> UserDatasetError:
        return UserDatasetError(
            N_("{dataset}: no picture named {file!r}"), dataset=self.name, file=filename
        )

    def _write_rows(self, frame: pd.DataFrame) -> None:
        atomic_write_bytes(self.csv, frame.to_csv(index=False).encode())

    def _checked(self, filename: str, box: Sequence[float], class_name: str) -> dict:
        """The CSV row for a box, validated like any train.csv row; UserDatasetError (a
        ValueError) saying why not."""
        row = {"filename": filename, "class": class_name.strip()}
        row.update({c: round(float(v), 2) for c, v in zip(BOX_COLUMNS, box, strict=True)})
        _, problem = check_row(row, self.images, True, None)
        if problem is not None:
            raise UserDatasetError(
                N_("{dataset}/{file}, {field}: {problem}"),
                dataset=self.name,
                file=filename,
                field=problem[0],
                problem=problem[1],
            )
        return row

    def add(self, image: ImageSource, box: Sequence[float], class_name: str) -> str:
        """Store the upright picture as JPEG, then its row; returns the new file name.

        `box` is xmin, ymin, xmax, ymax in pixels of the upright picture. A bad picture or box
        raises (ImageError / ValueError) and changes nothing on disk that a row refers to.
        """
        rgb = read_rgb(image)
        buffer = io.BytesIO()
        Image.fromarray(rgb).save(buffer, format="JPEG", quality=JPEG_QUALITY)
        stamp = time.strftime("%Y%m%d-%H%M%S")
        filename = f"shot-{stamp}-{uuid.uuid4().hex[:6]}.jpg"
        with _LOCK:
            atomic_write_bytes(self.images / filename, buffer.getvalue())
            try:
                row = self._checked(filename, box, class_name)
            except ValueError:
                (self.images / filename).unlink(missing_ok=True)
                raise
            row[SOURCE] = Path(filename).stem
            frame = self.rows()
            self._write_rows(pd.concat([frame, pd.DataFrame([row])], ignore_index=True))
        log.info("%s: added %s (%s)", self.name, filename, class_name)
        return filename

    def fix(self, filename: str, box: Sequence[float], class_name: str) -> None:
        """Replace the box and class of one picture (ValueError if it is not there or bad)."""
        with _LOCK:
            frame = self.rows()
            where = frame.index[frame["filename"] == filename]
            if where.empty:
                raise self._missing(filename)
            row = self._checked(filename, box, class_name)
            for column, value in row.items():
                frame.loc[where, column] = str(value)
            self._write_rows(frame)

    def delete(self, filename: str) -> None:
        """Drop the row first, then the picture (a crash in between leaves an unused image)."""
        with _LOCK:
            frame = self.rows()
            if not (frame["filename"] == filename).any():
                raise self._missing(filename)
            self._write_rows(frame[frame["filename"] != filename])
            try:
                safe_image_path(self.images, filename).unlink(missing_ok=True)
            except ValueError:
                log.warning("%s: row %r named a file outside images/; kept it", self.name, filename)

    def zip_bytes(self) -> bytes:
        """The dataset as a zip (`NAME/train.csv`, `NAME/images/...`) for download."""
        return zip_folder(self.root, self.name)


def create_dataset(name: str, root: Path | None = None) -> UserDataset:
    """A new (or the existing) user dataset of this name under the user data root."""
    folder = (root or user_data_root()) / check_name(name)
    dataset = UserDataset(folder)
    with _LOCK:
        dataset.images.mkdir(parents=True, exist_ok=True)
        if not dataset.csv.is_file():
            atomic_write_bytes(dataset.csv, (",".join(LABELLED_WITH_SOURCE) + "\n").encode())
    return dataset


def list_datasets(root: Path | None = None) -> list[UserDataset]:
    """Every folder under the root that holds a train.csv, by name."""
    base = root or user_data_root()
    if not base.is_dir():
        return []
    folders = (p for p in base.iterdir() if p.is_dir() and not p.name.startswith("."))
    return [UserDataset(p) for p in sorted(folders) if (p / TRAIN_CSV).is_file()]
