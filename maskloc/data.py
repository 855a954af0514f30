"""Dataset folders in the competition layout: read, validate row by row, split, cache, serve.

Layout: `train.csv` (filename,xmin,ymin,xmax,ymax,class[,extra columns]), optional `test.csv`
(filename), optional `test_labels.csv` (answers for test.csv), optional `no_face.csv`
(filename,split,source: pictures without a face, negatives for face presence), and `images/`.
Boxes are pixels of the upright image; the library works with boxes normalised by each image's own
width and height. No-face images carry the label NO_FACE_LABEL (-1) and a placeholder box.
"""

from __future__ import annotations

import csv
import io
import logging
import math
import threading
from collections import OrderedDict
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import albumentations as A
import cv2
import numpy as np
import pandas as pd
import torch
from sklearn.model_selection import StratifiedGroupKFold, train_test_split

from .images import ImageError, read_rgb, upright_size
from .layout import (
    BOX_COLUMNS,
    IMAGES_DIR,
    KNOWN_CLASSES,
    LABELLED_COLUMNS,
    NO_FACE_COLUMNS,
    NO_FACE_CSV,
    TEST,
    TEST_CSV,
    TEST_LABELS_CSV,
    TRAIN,
    TRAIN_CSV,
    safe_image_path,
)
from .messages import N_, ExplainedError, Text
from .progress import Progress

MAX_CSV_BYTES = 50 * 1024 * 1024
NO_FACE_LABEL = -1
NO_FACE_SPLITS = (TRAIN, TEST)
PLACEHOLDER_BOX = (0.0, 0.0, 1.0, 1.0)  # a no-face image's "box": never learned or scored

logger = logging.getLogger(__name__)


class DataError(ExplainedError, ValueError):
    """A whole file is unusable (missing, empty, wrong columns); the message names it."""


@dataclass(frozen=True)
class RowProblem:
    """One rejected row: which file, which line (header is line 1), which field, why."""

    file: str
    row: int
    field: str
    reason: str  # a Text when the library wrote it: translatable where it is shown

    def __str__(self) -> str:
        return f"{self.file} row {self.row}, {self.field}: {self.reason}"


@dataclass
class Table:
    """The valid rows of one CSV (with image path and upright size added) and the rejected ones."""

    frame: pd.DataFrame
    problems: list[RowProblem] = field(default_factory=list)

    @property
    def has_boxes(self) -> bool:
        return "xmin" in self.frame.columns

    def normalized_boxes(self) -> np.ndarray:
        """N x 4 float32 xyxy in [0, 1] of each image's own size."""
        f = self.frame
        scale = np.stack([f.width, f.height, f.width, f.height], axis=1).astype(np.float64)
        return (f[list(BOX_COLUMNS)].to_numpy(np.float64) / scale).astype(np.float32)


def read_csv_text(path: Path) -> pd.DataFrame:
    """Cells as stripped strings; BOM, delimiter and header case handled; DataError if unusable."""
    if not path.is_file():
        raise DataError(N_("{file}: file not found"), file=path)
    if path.stat().st_size > MAX_CSV_BYTES:
        raise DataError(
            N_("{file}: larger than {limit} MB"), file=path, limit=MAX_CSV_BYTES // 2**20
        )
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as error:
        raise DataError(
            N_("{file}: not UTF-8 text ({detail})"), file=path, detail=error.reason
        ) from error
    if not text.strip():
        raise DataError(N_("{file}: the file is empty"), file=path)
    first_line = text.splitlines()[0]
    try:
        delimiter = csv.Sniffer().sniff(first_line, delimiters=",;\t|").delimiter
    except csv.Error:
        delimiter = ","
    try:
        frame = pd.read_csv(
            io.StringIO(text),
            sep=delimiter,
            dtype=str,
            keep_default_na=False,
            skipinitialspace=True,
        )
    except (pd.errors.ParserError, ValueError) as error:
        raise DataError(
            N_("{file}: cannot parse as CSV ({detail})"), file=path, detail=error
        ) from error
    frame.columns = [str(c).strip().lower() for c in frame.columns]
    return frame.apply(lambda column: column.str.strip())


