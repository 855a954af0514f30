"""Which model a page answers with: this session's own, the active one, the bundled one, a
run's best or an upload; loaded once per process and file version. Also the Train page's
starting points (ImageNet, the bundled model, a run)."""

from __future__ import annotations

import hashlib
import tempfile
from dataclasses import dataclass
from pathlib import Path

import streamlit as st

from app_parts.i18n import N_, error_text, number, t
from app_parts.inputs import USER_ERRORS
from app_parts.jobs import registry
from maskloc.config.paths import bundled_checkpoint
from maskloc.inference.predictor import Predictor

SESSION_MODEL_KEY = "maskloc_session_model"  # a student's "use this model": this session only


@st.cache_resource(max_entries=4, show_spinner=False)
def _predictor(path: str, mtime_ns: int) -> Predictor:
    return Predictor(path)


def predictor_for(path: str | Path) -> Predictor:
    """Loaded once per process and file version (a retrained best.pt is reloaded)."""
    path = Path(path)
    with st.spinner(t("Loading the model…")):  # in this session's words, only if it takes time
        return _predictor(str(path.resolve()), path.stat().st_mtime_ns)


@dataclass(frozen=True)
class ModelChoice:
    label: str
    path: Path
    predictor: Predictor


@dataclass(frozen=True)
class Option:
    """A choice in a picker: `key` (English, kept in session state whatever the language), the
    words shown for it in this session's language, and what it stands for."""

    key: str
    shown: str
    value: Path | str


def _option(template: str, value: Path | str, **fields: str) -> Option:
    return Option(template.format(**fields), t(template).format(**fields), value)


def _model_options() -> list[Option]:
    """This session's own choice, the active model, the bundled one, then each run's best."""
    options = []
    mine = Path(st.session_state.get(SESSION_MODEL_KEY) or "")
    if mine.name and mine.is_file():
        options.append(_option(N_("Your model ({name})"), mine, name=mine.parent.name))
    active = registry().active_checkpoint()
    if active is not None:
        options.append(_option(N_("Active model ({name})"), active, name=active.parent.name))
    bundled = bundled_checkpoint()
    if bundled.is_file():
        options.append(_option(N_("Bundled model ({name})"), bundled, name=bundled.name))
    for run in registry().runs():
        if run.checkpoint is not None and run.checkpoint not in (active, mine):
            template = N_("Run {name} ({state})")
            options.append(
                Option(
                    template.format(name=run.name, state=run.state),
                    t(template).format(name=run.name, state=t(run.state)),
                    run.checkpoint,
                )
            )
    return options


def model_options() -> dict[str, Path]:
    """Key -> checkpoint (keys stay English: they are what session state keeps)."""
    return {option.key: Path(option.value) for option in _model_options()}


def model_labels() -> dict[str, str]:
    """Key -> the words shown for that model in this session's language."""
    return {option.key: option.shown for option in _model_options()}


IMAGENET = N_("ImageNet (or random, as the form says)")


def _starting_points() -> list[Option]:
    points = [Option(IMAGENET, t(IMAGENET), "")]
    bundled = bundled_checkpoint()
    if bundled.is_file():
        points.append(_option(N_("the bundled model ({name})"), str(bundled), name=bundled.name))
    for run in registry().runs():
        if run.checkpoint is not None:
            points.append(_option(N_("run {name}"), str(run.checkpoint), name=run.name))
    return points


def starting_points() -> dict[str, str]:
    """Key -> TrainConfig.init_from: ImageNet (""), the bundled model, each run's best."""
    return {point.key: str(point.value) for point in _starting_points()}


def starting_point_labels() -> dict[str, str]:
    """Key -> the words shown for that starting point (a picker's format_func)."""
    return {point.key: point.shown for point in _starting_points()}


def _uploaded_checkpoint(key: str) -> Path | None:
    upload = st.file_uploader(
        t("Checkpoint file (.pt)"), type=["pt", "pth"], key=f"{key}_upload_file"
    )
    if upload is None:
        return None
    cache = st.session_state.setdefault("_uploaded_checkpoints", {})
    if upload.file_id not in cache:
        data = upload.getvalue()
        folder = Path(tempfile.gettempdir()) / "maskloc-uploads"
        folder.mkdir(exist_ok=True)
        path = folder / f"{hashlib.sha256(data).hexdigest()[:20]}.pt"
        if not path.exists():
            path.write_bytes(data)
        cache[upload.file_id] = path
    return cache[upload.file_id]


UPLOAD = N_("Upload a checkpoint…")


def model_chooser(key: str) -> ModelChoice | None:
    """A model picker; None (after saying why) when no usable model is there."""
    listed = _model_options()
    options = {option.key: Path(option.value) for option in listed}
    shown = {option.key: option.shown for option in listed} | {UPLOAD: t(UPLOAD)}
    if not options:
        st.warning(
            t(
                "No trained model yet: the bundled model `{path}` is missing and no run has a "
                "checkpoint. Train one on the Train page, or upload a checkpoint below."
            ).format(path=bundled_checkpoint())
        )
    label = st.selectbox(t("Model"), [*options, UPLOAD], key=key, format_func=shown.get)
    path = _uploaded_checkpoint(key) if label == UPLOAD else options[label]
    if path is None:
        return None
    try:
        return ModelChoice(label, path, predictor_for(path))
    except (*USER_ERRORS, OSError) as error:
        st.error(t("Cannot load this model: {error}").format(error=error_text(error)))
        return None


def describe_model(choice: ModelChoice) -> str:
    meta = choice.predictor.meta
    config = meta.get("model_config", {})
    scores = meta.get("metrics", {})
    text = t("`{name}` · {size} px · classes: {classes}").format(
        name=config.get("name", "?"),
        size=choice.predictor.image_size,
        classes=", ".join(choice.predictor.class_names),
    )
    if "mean_iou" in scores:
        text += " · " + t("validation IoU {iou}, accuracy {accuracy}").format(
            iou=number(scores["mean_iou"], 2),
            accuracy=number(scores.get("accuracy", float("nan")), 2),
        )
    return text
