"""Face presence: no-face windows in the data, the loss term, the threshold chosen on validation,
old checkpoints that keep answering as before, and the CLI `check` command."""

from __future__ import annotations

import io
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
from conftest import ROOT, make_dataset, with_presence_bias
from PIL import Image, ImageDraw

from maskloc.cli import main
from maskloc.config.paths import DEFAULT_CHECKPOINT, DEFAULT_DATA
from maskloc.config.sections import DataConfig, ModelConfig, RunConfig, TrainConfig
from maskloc.data.dataset import NO_FACE_LABEL
from maskloc.data.folder import load_dataset
from maskloc.data.prepared import prepare_data
from maskloc.data.table import Table
from maskloc.inference.evaluate import evaluate
from maskloc.inference.predictor import Prediction, Predictor
from maskloc.models.checkpoint import (
    load_model,
    model_from_checkpoint,
    read_checkpoint,
)
from maskloc.training.finetune import adopt_checkpoint
from maskloc.training.losses import LocalizationLoss, balanced_class_weights
from maskloc.training.run import train_run
from maskloc.utils.metrics import choose_presence_threshold, presence_metrics

OLD_FORMAT = ROOT / "tests" / "fixtures" / "old_format_own_cnn.pt"
# What the old-format fixture answered for OLD_INPUT before the presence output existed
# (recorded with the code of that time: a regression check that old checkpoints are unchanged).
OLD_LOGITS = [-0.008685179054737091, -0.07931198179721832]
OLD_BOXES = [0.24598532915115356, 0.2263241410255432, 0.7484758496284485, 0.7505470514297485]


def add_no_face(root: Path, per_photo: int = 2) -> Path:
    """Plain-noise pictures (no bright square) listed in no_face.csv, two per photo, each with
    the split its photo's faces are in (train.csv photos: train; test photos: test)."""
    rng = np.random.default_rng(5)
    train = pd.read_csv(root / "train.csv")
    test_sources = {f"photo{i // 2}" for i in range(len(train), len(train) + 6)}
    rows = []
    for source in sorted(set(train["source"]) | test_sources):
        for k in range(per_photo):
            name = f"{source}_noface{k}.jpg"
            Image.fromarray(rng.integers(0, 80, (64, 64, 3), dtype=np.uint8)).save(
                root / "images" / name, quality=95
            )
            rows.append((name, "test" if source in test_sources else "train", source))
    pd.DataFrame(rows, columns=["filename", "split", "source"]).to_csv(
        root / "no_face.csv", index=False
    )
    return root


@pytest.fixture(scope="module")
def presence_run(tmp_path_factory) -> tuple[Path, Path]:
    """A tiny own_cnn trained for a few steps on faces plus no-face windows."""
    data = add_no_face(make_dataset(tmp_path_factory.mktemp("data") / "tiny", n=24, n_test=6))
    run = tmp_path_factory.mktemp("run") / "run"
    config = RunConfig(
        DataConfig(root=str(data), image_size=48, augment="none"),
        ModelConfig(name="own_cnn", pretrained=False),
        TrainConfig(epochs=2, batch_size=8, device="cpu", seed=0),
    )
    train_run(config, run)
    return data, run / "best.pt"


# --- data ---------------------------------------------------------------------------------------


def test_no_face_windows_join_the_side_of_their_photo(presence_run):
    data, _ = presence_run
    prepared = prepare_data(DataConfig(root=str(data), image_size=32))
    faces_only = prepare_data(DataConfig(root=str(data), image_size=32), no_face=False)
    n_faces = len(faces_only.labels)
    # The face split and the normalisation do not move when the windows join.
    assert np.array_equal(prepared.train_idx[prepared.train_idx < n_faces], faces_only.train_idx)
    assert np.array_equal(prepared.val_idx[prepared.val_idx < n_faces], faces_only.val_idx)
    assert prepared.mean == faces_only.mean
    windows = prepared.folder.no_face_frame("train")
    assert len(prepared.labels) == n_faces + len(windows)
    assert (prepared.labels[n_faces:] == NO_FACE_LABEL).all()
    sources = prepared.folder.train.frame["source"]
    val_sources = set(sources.iloc[faces_only.val_idx])
    for position in range(n_faces, len(prepared.labels)):
        source = windows["source"].iloc[position - n_faces]
        side = prepared.val_idx if source in val_sources else prepared.train_idx
        assert position in side, source
    assert val_sources & set(windows["source"])  # the validation side has windows to score


