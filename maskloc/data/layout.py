"""The competition layout, declared once: the two known classes, the CSV columns, the split
names, and the rule for where an image a CSV names may live.

A dataset folder holds `train.csv` (filename, xmin, ymin, xmax, ymax, class), optional `test.csv`
(filename) and `test_labels.csv` (the answers for test.csv), optional `no_face.csv`
(filename, split, source: pictures without a face), and `images/`. Light on purpose (no
torch, no pandas): the CLI and the dataset builder import it too.
"""

from __future__ import annotations

from pathlib import Path, PurePosixPath, PureWindowsPath

from ..utils.fingerprints import files_digest
from ..utils.messages import N_, ExplainedError

TRAIN_CSV, TEST_CSV, TEST_LABELS_CSV, IMAGES_DIR = (
    "train.csv",
    "test.csv",
    "test_labels.csv",
    "images",
)
# Optional: pictures without a face (negatives for face presence), each in its photo's split.
NO_FACE_CSV = "no_face.csv"
CSV_FILES = (TRAIN_CSV, TEST_CSV, TEST_LABELS_CSV, NO_FACE_CSV)
NO_FACE_COLUMNS = ("filename", "split", "source")

KNOWN_CLASSES = ("mask", "no-mask")  # always ids 0 and 1; other class names follow, sorted
BOX_COLUMNS = ("xmin", "ymin", "xmax", "ymax")
LABELLED_COLUMNS = ("filename", *BOX_COLUMNS, "class")
SOURCE = "source"  # the photo a picture came from: validation splits are grouped by it
LABELLED_WITH_SOURCE = (*LABELLED_COLUMNS, SOURCE)  # what maskloc writes into train.csv
SUBMISSION_COLUMNS = ("filename", "class", *BOX_COLUMNS)

# Splits: train.csv is cut into TRAIN and VAL by seed; TEST is test.csv scored against
# test_labels.csv; ALL is every labelled row of train.csv.
TRAIN, VAL, TEST, ALL = "train", "val", "test", "all"
EVAL_SPLITS = (VAL, TEST, ALL)


class UnsafeName(ExplainedError, ValueError):
    """A file name that may not be used to reach an image; the message says why."""


def safe_image_path(images_dir: Path, filename: str) -> Path:
    """images_dir/filename resolved, refusing a name that is empty, holds a NUL byte, is
    absolute or has a drive, climbs out with '..', or leads outside images_dir through a link.

    Raises ValueError naming the file; CSVs, uploads and annotation files are never trusted.
    """
    if not filename or not filename.strip():
        raise UnsafeName(N_("empty filename"))
    if "\x00" in filename:
        raise UnsafeName(N_("{file} holds a NUL byte"), file=repr(filename))
    folder = f"{images_dir.name}/"
    for flavour in (PurePosixPath, PureWindowsPath):
        pure = flavour(filename)
        if pure.is_absolute() or pure.drive or ".." in pure.parts:
            raise UnsafeName(
                N_("{file} must be a plain name inside {folder}"),
                file=repr(filename),
                folder=folder,
            )
    root = images_dir.resolve()
    path = (root / filename).resolve()
    if not path.is_relative_to(root):
        raise UnsafeName(N_("{file} points outside {folder}"), file=repr(filename), folder=folder)
    return path


def dataset_files(root: Path) -> list[Path]:
    """The files that make a dataset folder: its CSVs and every file under images/."""
    files = [root / name for name in CSV_FILES if (root / name).is_file()]
    images = root / IMAGES_DIR
    if images.is_dir():
        files += sorted(p for p in images.rglob("*") if p.is_file())
    return files


def dataset_digest(root: str | Path) -> str:
    """sha256 over a dataset folder's files (names and bytes): what it holds, not where."""
    return files_digest(root, dataset_files(Path(root)))


def dataset_signature(root: Path) -> tuple:
    """A few stat calls that change when a dataset's CSVs or its images/ folder change: the key
    of anything cached per dataset version (a reread table, a packed zip)."""
    parts = []
    for name in (*CSV_FILES, IMAGES_DIR):
        try:
            stat = (root / name).stat()
            parts.append((name, stat.st_mtime_ns, stat.st_size))
        except OSError:
            parts.append((name, None, None))
    return tuple(parts)
