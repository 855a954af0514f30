"""Explore's sidebar importer: VOC / COCO / YOLO from a folder path or an uploaded zip into a new
user dataset, which then becomes this session's dataset. The report names every refused picture."""

from __future__ import annotations

import tempfile
from pathlib import Path

import streamlit as st

from app_parts.dataset_chooser import DATA_KEY
from app_parts.i18n import N_, error_text, t
from maskloc.config.paths import user_data_root
from maskloc.data.uploads import UploadError
from maskloc.data.user_datasets import check_name
from maskloc.formats import FORMATS, MULTI_BOX, FormatError, ImportReport, import_dataset

REPORT_KEY = "import_report"
# What the app calls each choice for pictures with several boxes (the values stay English).
MULTI_BOX_LABELS = {"refuse": N_("refuse"), "largest": N_("largest")}


def _run_import() -> None:
    state = st.session_state
    state.pop(REPORT_KEY, None)
    try:
        name = check_name(state.get("import_name") or "")
        out = user_data_root() / name
        upload, folder = state.get("import_zip"), (state.get("import_folder") or "").strip()
        kind, multi = state["import_format"], state["import_multi"]
        if upload is not None:
            with tempfile.TemporaryDirectory(prefix="maskloc-import-") as temp:
                source = Path(temp) / Path(upload.name).name
                source.write_bytes(upload.getvalue())
                report = import_dataset(source, kind, out, None, multi)
        elif folder:
            report = import_dataset(folder, kind, out, None, multi)
        else:
            raise FormatError(N_("give a folder path or upload a zip"))
    except (FormatError, UploadError, ValueError, OSError) as error:
        state[REPORT_KEY] = error  # kept as it is: shown in the language of the next run
        return
    state[REPORT_KEY] = report
    state[DATA_KEY] = str(out)
    state["data_root"] = str(out)


def _report_text(outcome: ImportReport | Exception) -> str:
    if isinstance(outcome, ImportReport):
        return outcome.summary(t)
    return error_text(outcome)


def import_sidebar() -> None:
    """An expander in the sidebar; on success the new dataset is the one this page shows."""
    with st.sidebar.expander(t("Import VOC / COCO / YOLO")):
        st.selectbox(t("Format"), sorted(FORMATS), key="import_format")
        st.text_input(t("Folder on the server"), key="import_folder")
        st.file_uploader(t("…or a zip"), type=["zip"], key="import_zip")
        st.text_input(
            t("New dataset name"), value=t("imported"), key="import_name",
            help=t("Created under {folder}").format(folder=user_data_root()),
        )  # fmt: skip
        shown = {choice: t(MULTI_BOX_LABELS[choice]) for choice in MULTI_BOX}  # this run's words
        st.selectbox(
            t("Pictures with several boxes"), MULTI_BOX, key="import_multi", format_func=shown.get
        )
        st.button(t("Import"), key="import_go", on_click=_run_import)
        if REPORT_KEY in st.session_state:
            outcome = st.session_state[REPORT_KEY]
            text = _report_text(outcome)
            (st.success if isinstance(outcome, ImportReport) else st.error)(text.splitlines()[0])
            st.code(text, language=None)
