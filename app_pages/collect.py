"""Collect: snapshots or photos -> the model proposes box and class -> the user corrects them ->
Add writes them into a user dataset; list, fix, delete, download, and fine-tune on it."""

import math

import streamlit as st

from app_parts.box_editor import (
    DATASET_KEY,
    class_picker,
    dataset_for,
    dataset_picker,
    edit_box,
    fix_and_add,
)
from app_parts.dataset_chooser import DATA_KEY
from app_parts.i18n import N_, error_text, library_text, number, t
from app_parts.inputs import IMAGE_TYPES, USER_ERRORS
from app_parts.jobs import registry
from app_parts.model_chooser import describe_model, model_chooser
from maskloc.config.paths import user_data_root
from maskloc.config.presets import preset
from maskloc.data.images import read_rgb
from maskloc.data.user_datasets import RECOMMENDED_PER_CLASS
from maskloc.training.finetune import adopt_checkpoint
from maskloc.viz import drawing

THUMBS = 24

# A fine-tune that ended without a checkpoint, by how it ended.
ENDED = {
    "failed": N_("Fine-tuning {name} failed: {message}"),
    "stopped": N_("Fine-tuning {name} was stopped: {message}"),
    "interrupted": N_("Fine-tuning {name} was interrupted: {message}"),
}


def _metric(value: float) -> str:
    return number(value, 2) if math.isfinite(value) else "–"


st.title(t("Collect"))
st.markdown(
    t(
        "Take snapshots (or upload photos): the model proposes a box and a class, you correct the "
        "box by drawing a new rectangle (or moving it with the toolbar's edit toggle), pick the "
        "class and **Add**. Pictures go into a dataset folder under `{folder}` in the competition "
        "layout, usable on every page. About {per_class} pictures per class are enough for a "
        "useful fine-tune."
    ).format(folder=user_data_root(), per_class=RECOMMENDED_PER_CLASS)
)
name = dataset_picker("collect")
choice = model_chooser("collect_model")
if choice is not None:
    st.caption(t("Proposals from: {model}").format(model=describe_model(choice)))

camera, uploads = st.columns(2)
with camera:
    shot = st.camera_input(t("Snapshot"), key="collect_camera")
with uploads:
    files = st.file_uploader(
        t("…or upload photos"), type=IMAGE_TYPES, accept_multiple_files=True, key="collect_uploads"
    )
sources = ([shot] if shot is not None else []) + list(files or [])

if sources:
    labels = [source.name for source in sources]
    pick = st.selectbox(
        t("Picture"), range(len(sources)), format_func=lambda i: labels[i], key="collect_pick"
    )
    pick = pick if pick is not None and pick < len(sources) else 0
    try:
        image = read_rgb(sources[pick].getvalue())
        prediction = choice.predictor.predict(image) if choice is not None else None
    except USER_ERRORS as error:
        st.error(t("Cannot use this picture: {error}").format(error=error_text(error)))
    else:
        if prediction is not None:
            st.markdown(
                t("Proposed: **{cls}** · {confidence} (the red rectangle)").format(
                    cls=prediction.class_name, confidence=f"{prediction.confidence:.0%}"
                )
            )
        fix_and_add(image, prediction, "collect", picker=False)
else:
    st.info(t("Take a snapshot or upload photos to start."))

dataset = dataset_for(name)
st.divider()
st.subheader(t("Dataset `{name}`").format(name=name))
if not dataset.csv.is_file():
    st.info(t("Empty so far: the first Add creates it."))
    st.stop()
rows = dataset.rows()
counts, needed = dataset.counts(), dataset.still_needed()
columns = st.columns(len(counts) + 1)
columns[0].metric(t("pictures"), len(rows))
for column, (class_name, count) in zip(columns[1:], counts.items(), strict=True):
    column.metric(class_name, count)
missing = {k: v for k, v in needed.items() if v}
if missing:
    more = ", ".join(t("{n} more {cls}").format(n=n, cls=cls) for cls, n in missing.items())
    st.info(
        t("For a useful fine-tune add {more} (about {per_class} per class).").format(
            more=more, per_class=RECOMMENDED_PER_CLASS
        )
    )
else:
    st.success(t("Enough pictures for a fine-tune."))

