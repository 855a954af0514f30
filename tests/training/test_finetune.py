"""Starting a run from a checkpoint: its weights, size, normalisation and classes; a new class
grows the class head."""

from __future__ import annotations

import json
import logging

import pandas as pd
import pytest
import torch
from conftest import make_dataset

from maskloc.config.presets import preset
from maskloc.config.sections import ModelConfig
from maskloc.data.table import class_names_for
from maskloc.models.checkpoint import CheckpointError, model_from_checkpoint, read_checkpoint
from maskloc.training.run import train_run


def test_class_names_keep_the_checkpoint_ids():
    found = pd.DataFrame({"class": ["mask", "hat", "no-mask"]})
    assert class_names_for(found, kept=["mask", "no-mask", "visor"]) == [
        "mask", "no-mask", "visor", "hat",
    ]  # fmt: skip
    assert class_names_for(found, kept=["no-mask"]) == ["no-mask", "mask", "hat"]


def test_a_new_class_adds_a_zero_row_and_keeps_the_old_ones(checkpoint, caplog):
    payload = read_checkpoint(checkpoint)
    config = ModelConfig(**{**payload["model_config"], "pretrained": False})
    with caplog.at_level(logging.WARNING, logger="maskloc.models.checkpoint"):
        model = model_from_checkpoint(config, payload, ["mask", "no-mask", "hat"])
    assert "new class(es) hat: added 1 output row(s)" in caplog.text
    state = model.state_dict()
    for key, old in payload["state_dict"].items():
        if key.startswith("class_head") and state[key].shape != old.shape:
            assert torch.equal(state[key][:2], old) and not state[key][2:].any()
        else:
            assert torch.equal(state[key], old), key


def test_finetune_run_starts_from_the_checkpoint_with_a_new_class(checkpoint, tmp_path):
    data = make_dataset(tmp_path / "own", n=12, n_test=0, seed=3)
    frame = pd.read_csv(data / "train.csv")
    frame.loc[:3, "class"] = "hat"
    frame.to_csv(data / "train.csv", index=False)
    config = preset("finetune")
    config.data.root, config.train.init_from = str(data), str(checkpoint)
    config.train.epochs, config.train.cached_variants, config.train.device = 2, 2, "cpu"
    train_run(config, tmp_path / "ft")
    tuned = read_checkpoint(tmp_path / "ft" / "best.pt")
    before = read_checkpoint(checkpoint)
    assert tuned["class_names"] == ["mask", "no-mask", "hat"]
    assert before["image_size"] == 64 != preset("finetune").data.image_size
    assert tuned["image_size"] == 64 and tuned["mean"] == before["mean"]
    backbone = [k for k in before["state_dict"] if k.startswith("backbone")]
    assert backbone and all(
        torch.equal(tuned["state_dict"][k], before["state_dict"][k]) for k in backbone
    )
    head = [v for k, v in tuned["state_dict"].items() if k.startswith("class_head") and v.ndim == 2]
    assert head[-1].shape[0] == 3  # one output per class, the new one included
    saved = json.loads((tmp_path / "ft" / "config.json").read_text())
    assert saved["train"]["init_from"] == str(checkpoint) and saved["model"]["name"] == "own_cnn"


def test_an_ensemble_cannot_be_a_starting_point(checkpoint, tmp_path):
    from maskloc.models.checkpoint import checkpoint_bytes, ensemble_payload
    from maskloc.utils.atomic import atomic_write_bytes

    atomic_write_bytes(
        tmp_path / "e.pt", checkpoint_bytes(ensemble_payload([checkpoint, checkpoint]))
    )
    config = preset("finetune")
    config.train.init_from = str(tmp_path / "e.pt")
    with pytest.raises(CheckpointError, match="an ensemble cannot be fine-tuned"):
        train_run(config, tmp_path / "run")


def test_a_small_collected_set_splits_with_one_source_per_picture():
    """Six pictures, three per class, each its own source: too few to stratify four folds."""
    import numpy as np

    from maskloc.data.split import split_indices

    labels = np.array([0, 1, 0, 1, 0, 1])
    train, val = split_indices(labels, np.arange(6).astype(str), 0.25, 42)
    assert sorted([*train, *val]) == list(range(6)) and len(val) >= 1 and len(train) >= 4
