"""Trainer behaviour: repeatable, stoppable within a batch, early stopping, failure reporting."""

from __future__ import annotations

import threading

import pytest
import torch

from maskloc.config.sections import DataConfig, ModelConfig, RunConfig, TrainConfig
from maskloc.data.prepared import prepare_data
from maskloc.training.builder import build_trainer
from maskloc.training.trainer import NonFiniteLoss, Trainer


def _config(root, **train) -> RunConfig:
    settings = {
        "epochs": 3,
        "batch_size": 8,
        "lr_backbone": 3e-3,
        "lr_class_head": 3e-3,
        "lr_box_head": 3e-3,
        "device": "cpu",
        **train,
    }
    return RunConfig(
        DataConfig(str(root), image_size=32, augment="notebook"),
        ModelConfig("own_cnn", pretrained=False),
        TrainConfig(**settings),
    )


def _trainer(root, stop_event=None, **train) -> Trainer:
    config = _config(root, **train)
    return build_trainer(config, prepare_data(config.data), stop_event)


def test_same_seed_same_history_on_cpu(tiny_dataset):
    first = _trainer(tiny_dataset, seed=3).fit().history
    second = _trainer(tiny_dataset, seed=3).fit().history
    other = _trainer(tiny_dataset, seed=4).fit().history
    strip = lambda rows: [{k: v for k, v in r.items() if k != "seconds"} for r in rows]  # noqa: E731
    assert strip(first) == strip(second)
    assert strip(first) != strip(other)


def test_every_event_fires_in_epoch_mode(tiny_dataset):
    trainer = _trainer(tiny_dataset, epochs=2)
    seen = []
    for event in ("on_batch_end", "on_eval_end", "on_epoch_end", "on_finished"):
        trainer.add_callback(event, lambda t, e=event: seen.append(e))
    state = trainer.fit()
    per_epoch = len(trainer.train_loader)
    assert seen.count("on_batch_end") == 2 * per_epoch == state.step
    assert seen.count("on_eval_end") == seen.count("on_epoch_end") == 2
    assert seen[-1] == "on_finished"
    row = state.history[-1]
    for key in (
        "train_loss",
        "train_class_loss",
        "train_box_loss",
        "val_loss",
        "val_class_loss",
        "val_box_loss",
        "mean_iou",
        "iou50",
        "accuracy",
        "balanced_accuracy",
    ):
        assert key in row
    with pytest.raises(ValueError, match="unknown event"):
        trainer.add_callback("on_lunch", print)


def test_step_mode_evaluates_every_n_steps(tiny_dataset):
    state = _trainer(tiny_dataset, steps=5, eval_every=2).fit()
    assert [row["step"] for row in state.history] == [2, 4, 5]
    assert state.step == 5


def test_stop_event_takes_effect_within_one_batch(tiny_dataset):
    stop = threading.Event()
    trainer = _trainer(tiny_dataset, stop, epochs=50)
    trainer.add_callback("on_batch_end", lambda t: stop.set() if t.state.step == 3 else None)
    state = trainer.fit()
    assert state.stopped_by_user and state.step == 3


def test_early_stopping_after_patience_evaluations_without_gain(tiny_dataset):
    trainer = _trainer(tiny_dataset, epochs=30, patience=2)
    scores = iter([0.5, 0.6, 0.55, 0.6, 0.7])  # best at the 2nd, then two evaluations no better
    trainer.evaluate = lambda: {"mean_iou": next(scores), "balanced_accuracy": 0.5}
    state = trainer.fit()
    assert state.stopped_early and not state.stopped_by_user
    assert [row["mean_iou"] for row in state.history] == [0.5, 0.6, 0.55, 0.6]
    assert state.best_metrics["mean_iou"] == 0.6 and state.epoch == 4


def test_best_weights_are_restored_at_the_end(tiny_dataset):
    trainer = _trainer(tiny_dataset, epochs=6, patience=10)
    state = trainer.fit()
    again = trainer.evaluate()
    assert again["mean_iou"] == pytest.approx(state.best_metrics["mean_iou"], abs=1e-6)
    assert again["val_loss"] == pytest.approx(state.best_metrics["val_loss"], abs=1e-6)


