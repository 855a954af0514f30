"""From a RunConfig and prepared data to a ready Trainer: the model (new, or grown from a starting
checkpoint), the loss, the loaders (on images or on cached stem outputs). `train_run`
(training/run.py), the tests and the benchmarks use it."""

from __future__ import annotations

import logging
import threading
from dataclasses import replace
from typing import Any

import numpy as np
import torch
from torch.utils.data import DataLoader, WeightedRandomSampler

from ..config.sections import RunConfig
from ..data.dataset import LocalizationDataset
from ..data.layout import TRAIN, VAL
from ..data.prepared import PreparedData
from ..data.transforms import train_transform
from ..models.checkpoint import model_from_checkpoint
from ..models.localization import LocalizationModel
from ..utils.progress import Progress
from .device import resolve_device, set_seed
from .losses import LocalizationLoss, balanced_class_weights
from .stem_cache import StemView, cached_loaders
from .trainer import Trainer

logger = logging.getLogger(__name__)


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


def for_data(config: RunConfig, data: PreparedData) -> RunConfig:
    """The config with the number of classes the data has (a copy: the caller's is untouched)."""
    return replace(config, model=replace(config.model, num_classes=len(data.folder.class_names)))


def build_trainer(
    config: RunConfig,
    data: PreparedData,
    stop_event: threading.Event | None = None,
    progress: Progress | None = None,
    start: dict[str, Any] | None = None,
) -> Trainer:
    """Model, loss, loaders and Trainer for a config on prepared data, seeded before anything
    random. `start` is the checkpoint the run starts from (`config.train.init_from`), as
    `adopt_checkpoint` read it; None: ImageNet or random weights.

    With `cache_stem` and a frozen stem, the Trainer sees a StemView over cached stem outputs.
    Leaves `config` and process-wide settings (torch's thread count) alone: it may run on a
    worker thread of a server that other sessions share.
    """
    config = for_data(config, data)
    set_seed(config.train.seed)
    device = resolve_device(config.train.device)
    if config.train.init_from and start is None:
        raise ValueError("a run from a checkpoint needs it: pass what adopt_checkpoint returned")
    model = _model(config, data, start)
    loss_fn = _loss(config, data)
    cached = config.train.cache_stem and model.has_frozen_stem
    if cached:
        train_loader, val_loader = cached_loaders(model, data, config, device, progress)
    else:
        train_loader, val_loader = make_loaders(data, config, device)
    trained = StemView(model) if cached else model
    return Trainer(trained, train_loader, val_loader, loss_fn, config.train, device, stop_event)


def _model(
    config: RunConfig, data: PreparedData, start: dict[str, Any] | None
) -> LocalizationModel:
    """A new model normalised with the data's statistics, or the starting checkpoint's."""
    if start is None:
        return LocalizationModel(config.model, data.mean, data.std)
    if int(start["image_size"]) != data.image_size:
        raise ValueError(
            f"data prepared at {data.image_size} px, the checkpoint wants {start['image_size']} px"
        )
    return model_from_checkpoint(config.model, start, data.folder.class_names)


def _loss(config: RunConfig, data: PreparedData) -> LocalizationLoss:
    """The run's loss mix, the class term weighted against imbalance when asked."""
    weights = None
    if config.train.class_weighting == "balanced":
        labels = torch.from_numpy(data.labels[data.train_idx])
        weights = balanced_class_weights(labels, config.model.num_classes)
    train = config.train
    return LocalizationLoss(train.alpha, train.box_loss, weights, train.presence_weight)


def trained_model(trainer: Trainer) -> LocalizationModel:
    """The full model behind a Trainer, whether it trained on images or on cached stem outputs."""
    return trainer.model.model if isinstance(trainer.model, StemView) else trainer.model
