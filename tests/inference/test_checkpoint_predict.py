"""Checkpoints (safe, atomic, self-describing) and the Predictor built on them."""

from __future__ import annotations

import io
import pickle

import numpy as np
import pytest
import torch
from PIL import Image

from maskloc.config.sections import ModelConfig
from maskloc.data.boxes import pixel_boxes
from maskloc.inference.predictor import Predictor
from maskloc.models.checkpoint import (
    CheckpointError,
    checkpoint_bytes,
    ensemble_payload,
    load_model,
    read_checkpoint,
    save_checkpoint,
)
from maskloc.models.ensemble import EnsembleModel
from maskloc.models.localization import LocalizationModel
from maskloc.utils.atomic import atomic_write_bytes


@pytest.fixture
def checkpoint(tmp_path):
    model = LocalizationModel(
        ModelConfig("own_cnn", pretrained=False), (0.4, 0.4, 0.4), (0.2, 0.2, 0.2)
    )
    path = tmp_path / "model.pt"
    save_checkpoint(path, model, ["mask", "no-mask"], 48, metrics={"mean_iou": 0.5})
    return path, model


def test_round_trip_restores_weights_and_metadata(checkpoint):
    path, model = checkpoint
    loaded, meta = load_model(path)
    assert meta["class_names"] == ["mask", "no-mask"] and meta["image_size"] == 48
    assert meta["metrics"]["mean_iou"] == 0.5 and meta["mean"] == pytest.approx([0.4] * 3)
    saved, restored = model.state_dict(), loaded.state_dict()
    assert saved.keys() == restored.keys()
    assert all(torch.equal(saved[k], restored[k]) for k in saved)  # every tensor, exactly
    x = torch.rand(2, 3, 48, 48)
    model.eval()
    assert torch.equal(loaded(x)["logits"], model(x)["logits"])
    assert not list(path.parent.glob("*.tmp"))  # the temp file was renamed away