def _require_columns(frame: pd.DataFrame, columns: Sequence[str], path: Path) -> None:
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise DataError(
            N_("{file}: missing column(s) {missing}; expected {expected} (found: {found})"),
            file=path.name,
            missing=", ".join(missing),
            expected=", ".join(columns),
            found=", ".join(map(str, frame.columns)),
        )


def check_row(
    row: pd.Series | dict, images_dir: Path, with_boxes: bool, classes: Sequence[str] | None
) -> tuple[dict, tuple[str, str] | None]:
    """Parsed fields of one row (a Series or dict), or (field, reason) for the first thing wrong
    with it. Imports reuse it so every box is held to the same rules as a train.csv row."""
    try:
        path = safe_image_path(images_dir, row["filename"])
    except ValueError as error:
        return {}, ("filename", _explained(error))
    if not path.is_file():
        return {}, (
            "filename",
            Text(
                N_("{file} not found in {folder}/"),
                file=repr(row["filename"]),
                folder=images_dir.name,
            ),
        )
    try:
        width, height = upright_size(path)
    except ImageError as error:
        return {}, ("filename", _explained(error, {str(path): repr(row["filename"])}))
    parsed = {"path": str(path), "width": width, "height": height}
    if not with_boxes:
        return parsed, None
    for column in BOX_COLUMNS:
        try:
            value = float(row[column])
        except ValueError:
            return {}, (column, Text(N_("{value} is not a number"), value=repr(row[column])))
        if not math.isfinite(value):
            return {}, (column, Text(N_("missing or not finite")))
        if value < 0:
            return {}, (column, Text(N_("{value} is negative"), value=f"{value:g}"))
        parsed[column] = value
    if parsed["xmin"] >= parsed["xmax"]:
        return {}, (
            "xmax",
            Text(
                N_("xmin {low} must be below xmax {high}"),
                low=f"{parsed['xmin']:g}",
                high=f"{parsed['xmax']:g}",
            ),
        )
    if parsed["ymin"] >= parsed["ymax"]:
        return {}, (
            "ymax",
            Text(
                N_("ymin {low} must be below ymax {high}"),
                low=f"{parsed['ymin']:g}",
                high=f"{parsed['ymax']:g}",
            ),
        )
    if parsed["xmax"] > width or parsed["ymax"] > height:
        return {}, (
            "xmax/ymax",
            Text(N_("box reaches outside the {width}x{height} image"), width=width, height=height),
        )
    name = row["class"]
    if not name:
        return {}, ("class", Text(N_("empty class name")))
    if classes is not None and name not in classes:
        return {}, (
            "class",
            Text(
                N_("unknown class {name}; known: {known}"),
                name=repr(name),
                known=", ".join(classes),
            ),
        )
    return parsed, None


def _explained(error: Exception, renames: dict[str, str] | None = None) -> str:
    """An error as a row's reason: an ExplainedError keeps its template and fields (a field that
    holds a full path is renamed to the CSV's own file name); any other stays plain English."""
    renames = renames or {}
    if not isinstance(error, ExplainedError):
        return str(error)
    fields = {
        key: renames.get(str(value), value) if isinstance(value, str | Path) else value
        for key, value in error.fields.items()
    }
    return Text(error.template, **fields)


def read_table(
    csv_path: Path,
    images_dir: Path,
    with_boxes: bool = True,
    classes: Sequence[str] | None = None,
) -> Table:
    """Validate every row; good rows go to `frame`, bad ones to `problems` with line and reason."""
    raw = read_csv_text(csv_path)
    _require_columns(raw, LABELLED_COLUMNS if with_boxes else ("filename",), csv_path)
    rows, problems, first_seen = [], [], {}
    for index, row in raw.iterrows():
        line = int(index) + 2
        name = row["filename"]
        if name in first_seen:
            problems.append(
                RowProblem(
                    csv_path.name,
                    line,
                    "filename",
                    Text(N_("duplicate of row {row}"), row=first_seen[name]),
                )
            )
            continue
        parsed, problem = check_row(row, images_dir, with_boxes, classes)
        if problem is not None:
            problems.append(RowProblem(csv_path.name, line, *problem))
            continue
        first_seen[name] = line
        rows.append({**row.to_dict(), **parsed, "row": line})
    if problems:
        logger.info("%s: %d row(s) refused, first: %s", csv_path, len(problems), problems[0])
        for problem in problems:
            logger.debug("refused: %s", problem)
    columns = [*raw.columns, "path", "width", "height", "row"]
    frame = pd.DataFrame(rows, columns=list(dict.fromkeys(columns)))
    if with_boxes:
        frame = frame.astype({c: "float64" for c in BOX_COLUMNS})
    return Table(frame.reset_index(drop=True), problems)


