"""What several pages share: where things are, cached loading, the dataset and model choosers.

Environment variables (all optional; tests point them at temporary folders):

- MASKLOC_DATA: the default dataset folder (competition layout); default data/mask-faces
- MASKLOC_RUNS: the runs folder the Train page writes and lists; default runs/
- MASKLOC_CHECKPOINT: the bundled model; default checkpoints/maskloc-mobilenet_v2.pt
- MASKLOC_USER_DATA: where collected and imported datasets live; default user_data/
- MASKLOC_SCHEDULER: a Dask scheduler (tcp://host:8786) to train on; default: train here
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import streamlit as st
import torch

from app_pages._i18n import N_, error_text, library_text, number, t
from maskloc.checkpoint import CheckpointError
from maskloc.config import DEFAULT_CHECKPOINT, DEFAULT_DATA, DEFAULT_RUNS
from maskloc.data import DataError, DatasetFolder, load_dataset
from maskloc.images import ImageError
from maskloc.jobs import JobRegistry
from maskloc.layout import LAYOUT_NAMES, NO_FACE_CSV
from maskloc.predict import Predictor
from maskloc.uploads import UploadError, unpack_dataset_zip
from maskloc.user_datasets import list_datasets, user_data_root
from maskloc.weights import WeightsUnavailable

USER_ERRORS = (DataError, ImageError, CheckpointError, WeightsUnavailable)
IMAGE_TYPES = ["jpg", "jpeg", "png", "webp", "bmp", "tif", "tiff"]
DATA_KEY = "maskloc_data_root"  # survives page switches (widget state does not)
SESSION_MODEL_KEY = "maskloc_session_model"  # a student's "use this model": this session only


def default_data_root() -> Path:
    return Path(os.environ.get("MASKLOC_DATA") or DEFAULT_DATA)


def runs_root() -> Path:
    return Path(os.environ.get("MASKLOC_RUNS") or DEFAULT_RUNS)


def bundled_checkpoint() -> Path:
    return Path(os.environ.get("MASKLOC_CHECKPOINT") or DEFAULT_CHECKPOINT)


def device_text() -> str:
    if torch.cuda.is_available():
        return t("GPU: {name}").format(name=torch.cuda.get_device_name(0))
    return t("CPU ({n} threads, no GPU found)").format(n=torch.get_num_threads())


def shown_words(words: dict[str, str]) -> Callable[[str], str]:
    """A picker's format_func: each English value's words translated now, in this run (the
    values themselves, kept in session state, never change with the language)."""
    return {value: t(message) for value, message in words.items()}.__getitem__


def fmt_seconds(seconds: float | None) -> str:
    if seconds is None:
        return "–"
    seconds = round(seconds)
    hours, rest = divmod(seconds, 3600)
    return f"{hours}:{rest // 60:02d}:{rest % 60:02d}" if hours else f"{rest // 60}:{rest % 60:02d}"


# --- shared objects -------------------------------------------------------------------------------


@st.cache_resource(show_spinner=False)
def _registry(root: str) -> JobRegistry:
    jobs = JobRegistry(root)
    address = os.environ.get("MASKLOC_SCHEDULER", "").strip()
    if address:
        jobs.backend = cluster_backend(address)
    return jobs


def cluster_backend(address: str):
    """A Dask backend (imported only here: without a scheduler nothing touches Dask)."""
    from maskloc.cluster import ClusterBackend

    return ClusterBackend(address)


def training_place(jobs: JobRegistry) -> str:
    """Where new runs train, in one line for a page; a cluster that cannot be reached says so."""
    if jobs.backend is None:
        return t("Runs train on this server, one at a time (a second one waits in the queue).")
    from maskloc.cluster import ClusterError

    try:
        return library_text(jobs.backend.describe()) + "."
    except ClusterError as error:
        return t("Runs go to a Dask cluster that cannot be used now: {error}").format(
            error=error_text(error)
        )


def registry() -> JobRegistry:
    """The one registry of this server process: every session sees the same runs."""
    return _registry(str(runs_root().resolve()))


def dataset_signature(root: Path) -> tuple:
    """Changes when the dataset's files change, so cached tables are re-read."""
    parts = []
    for name in (*LAYOUT_NAMES, NO_FACE_CSV):
        try:
            stat = (root / name).stat()
            parts.append((name, stat.st_mtime_ns, stat.st_size))
        except OSError:
            parts.append((name, None, None))
    return tuple(parts)