def test_saving_over_a_checkpoint_is_atomic(checkpoint, monkeypatch):
    path, model = checkpoint
    before = path.read_bytes()

    def crash(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr("maskloc.utils.atomic.os.replace", crash)
    with pytest.raises(OSError, match="disk full"):
        save_checkpoint(path, model, ["mask", "no-mask"], 48)
    assert path.read_bytes() == before
    assert not list(path.parent.glob(".*.tmp"))


class _Exploit:
    def __reduce__(self):
        return (print, ("pwned",))  # any callable: weights_only must refuse to call it


def test_refuses_code_random_bytes_and_truncation(checkpoint, tmp_path, capsys):
    path, _ = checkpoint
    evil = tmp_path / "evil.pt"
    torch.save({"format": "maskloc-checkpoint/1", "payload": _Exploit()}, evil)
    with pytest.raises(CheckpointError, match="refused"):
        read_checkpoint(evil)
    assert "pwned" not in capsys.readouterr().out
    plain_pickle = tmp_path / "plain.pkl"
    plain_pickle.write_bytes(pickle.dumps(_Exploit()))
    with pytest.raises(CheckpointError):
        read_checkpoint(plain_pickle)
    assert "pwned" not in capsys.readouterr().out
    with pytest.raises(CheckpointError, match="not a readable"):
        read_checkpoint(np.random.default_rng(0).bytes(5000))
    with pytest.raises(CheckpointError, match="not a readable"):
        read_checkpoint(path.read_bytes()[:2000])
    with pytest.raises(CheckpointError, match="not found"):
        read_checkpoint(tmp_path / "missing.pt")


def test_refuses_foreign_dicts_and_mismatched_architectures(checkpoint, tmp_path):
    path, _ = checkpoint
    other = tmp_path / "other.pt"
    torch.save({"state_dict": {}}, other)
    with pytest.raises(CheckpointError, match="not a maskloc checkpoint"):
        read_checkpoint(other)
    payload = torch.load(path, weights_only=True)
    payload["model_config"]["name"] = "mobilenet_v2"
    torch.save(payload, other)
    with pytest.raises(CheckpointError, match="does not fit"):
        load_model(other)
    payload = torch.load(path, weights_only=True)
    payload["class_names"] = ["a", "b", "c"]
    torch.save(payload, other)
    with pytest.raises(CheckpointError, match="class names"):
        load_model(other)


def test_pixel_boxes_are_integer_inside_and_non_empty():
    boxes = np.array([[0.1, 0.2, 0.5, 0.9], [-0.2, 0.5, 1.3, 0.5], [1.0, 1.0, 1.0, 1.0]])
    pixels = pixel_boxes(boxes, np.array([100, 50, 10]), np.array([200, 40, 10]))
    assert pixels.tolist() == [[10, 40, 50, 180], [0, 20, 50, 21], [9, 9, 10, 10]]


def test_predictor_returns_pixel_box_of_the_original_image(checkpoint):
    path, _ = checkpoint
    predictor = Predictor(path, device="cpu")
    image = Image.fromarray(np.random.default_rng(0).integers(0, 255, (90, 160, 3), np.uint8))
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    for source in (image, np.asarray(image), buffer.getvalue()):
        prediction = predictor.predict(source)
        x0, y0, x1, y1 = prediction.box
        assert 0 <= x0 < x1 <= 160 and 0 <= y0 < y1 <= 90
        assert prediction.class_name in ("mask", "no-mask")
        assert sum(prediction.probabilities.values()) == pytest.approx(1.0)
        assert prediction.confidence == max(prediction.probabilities.values())


def _member(tmp_path, name, seed, classes=("mask", "no-mask"), split_seed=42):
    torch.manual_seed(seed)
    model = LocalizationModel(ModelConfig("own_cnn", pretrained=False)).eval()
    run_config = {"data": {"image_size": 48, "val_fraction": 0.25, "split_seed": split_seed}}
    path = tmp_path / name
    save_checkpoint(path, model, list(classes), 48, run_config=run_config)
    return path, model


def test_ensemble_checkpoint_averages_its_members(tmp_path):
    (a, model_a), (b, model_b) = _member(tmp_path, "a.pt", 0), _member(tmp_path, "b.pt", 1)
    path = tmp_path / "ensemble.pt"
    atomic_write_bytes(path, checkpoint_bytes(ensemble_payload([a, b])))
    ensemble, meta = load_model(path)
    assert isinstance(ensemble, EnsembleModel) and len(ensemble.members) == 2
    assert meta["model_config"]["name"] == "own_cnn + own_cnn"
    x = torch.rand(3, 3, 48, 48)
    with torch.no_grad():
        out, first, second = ensemble(x), model_a(x), model_b(x)
    assert not torch.allclose(first["boxes"], second["boxes"], atol=1e-3)
    for key in ("boxes", "logits"):
        assert torch.allclose(out[key], (first[key] + second[key]) / 2, atol=2e-3)  # float16
    prediction = Predictor(path, device="cpu").predict(np.zeros((60, 40, 3), np.uint8))
    assert prediction.class_name in ("mask", "no-mask")
    # float16 storage: the file is about half of the two members together
    assert path.stat().st_size < 0.6 * (a.stat().st_size + b.stat().st_size)


@pytest.mark.parametrize(
    ("other", "message"),
    [
        ({"classes": ("mask", "other")}, "class_names"),
        ({"split_seed": 7}, "split_seed 7 differs"),
    ],
)
def test_ensemble_members_must_share_classes_and_split(tmp_path, other, message):
    a, _ = _member(tmp_path, "a.pt", 0)
    b, _ = _member(tmp_path, "b.pt", 1, **other)
    with pytest.raises(CheckpointError, match=rf"b\.pt: {message}"):
        ensemble_payload([a, b])


def test_ensemble_refuses_one_member_and_nesting(tmp_path):
    a, _ = _member(tmp_path, "a.pt", 0)
    b, _ = _member(tmp_path, "b.pt", 1)
    with pytest.raises(CheckpointError, match="at least two"):
        ensemble_payload([a])
    nested = tmp_path / "ab.pt"
    atomic_write_bytes(nested, checkpoint_bytes(ensemble_payload([a, b])))
    with pytest.raises(CheckpointError, match=r"ab\.pt: is an ensemble already"):
        ensemble_payload([nested, a])


def _bad_checkpoints(good: bytes) -> dict[str, bytes]:
    """Files a user may pick as a checkpoint, each unusable in its own way."""
    buffer = io.BytesIO()
    torch.save({"format": "maskloc-checkpoint/1", "class_names": ["mask", "no-mask"]}, buffer)
    missing_keys = buffer.getvalue()
    payload = torch.load(io.BytesIO(good), weights_only=True)
    payload["state_dict"] = {"renamed." + k: v for k, v in payload["state_dict"].items()}
    wrong_keys = checkpoint_bytes({k: v for k, v in payload.items() if k != "format"})
    return {
        "text renamed .pt": b"these are my lecture notes, not weights\n" * 20,
        "empty file": b"",
        "truncated zip": good[: len(good) // 2],
        "empty pickle": pickle.dumps({}),
        "pickled None": pickle.dumps(None),
        "marker but missing keys": missing_keys,
        "state dict with wrong keys": wrong_keys,
    }


BAD_CHECKPOINTS = [
    "text renamed .pt",
    "empty file",
    "truncated zip",
    "empty pickle",
    "pickled None",
    "marker but missing keys",
    "state dict with wrong keys",
]


@pytest.mark.parametrize("kind", BAD_CHECKPOINTS)
def test_any_bad_checkpoint_is_a_checkpoint_error_in_the_library_and_the_cli(
    checkpoint, tmp_path, capsys, kind
):
    from maskloc.cli import main

    path, _ = checkpoint
    bad = tmp_path / "bad.pt"
    bad.write_bytes(_bad_checkpoints(path.read_bytes())[kind])
    with pytest.raises(CheckpointError, match=r"bad\.pt: (not a|does not fit)") as error:
        Predictor(bad)
    assert "Traceback" not in str(error.value)
    with pytest.raises(CheckpointError):
        load_model(bad.read_bytes())
    assert main(["summary", "--checkpoint", str(bad)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith(f"error: {bad}: ")
