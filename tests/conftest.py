"""Shared fixtures and helpers: small datasets in the competition layout that tests create
themselves, a tiny model trained once per test process, the app's environment (tiny data, tiny
model, a temporary runs folder, through MASKLOC_DATA, MASKLOC_RUNS and MASKLOC_CHECKPOINT), and
small files other tests write (a picture, a VOC annotation, a checkpoint with a set face score).
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
from app_steps import POLL_TIMEOUT, Env, clear_caches
from PIL import Image

from maskloc.config import DataConfig, ModelConfig, RunConfig, TrainConfig
from maskloc.models.checkpoint import checkpoint_bytes, read_checkpoint

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
    from maskloc.training.run import train_run

    data = make_dataset(tmp_path_factory.mktemp("ckpt-data") / "tiny")
    run = tmp_path_factory.mktemp("ckpt-run") / "run"
    train_run(tiny_config(data, epochs=1), run)
    return run / "best.pt"


@pytest.fixture
def env(tmp_path, monkeypatch, checkpoint) -> Env:
    environment = Env(make_dataset(tmp_path / "data"), tmp_path / "runs", checkpoint)
    monkeypatch.setenv("MASKLOC_DATA", str(environment.data))
    monkeypatch.setenv("MASKLOC_RUNS", str(environment.runs))
    monkeypatch.setenv("MASKLOC_CHECKPOINT", str(environment.checkpoint))
    clear_caches()
    yield environment
    from app_parts.jobs import _registry

    jobs = _registry(str(environment.runs.resolve()))
    jobs.stop_all()
    assert jobs.join(POLL_TIMEOUT)
    clear_caches()


def with_presence_bias(source: Path, target: Path, bias: float) -> Path:
    """A copy of a presence checkpoint whose face score is ~0 (bias -30) or ~1 (bias +30), with
    threshold 0.5 (kept when the source has one)."""
    payload = read_checkpoint(source)
    payload["presence_threshold"] = payload.get("presence_threshold") or 0.5
    state = payload["state_dict"]
    last = [k for k in state if k.startswith("presence_head.") and k.endswith("bias")][-1]
    weight = last.replace("bias", "weight")
    state[weight] = torch.zeros_like(state[weight])
    state[last] = torch.full_like(state[last], bias)
    target.write_bytes(checkpoint_bytes({k: v for k, v in payload.items() if k != "format"}))
    return target


def picture_file(path: Path, size=(80, 60), mode="RGB") -> Path:
    """A noise picture of `size` saved at `path` (its format from the suffix)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    array = np.random.default_rng(len(str(path))).integers(0, 255, (size[1], size[0], 3), np.uint8)
    Image.fromarray(array).convert(mode).save(path)
    return path


def voc_xml(filename: str, *objects: tuple[str, int, int, int, int], extra: str = "") -> str:
    """A Pascal VOC annotation naming `filename` with one object per (class, box)."""
    parts = [
        f"<object><name>{name}</name><bndbox><xmin>{a}</xmin><ymin>{b}</ymin>"
        f"<xmax>{c}</xmax><ymax>{d}</ymax></bndbox></object>"
        for name, a, b, c, d in objects
    ]
    return f"{extra}<annotation><filename>{filename}</filename>{''.join(parts)}</annotation>"
