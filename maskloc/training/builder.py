"""From a RunConfig to a ready Trainer: the dataset decoded and split, the loaders (on images or on
cached stem outputs), the model and the loss. `train_run` (runs.py) and the benchmarks use it."""

from __future__ import annotations

import logging
import threading
from dataclasses import replace

import numpy as np
import torch
from torch.utils.data import DataLoader, WeightedRandomSampler

from ..config.sections import RunConfig
from ..data.dataset import LocalizationDataset
from ..data.layout import TRAIN, VAL
from ..data.prepared import PreparedData
from ..data.transforms import train_transform
from ..models.checkpoint import model_from_checkpoint, starting_checkpoint
from ..models.localization import LocalizationModel
from ..utils.progress import Progress
from .device import resolve_device, set_seed
from .losses import LocalizationLoss, balanced_class_weights
from .stem_cache import StemView, memo_key, remembered, stem_features, stem_identity
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
