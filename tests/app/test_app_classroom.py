"""Pages on a shared classroom server (AppTest): split scores computed once for every session,
Predict's lazy tabs, the Webcam page on ONNX Runtime, and who may stop, delete and activate."""

from __future__ import annotations

import os
import shutil

import pytest
from app_steps import APP, Env, jpeg, open_page, texts
from streamlit.testing.v1 import AppTest

from app_parts.jobs import registry
from app_parts.shared_answers import answers, onnx_files
from maskloc.classroom.access import AUDIT_FILE, AccessPolicy, Actor

RUN = "20260102-000000-own_cnn-a0.70"


def test_every_session_gets_the_same_split_score_from_one_evaluation(env: Env):
    first = open_page("app_pages/predict.py")
    assert "mean IoU" in [m.label for m in first.metric]
    assert answers().stats.computed == 1
    second = open_page("app_pages/predict.py")  # another browser session
    assert [m.value for m in second.metric] == [m.value for m in first.metric]
    assert answers().stats.computed == 1 and answers().stats.memory_hits >= 1
    assert list((env.runs / "answers").glob("evaluate-*.json"))  # kept for a restart too


def test_predict_scores_nothing_until_the_evaluate_tab_is_shown(env: Env):
    at = AppTest.from_file(APP, default_timeout=90).run()
    at.session_state["predict_tab"] = "One image"
    at.switch_page("app_pages/predict.py").run()
    assert not at.exception
    assert answers().stats.computed == 0 and not at.metric
    at.file_uploader(key="predict_upload").set_value(("face.jpg", jpeg(), "image/jpeg")).run()
    assert any(m.startswith("### ") for m in texts(at.markdown))
    assert answers().stats.computed == 0


def test_webcam_answers_with_onnx_runtime_once_the_copy_is_ready(env: Env):
    if os.environ.get("CI") != "true":  # CI installs requirements-onnx.txt: never skip there
        pytest.importorskip("onnxruntime")
        pytest.importorskip("onnxscript")
    at = open_page("app_pages/webcam.py")
    assert any("answers with PyTorch" in c for c in texts(at.caption))
    assert onnx_files().wait(env.checkpoint, timeout=180) is not None  # exported in background
    at.run()
    assert any("answers with ONNX Runtime" in c for c in texts(at.caption))
    at.camera_input(key="webcam_camera").set_value(("shot.jpg", jpeg(160, 120), "image/jpeg"))
    at.run()
    assert not at.exception and len(at.image) == 1
    assert [m for m in texts(at.markdown) if m.startswith("## ") and "%" in m]


@pytest.fixture
def classroom(env: Env, checkpoint, monkeypatch):
    """A server with a teacher passcode and one finished run started by another session."""
    monkeypatch.setenv("MASKLOC_TEACHER_PASSWORD", "s3cret")
    shutil.copytree(checkpoint.parent, env.runs / RUN)
    AccessPolicy(env.runs, "s3cret").claim(env.runs / RUN, Actor("session:someone-else"))
    return env


def test_a_student_cannot_delete_or_activate_another_sessions_run(classroom: Env):
    at = open_page("app_pages/train.py")
    at.selectbox(key="train_run_pick").set_value(RUN).run()
    assert any("Started by another session" in c for c in texts(at.caption))
    assert not [b for b in at.button if b.key == "train_delete"]
    assert at.button(key="train_activate").disabled
    at.button(key="train_use_mine").click().run()  # "use this model" is for this session only
    assert not at.exception
    assert not registry().active_checkpoint() is not None
    at.switch_page("app_pages/predict.py").run()
    assert at.selectbox(key="predict_model").value == f"Your model ({RUN})"
    other = open_page("app_pages/predict.py")  # another student still starts on the bundled one
    assert other.selectbox(key="predict_model").value.startswith("Bundled model")


def test_the_teacher_passcode_allows_delete_and_is_audited(classroom: Env):
    at = open_page("app_pages/train.py")
    at.text_input(key="teacher_passcode").input("wrong").run()
    at.button(key="teacher_unlock").click().run()
    assert any("wrong passcode" in e for e in texts(at.error))
    at.text_input(key="teacher_passcode").input("s3cret").run()
    at.button(key="teacher_unlock").click().run()
    assert any("Teacher mode" in s for s in texts(at.success))
    at.selectbox(key="train_run_pick").set_value(RUN).run()
    assert not at.button(key="train_activate").disabled
    at.button(key="train_activate").click().run()
    assert registry().active_checkpoint() is not None
    at.button(key="train_delete").click().run()
    assert not at.exception and not (classroom.runs / RUN).exists()
    log = (classroom.runs / AUDIT_FILE).read_text()
    for outcome in ('"wrong_passcode"', '"activate_for_everyone"', '"delete"'):
        assert outcome in log


def test_only_the_teacher_may_send_everyones_runs_to_a_cluster_from_home(classroom: Env):
    at = open_page()
    assert at.text_input(key="home_scheduler").disabled
    assert at.button(key="home_scheduler_apply").disabled
    assert any("Only the teacher" in c for c in texts(at.caption))
    at.text_input(key="teacher_passcode").input("s3cret").run()
    at.button(key="teacher_unlock").click().run()
    assert not at.text_input(key="home_scheduler").disabled
    at.text_input(key="home_scheduler").input("").run()
    at.button(key="home_scheduler_apply").click().run()  # empty: train on this server
    assert not at.exception and registry().backend is None
    assert '"set_scheduler"' in (classroom.runs / AUDIT_FILE).read_text()
