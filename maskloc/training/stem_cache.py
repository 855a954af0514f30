"""Train in seconds: run a frozen pretrained stem once per image (and per cached augmented
variant), keep its outputs, and train only the tail and heads on them.

The tail is shared by both heads, so the loss weight alpha still shapes what is learned; with a
fully frozen backbone and separate heads it would not (measured: IoU flat across alphas).
"""

from __future__ import annotations

import copy
import hashlib
import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from itertools import pairwise
from pathlib import Path

import albumentations as A
import numpy as np
import torch
from torch import nn
from torch.nn.utils.fusion import fuse_conv_bn_eval
from torch.utils.data import DataLoader, Dataset

from ..config.sections import RunConfig
from ..data.dataset import LocalizationDataset
from ..data.layout import TRAIN, VAL
from ..data.prepared import PreparedData
from ..data.transforms import train_transform
from ..models.localization import LocalizationModel
from ..utils.progress import Progress
from .device import to_float_images

logger = logging.getLogger(__name__)


class StemFeatureDataset(Dataset):
    """variants x stem outputs per image; each access draws one variant (0 is the original)."""

    def __init__(self, features: torch.Tensor, boxes: torch.Tensor, labels: torch.Tensor) -> None:
        self.features, self.boxes, self.labels = features, boxes, labels

    def __len__(self) -> int:
        return self.features.shape[0]

    def __getitem__(self, index: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        variant = (
            int(torch.randint(self.features.shape[1], ())) if self.features.shape[1] > 1 else 0
        )
        return self.features[index, variant], self.boxes[index, variant], self.labels[index]


def folded_stem(model: LocalizationModel) -> nn.Module:
    """A copy of the frozen stem with every BatchNorm folded into the convolution before it.

    The stem never trains and runs in eval mode, so each conv + BatchNorm pair is one affine map:
    the same outputs (to float rounding) for about half the work (profiled: BatchNorm took as
    long as the convolutions). The model's own stem is left untouched.
    """
    stem = copy.deepcopy(model.stem).eval()
    for module in stem.modules():
        if not isinstance(module, nn.Sequential):
            continue
        children = list(module.named_children())
        for (conv_name, conv), (bn_name, bn) in pairwise(children):
            if isinstance(conv, nn.Conv2d) and isinstance(bn, nn.BatchNorm2d):
                setattr(module, conv_name, fuse_conv_bn_eval(conv, bn))
                setattr(module, bn_name, nn.Identity())
    return stem.requires_grad_(False)


def _batches(
    dataset: LocalizationDataset, batch_size: int
) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
    """(images, boxes) batches, the next one augmented on a helper thread while the caller runs
    the stem on this one (OpenCV and numpy release the GIL while they work)."""

    def make(start: int) -> tuple[torch.Tensor, torch.Tensor]:
        items = [dataset[i] for i in range(start, min(start + batch_size, len(dataset)))]
        return torch.stack([item[0] for item in items]), torch.stack([item[1] for item in items])

    starts = list(range(0, len(dataset), batch_size))
    if not starts:
        return
    with ThreadPoolExecutor(max_workers=1) as pool:
        pending = pool.submit(make, starts[0])
        for following in [*starts[1:], None]:
            batch = pending.result()
            if following is not None:
                pending = pool.submit(make, following)
            yield batch


@torch.no_grad()  # not inference_mode: the features are inputs of training steps later
def stem_features(
    model: LocalizationModel,
    images: np.ndarray,
    boxes: np.ndarray,
    labels: np.ndarray,
    transform: A.Compose | None,
    variants: int,
    device: torch.device,
    progress: Progress | None = None,
    batch_size: int = 64,
) -> StemFeatureDataset:
    """Stem outputs for the original and `variants - 1` augmented copies of every image."""
    model.eval().to(device)
    stem = folded_stem(model).to(device)
    mean, std = model.mean, model.std
    variants = variants if transform is not None else 1
    per_variant_features, per_variant_boxes = [], []
    total, done = variants * len(images), 0
    for variant in range(variants):
        dataset = LocalizationDataset(images, boxes, labels, transform if variant else None)
        outputs, moved = [], []
        for batch, batch_boxes in _batches(dataset, batch_size):
            x = to_float_images(batch, device)
            outputs.append(stem((x - mean) / std).float().cpu())
            moved.append(batch_boxes)
            done += len(batch)
            if progress is not None:
                progress(done, total)
        per_variant_features.append(torch.cat(outputs))
        per_variant_boxes.append(torch.cat(moved))
    return StemFeatureDataset(
        torch.stack(per_variant_features, dim=1).contiguous(),
        torch.stack(per_variant_boxes, dim=1),
        torch.as_tensor(labels, dtype=torch.int64),
    )


class StemView(nn.Module):
    """The model as the Trainer sees it when inputs are cached stem features."""

    def __init__(self, model: LocalizationModel) -> None:
        super().__init__()
        self.model = model

    def forward(self, stem_output: torch.Tensor) -> dict[str, torch.Tensor]:
        return self.model.forward_from_stem(stem_output)

    def parameter_groups(self, *learning_rates: float) -> list[dict]:
        return self.model.parameter_groups(*learning_rates)


_MEMO: OrderedDict[str, StemFeatureDataset] = OrderedDict()
_MEMO_LOCK = threading.Lock()
_MEMO_SIZE = 4


def memo_key(*parts: object, arrays: tuple[np.ndarray, ...] = ()) -> str:
    """A digest of the settings and the exact input arrays the features depend on."""
    digest = hashlib.sha1(repr(parts).encode())
    for array in arrays:
        digest.update(np.ascontiguousarray(array).data)
    return digest.hexdigest()


def remembered(key: str, compute: Callable[[], StemFeatureDataset]) -> StemFeatureDataset:
    """Runs that differ only in alpha or learning rates share one feature extraction."""
    with _MEMO_LOCK:
        if key in _MEMO:
            _MEMO.move_to_end(key)
            logger.info("stem features reused (%d images)", len(_MEMO[key]))
            return _MEMO[key]
    started = time.monotonic()
    features = compute()
    logger.info(
        "stem features computed: %s in %.1f s",
        tuple(features.features.shape),
        time.monotonic() - started,
    )
    with _MEMO_LOCK:
        _MEMO[key] = features
        while len(_MEMO) > _MEMO_SIZE:
            _MEMO.popitem(last=False)
    return features


def forget_all() -> None:
    with _MEMO_LOCK:
        _MEMO.clear()


def stem_identity(path: str) -> str:
    """Names the starting weights for the stem-feature memo (a rewritten file is new weights)."""
    if not path:
        return "imagenet"
    file = Path(path)
    return f"{file.resolve()}:{file.stat().st_mtime_ns}" if file.exists() else path


def cached_loaders(
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