def test_a_bad_no_face_row_is_refused_by_name(tmp_path):
    root = add_no_face(make_dataset(tmp_path / "ds"))
    frame = pd.read_csv(root / "no_face.csv")
    frame.loc[1, "split"] = "vall"
    frame.loc[2, "filename"] = "../escape.jpg"
    frame.to_csv(root / "no_face.csv", index=False)
    folder = load_dataset(root)
    problems = [str(p) for p in folder.problems]
    assert "no_face.csv row 3, split: 'vall' is not one of ('train', 'test')" in problems
    assert any(p.startswith("no_face.csv row 4, filename:") for p in problems)
    assert len(folder.no_face.frame) == len(frame) - 2


# --- loss and metrics -----------------------------------------------------------------------------


def _outputs(n: int, seed: int = 0) -> dict[str, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    boxes = torch.rand(n, 4, generator=g) * 0.4
    boxes[:, 2:] += 0.5
    return {
        "logits": torch.randn(n, 2, generator=g),
        "boxes": boxes,
        "presence": torch.randn(n, generator=g),
    }


def test_no_face_rows_count_only_in_the_presence_term():
    out = _outputs(6)
    targets = torch.tensor([[0.1, 0.1, 0.6, 0.7]] * 6)
    labels = torch.tensor([0, 1, 0, NO_FACE_LABEL, NO_FACE_LABEL, 1])
    loss = LocalizationLoss(0.7, "l1_giou", presence_weight=0.5)
    mixed = loss(out, targets, labels)
    face = labels >= 0
    faces_only = loss({k: v[face] for k, v in out.items()}, targets[face], labels[face])
    assert mixed["class_loss"] == pytest.approx(float(faces_only["class_loss"]))
    assert mixed["box_loss"] == pytest.approx(float(faces_only["box_loss"]))
    expected = torch.nn.functional.binary_cross_entropy_with_logits(out["presence"], face.float())
    assert mixed["presence_loss"] == pytest.approx(float(expected))
    total = 0.3 * mixed["class_loss"] + 0.7 * mixed["box_loss"] + 0.5 * expected
    assert mixed["loss"] == pytest.approx(float(total))


def test_a_batch_of_no_face_windows_only_trains_presence():
    out = {k: v.requires_grad_() for k, v in _outputs(3).items()}
    parts = LocalizationLoss(0.7)(out, torch.zeros(3, 4), torch.full((3,), NO_FACE_LABEL))
    assert float(parts["class_loss"].detach()) == 0.0 and float(parts["box_loss"].detach()) == 0.0
    parts["loss"].backward()
    assert out["presence"].grad.abs().sum() > 0 and out["boxes"].grad.abs().sum() == 0


def test_old_outputs_without_presence_give_the_old_loss():
    out = _outputs(4)
    del out["presence"]
    labels = torch.tensor([0, 1, 1, 0])
    parts = LocalizationLoss(0.7)(out, torch.tensor([[0.1, 0.1, 0.6, 0.7]] * 4), labels)
    assert "presence_loss" not in parts
    assert parts["loss"] == pytest.approx(
        float(0.3 * parts["class_loss"] + 0.7 * parts["box_loss"])
    )


def test_class_weights_ignore_no_face_rows():
    labels = torch.tensor([0, 0, 0, 1, NO_FACE_LABEL, NO_FACE_LABEL, NO_FACE_LABEL])
    assert torch.allclose(balanced_class_weights(labels, 2), balanced_class_weights(labels[:4], 2))


def test_threshold_separates_and_sits_in_the_middle_of_the_gap():
    scores = np.array([0.9, 0.95, 0.99, 0.1, 0.2, 0.3])
    is_face = np.array([True, True, True, False, False, False])
    threshold = choose_presence_threshold(scores, is_face)
    middle = (np.log(0.9 / 0.1) + np.log(0.3 / 0.7)) / 2
    assert threshold == pytest.approx(1 / (1 + np.exp(-middle)))
    metrics = presence_metrics(scores, is_face, threshold)
    assert metrics["face_recall"] == 1.0 and metrics["no_face_rejection"] == 1.0
    assert metrics["n_no_face"] == 3
    # One no-face image scored above two faces: the best cut misses one of the three no-faces.
    scores = np.array([0.9, 0.95, 0.99, 0.1, 0.2, 0.97])
    metrics = presence_metrics(scores, is_face, choose_presence_threshold(scores, is_face))
    assert (metrics["face_recall"], metrics["no_face_rejection"]) == (1.0, pytest.approx(2 / 3))
    with pytest.raises(ValueError, match="both face and no-face"):
        choose_presence_threshold(scores[:3], is_face[:3])


# --- training and checkpoints ---------------------------------------------------------------------


def test_training_stores_the_threshold_chosen_on_validation(presence_run):
    data, checkpoint = presence_run
    meta = read_checkpoint(checkpoint)
    assert meta["model_config"]["presence"] is True
    threshold = meta["presence_threshold"]
    assert 0.0 < threshold < 1.0 and threshold == meta["metrics"]["presence_threshold"]
    predictor = Predictor(checkpoint, "cpu")
    assert predictor.presence_threshold == threshold
    metrics, per_image = evaluate(predictor, data, "test")
    assert metrics["n_no_face"] == 6 and 0.0 <= metrics["no_face_rejection"] <= 1.0
    assert len(per_image) == 6 and "face_score" in per_image  # faces only, as before
    prediction = predictor.predict(data / "images" / per_image["filename"].iloc[0])
    assert prediction.face_score == pytest.approx(per_image["face_score"].iloc[0], abs=1e-4)
    assert prediction.face == (prediction.face_score >= threshold)


def test_a_run_without_windows_stores_no_threshold_and_always_answers(tmp_path):
    data = make_dataset(tmp_path / "plain", n=12, n_test=3)
    config = RunConfig(
        DataConfig(root=str(data), image_size=32, augment="none"),
        ModelConfig(name="own_cnn", pretrained=False),
        TrainConfig(epochs=1, batch_size=8, device="cpu"),
    )
    train_run(config, tmp_path / "run")
    predictor = Predictor(tmp_path / "run" / "best.pt", "cpu")
    assert predictor.presence_threshold is None
    prediction = predictor.predict(next((data / "images").iterdir()))
    assert prediction.face is True and prediction.face_score is None


def test_an_old_checkpoint_loads_without_presence_and_answers_as_before():
    model, meta = load_model(OLD_FORMAT)
    assert "presence" not in meta["model_config"] and model.presence_head is None
    x = torch.linspace(0, 1, 3 * 48 * 48).reshape(1, 3, 48, 48)
    with torch.no_grad():
        out = model(x)
    assert set(out) == {"logits", "boxes"}
    assert out["logits"][0].tolist() == pytest.approx(OLD_LOGITS, abs=1e-6)
    assert out["boxes"][0].tolist() == pytest.approx(OLD_BOXES, abs=1e-6)
    predictor = Predictor(OLD_FORMAT, "cpu")
    image = (x[0].permute(1, 2, 0).numpy() * 255).astype(np.uint8)
    prediction = predictor.predict(image)
    assert predictor.presence_threshold is None
    assert prediction.face is True and prediction.face_score is None


@pytest.mark.parametrize("asks_for_presence", [True, False])
def test_a_run_from_an_old_checkpoint_gains_a_fresh_presence_head_if_it_asks(asks_for_presence):
    config = RunConfig()
    config.train.init_from, config.model.presence = str(OLD_FORMAT), asks_for_presence
    payload = adopt_checkpoint(config)
    assert config.model.name == "own_cnn" and config.model.presence is asks_for_presence
    model = model_from_checkpoint(config.model, payload, payload["class_names"])
    old, _ = load_model(OLD_FORMAT)
    for key, value in old.state_dict().items():  # every old weight kept exactly
        assert torch.equal(model.state_dict()[key], value), key
    assert (model.presence_head is not None) is asks_for_presence


def test_too_small_asks_to_come_closer():
    big = Prediction("mask", 0.9, (10, 10, 90, 90), {}, image_size=(160, 120))
    small = Prediction("mask", 0.9, (10, 10, 30, 35), {}, image_size=(160, 120))
    absent = Prediction("mask", 0.9, (10, 10, 30, 35), {}, False, 0.01, (160, 120))
    assert not big.too_small and small.too_small and not absent.too_small
    assert small.face_share == pytest.approx(25 / 120)


# --- CLI check ------------------------------------------------------------------------------------


def test_check_prints_one_json_object_per_image_and_goes_on_after_a_bad_file(
    presence_run, tmp_path, capsys
):
    data, checkpoint = presence_run
    absent = with_presence_bias(checkpoint, tmp_path / "absent.pt", -30.0)
    present = with_presence_bias(checkpoint, tmp_path / "present.pt", 30.0)
    image = sorted((data / "images").iterdir())[0]
    bad = tmp_path / "bad.jpg"
    bad.write_bytes(b"not an image")
    width, height = Image.open(image).size
    assert main(["check", str(image), str(bad), str(image), "--checkpoint", str(absent), "--json"])
    out, err = capsys.readouterr()
    lines = [json.loads(line) for line in out.splitlines()]
    assert len(lines) == 2 and err.count("\n") == 1 and "bad.jpg" in err
    assert lines[0] == {
        "file": str(image),
        "face": False,
        "face_score": 0.0,
        "class": None,
        "confidence": None,
        "box": None,
    }
    assert main(["check", str(image), "--checkpoint", str(present), "--json"]) == 0
    found = json.loads(capsys.readouterr().out)
    assert found["face"] is True and found["face_score"] == 1.0
    assert found["class"] in ("mask", "no-mask") and 0.5 <= found["confidence"] <= 1.0
    x0, y0, x1, y1 = found["box"]
    assert 0 <= x0 < x1 <= width and 0 <= y0 < y1 <= height
    assert main(["check", str(image), "--checkpoint", str(absent)]) == 0
    assert capsys.readouterr().out == f"{image}: no face found (face score 0.00)\n"
    assert main(["check", str(image), "--checkpoint", str(OLD_FORMAT), "--json"]) == 0
    old = json.loads(capsys.readouterr().out)
    assert old["face"] is True and old["face_score"] is None and old["box"] is not None


# --- the bundled model ------------------------------------------------------------------------


def test_bundled_model_finds_test_faces_and_rejects_test_windows():
    """The bundled model on pictures it never saw: the first 24 test crops (all found) and the
    first 12 test no-face windows (all rejected, under a tenth of the threshold). The model
    card's figures come from all of them."""
    predictor = Predictor(DEFAULT_CHECKPOINT, "cpu")
    threshold = predictor.presence_threshold
    assert threshold is not None and 0.0 < threshold < 1.0
    folder = load_dataset(DEFAULT_DATA)
    faces = folder.test_labels.frame.iloc[:24]
    windows = folder.no_face_frame("test").iloc[:12]
    face_scores = predictor.run_table(Table(faces)).presence.numpy()
    window_scores = predictor.run_table(Table(windows)).presence.numpy()
    assert (face_scores >= threshold).all(), face_scores
    assert (window_scores < threshold / 10).all(), window_scores


def test_bundled_model_finds_no_face_in_fake_camera_frames():
    """Like Chromium's fake camera (a green pie turning on dark green, a frame counter, as the
    browser sends it: JPEG): "no face" on every frame, never a mask verdict."""
    predictor = Predictor(DEFAULT_CHECKPOINT, "cpu")
    rng = np.random.default_rng(0)
    for frame_number in range(8):
        frame = Image.new("RGB", (640, 480), (0, 135, 0))
        draw = ImageDraw.Draw(frame)
        x, y = 320 + rng.integers(-150, 150), 240 + rng.integers(-100, 100)
        radius, start = rng.integers(40, 110), rng.integers(0, 360)
        draw.pieslice((x - radius, y - radius, x + radius, y + radius), start, start + 300, "lime")
        draw.text((10, 10), f"{frame_number * 33} ms {frame_number}", fill="white")
        sent = io.BytesIO()
        frame.save(sent, "JPEG", quality=80)
        prediction = predictor.predict(Image.open(sent))
        assert prediction.face is False, (frame_number, prediction)
