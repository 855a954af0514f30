"""One training run from a RunConfig: data -> model -> Trainer -> run folder on disk.

A run folder holds config.json, history.json (one row per evaluation), status.json and best.pt,
each written atomically as the run goes, so a crash or restart loses nothing already reported.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch.utils.data import DataLoader, WeightedRandomSampler

from .checkpoint import atomic_write_json, save_checkpoint
from .config import DataConfig, RunConfig
from .data import (
    IMAGE_CACHE,
    DatasetFolder,
    LocalizationDataset,
    Progress,
    channel_stats,
    load_dataset,
    split_indices,
)
from .engine import Trainer, TrainerState, resolve_device, set_seed
from .live_strip import LiveStrip, strip_positions
from .losses import LocalizationLoss, balanced_class_weights
from .models import LocalizationModel
from .stem_cache import StemView, memo_key, remembered, stem_features
from .transforms import train_transform

STATUSES = ("queued", "running", "finished", "stopped", "failed", "interrupted")
# Start-up work before the first training step, in order; a UI shows each with its own progress.
STARTUP_PHASES = ("decoding images", "stem features")
StartupProgress = Callable[[str, int, int], None]  # (phase, done, total)


@dataclass
class PreparedData:
    """A validated dataset with its images decoded once, split, and its channel statistics."""

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
        idx = self.train_idx if which == "train" else self.val_idx
        return self.images[idx], self.boxes[idx], self.labels[idx]


def prepare_data(config: DataConfig, progress: Progress | None = None) -> PreparedData:
    """Load, validate, split (grouped by `source` when present) and cache a dataset folder."""
    folder = load_dataset(config.root)
    frame = folder.train.frame
    labels = folder.labels(folder.train)
    groups = frame["source"].to_numpy() if "source" in frame.columns else None
    train_idx, val_idx = split_indices(labels, groups, config.val_fraction, config.split_seed)
    images = IMAGE_CACHE.load(frame["path"].tolist(), config.image_size, progress)
    mean, std = channel_stats(images[train_idx])
    boxes = folder.train.normalized_boxes()
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
        *data.subset("train"), transform=train_transform(config.data.augment, train_cfg.seed)
    )
    sampler = None
    if train_cfg.class_weighting == "sampler":
        counts = np.bincount(train_set.labels, minlength=len(data.folder.class_names))
        weights = 1.0 / counts[train_set.labels]
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
        LocalizationDataset(*data.subset("val")), batch_size=64, shuffle=False, pin_memory=pin
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
    train_arrays, val_arrays = data.subset("train"), data.subset("val")
    m = config.model
    key = memo_key(
        m.name, m.pretrained, m.frozen_blocks, config.data.augment, variants, variant_seed
    )
    train_set = remembered(
        memo_key(key, "train", arrays=train_arrays),
        lambda: stem_features(model, *train_arrays, transform, variants, device, progress),
    )
    val_set = remembered(
        memo_key(key, "val", arrays=val_arrays),
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


def build_trainer(
    config: RunConfig,
    data: PreparedData,
    stop_event: threading.Event | None = None,
    progress: Progress | None = None,
) -> Trainer:
    """Model, loss and Trainer for a config on prepared data (seeded before anything random).

    With `cache_stem` and a frozen stem, the Trainer sees a StemView over cached stem outputs.
    """
    set_seed(config.train.seed)
    if config.train.num_threads:
        torch.set_num_threads(config.train.num_threads)
    device = resolve_device(config.train.device)
    num_classes = len(data.folder.class_names)
    config.model.num_classes = num_classes
    model = LocalizationModel(config.model, data.mean, data.std)
    weights = None
    if config.train.class_weighting == "balanced":
        weights = balanced_class_weights(torch.from_numpy(data.labels[data.train_idx]), num_classes)
    loss_fn = LocalizationLoss(config.train.alpha, config.train.box_loss, weights)
    if config.train.cache_stem and model.has_frozen_stem:
        if config.train.class_weighting == "sampler":
            raise ValueError("cache_stem does not support the 'sampler' class weighting")
        train_loader, val_loader = _stem_loaders(model, data, config, device, progress)
        return Trainer(
            StemView(model), train_loader, val_loader, loss_fn, config.train, device, stop_event
        )
    train_loader, val_loader = make_loaders(data, config, device)
    return Trainer(model, train_loader, val_loader, loss_fn, config.train, device, stop_event)


def trained_model(trainer: Trainer) -> LocalizationModel:
    """The full model behind a Trainer, whether it trained on images or on cached stem outputs."""
    return trainer.model.model if isinstance(trainer.model, StemView) else trainer.model


class RunFolder:
    """Reads and writes one run's files; every write is atomic."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)

    @property
    def name(self) -> str:
        return self.path.name

    @property
    def checkpoint(self) -> Path:
        return self.path / "best.pt"

    def _read(self, name: str, default: Any) -> Any:
        try:
            return json.loads((self.path / name).read_text())
        except (FileNotFoundError, json.JSONDecodeError):
            return default

    def config(self) -> RunConfig:
        return RunConfig.from_dict(self._read("config.json", {}))

    def history(self) -> list[dict[str, Any]]:
        return self._read("history.json", [])

    def status(self) -> dict[str, Any]:
        return self._read("status.json", {"state": "interrupted", "message": "no status file"})

    def write_config(self, config: RunConfig) -> None:
        self.path.mkdir(parents=True, exist_ok=True)
        atomic_write_json(self.path / "config.json", config.to_dict())

    def write_history(self, history: list[dict[str, Any]]) -> None:
        atomic_write_json(self.path / "history.json", history)

    def write_status(self, state: str, message: str = "", **extra: Any) -> None:
        if state not in STATUSES:
            raise ValueError(f"unknown run state {state!r}")
        payload = {"state": state, "message": message, "updated": time.time(), **extra}
        atomic_write_json(self.path / "status.json", payload)


