"""ONNX export (the contract in docs/classroom-server.md), parity with PyTorch on bundled
pictures, the ONNX Runtime predictor behind Predictor's interface, the export CLI and the
once-per-checkpoint export cache."""

from __future__ import annotations

import json
import os

import numpy as np
import pytest
import torch
from conftest import ROOT

if os.environ.get("CI") != "true":  # in CI a missing ONNX install fails here, never skips
    pytest.importorskip("onnxruntime")
    pytest.importorskip("onnxscript")

import onnx
import onnxruntime as ort

from maskloc.cli import main
from maskloc.config.paths import DEFAULT_CHECKPOINT
from maskloc.config.sections import ModelConfig, RunConfig
from maskloc.inference.evaluate import evaluate
from maskloc.inference.onnx_export import OUTPUTS, OnnxFiles, export_onnx
from maskloc.inference.onnx_parity import parity
from maskloc.inference.onnx_runtime import OnnxPredictor
from maskloc.inference.predictor import Predictor
from maskloc.models.checkpoint import CheckpointError, save_checkpoint
from maskloc.models.localization import LocalizationModel

BUNDLED_DATA = ROOT / "data" / "mask-faces"


@pytest.fixture(scope="module")
def bundled_onnx(tmp_path_factory):
    """The bundled model exported once for the module (the slow part: ~10-25 s on 2 cores)."""
    return export_onnx(DEFAULT_CHECKPOINT, tmp_path_factory.mktemp("onnx") / "bundled.onnx")


@pytest.fixture
def tiny_checkpoint(tmp_path):
    torch.manual_seed(0)
    model = LocalizationModel(
        ModelConfig("own_cnn", pretrained=False), (0.4, 0.4, 0.4), (0.2, 0.2, 0.2)
    )
    path = tmp_path / "tiny.pt"
    save_checkpoint(path, model, ["mask", "no-mask"], 48, run_config=RunConfig().to_dict())
    return path


def bundled_pictures(n: int = 16) -> list:
    return sorted((BUNDLED_DATA / "images").glob("*.jpg"))[:n]


def test_export_follows_the_contract(bundled_onnx):
    model = onnx.load(str(bundled_onnx))
    meta = {p.key: p.value for p in model.metadata_props}
    assert json.loads(meta["class_names"]) == ["mask", "no-mask"]
    assert meta["image_size"] == "320"
    assert 0.0 < float(meta["presence_threshold"]) < 1.0
    assert len(json.loads(meta["maskloc"])["checkpoint_sha256"]) == 64
    session = ort.InferenceSession(str(bundled_onnx), providers=["CPUExecutionProvider"])
    assert [i.name for i in session.get_inputs()] == ["images"]
    assert list(OUTPUTS) == ["logits", "boxes"]  # then the optional ones the model has
    assert [o.name for o in session.get_outputs()] == ["logits", "boxes", "presence"]
    # dynamic batch: the graph was traced with 2 images and answers 1 and 5, RGB in [0, 1]
    for n in (1, 5):
        feed = {"images": np.random.rand(n, 3, 320, 320).astype("f")}
        logits, boxes, presence = session.run(None, feed)
        assert logits.shape == (n, 2) and boxes.shape == (n, 4) and presence.shape == (n,)
        assert boxes.min() >= 0.0 and boxes.max() <= 1.0
        assert (boxes[:, 2] >= boxes[:, 0]).all() and (boxes[:, 3] >= boxes[:, 1]).all()


def test_parity_with_pytorch_on_bundled_pictures(bundled_onnx):
    result = parity(DEFAULT_CHECKPOINT, bundled_onnx, bundled_pictures())
    assert result.images == 16
    assert result.classes_equal
    assert result.max_box_difference < 1e-4
    assert result.max_probability_difference < 1e-4
    assert result.max_presence_difference < 1e-4


def test_onnx_predictor_says_no_face_like_pytorch(bundled_onnx):
    fast, reference = OnnxPredictor(bundled_onnx), Predictor(DEFAULT_CHECKPOINT, device="cpu")
    assert fast.presence_threshold == pytest.approx(reference.presence_threshold)
    blank = np.full((240, 320, 3), 128, np.uint8)  # a grey wall: no face
    for picture in [blank, *bundled_pictures(2)]:
        mine, theirs = fast.predict(picture), reference.predict(picture)
        assert mine.face == theirs.face
        assert mine.face_score == pytest.approx(theirs.face_score, abs=1e-4)