def test_training_lowers_the_box_loss(tiny_dataset):
    state = _trainer(tiny_dataset, epochs=15, alpha=0.9, patience=15).fit()
    first, last = state.history[0], state.history[-1]
    assert last["train_box_loss"] < first["train_box_loss"]


def test_non_finite_loss_fails_with_reason(tiny_dataset):
    trainer = _trainer(tiny_dataset)
    failures = []
    trainer.add_callback("on_failed", lambda t: failures.append(t.state.error))
    original = trainer.loss_fn.forward

    def poisoned(outputs, boxes, labels):
        parts = original(outputs, boxes, labels)
        return {**parts, "loss": parts["loss"] * torch.tensor(float("nan"))}

    trainer.loss_fn.forward = poisoned
    with pytest.raises(NonFiniteLoss, match="loss became nan at epoch 1, step 1"):
        trainer.fit()
    assert isinstance(failures[0], NonFiniteLoss)


def test_cached_stem_run_trains_tail_and_saves_a_full_model(tiny_dataset, tmp_path):
    from maskloc.inference.evaluate import evaluate
    from maskloc.inference.predictor import Predictor
    from maskloc.models.checkpoint import load_model
    from maskloc.training.run import train_run
    from maskloc.training.stem_cache import StemView

    config = _config(tiny_dataset, epochs=3, cache_stem=True, cached_variants=3)
    config.model.frozen_blocks = 2
    data = prepare_data(config.data)
    trainer = build_trainer(config, data)
    assert isinstance(trainer.model, StemView)
    assert len(trainer.train_loader.dataset) == len(data.train_idx)
    assert trainer.train_loader.dataset.features.shape[1] == 3  # original + 2 augmented
    stem_before = [p.clone() for p in trainer.model.model.stem.parameters()]
    state = train_run(config, tmp_path / "run", data=data)
    model, _ = load_model(tmp_path / "run" / "best.pt")
    assert all(torch.equal(a, b) for a, b in zip(stem_before, model.stem.parameters(), strict=True))
    # the saved full model, fed raw images, reproduces the metrics measured on cached features
    metrics, _ = evaluate(Predictor(tmp_path / "run" / "best.pt", device="cpu"), tiny_dataset)
    assert metrics["mean_iou"] == pytest.approx(state.best_metrics["mean_iou"], abs=1e-4)


def test_presets_build_valid_configs():
    from maskloc.config.presets import PRESETS, preset

    for name in PRESETS:
        assert preset(name).to_dict()["model"]["name"]
    assert preset("classroom").train.cache_stem
    with pytest.raises(ValueError, match="unknown preset"):
        preset("turbo")


def test_ema_evaluates_and_keeps_the_averaged_weights(tiny_dataset):
    trainer = _trainer(tiny_dataset, epochs=4, patience=10, ema_decay=0.9)
    assert trainer.evaluated_model is trainer.ema.module
    snapshots = []

    def snapshot(t):
        copy = lambda m: {k: v.clone() for k, v in m.state_dict().items()}  # noqa: E731
        snapshots.append(
            (t.state.history[-1].get("best", False), copy(t.model), copy(t.ema.module))
        )

    trainer.add_callback("on_eval_end", snapshot)
    state = trainer.fit()
    raw, averaged = next(s[1:] for s in reversed(snapshots) if s[0])
    kept = trainer.model.state_dict()
    assert all(torch.equal(kept[k], averaged[k]) for k in kept)
    assert any(not torch.equal(kept[k], raw[k]) for k in kept)
    trainer.ema = None  # evaluate the restored model itself
    assert trainer.evaluate()["mean_iou"] == pytest.approx(state.best_metrics["mean_iou"], abs=1e-6)


def test_build_trainer_leaves_the_config_and_the_thread_count_alone(tiny_dataset):
    """It runs on a server's worker thread: no change to the caller's config, none to torch's
    process-wide thread count (which every session shares)."""
    config = _config(tiny_dataset, epochs=1, num_threads=1)
    config.model.num_classes = 7  # stale: the data has two classes
    before, threads = config.to_dict(), torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        trainer = build_trainer(config, prepare_data(config.data))
        assert torch.get_num_threads() == 2
    finally:
        torch.set_num_threads(threads)
    assert config.to_dict() == before
    assert trainer.model.config.num_classes == 2
    assert trainer.model.class_head[-1][-1].out_features == 2
