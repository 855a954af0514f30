"""The strip of validation pictures whose boxes move while a run trains, and the start-up work
around it: which pictures, what is stored with a run, what a UI draws, the shared stem features."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from maskloc.config.sections import DataConfig, ModelConfig, RunConfig, TrainConfig
from maskloc.data.prepared import prepare_data
from maskloc.models.localization import LocalizationModel
from maskloc.training import stem_cache
from maskloc.training.builder import build_trainer
from maskloc.training.live_strip import LiveStrip, strip_positions
from maskloc.training.run import STARTUP_PHASES, train_run
from maskloc.viz.drawing import PREDICTION_COLOR, TRUTH_COLOR


def test_strip_positions_mix_the_classes_and_spread_over_the_split():
    labels = np.array([0] * 20 + [1] * 4)
    positions = strip_positions(labels, 6)
    assert [int(labels[p]) for p in positions] == [0, 1, 0, 1, 0, 1]
    assert positions[0::2] == [0, 10, 19]  # evenly spread over the class's pictures
    assert positions[1::2] == [20, 22, 23]
    # a rare class gives what it has; the strip still fills up
    few = strip_positions(np.array([0] * 9 + [1]), 6)
    assert [int(p == 9) for p in few] == [0, 1, 0, 0, 0, 0] and len(set(few)) == 6
    assert strip_positions(np.array([1, 1]), 6) == [0, 1]


def _strip() -> LiveStrip:
    images = np.full((2, 40, 40, 3), 90, dtype=np.uint8)
    truth = np.array([[0.1, 0.1, 0.5, 0.5], [0.5, 0.5, 0.9, 0.9]], dtype=np.float32)
    return LiveStrip(images, truth, np.array([0, 1]), ["mask", "no-mask"], [3, 7])


def test_record_keeps_the_strip_rows_and_survives_a_save_and_load(tmp_path):
    strip = _strip()
    boxes = np.zeros((10, 4), dtype=np.float32)
    boxes[3] = [0.2, 0.2, 0.6, 0.6]
    boxes[7] = [0.0, 0.0, 0.3, 0.3]
    probabilities = np.tile([0.9, 0.1], (10, 1))
    strip.record(1, 4, boxes, probabilities)
    strip.record(2, 8, boxes * 0.5, probabilities, best=True)
    strip.record(3, 12, boxes, probabilities)
    strip.save(tmp_path)
    again = LiveStrip.load(tmp_path)
    assert again is not None and again.images.shape == (2, 40, 40, 3)
    assert np.array_equal(again.images, strip.images)
    assert [f.epoch for f in again.frames] == [1, 2, 3]
    assert again.frames[0].boxes == [[0.2, 0.2, 0.6, 0.6], [0.0, 0.0, 0.3, 0.3]]
    assert again.best_frame.epoch == 2  # the best evaluation, not the last
    assert again.correct(again.frames[0]) == [True, False]
    assert LiveStrip.load(tmp_path / "elsewhere") is None


def test_pictures_draw_truth_green_and_the_prediction_red(tmp_path):
    strip = _strip()
    boxes = np.zeros((8, 4), dtype=np.float32)
    boxes[3] = [0.4, 0.4, 0.9, 0.9]  # the strip's first picture is row 3 of the evaluation
    boxes[7] = [0.1, 0.1, 0.3, 0.3]
    frame = strip.record(1, 1, boxes, np.tile([0.2, 0.8], (8, 1)))
    first = np.asarray(strip.pictures(frame, side=200)[0])
    assert first.shape[:2] == (200, 200)  # enlarged for a projector
    assert tuple(first[60, 21]) == TRUTH_COLOR  # left edge of the truth: 0.1 * 200
    assert tuple(first[120, 81]) == PREDICTION_COLOR  # left edge of the prediction: 0.4 * 200
    assert tuple(first[120, 60]) not in (TRUTH_COLOR, PREDICTION_COLOR)
    only_truth = np.asarray(strip.pictures(None, side=200)[0])
    assert tuple(only_truth[60, 21]) == TRUTH_COLOR
    assert tuple(only_truth[120, 81]) != PREDICTION_COLOR


def _run_config(root, **train) -> RunConfig:
    return RunConfig(
        DataConfig(root=str(root), image_size=32, augment="notebook"),
        ModelConfig("own_cnn", pretrained=False, frozen_blocks=2),
        TrainConfig(**{"epochs": 3, "batch_size": 8, "device": "cpu", **train}),
    )


def test_a_run_stores_its_strip_with_one_frame_per_evaluation(tiny_dataset, tmp_path):
    stem_cache.forget_all()  # so this run computes its stem features and reports them
    heard = []
    state = train_run(
        _run_config(tiny_dataset, cache_stem=True, cached_variants=2),
        tmp_path / "run",
        startup=lambda phase, done, total: heard.append((phase, done, total)),
    )
    strip = LiveStrip.load(tmp_path / "run")
    assert strip is not None
    assert len(strip.frames) == len(state.history) == 3
    data = prepare_data(_run_config(tiny_dataset).data)
    _, val_boxes, val_labels = data.subset("val")
    assert strip.positions == strip_positions(val_labels)
    assert np.allclose(strip.truth_boxes, val_boxes[strip.positions], atol=1e-4)
    assert sorted(set(strip.truth_labels.tolist())) == [0, 1]  # both classes on the strip
    best = [i for i, row in enumerate(state.history) if row.get("best")]
    assert [f.best for f in strip.frames] == [i in best for i in range(3)]
    assert strip.frames[0].boxes != strip.frames[-1].boxes  # the boxes moved while it trained
    # start-up progress: decoding first, then the stem features, each counting up to its total
    phases = [p for p, _, _ in heard]
    assert phases[0] == STARTUP_PHASES[0] and phases[-1] == STARTUP_PHASES[1]
    assert phases == sorted(phases, key=STARTUP_PHASES.index)
    last = {p: (d, t) for p, d, t in heard}
    assert all(done == total > 0 for done, total in last.values())


def test_folded_stem_gives_the_same_features():
    model = LocalizationModel(ModelConfig("mobilenet_v2", pretrained=False, frozen_blocks=6))
    model.eval()
    for module in model.stem.modules():  # non-trivial BatchNorm statistics
        if isinstance(module, torch.nn.BatchNorm2d):
            module.running_mean.uniform_(-0.5, 0.5)
            module.running_var.uniform_(0.5, 2.0)
    images = torch.rand(3, 3, 64, 64)
    with torch.no_grad():
        expected = model.stem_features(images)
        stem = stem_cache.folded_stem(model)
        folded = stem((images - model.mean) / model.std)
    assert not any(isinstance(m, torch.nn.BatchNorm2d) for m in stem.modules())
    assert torch.allclose(folded, expected, atol=1e-4, rtol=1e-4)
    assert any(isinstance(m, torch.nn.BatchNorm2d) for m in model.stem.modules())  # untouched


def test_stem_features_are_shared_across_seeds_and_alphas(tiny_dataset, monkeypatch):
    stem_cache.forget_all()
    calls = []
    real = stem_cache.stem_features

    def counting(*args, **kwargs):
        calls.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr("maskloc.training.stem_cache.stem_features", counting)
    config = _run_config(tiny_dataset, cache_stem=True, cached_variants=2)
    data = prepare_data(config.data)
    build_trainer(config, data)
    assert len(calls) == 2  # train variants and validation originals
    for change in ({"seed": 5}, {"alpha": 0.1}, {"seed": 9, "alpha": 1.0}):
        other = _run_config(tiny_dataset, cache_stem=True, cached_variants=2, **change)
        build_trainer(other, data)
    assert len(calls) == 2  # nothing recomputed
    build_trainer(_run_config(tiny_dataset, cache_stem=True, cached_variants=3), data)
    assert len(calls) == 4  # more variants: new features
    stem_cache.forget_all()


@pytest.mark.parametrize("alpha", [0.0, 1.0])
def test_the_ends_of_a_sweep_train(tiny_dataset, tmp_path, alpha):
    """alpha 0 and 1 are valid runs (one head's loss weighs nothing), not errors."""
    state = train_run(_run_config(tiny_dataset, alpha=alpha, epochs=1), tmp_path / "run")
    assert np.isfinite(state.history[-1]["train_loss"])