@st.cache_data(show_spinner=False, max_entries=8)
def _load_folder(root: str, signature: tuple) -> DatasetFolder:
    return load_dataset(root)


def load_folder(root: str | Path) -> DatasetFolder:
    root = Path(root)
    # the spinner here, not in the decorator: its words are this session's (it shows only after
    # half a second, so a cached folder never flashes it)
    with st.spinner(t("Reading and checking the dataset…")):
        return _load_folder(str(root), dataset_signature(root))


# --- dataset chooser ------------------------------------------------------------------------------


def data_root() -> Path:
    """The dataset folder chosen in this session (the default until someone picks another)."""
    return Path(st.session_state.get(DATA_KEY) or default_data_root())


def _keep_choice() -> None:
    st.session_state[DATA_KEY] = st.session_state["data_root"].strip()


def _use_bundled() -> None:
    st.session_state[DATA_KEY] = str(default_data_root())
    st.session_state["data_root"] = str(default_data_root())


def _use_user_dataset() -> None:
    name = st.session_state.get("data_user")
    if name:
        root = str(user_data_root() / name)
        st.session_state[DATA_KEY] = root
        st.session_state["data_root"] = root


def _unpack_upload() -> None:
    """Unpack an uploaded dataset zip next to the runs and make it this session's dataset."""
    upload = st.session_state.get("data_zip")
    st.session_state.pop("data_zip_error", None)
    if upload is None:
        return
    try:
        root = unpack_dataset_zip(upload.getvalue(), runs_root() / "uploads", upload.name)
    except UploadError as error:
        st.session_state["data_zip_error"] = error  # shown in the language of the moment
        return
    st.session_state[DATA_KEY] = str(root)
    st.session_state["data_root"] = str(root)


def dataset_sidebar() -> Path:
    """Sidebar: which dataset folder this session works on."""
    # Seeded on every run: a page switch drops the widget's own state (the field went blank on
    # every other page), DATA_KEY keeps the choice.
    st.session_state["data_root"] = str(data_root())
    with st.sidebar:
        st.text_input(
            t("Dataset folder"),
            key="data_root",
            on_change=_keep_choice,
            help=t(
                "A folder in the competition layout: train.csv, test.csv (optional), "
                "test_labels.csv (optional) and images/."
            ),
        )
        st.button(t("Use the bundled dataset"), key="data_bundled", on_click=_use_bundled)
        user_sets = [d.name for d in list_datasets()]
        if user_sets:
            st.selectbox(
                t("…or one of your datasets"),
                [None, *user_sets],
                key="data_user",
                on_change=_use_user_dataset,
                format_func=lambda name: name or "—",
                help=t("Collected on the Collect page or imported (MASKLOC_USER_DATA)."),
            )
        st.file_uploader(
            t("…or upload a dataset zip"),
            type=["zip"],
            key="data_zip",
            on_change=_unpack_upload,
            help=t("The competition layout zipped: train.csv, images/, optional test files."),
        )
        if "data_zip_error" in st.session_state:
            st.error(
                t("Cannot use this zip: {error}").format(
                    error=error_text(st.session_state["data_zip_error"])
                )
            )
    return data_root()


def dataset_or_stop() -> DatasetFolder:
    """The chosen dataset, or an error message and the end of this page run."""
    root = dataset_sidebar()
    try:
        return load_folder(root)
    except DataError as error:
        st.error(t("Cannot use this dataset: {error}").format(error=error_text(error)))
        if root.resolve() == default_data_root().resolve():
            st.info(
                t(
                    "The bundled dataset is missing. Build it with "
                    "`python -m maskloc build-dataset`."
                )
            )
        st.stop()
        raise  # st.stop() raises; this keeps type checkers content


# --- models ---------------------------------------------------------------------------------------


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