def test_onnx_predictor_answers_like_predictor(tiny_checkpoint, tiny_dataset, tmp_path):
    onnx_file = export_onnx(tiny_checkpoint, tmp_path / "tiny.onnx")
    fast, reference = OnnxPredictor(onnx_file), Predictor(tiny_checkpoint, device="cpu")
    assert fast.class_names == reference.class_names and fast.image_size == 48
    assert fast.runtime == "ONNX Runtime" and reference.runtime == "PyTorch"
    assert fast.run_config.data.split_seed == reference.run_config.data.split_seed
    for picture in sorted((tiny_dataset / "images").iterdir())[:4]:
        mine, theirs = fast.predict(picture), reference.predict(picture)
        assert mine.class_name == theirs.class_name
        assert np.abs(np.subtract(mine.box, theirs.box)).max() <= 1
        assert mine.confidence == pytest.approx(theirs.confidence, abs=1e-4)
    mine, per_image = evaluate(fast, tiny_dataset, "all", flip_tta=True)
    theirs, _ = evaluate(reference, tiny_dataset, "all", flip_tta=True)
    assert mine["n"] == theirs["n"] == len(per_image) == 24
    assert mine["confusion"] == theirs["confusion"]
    assert mine["mean_iou"] == pytest.approx(theirs["mean_iou"], abs=1e-4)


def test_onnx_predictor_refuses_files_that_are_not_maskloc_onnx(tmp_path, bundled_onnx):
    garbage = tmp_path / "garbage.onnx"
    garbage.write_bytes(b"not a graph at all")
    with pytest.raises(CheckpointError, match=r"garbage\.onnx: not an ONNX file"):
        OnnxPredictor(garbage)
    bare = onnx.load(str(bundled_onnx))
    del bare.metadata_props[:]
    plain = tmp_path / "plain.onnx"
    onnx.save(bare, str(plain))
    with pytest.raises(CheckpointError, match="metadata class_names/image_size missing"):
        OnnxPredictor(plain)


def test_cli_exports_and_checks(tmp_path, tiny_checkpoint, capsys):
    out = tmp_path / "model.onnx"
    code = main(
        ["export", "--checkpoint", str(tiny_checkpoint), "--format", "onnx", "--out", str(out)]
        + ["--check"]
    )
    assert code == 0
    printed = capsys.readouterr().out
    assert "classes equal" in printed
    predictor = OnnxPredictor(out)
    assert predictor.image_size == 48 and predictor.class_names == ["mask", "no-mask"]


def test_cli_says_what_to_install_without_the_export_dependencies(
    tmp_path, tiny_checkpoint, monkeypatch, capsys
):
    monkeypatch.setattr("maskloc.inference.onnx_export.export_available", lambda: False)
    out = tmp_path / "model.onnx"
    assert main(["export", "--checkpoint", str(tiny_checkpoint), "--out", str(out)]) == 2
    assert "requirements-onnx.txt" in capsys.readouterr().err
    assert not out.exists()


def test_cli_refuses_a_bad_checkpoint(tmp_path, capsys):
    bad = tmp_path / "bad.pt"
    bad.write_bytes(b"junk")
    assert main(["export", "--checkpoint", str(bad), "--out", str(tmp_path / "x.onnx")]) == 2
    assert "bad.pt: not a readable PyTorch checkpoint" in capsys.readouterr().err


def test_onnx_files_export_once_per_checkpoint_content(tmp_path, tiny_checkpoint, monkeypatch):
    calls = []
    real_export = export_onnx

    def counting(checkpoint, out):
        calls.append(checkpoint)
        return real_export(checkpoint, out)

    monkeypatch.setattr("maskloc.inference.onnx_export.export_onnx", counting)
    files = OnnxFiles(tmp_path / "onnx")
    assert files.ready(tiny_checkpoint) is None
    files.build_in_background(tiny_checkpoint)
    files.build_in_background(tiny_checkpoint)  # already under way: no second export
    path = files.wait(tiny_checkpoint, timeout=120)
    assert path is not None and files.get(tiny_checkpoint) == path
    copy = tmp_path / "copy.pt"
    copy.write_bytes(tiny_checkpoint.read_bytes())  # same content, other file: same ONNX copy
    assert files.get(copy) == path
    assert len(calls) == 1
    assert OnnxPredictor(path).image_size == 48


def test_the_app_exports_in_a_child_process(tmp_path, tiny_checkpoint):
    """The server never runs the exporter itself (it compiles code while tracing)."""
    files = OnnxFiles(tmp_path / "onnx", isolated=True)
    files.build_in_background(tiny_checkpoint)
    path = files.wait(tiny_checkpoint, timeout=300)
    assert path is not None and OnnxPredictor(path).class_names == ["mask", "no-mask"]


def test_a_failed_background_export_is_remembered_with_its_reason(tmp_path):
    bad = tmp_path / "bad.pt"
    bad.write_bytes(b"junk")
    files = OnnxFiles(tmp_path / "onnx", isolated=True)
    files.build_in_background(bad)
    assert files.wait(bad, timeout=300) is None
    assert "bad.pt: not a readable PyTorch checkpoint" in files.error(bad)
    files.build_in_background(bad)  # not tried again
    assert files.wait(bad, timeout=1) is None
