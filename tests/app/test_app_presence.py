"""Webcam and Predict with face presence (AppTest): "No face found" instead of a verdict, and
the several-faces note with one. Reuses test_app's environment (tiny dataset, model, runs)."""

from __future__ import annotations

import pytest
from app_steps import jpeg, open_page, texts
from conftest import with_presence_bias

from app_parts.presence import SEVERAL_FACES_NOTE


@pytest.fixture
def bundle_model_that_sees(env, tmp_path, monkeypatch):
    """Makes the bundled model a variant of the environment's that sees a face always (True)
    or never (False)."""

    def use(face: bool) -> None:
        bias = 30.0 if face else -30.0
        path = with_presence_bias(env.checkpoint, tmp_path / f"face-{face}.pt", bias)
        monkeypatch.setenv("MASKLOC_CHECKPOINT", str(path))

    return use


def webcam_shot(bundle_model_that_sees, face: bool):
    """The Webcam page after one snapshot, with a model that sees a face always or never."""
    bundle_model_that_sees(face)
    at = open_page("app_pages/webcam.py")
    at.camera_input(key="webcam_camera").set_value(("shot.jpg", jpeg(160, 120), "image/jpeg"))
    at.run()
    assert not at.exception
    return at


def test_webcam_says_no_face_found_with_the_score_and_no_verdict(bundle_model_that_sees):
    at = webcam_shot(bundle_model_that_sees, face=False)
    headings = [m for m in texts(at.markdown) if m.startswith("## ")]
    assert headings == ["## No face found · face score 0%"]
    assert any("under this model's threshold 0.50" in c for c in texts(at.caption))
    assert len(at.image) == 1 and not at.get("progress")  # the picture, no probability bars


def test_webcam_verdict_carries_the_several_faces_note(bundle_model_that_sees):
    at = webcam_shot(bundle_model_that_sees, face=True)
    verdict = [m for m in texts(at.markdown) if m.startswith("## ")]
    assert len(verdict) == 1 and "mask" in verdict[0] and "No face" not in verdict[0]
    assert any(
        c.startswith(SEVERAL_FACES_NOTE) and "Face score 100%" in c for c in texts(at.caption)
    )


def test_predict_one_image_says_no_face_found(bundle_model_that_sees):
    bundle_model_that_sees(False)
    at = open_page("app_pages/predict.py")
    at.session_state["predict_tab"] = "One image"  # tabs render only when open
    at.run()
    at.file_uploader(key="predict_upload").set_value(("room.jpg", jpeg(), "image/jpeg")).run()
    assert not at.exception
    assert "## No face found · face score 0%" in texts(at.markdown)
    assert not [m for m in texts(at.markdown) if m.startswith("### ")]  # no class verdict