Callback = Callable[[Trainer], None]


def failure_reason(error: BaseException) -> str:
    """One line a user can act on."""
    if isinstance(error, torch.cuda.OutOfMemoryError | MemoryError):
        return "out of memory: lower the batch size or the image size, then start again"
    return f"{type(error).__name__}: {error}" if str(error) else type(error).__name__


def run_strip(data: PreparedData) -> LiveStrip:
    """The run's fixed strip of validation pictures (both classes), with their truth."""
    images, boxes, labels = data.subset("val")
    positions = strip_positions(labels)
    return LiveStrip(
        images[positions], boxes[positions], labels[positions], data.folder.class_names, positions
    )


def train_run(
    config: RunConfig,
    run_dir: str | Path,
    callbacks: dict[str, list[Callback]] | None = None,
    stop_event: threading.Event | None = None,
    data: PreparedData | None = None,
    progress: Progress | None = None,
    startup: StartupProgress | None = None,
) -> TrainerState:
    """Train one run end to end, keeping its folder current after every evaluation (history,
    status, best checkpoint and the live strip's predictions).

    `progress` hears (done, total) of every start-up phase; `startup` hears (phase, done, total)
    with the phase's name from STARTUP_PHASES. Raises what the Trainer raises (after marking the
    run failed), so callers see the reason.
    """

    def phase(name: str) -> Progress | None:
        if startup is None:
            return progress
        return lambda done, total: startup(name, done, total)

    run = RunFolder(run_dir)
    run.write_config(config)
    run.write_status("running", "preparing data")
    try:
        data = data or prepare_data(config.data, phase(STARTUP_PHASES[0]))
        trainer = build_trainer(config, data, stop_event, phase(STARTUP_PHASES[1]))
        strip = run_strip(data)
        strip.save(run.path)
    except Exception as error:
        run.write_status("failed", failure_reason(error))
        raise
    run.write_config(config)  # now with the number of classes the data has

    def save(trainer: Trainer) -> None:
        history = trainer.state.history
        run.write_history(history)
        predictions = trainer.state.last_predictions
        if predictions is not None and len(predictions.boxes) == len(data.val_idx):
            strip.record(
                trainer.state.epoch,
                trainer.state.step,
                predictions.boxes.numpy(),
                predictions.probabilities.numpy(),
                bool(history[-1].get("best")),
            )
            strip.save(run.path, pictures=False)
        if history[-1].get("best"):
            save_checkpoint(
                run.checkpoint,
                trained_model(trainer),
                data.folder.class_names,
                data.image_size,
                metrics=history[-1],
                run_config=config.to_dict(),
            )
        run.write_status("running", f"step {trainer.state.step}/{trainer.state.total_steps}")

    trainer.add_callback("on_eval_end", save)
    for event, functions in (callbacks or {}).items():
        for function in functions:
            trainer.add_callback(event, function)
    try:
        state = trainer.fit()
    except Exception as error:
        run.write_status("failed", failure_reason(error))
        raise
    if state.stopped_by_user:
        run.write_status("stopped", "stopped by user", best=state.best_metrics)
    else:
        how = "early stopping" if state.stopped_early else "all steps done"
        run.write_status("finished", how, best=state.best_metrics)
    return state
