"""Shared fixtures: small datasets in the competition layout that tests create themselves."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
from PIL import Image

from maskloc.config import DataConfig, ModelConfig, RunConfig, TrainConfig

os.environ.setdefault("NO_ALBUMENTATIONS_UPDATE", "1")
if os.environ.get("PYTEST_XDIST_WORKER"):
    torch.set_num_threads(1)  # two workers on two cores: no oversubscription

ROOT = Path(__file__).resolve().parents[1]


def make_dataset(
    root: Path, n: int = 24, n_test: int = 6, seed: int = 0, sizes=((96, 64), (64, 80), (72, 72))
) -> Path:
    """Images of noise with one bright square 'face': red for mask, blue for no-mask.

    Image sizes vary (not square) so box normalisation by each image's own size is exercised;
    every photo gets a `source` so grouped splits are exercised too.
    """
    rng = np.random.default_rng(seed)
    (root / "images").mkdir(parents=True, exist_ok=True)
    rows = []
    for i in range(n + n_test):
        width, height = sizes[i % len(sizes)]
        image = rng.integers(0, 80, (height, width, 3), dtype=np.uint8)
        side = int(rng.integers(min(width, height) // 3, min(width, height) // 2))
        x0 = int(rng.integers(0, width - side))
        y0 = int(rng.integers(0, height - side))
        cls = "mask" if i % 3 else "no-mask"
        image[y0 : y0 + side, x0 : x0 + side] = (230, 40, 40) if cls == "mask" else (40, 40, 230)
        name = f"img_{i:03d}.png" if i % 2 else f"img_{i:03d}.jpg"
        Image.fromarray(image).save(root / "images" / name, quality=95)
        rows.append([name, x0, y0, x0 + side, y0 + side, cls, f"photo{i // 2}"])
    frame = pd.DataFrame(
        rows, columns=["filename", "xmin", "ymin", "xmax", "ymax", "class", "source"]
    )
    frame.iloc[:n].to_csv(root / "train.csv", index=False)
    frame.iloc[n:][["filename"]].to_csv(root / "test.csv", index=False)
    frame.iloc[n:, :6].to_csv(root / "test_labels.csv", index=False)
    return root


@pytest.fixture
def tiny_dataset(tmp_path: Path) -> Path:
    return make_dataset(tmp_path / "tiny")


def tiny_config(
    root: Path, epochs: int = 2, batch_size: int = 8, alpha: float = 0.7, image_size: int = 64
) -> RunConfig:
    """A small own_cnn run on CPU without augmentation: seconds, not minutes."""
    return RunConfig(
        DataConfig(root=str(root), image_size=image_size, augment="none"),
        ModelConfig(name="own_cnn", pretrained=False),
        TrainConfig(alpha=alpha, batch_size=batch_size, epochs=epochs, device="cpu"),
    )


@pytest.fixture(scope="session")
def checkpoint(tmp_path_factory) -> Path:
    """A one-epoch tiny checkpoint, trained once per test process, for tests that need any model."""
    from maskloc.runs import train_run

    data = make_dataset(tmp_path_factory.mktemp("ckpt-data") / "tiny")
    run = tmp_path_factory.mktemp("ckpt-run") / "run"
    train_run(tiny_config(data, epochs=1), run)
    return run / "best.pt"