pictures, captions = [], []
for row in rows.tail(THUMBS).to_dict("records"):
    try:
        image = read_rgb(dataset.images / row["filename"])
        box = tuple(float(row[c]) for c in ("xmin", "ymin", "xmax", "ymax"))
    except (*USER_ERRORS, ValueError, OSError):
        continue
    pictures.append(drawing.annotated_thumbnail(image, [drawing.truth_box(box, row["class"])], 160))
    captions.append(f"{row['filename']} · {row['class']}")
if pictures:
    st.image(pictures, caption=captions, width=150)

with st.expander(t("Fix or delete a picture")):
    names = rows["filename"].tolist()
    target = st.selectbox(t("Picture"), names, key="collect_fix_pick")
    if target:
        row = rows[rows["filename"] == target].iloc[0]
        image = read_rgb(dataset.images / target)
        start = tuple(float(row[c]) for c in ("xmin", "ymin", "xmax", "ymax"))
        box = edit_box(image, start, f"collect_fix_{target}")
        class_name = class_picker(row["class"], f"collect_fix_class_{target}")
        left, right = st.columns(2)
        if left.button(t("Save the fix"), key="collect_fix_save", disabled=box is None):
            try:
                dataset.fix(target, box, class_name)
                st.success(t("Saved {file}.").format(file=target))
            except (ValueError, OSError) as error:
                st.error(t("Not saved: {error}").format(error=error_text(error)))
        if right.button(t("Delete"), key="collect_delete"):
            dataset.delete(target)
            st.success(t("Deleted {file}.").format(file=target))
            st.rerun()

left, middle, right = st.columns(3)
left.download_button(
    t("Download as zip"),
    data=dataset.zip_bytes(),
    file_name=f"{name}.zip",
    mime="application/zip",
    key="collect_download",
)
if middle.button(t("Explore this dataset"), key="collect_explore"):
    st.session_state[DATA_KEY] = str(dataset.root)
    st.session_state["data_root"] = str(dataset.root)
    st.switch_page("app_pages/explore.py")

# --- fine-tune ------------------------------------------------------------------------------------
JOB_KEY = "collect_finetune_job"
if right.button(
    t("Fine-tune on this dataset"),
    key="collect_finetune",
    type="primary",
    disabled=choice is None or len(rows) < 4,
    help=t("Starts from the model chosen above; the finetune preset (frozen trunk, heads only)."),
):
    config = preset("finetune")
    config.data.root, config.train.init_from = str(dataset.root), str(choice.path)
    try:
        adopt_checkpoint(config)  # the run's name and settings show the real architecture
    except (*USER_ERRORS, ValueError) as error:
        st.error(t("Cannot fine-tune this model: {error}").format(error=error_text(error)))
        st.stop()
    job = registry().start(config)
    st.session_state[JOB_KEY] = job.name
    st.session_state[DATASET_KEY] = name


@st.fragment(run_every=2.0)
def finetune_progress(job_name: str) -> None:
    """Polls while the run trains; a whole-page rerun shows the result when it ends."""
    snapshot = registry().snapshot(job_name)
    if snapshot is None or snapshot.state not in ("queued", "running"):
        st.rerun()
    st.progress(
        snapshot.step / max(1, snapshot.total_steps),
        text=t("fine-tuning {name}: {message}").format(
            name=job_name, message=library_text(snapshot.message)
        ),
    )


if JOB_KEY in st.session_state:
    snapshot = registry().snapshot(st.session_state[JOB_KEY])
    if snapshot is None:
        st.warning(t("The fine-tuning run is gone (deleted on the Train page?)."))
    elif snapshot.state in ("queued", "running"):
        finetune_progress(snapshot.name)
    elif snapshot.state == "failed" or snapshot.checkpoint is None:
        template = ENDED.get(snapshot.state, N_("Fine-tuning {name} left no model: {message}"))
        st.error(t(template).format(name=snapshot.name, message=library_text(snapshot.message)))
    else:
        best = snapshot.best or {}
        st.success(
            t("Fine-tuned {name}: validation IoU {iou}, accuracy {accuracy}.").format(
                name=snapshot.name,
                iou=_metric(best.get("mean_iou", math.nan)),
                accuracy=_metric(best.get("accuracy", math.nan)),
            )
        )
        if st.button(t("Use it on the Webcam page"), key="collect_use", type="primary"):
            registry().set_active(snapshot.checkpoint)
            st.switch_page("app_pages/webcam.py")