def class_names_for(*frames: pd.DataFrame) -> list[str]:
    """The two known classes keep ids 0 and 1; any other class names follow in sorted order."""
    seen = {name for frame in frames for name in frame["class"]}
    return [*KNOWN_CLASSES, *sorted(seen - set(KNOWN_CLASSES))]


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


def read_no_face(csv_path: Path, images_dir: Path) -> Table:
    """`no_face.csv`: every row's image checked like any other, its split named and known."""
    table = read_table(csv_path, images_dir, with_boxes=False)
    raw_columns = set(table.frame.columns)
    missing = [c for c in NO_FACE_COLUMNS if c not in raw_columns]
    if missing:
        raise DataError(
            N_("{file}: missing column(s) {missing}; expected {expected}"),
            file=csv_path.name,
            missing=", ".join(missing),
            expected=", ".join(NO_FACE_COLUMNS),
        )
    frame = table.frame
    bad = ~frame["split"].isin(NO_FACE_SPLITS)
    problems = list(table.problems)
    for row, split in zip(frame.loc[bad, "row"], frame.loc[bad, "split"], strict=True):
        problems.append(
            RowProblem(
                csv_path.name,
                int(row),
                "split",
                Text(N_("{value} is not one of {known}"), value=repr(split), known=NO_FACE_SPLITS),
            )
        )
    return Table(frame[~bad].reset_index(drop=True), problems)


def load_dataset(root: str | Path) -> DatasetFolder:
    """Read and validate a competition-layout folder; DataError if train.csv itself is unusable."""
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
    class_names = class_names_for(train.frame)
    test_labels = None
    if (root / TEST_LABELS_CSV).is_file():
        test_labels = read_table(root / TEST_LABELS_CSV, images, True, class_names)
    no_face = read_no_face(root / NO_FACE_CSV, images) if (root / NO_FACE_CSV).is_file() else None
    return DatasetFolder(root, train, test, test_labels, class_names, no_face)


def split_indices(
    labels: np.ndarray, groups: np.ndarray | None, val_fraction: float, seed: int
) -> tuple[np.ndarray, np.ndarray]:
    """Stratified train/val positions; grouped when `groups` is given (no group on both sides)."""
    positions = np.arange(len(labels))
    if not 0.0 < val_fraction < 1.0:
        raise ValueError(f"val_fraction must be between 0 and 1, got {val_fraction}")
    counts = np.bincount(labels)
    stratify = labels if counts[counts > 0].min() >= 2 else None
    if groups is not None:
        n_splits = max(2, round(1.0 / val_fraction))
        unique = len(np.unique(groups))
        # Every picture its own group (collected snapshots): the stratified split below is the
        # same thing and works with a few pictures per class.
        if n_splits <= unique < len(groups):
            splitter = StratifiedGroupKFold(n_splits=n_splits, shuffle=True, random_state=seed)
            # Stratify only when every class can fill each fold (small collected sets cannot).
            enough = stratify is not None and counts[counts > 0].min() >= n_splits
            y = labels if enough else np.zeros_like(labels)
            train, val = next(splitter.split(positions, y, groups))
            return train, val
    train, val = train_test_split(
        positions, test_size=val_fraction, random_state=seed, stratify=stratify
    )
    return np.sort(train), np.sort(val)


