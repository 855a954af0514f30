"""A dataset ready to train on: validated, split (grouped by source photo), decoded once into
memory at the run's size, with its normalisation statistics and, for face presence, the no-face
windows of the training photos on the side of the split their photo is on."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from ..config.sections import DataConfig
from ..utils.progress import Progress
from .dataset import NO_FACE_LABEL, PLACEHOLDER_BOX, channel_stats
from .folder import DatasetFolder, load_dataset
from .image_cache import IMAGE_CACHE
from .layout import TRAIN
from .split import check_split, train_val_positions

logger = logging.getLogger(__name__)


@dataclass
class PreparedData:
    """A validated dataset with its images decoded once, split, and its channel statistics.

    Rows are the train.csv faces, then (when used) the train-split no-face windows with label
    NO_FACE_LABEL; each window is on the side of the split its source photo's faces are on.
    """

    folder: DatasetFolder
    images: np.ndarray
    boxes: np.ndarray
    labels: np.ndarray
    train_idx: np.ndarray
    val_idx: np.ndarray
    mean: tuple[float, ...]
    std: tuple[float, ...]
    image_size: int

    def subset(self, which: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        idx = self.train_idx if which == TRAIN else self.val_idx
        return self.images[idx], self.boxes[idx], self.labels[idx]


def prepare_data(
    config: DataConfig,
    progress: Progress | None = None,
    no_face: bool = True,
    kept_classes: Sequence[str] = (),
) -> PreparedData:
    """Load, validate, split (grouped by `source` when present) and cache a dataset folder.

    Refuses (DataError) a class that cannot be on both sides of the split, before decoding.
    With `no_face` and a `no_face.csv`, its train-split windows join as presence negatives. The
    face split and the normalisation statistics come from the faces alone, so they are the same
    with or without the windows.
    `kept_classes` (a starting checkpoint's) keep their ids; the data's other classes follow."""
    folder = load_dataset(config.root, kept_classes)
    frame = folder.train.frame
    labels, train_idx, val_idx = train_val_positions(folder, config.val_fraction, config.split_seed)
    for warning in check_split(folder, labels, train_idx, val_idx).warnings:
        logger.warning(warning)
    windows = folder.no_face_frame(TRAIN)
    if not no_face:
        windows = windows.iloc[:0]
    paths = frame["path"].tolist() + windows["path"].tolist()
    images = IMAGE_CACHE.load(paths, config.image_size, progress)
    mean, std = channel_stats(images[train_idx])
    boxes = folder.train.normalized_boxes()
    if len(windows):
        placeholder = np.tile(np.asarray(PLACEHOLDER_BOX, np.float32), (len(windows), 1))
        boxes = np.concatenate([boxes, placeholder])
        labels = np.concatenate([labels, np.full(len(windows), NO_FACE_LABEL, np.int64)])
        has_sources = "source" in frame.columns
        val_sources = set(frame["source"].iloc[val_idx]) if has_sources else set()
        in_val = windows["source"].isin(val_sources).to_numpy()
        positions = len(frame) + np.arange(len(windows))
        train_idx = np.concatenate([train_idx, positions[~in_val]])
        val_idx = np.concatenate([val_idx, positions[in_val]])
    return PreparedData(
        folder, images, boxes, labels, train_idx, val_idx, mean, std, config.image_size
    )
