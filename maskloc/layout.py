"""The competition layout, declared once: the two known classes, the CSV columns, the split
names, and the rule for where an image a CSV names may live.

A dataset folder holds `train.csv` (filename, xmin, ymin, xmax, ymax, class), optional `test.csv`
(filename) and `test_labels.csv` (the answers for test.csv), optional `no_face.csv`
(filename, split, source: pictures without a face), and `images/`. Light on purpose (no
torch, no pandas): the CLI and the dataset builder import it too.
"""

from __future__ import annotations

from pathlib import Path, PurePosixPath, PureWindowsPath

from .messages import N_, ExplainedError

TRAIN_CSV, TEST_CSV, TEST_LABELS_CSV, IMAGES_DIR = (
    "train.csv",
    "test.csv",
    "test_labels.csv",
    "images",
)
LAYOUT_NAMES = (TRAIN_CSV, TEST_CSV, TEST_LABELS_CSV, IMAGES_DIR)
# Optional: pictures without a face (negatives for face presence), each in its photo's split.
NO_FACE_CSV = "no_face.csv"
NO_FACE_COLUMNS = ("filename", "split", "source")

KNOWN_CLASSES = ("mask", "no-mask")  # always ids 0 and 1; other class names follow, sorted
BOX_COLUMNS = ("xmin", "ymin", "xmax", "ymax")
LABELLED_COLUMNS = ("filename", *BOX_COLUMNS, "class")
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
