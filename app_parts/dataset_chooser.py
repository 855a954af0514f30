"""Which dataset folder a session works on: the sidebar that picks it (the bundled one, a path,
a user dataset, an uploaded zip), and the folder read and checked once per file version."""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from app_parts.i18n import error_text, t
from maskloc.config.paths import default_data_root, runs_root, user_data_root
from maskloc.data.folder import DatasetFolder, load_dataset
from maskloc.data.layout import dataset_signature
from maskloc.data.table import DataError
from maskloc.data.uploads import UploadError, unpack_dataset_zip
from maskloc.data.user_datasets import list_datasets

DATA_KEY = "maskloc_data_root"  # survives page switches (widget state does not)


# --- shared objects -------------------------------------------------------------------------------


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
