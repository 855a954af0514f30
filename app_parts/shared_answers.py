"""Page side of answers shared between users: the process-wide answer cache (split scores and
test.csv predictions, also on disk under the runs folder) and the ONNX Runtime copy of the
bundled model that the Webcam page answers with."""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from app_parts.i18n import error_text, t
from app_parts.model_chooser import ModelChoice, predictor_for
from maskloc.classroom.shared_answers import AnswerCache
from maskloc.config.paths import bundled_checkpoint, runs_root
from maskloc.inference.onnx_export import OnnxFiles, export_available
from maskloc.inference.onnx_runtime import OnnxPredictor, runtime_available
from maskloc.inference.predictor import Predictor
from maskloc.models.checkpoint import CheckpointError


@st.cache_resource(show_spinner=False)
def _answers(folder: str) -> AnswerCache:
    return AnswerCache(folder)


def answers() -> AnswerCache:
    """One cache per server process, kept on disk in runs/answers/."""
    return _answers(str((runs_root() / "answers").resolve()))


@st.cache_resource(show_spinner=False)
def _onnx_files(folder: str) -> OnnxFiles:
    return OnnxFiles(folder, isolated=True)  # exports in a child process, never in the server


def onnx_files() -> OnnxFiles:
    """ONNX copies of checkpoints in runs/onnx/, by checkpoint content hash."""
    return _onnx_files(str((runs_root() / "onnx").resolve()))


@st.cache_resource(max_entries=2, show_spinner="Loading the ONNX Runtime model…")
def _onnx_predictor(path: str) -> OnnxPredictor:
    return OnnxPredictor(path)


def webcam_predictor(choice: ModelChoice) -> tuple[Predictor, str]:
    """The fastest predictor for a choice, and a line saying which runtime answers.

    The bundled model answers through ONNX Runtime where onnxruntime is installed; its ONNX
    copy is exported once per server in the background (PyTorch answers meanwhile).
    """
    if choice.path.resolve() != bundled_checkpoint().resolve() or not runtime_available():
        return choice.predictor, "PyTorch"
    files = onnx_files()
    ready = files.ready(choice.path)
    if ready is not None:
        try:
            return _onnx_predictor(str(ready)), "ONNX Runtime"
        except CheckpointError as error:  # shown in the page's caption
            unusable = t("PyTorch (the ONNX copy is unusable: {error})")
            return choice.predictor, unusable.format(error=error_text(error))
    if not export_available():
        return choice.predictor, t("PyTorch (install requirements-onnx.txt for ONNX Runtime)")
    failed = files.error(choice.path)
    if failed:
        return choice.predictor, t("PyTorch (ONNX export failed: {error})").format(error=failed)
    files.build_in_background(choice.path)
    return choice.predictor, t("PyTorch (the ONNX Runtime copy is being prepared)")


def onnx_download_bytes(checkpoint: Path) -> bytes:
    """The checkpoint as ONNX (exported once, then served from runs/onnx/)."""
    return onnx_files().get(checkpoint).read_bytes()


def scored(choice: ModelChoice, root: Path, split: str, tta: bool):
    """Metrics and per-image results, computed once per model, dataset, split and TTA."""
    path = choice.path
    return answers().evaluate(path, root, split, tta, lambda: predictor_for(path))


def submission(choice: ModelChoice, root: Path):
    path = choice.path
    return answers().submission(path, root, lambda: predictor_for(path))