def train_val_positions(
    folder: DatasetFolder, val_fraction: float, seed: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(labels, train positions, validation positions) of train.csv's usable rows, the one split
    training, preflight checks and evaluation all use: grouped by `source` where there is one."""
    frame = folder.train.frame
    labels = folder.labels(folder.train)
    groups = frame["source"].to_numpy() if "source" in frame.columns else None
    train_idx, val_idx = split_indices(labels, groups, val_fraction, seed)
    return labels, train_idx, val_idx


def channel_stats(images: np.ndarray) -> tuple[tuple[float, ...], tuple[float, ...]]:
    """Per-channel mean and std of uint8 N x H x W x 3 images, in [0, 1] units."""
    total = np.zeros(3)
    squares = np.zeros(3)
    for chunk in np.array_split(images, max(1, len(images) // 64)):
        pixels = chunk.reshape(-1, 3).astype(np.float64) / 255.0
        total += pixels.sum(axis=0)
        squares += (pixels**2).sum(axis=0)
    count = images.shape[0] * images.shape[1] * images.shape[2]
    mean = total / count
    std = np.sqrt(np.maximum(squares / count - mean**2, 1e-12))
    return tuple(mean.tolist()), tuple(std.tolist())


def resize_square(image: np.ndarray, size: int) -> np.ndarray:
    """Stretch to size x size; normalised boxes stay valid because both axes scale independently."""
    shrinking = image.shape[0] > size or image.shape[1] > size
    interpolation = cv2.INTER_AREA if shrinking else cv2.INTER_LINEAR
    return cv2.resize(image, (size, size), interpolation=interpolation)


class ImageCache:
    """Decoded, resized uint8 images kept in memory so an epoch never re-reads a JPEG.

    Keyed by (path, modification time, size); evicts least recently used beyond `max_bytes`.
    """

    def __init__(self, max_bytes: int = 2 * 1024**3) -> None:
        self.max_bytes = max_bytes
        self._items: OrderedDict[tuple, np.ndarray] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()

    def clear(self) -> None:
        with self._lock:
            self._items.clear()
            self._bytes = 0

    def _load_one(self, path: str, size: int) -> np.ndarray:
        key = (path, Path(path).stat().st_mtime_ns, size)
        with self._lock:
            if key in self._items:
                self._items.move_to_end(key)
                return self._items[key]
        image = resize_square(read_rgb(path, draft=size), size)
        with self._lock:
            self._items[key] = image
            self._bytes += image.nbytes
            while self._bytes > self.max_bytes and len(self._items) > 1:
                _, old = self._items.popitem(last=False)
                self._bytes -= old.nbytes
        return image

    def load(self, paths: Sequence[str], size: int, progress: Progress | None = None) -> np.ndarray:
        """N x size x size x 3 uint8, decoding what is not cached yet on two threads."""
        out = np.empty((len(paths), size, size, 3), dtype=np.uint8)
        with ThreadPoolExecutor(max_workers=2) as pool:
            for done, image in enumerate(pool.map(lambda p: self._load_one(p, size), paths), 1):
                out[done - 1] = image
                if progress is not None:
                    progress(done, len(paths))
        return out


IMAGE_CACHE = ImageCache()


class LocalizationDataset(torch.utils.data.Dataset):
    """Cached uint8 images, normalised boxes, labels; augmentation moves box and image together."""

    def __init__(
        self,
        images: np.ndarray,
        boxes: np.ndarray,
        labels: np.ndarray,
        transform: A.Compose | None = None,
    ) -> None:
        if not len(images) == len(boxes) == len(labels):
            raise ValueError("images, boxes and labels must have the same length")
        self.images, self.boxes, self.labels, self.transform = (
            images,
            boxes,
            labels,
            transform,
        )

    def __len__(self) -> int:
        return len(self.images)

    def __getitem__(self, index: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        image, box = self.images[index], self.boxes[index]
        if self.transform is not None:
            out = self.transform(image=image, bboxes=box[None], labels=[0])
            if len(out["bboxes"]) == 1:  # a box pushed out of the frame keeps the original
                image, box = (
                    out["image"],
                    np.asarray(out["bboxes"][0], dtype=np.float32),
                )
        tensor = torch.from_numpy(np.ascontiguousarray(image)).permute(2, 0, 1)
        return (
            tensor,
            torch.as_tensor(box, dtype=torch.float32),
            torch.tensor(self.labels[index]),
        )
