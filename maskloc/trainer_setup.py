"""From a RunConfig to a ready Trainer: the dataset decoded and split, the loaders (on images or on
cached stem outputs), the model and the loss. `train_run` (runs.py) and the benchmarks use it."""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np
import torch
from torch.utils.data import DataLoader, WeightedRandomSampler

from .config import DataConfig, RunConfig
from .data import (
    IMAGE_CACHE,
    NO_FACE_LABEL,
    PLACEHOLDER_BOX,
    DatasetFolder,
    LocalizationDataset,
    channel_stats,
    load_dataset,
    train_val_positions,
)
from .engine import Trainer, resolve_device, set_seed
from .finetune import (
    merged_class_names,
    model_from_checkpoint,
    starting_checkpoint,
    stem_identity,
)
from .layout import TRAIN, VAL
from .losses import LocalizationLoss, balanced_class_weights
from .models import LocalizationModel
from .preflight import check_split
from .progress import Progress
from .stem_cache import StemView, memo_key, remembered, stem_features
from .transforms import train_transform

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
    folder = load_dataset(config.root)
    if kept_classes:
        folder.class_names = merged_class_names(kept_classes, folder.class_names)
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


def make_loaders(
    data: PreparedData, config: RunConfig, device: torch.device
) -> tuple[DataLoader, DataLoader]:
    """Training loader (augmented, optionally class-balanced sampling) and validation loader."""
    train_cfg = config.train
    generator = torch.Generator().manual_seed(train_cfg.seed)
    train_set = LocalizationDataset(
        *data.subset(TRAIN), transform=train_transform(config.data.augment, train_cfg.seed)
    )
    sampler = None
    if train_cfg.class_weighting == "sampler":
        # No-face windows are drawn as often as each class (they get the last bin).
        classes = len(data.folder.class_names)
        bins = np.where(train_set.labels < 0, classes, train_set.labels)
        counts = np.bincount(bins, minlength=classes + 1)
        weights = 1.0 / counts[bins]
        sampler = WeightedRandomSampler(weights, len(weights), generator=generator)
    pin = device.type == "cuda"
    train_loader = DataLoader(
        train_set,
        batch_size=train_cfg.batch_size,
        shuffle=sampler is None,
        sampler=sampler,
        generator=generator,
        drop_last=len(train_set) > train_cfg.batch_size,
        pin_memory=pin,
    )
    val_loader = DataLoader(
        LocalizationDataset(*data.subset(VAL)), batch_size=64, shuffle=False, pin_memory=pin
    )
    return train_loader, val_loader


def _stem_loaders(
    model: LocalizationModel,
    data: PreparedData,
    config: RunConfig,
    device: torch.device,
    progress: Progress | None,
) -> tuple[DataLoader, DataLoader]:
    """Loaders over cached stem outputs: augmented variants for training, originals for val.

    The cached variants are drawn with the data's split seed, not the run's seed: a run's seed
    still changes the heads' initialisation, the batch order and which variant each step sees,
    and a new seed (or alpha, or learning rate) reuses the features already computed.
    """
    variant_seed = config.data.split_seed
    transform = train_transform(config.data.augment, variant_seed)
    variants = config.train.cached_variants
    train_arrays, val_arrays = data.subset(TRAIN), data.subset(VAL)
    m = config.model
    start = stem_identity(config.train.init_from)
    key = memo_key(
        m.name, m.pretrained, m.frozen_blocks, m.freeze_backbone, start,
        config.data.augment, variants, variant_seed,
    )  # fmt: skip
    train_set = remembered(
        memo_key(key, TRAIN, arrays=train_arrays),
        lambda: stem_features(model, *train_arrays, transform, variants, device, progress),
    )
    val_set = remembered(
        memo_key(key, VAL, arrays=val_arrays),
        lambda: stem_features(model, *val_arrays, None, 1, device),
    )
    generator = torch.Generator().manual_seed(config.train.seed)
    batch = config.train.batch_size
    train_loader = DataLoader(
        train_set,
        batch_size=batch,
        shuffle=True,
        generator=generator,
        drop_last=len(train_set) > batch,
    )
    return train_loader, DataLoader(val_set, batch_size=128)


def for_data(config: RunConfig, data: PreparedData) -> RunConfig:
    """The config with the number of classes the data has (a copy: the caller's is untouched)."""
    return replace(config, model=replace(config.model, num_classes=len(data.folder.class_names)))


def build_trainer(
    config: RunConfig,
    data: PreparedData,
    stop_event: threading.Event | None = None,
    progress: Progress | None = None,
) -> Trainer:
    """Model, loss and Trainer for a config on prepared data (seeded before anything random).

    With `cache_stem` and a frozen stem, the Trainer sees a StemView over cached stem outputs.
    Leaves `config` and process-wide settings (torch's thread count) alone: it may run on a
    worker thread of a server that other sessions share.
    """
    config = for_data(config, data)
    set_seed(config.train.seed)
    device = resolve_device(config.train.device)
    num_classes = config.model.num_classes
    if config.train.init_from:
        payload = starting_checkpoint(config.train.init_from)
        if int(payload["image_size"]) != data.image_size:
            raise ValueError(
                f"data prepared at {data.image_size} px, the checkpoint wants "
                f"{payload['image_size']} px"
            )
        model = model_from_checkpoint(config.model, payload, data.folder.class_names)
    else:
        model = LocalizationModel(config.model, data.mean, data.std)
    weights = None
    if config.train.class_weighting == "balanced":
        weights = balanced_class_weights(torch.from_numpy(data.labels[data.train_idx]), num_classes)
    loss_fn = LocalizationLoss(
        config.train.alpha, config.train.box_loss, weights, config.train.presence_weight
    )
    if config.train.cache_stem and model.has_frozen_stem:
        train_loader, val_loader = _stem_loaders(model, data, config, device, progress)
        return Trainer(
            StemView(model), train_loader, val_loader, loss_fn, config.train, device, stop_event
        )
    train_loader, val_loader = make_loaders(data, config, device)
    return Trainer(model, train_loader, val_loader, loss_fn, config.train, device, stop_event)


def trained_model(trainer: Trainer) -> LocalizationModel:
    """The full model behind a Trainer, whether it trained on images or on cached stem outputs."""
    return trainer.model.model if isinstance(trainer.model, StemView) else trainer.model
