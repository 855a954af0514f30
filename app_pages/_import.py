"""Explore's sidebar importer: VOC / COCO / YOLO from a folder path or an uploaded zip into a new
user dataset, which then becomes this session's dataset. The report names every refused picture."""

from __future__ import annotations

import tempfile
from pathlib import Path

import streamlit as st

from app_pages._common import DATA_KEY
from maskloc.formats import FORMATS, MULTI_BOX, FormatError, import_dataset
from maskloc.uploads import UploadError
from maskloc.user_datasets import check_name, user_data_root

REPORT_KEY = "import_report"


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
            raise FormatError("give a folder path or upload a zip")
    except (FormatError, UploadError, ValueError, OSError) as error:
        state[REPORT_KEY] = ("error", str(error))
        return
    state[REPORT_KEY] = ("ok", report.summary())
    state[DATA_KEY] = str(out)
    state["data_root"] = str(out)


def import_sidebar() -> None:
    """An expander in the sidebar; on success the new dataset is the one this page shows."""
    with st.sidebar.expander("Import VOC / COCO / YOLO"):
        st.selectbox("Format", sorted(FORMATS), key="import_format")
        st.text_input("Folder on the server", key="import_folder")
        st.file_uploader("…or a zip", type=["zip"], key="import_zip")
        st.text_input(
            "New dataset name", value="imported", key="import_name",
            help=f"Created under {user_data_root()}",
        )  # fmt: skip
        st.selectbox("Pictures with several boxes", MULTI_BOX, key="import_multi")
        st.button("Import", key="import_go", on_click=_run_import)
        if REPORT_KEY in st.session_state:
            kind, text = st.session_state[REPORT_KEY]
            (st.error if kind == "error" else st.success)(text.splitlines()[0])
            st.code(text, language=None)
