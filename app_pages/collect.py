"""Collect: snapshots or photos -> the model proposes box and class -> the user corrects them ->
Add writes them into a user dataset; list, fix, delete, download, and fine-tune on it."""

import streamlit as st

from app_pages._box_editor import (
    DATASET_KEY,
    class_picker,
    dataset_for,
    dataset_picker,
    edit_box,
    fix_and_add,
)
from app_pages._common import (
    DATA_KEY,
    IMAGE_TYPES,
    USER_ERRORS,
    describe_model,
    model_chooser,
    registry,
)
from maskloc import drawing
from maskloc.config import preset
from maskloc.finetune import adopt_checkpoint
from maskloc.images import read_rgb
from maskloc.user_datasets import RECOMMENDED_PER_CLASS, user_data_root

THUMBS = 24

st.title("Collect")
st.markdown(
    "Take snapshots (or upload photos): the model proposes a box and a class, you correct the box "
    "by drawing a new rectangle (or moving it with the toolbar's edit toggle), pick the class and "
    f"**Add**. Pictures go into a dataset folder under `{user_data_root()}` in the competition "
    "layout, usable on every page. About "
    f"{RECOMMENDED_PER_CLASS} pictures per class are enough for a useful fine-tune."
)
name = dataset_picker("collect")
choice = model_chooser("collect_model")
if choice is not None:
    st.caption(f"Proposals from: {describe_model(choice)}")

camera, uploads = st.columns(2)
with camera:
    shot = st.camera_input("Snapshot", key="collect_camera")
with uploads:
    files = st.file_uploader(
        "…or upload photos", type=IMAGE_TYPES, accept_multiple_files=True, key="collect_uploads"
    )
sources = ([shot] if shot is not None else []) + list(files or [])

if sources:
    labels = [source.name for source in sources]
    pick = st.selectbox(
        "Picture", range(len(sources)), format_func=lambda i: labels[i], key="collect_pick"
    )
    pick = pick if pick is not None and pick < len(sources) else 0
    try:
        image = read_rgb(sources[pick].getvalue())
        prediction = choice.predictor.predict(image) if choice is not None else None
    except USER_ERRORS as error:
        st.error(f"Cannot use this picture: {error}")
    else:
        if prediction is not None:
            st.markdown(
                f"Proposed: **{prediction.class_name}** · {prediction.confidence:.0%} "
                "(the red rectangle)"
            )
        fix_and_add(image, prediction, "collect", picker=False)
else:
    st.info("Take a snapshot or upload photos to start.")

dataset = dataset_for(name)
st.divider()
st.subheader(f"Dataset `{name}`")
if not dataset.csv.is_file():
    st.info("Empty so far: the first Add creates it.")
    st.stop()
rows = dataset.rows()
counts, needed = dataset.counts(), dataset.still_needed()
columns = st.columns(len(counts) + 1)
columns[0].metric("pictures", len(rows))
for column, (class_name, count) in zip(columns[1:], counts.items(), strict=True):
    column.metric(class_name, count)
missing = {k: v for k, v in needed.items() if v}
if missing:
    st.info(
        "For a useful fine-tune add "
        + ", ".join(f"{n} more {class_name}" for class_name, n in missing.items())
        + f" (about {RECOMMENDED_PER_CLASS} per class)."
    )
else:
    st.success("Enough pictures for a fine-tune.")

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

with st.expander("Fix or delete a picture"):
    names = rows["filename"].tolist()
    target = st.selectbox("Picture", names, key="collect_fix_pick")
    if target:
        row = rows[rows["filename"] == target].iloc[0]
        image = read_rgb(dataset.images / target)
        start = tuple(float(row[c]) for c in ("xmin", "ymin", "xmax", "ymax"))
        box = edit_box(image, start, f"collect_fix_{target}")
        class_name = class_picker(row["class"], f"collect_fix_class_{target}")
        left, right = st.columns(2)
        if left.button("Save the fix", key="collect_fix_save", disabled=box is None):
            try:
                dataset.fix(target, box, class_name)
                st.success(f"Saved {target}.")
            except (ValueError, OSError) as error:
                st.error(f"Not saved: {error}")
        if right.button("Delete", key="collect_delete"):
            dataset.delete(target)
            st.success(f"Deleted {target}.")
            st.rerun()

left, middle, right = st.columns(3)
left.download_button(
    "Download as zip",
    data=dataset.zip_bytes(),
    file_name=f"{name}.zip",
    mime="application/zip",
    key="collect_download",
)
if middle.button("Explore this dataset", key="collect_explore"):
    st.session_state[DATA_KEY] = str(dataset.root)
    st.session_state["data_root"] = str(dataset.root)
    st.switch_page("app_pages/explore.py")

# --- fine-tune ------------------------------------------------------------------------------------
JOB_KEY = "collect_finetune_job"
if right.button(
    "Fine-tune on this dataset",
    key="collect_finetune",
    type="primary",
    disabled=choice is None or len(rows) < 4,
    help="Starts from the model chosen above; the finetune preset (frozen trunk, heads only).",
):
    config = preset("finetune")
    config.data.root, config.train.init_from = str(dataset.root), str(choice.path)
    try:
        adopt_checkpoint(config)  # the run's name and settings show the real architecture
    except (*USER_ERRORS, ValueError) as error:
        st.error(f"Cannot fine-tune this model: {error}")
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
        text=f"fine-tuning {job_name}: {snapshot.message}",
    )


if JOB_KEY in st.session_state:
    snapshot = registry().snapshot(st.session_state[JOB_KEY])
    if snapshot is None:
        st.warning("The fine-tuning run is gone (deleted on the Train page?).")
    elif snapshot.state in ("queued", "running"):
        finetune_progress(snapshot.name)
    elif snapshot.state == "failed" or snapshot.checkpoint is None:
        st.error(f"Fine-tuning {snapshot.name} {snapshot.state}: {snapshot.message}")
    else:
        best = snapshot.best or {}
        st.success(
            f"Fine-tuned {snapshot.name}: validation IoU {best.get('mean_iou', float('nan')):.2f}, "
            f"accuracy {best.get('accuracy', float('nan')):.2f}."
        )
        if st.button("Use it on the Webcam page", key="collect_use", type="primary"):
            registry().set_active(snapshot.checkpoint)
            st.switch_page("app_pages/webcam.py")
