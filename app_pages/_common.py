"""What several pages share: where things are, cached loading, the dataset and model choosers.

Environment variables (all optional; tests point them at temporary folders):

- MASKLOC_DATA: the default dataset folder (competition layout); default data/mask-faces
- MASKLOC_RUNS: the runs folder the Train page writes and lists; default runs/
- MASKLOC_CHECKPOINT: the bundled model; default checkpoints/maskloc-mobilenet_v2.pt
- MASKLOC_SCHEDULER: a Dask scheduler (tcp://host:8786) to train on; default: train here
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

import streamlit as st
import torch

from maskloc.checkpoint import CheckpointError
from maskloc.config import DEFAULT_CHECKPOINT, DEFAULT_DATA, DEFAULT_RUNS
from maskloc.data import DataError, DatasetFolder, load_dataset
from maskloc.images import ImageError
from maskloc.jobs import JobRegistry
from maskloc.layout import LAYOUT_NAMES, NO_FACE_CSV
from maskloc.predict import Predictor
from maskloc.uploads import UploadError, unpack_dataset_zip
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
        return f"GPU: {torch.cuda.get_device_name(0)}"
    return f"CPU ({torch.get_num_threads()} threads, no GPU found)"


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
        return "Runs train on this server, one at a time (a second one waits in the queue)."
    from maskloc.cluster import ClusterError

    try:
        return jobs.backend.describe() + "."
    except ClusterError as error:
        return f"Runs go to a Dask cluster that cannot be used now: {error}"


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


@st.cache_data(show_spinner="Reading and checking the dataset…", max_entries=8)
def _load_folder(root: str, signature: tuple) -> DatasetFolder:
    return load_dataset(root)


def load_folder(root: str | Path) -> DatasetFolder:
    root = Path(root)
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


def _unpack_upload() -> None:
    """Unpack an uploaded dataset zip next to the runs and make it this session's dataset."""
    upload = st.session_state.get("data_zip")
    st.session_state.pop("data_zip_error", None)
    if upload is None:
        return
    try:
        root = unpack_dataset_zip(upload.getvalue(), runs_root() / "uploads", upload.name)
    except UploadError as error:
        st.session_state["data_zip_error"] = str(error)
        return
    st.session_state[DATA_KEY] = str(root)
    st.session_state["data_root"] = str(root)


def dataset_sidebar() -> Path:
    """Sidebar: which dataset folder this session works on."""
    if "data_root" not in st.session_state:
        st.session_state["data_root"] = str(data_root())
    with st.sidebar:
        st.text_input(
            "Dataset folder",
            key="data_root",
            on_change=_keep_choice,
            help="A folder in the competition layout: train.csv, test.csv (optional), "
            "test_labels.csv (optional) and images/.",
        )
        st.button("Use the bundled dataset", key="data_bundled", on_click=_use_bundled)
        st.file_uploader(
            "…or upload a dataset zip",
            type=["zip"],
            key="data_zip",
            on_change=_unpack_upload,
            help="The competition layout zipped: train.csv, images/, optional test files.",
        )
        if "data_zip_error" in st.session_state:
            st.error(f"Cannot use this zip: {st.session_state['data_zip_error']}")
    return data_root()


def dataset_or_stop() -> DatasetFolder:
    """The chosen dataset, or an error message and the end of this page run."""
    root = dataset_sidebar()
    try:
        return load_folder(root)
    except DataError as error:
        st.error(f"Cannot use this dataset: {error}")
        if root.resolve() == default_data_root().resolve():
            st.info(
                "The bundled dataset is missing. Build it with `python -m maskloc build-dataset`."
            )
        st.stop()
        raise  # st.stop() raises; this keeps type checkers content


# --- models ---------------------------------------------------------------------------------------


@st.cache_resource(max_entries=4, show_spinner="Loading the model…")
def _predictor(path: str, mtime_ns: int) -> Predictor:
    return Predictor(path)


def predictor_for(path: str | Path) -> Predictor:
    """Loaded once per process and file version (a retrained best.pt is reloaded)."""
    path = Path(path)
    return _predictor(str(path.resolve()), path.stat().st_mtime_ns)


@dataclass(frozen=True)
class ModelChoice:
    label: str
    path: Path
    predictor: Predictor


def model_options() -> dict[str, Path]:
    """Label -> checkpoint: this session's own choice, the active model, the bundled one, then
    each run's best."""
    options: dict[str, Path] = {}
    mine = Path(st.session_state.get(SESSION_MODEL_KEY) or "")
    if mine.name and mine.is_file():
        options[f"Your model ({mine.parent.name})"] = mine
    active = registry().active_checkpoint()
    if active is not None:
        options[f"Active model ({active.parent.name})"] = active
    bundled = bundled_checkpoint()
    if bundled.is_file():
        options[f"Bundled model ({bundled.name})"] = bundled
    for run in registry().runs():
        if run.checkpoint is not None and run.checkpoint not in (active, mine):
            options[f"Run {run.name} ({run.state})"] = run.checkpoint
    return options


def _uploaded_checkpoint(key: str) -> Path | None:
    upload = st.file_uploader("Checkpoint file (.pt)", type=["pt", "pth"], key=f"{key}_upload_file")
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


UPLOAD = "Upload a checkpoint…"


def model_chooser(key: str) -> ModelChoice | None:
    """A model picker; None (after saying why) when no usable model is there."""
    options = model_options()
    if not options:
        st.warning(
            f"No trained model yet: the bundled model `{bundled_checkpoint()}` is missing and no "
            "run has a checkpoint. Train one on the Train page, or upload a checkpoint below."
        )
    label = st.selectbox("Model", [*options, UPLOAD], key=key)
    path = _uploaded_checkpoint(key) if label == UPLOAD else options[label]
    if path is None:
        return None
    try:
        return ModelChoice(label, path, predictor_for(path))
    except (*USER_ERRORS, OSError) as error:
        st.error(f"Cannot load this model: {error}")
        return None


def describe_model(choice: ModelChoice) -> str:
    meta = choice.predictor.meta
    config = meta.get("model_config", {})
    scores = meta.get("metrics", {})
    text = (
        f"`{config.get('name', '?')}` · {choice.predictor.image_size} px · classes: "
        f"{', '.join(choice.predictor.class_names)}"
    )
    if "mean_iou" in scores:
        text += (
            f" · validation IoU {scores['mean_iou']:.2f}, accuracy "
            f"{scores.get('accuracy', float('nan')):.2f}"
        )
    return text
