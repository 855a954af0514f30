"""Give a trained model its face-presence output without retraining the rest of it.

Why: retraining the bundled model end to end takes CPU-hours on the classroom laptop. The presence
head reads the same pooled backbone features as the class head, so it can be fitted on top of the
frozen network: one backbone pass per picture (and per augmented copy), then a few seconds of
training on the pooled vectors. Every other weight and BatchNorm statistic is copied unchanged,
so boxes and classes stay exactly what they were; only the face-present logit and its
validation threshold are new. A full retrain with the presence term (`train` on a dataset with
`no_face.csv`) remains the better recipe when the CPU time is there.
"""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from ..config.sections import ModelConfig, RunConfig
from ..data.dataset import LocalizationDataset
from ..data.prepared import PreparedData, prepare_data
from ..data.transforms import train_transform
from ..models.checkpoint import checkpoint_bytes, model_from_checkpoint, starting_checkpoint
from ..models.localization import LocalizationModel
from ..utils.atomic import atomic_write_bytes
from ..utils.metrics import choose_presence_threshold, presence_metrics
from ..utils.progress import Progress
from .device import resolve_device, set_seed, to_float_images

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class PresenceFitSettings:
    """How the presence head is fitted: `variants` pictures per training image (the original
    plus augmented copies, `augment` preset), then `epochs` full passes of AdamW."""

    variants: int = 4
    augment: str = "zoom_out"
    epochs: int = 300
    lr: float = 1e-3
    weight_decay: float = 1e-4
    batch_size: int = 64
    seed: int = 0
    device: str = "cpu"

    def __post_init__(self) -> None:
        if self.variants < 1 or self.epochs < 1 or self.batch_size < 1:
            raise ValueError("variants, epochs and batch_size must be >= 1")
        if self.lr <= 0:
            raise ValueError(f"lr must be > 0, got {self.lr}")


@torch.no_grad()
def pooled_features(
    model: LocalizationModel,
    images: np.ndarray,
    transform: Any,
    variants: int,
    device: torch.device,
    progress: Progress | None = None,
    batch_size: int = 32,
) -> torch.Tensor:
    """N x variants x C pooled trunk features (variant 0 is the unaugmented picture)."""
    model.eval().to(device)
    dummy_boxes = np.tile(np.float32([[0.25, 0.25, 0.75, 0.75]]), (len(images), 1))
    labels = np.zeros(len(images), np.int64)
    per_variant, done, total = [], 0, variants * len(images)
    for variant in range(variants):
        dataset = LocalizationDataset(images, dummy_boxes, labels, transform if variant else None)
        chunks = []
        for start in range(0, len(dataset), batch_size):
            batch = torch.stack(
                [dataset[i][0] for i in range(start, min(start + batch_size, len(dataset)))]
            )
            features = model.trunk_features(to_float_images(batch, device))
            chunks.append(features.float().mean(dim=(2, 3)).cpu())
            done += len(batch)
            if progress is not None:
                progress(done, total)
        per_variant.append(torch.cat(chunks))
    return torch.stack(per_variant, dim=1)


def _fit_head(
    model: LocalizationModel,
    features: torch.Tensor,
    is_face: torch.Tensor,
    settings: PresenceFitSettings,
) -> list[float]:
    """Train the presence MLP on pooled features (one random variant per image per epoch)."""
    head = model.presence_head[2]  # after its AdaptiveAvgPool2d and Flatten
    head.train()
    optimizer = torch.optim.AdamW(
        head.parameters(), lr=settings.lr, weight_decay=settings.weight_decay
    )
    generator = torch.Generator().manual_seed(settings.seed)
    n, variants = features.shape[:2]
    losses = []
    for _ in range(settings.epochs):
        order = torch.randperm(n, generator=generator)
        pick = torch.randint(variants, (n,), generator=generator)
        total = 0.0
        for start in range(0, n, settings.batch_size):
            rows = order[start : start + settings.batch_size]
            logits = head(features[rows, pick[rows]]).squeeze(1)
            loss = F.binary_cross_entropy_with_logits(logits, is_face[rows])
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            total += float(loss.detach()) * len(rows)
        losses.append(total / n)
    head.eval()
    return losses


def fit_presence(
    checkpoint: str | Path,
    data_root: str | Path,
    out: str | Path,
    settings: PresenceFitSettings = PresenceFitSettings(),
    progress: Progress | None = None,
) -> dict[str, Any]:
    """Write `out`: the checkpoint with a fitted presence head and its validation threshold.

    The validation split is the checkpoint's own (its saved val_fraction and split seed); the
    no-face windows of the dataset's train split are the negatives, each on the side of its
    photo. Returns the validation presence metrics that were stored.
    """
    set_seed(settings.seed)
    payload = starting_checkpoint(checkpoint)  # refuses an ensemble or an incomplete file
    entry = {**payload["model_config"], "pretrained": False, "presence": True}
    model = model_from_checkpoint(ModelConfig(**entry), payload, payload["class_names"])
    run_config = RunConfig.from_dict(payload.get("run_config", {}))
    data_config = run_config.data
    data_config.root, data_config.image_size = str(data_root), int(payload["image_size"])
    data: PreparedData = prepare_data(data_config, progress)
    if data.folder.no_face is None or not (data.labels < 0).any():
        raise ValueError(f"{data_root}: no no_face.csv windows in the train split to learn from")
    device = resolve_device(settings.device)
    transform = train_transform(settings.augment, settings.seed)
    is_face = torch.from_numpy(data.labels >= 0).float()
    logger.info("pooling features of %d training pictures", len(data.train_idx))
    train_features = pooled_features(
        model, data.images[data.train_idx], transform, settings.variants, device, progress
    )
    val_features = pooled_features(model, data.images[data.val_idx], None, 1, device, progress)
    losses = _fit_head(model, train_features, is_face[data.train_idx], settings)
    with torch.no_grad():
        val_scores = torch.sigmoid(model.presence_head[2](val_features[:, 0]).squeeze(1)).numpy()
    val_is_face = data.labels[data.val_idx] >= 0
    threshold = choose_presence_threshold(val_scores, val_is_face)
    scores = presence_metrics(val_scores, val_is_face, threshold)
    logger.info("presence on validation: %s (last train loss %.4f)", scores, losses[-1])
    result = {key: value for key, value in payload.items() if key != "format"}
    result.update(
        state_dict={k: v.detach().cpu() for k, v in model.state_dict().items()},
        model_config=asdict(model.config),
        presence_threshold=threshold,
        metrics={**payload.get("metrics", {}), **scores},
        presence_fit={
            **asdict(settings),
            "from_checkpoint": Path(checkpoint).name,
            "final_train_loss": losses[-1],
        },
    )
    atomic_write_bytes(Path(out), checkpoint_bytes(result))
    return scores
