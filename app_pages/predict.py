"""Predict: score a model on a split (errors worst first, confusion matrix), write the
competition's submission.csv, or try one uploaded image."""

import pandas as pd
import streamlit as st

from app_pages._common import (
    IMAGE_TYPES,
    USER_ERRORS,
    ModelChoice,
    dataset_or_stop,
    dataset_signature,
    describe_model,
    model_chooser,
    predictor_for,
)
from app_pages._saliency import looked_at, saliency_choice
from maskloc import charts, drawing
from maskloc.data import DatasetFolder
from maskloc.images import ImageError, read_rgb
from maskloc.predict import SPLITS, Prediction, evaluate, predict_submission

PER_PAGE = 12
SORTS = {
    "worst IoU first": ("iou", True),
    "least confident first": ("confidence", True),
    "file name": ("filename", True),
}
SPLIT_HELP = (
    "val: the model's own validation part of train.csv (same seed and fraction as in training); "
    "test: test.csv scored against test_labels.csv; all: every labelled row of train.csv"
)


@st.cache_data(show_spinner="Scoring every image of the split…", max_entries=8)
def scored(checkpoint: str, version: int, root: str, signature: tuple, split: str, tta: bool):
    """Metrics and per-image results; cached per model file version, dataset version, split."""
    return evaluate(predictor_for(checkpoint), root, split, tta)


@st.cache_data(show_spinner="Predicting test.csv…", max_entries=4)
def submission_csv(checkpoint: str, version: int, root: str, signature: tuple) -> pd.DataFrame:
    return predict_submission(predictor_for(checkpoint), root)


def ground_truth(folder: DatasetFolder) -> pd.DataFrame:
    """Every labelled row (train and test answers) by file name: path, size, true box."""
    frames = [folder.train.frame]
    if folder.test_labels is not None:
        frames.append(folder.test_labels.frame)
    columns = ["filename", "path", "width", "height", "xmin", "ymin", "xmax", "ymax"]
    table = pd.concat([f[columns] for f in frames], ignore_index=True)
    return table.drop_duplicates("filename").set_index("filename")


def drawn(image, prediction_box, prediction_label: str, confidence: float, truth=None):
    boxes = [] if truth is None else [drawing.truth_box(truth)]
    boxes.append(drawing.predicted_box(prediction_box, prediction_label, confidence))
    return boxes


def evaluate_tab(choice: ModelChoice, folder: DatasetFolder, signature: tuple) -> None:
    left, right = st.columns([3, 2], vertical_alignment="bottom")
    split = left.radio("Split", SPLITS, horizontal=True, key="predict_split", help=SPLIT_HELP)
    tta = right.checkbox("Flip test-time augmentation", key="predict_tta")
    version = choice.path.stat().st_mtime_ns
    try:
        metrics, per_image = scored(
            str(choice.path), version, str(folder.root), signature, split, tta
        )
    except USER_ERRORS as error:
        st.error(str(error))
        return
    cols = st.columns([0.8, 1, 1, 1, 1.5])  # "balanced accuracy" uncut at 1024 px
    cols[0].metric("images", metrics["n"])
    cols[1].metric("mean IoU", f"{metrics['mean_iou']:.3f}")
    cols[2].metric("IoU ≥ 0.5", f"{metrics['iou50']:.0%}")
    cols[3].metric("accuracy", f"{metrics['accuracy']:.3f}")
    cols[4].metric("balanced accuracy", f"{metrics['balanced_accuracy']:.3f}")
    chart, table = st.columns([1, 2])
    chart.plotly_chart(
        charts.confusion_figure(metrics["confusion"], choice.predictor.class_names),
        key="predict_confusion",
    )
    table.dataframe(per_image.round(3), hide_index=True, height=300, key="predict_table")
    table.download_button(
        "Download per-image results (CSV)",
        per_image.to_csv(index=False),
        file_name=f"per-image-{split}.csv",
        mime="text/csv",
        key="predict_per_image_download",
        on_click="ignore",
    )

    st.subheader("Ground truth (green) vs prediction (red)")
    controls = st.columns([2, 2, 1], vertical_alignment="bottom")
    sort = controls[0].selectbox("Order", list(SORTS), key="predict_sort")
    wrong_only = controls[1].checkbox("Only wrong classes", key="predict_wrong_only")
    with controls[1]:
        looked = saliency_choice("predict_saliency")
    column, ascending = SORTS[sort]
    rows = per_image[~per_image["correct"]] if wrong_only else per_image
    rows = rows.sort_values(column, ascending=ascending, kind="stable")
    pages = max(1, -(-len(rows) // PER_PAGE))
    page = controls[2].number_input(f"Page (of {pages})", 1, pages, 1, key="predict_page")
    start = (int(min(page, pages)) - 1) * PER_PAGE
    truth = ground_truth(folder)
    pictures, captions = [], []
    for row in rows.iloc[start : start + PER_PAGE].to_dict("records"):
        known = truth.loc[row["filename"]]
        try:
            image = read_rgb(known["path"])
        except ImageError as error:
            st.warning(str(error))
            continue
        if looked != "off":
            try:
                image, _ = looked_at(choice.predictor, image, looked)
            except ValueError as error:  # an ensemble: no single feature map
                st.info(f"No saliency map: {error}")
                looked = "off"
        boxes = drawn(
            image,
            (row["xmin"], row["ymin"], row["xmax"], row["ymax"]),
            row["class"],
            row["confidence"],
            (known["xmin"], known["ymin"], known["xmax"], known["ymax"]),
        )
        pictures.append(drawing.annotated_thumbnail(image, boxes, 240))
        mark = "✓" if row["correct"] else "✗"
        captions.append(
            f"{mark} true {row['true_class']} → {row['class']} {row['confidence']:.0%} · "
            f"IoU {row['iou']:.2f}"
        )
    if pictures:
        st.image(pictures, caption=captions, width=200)
    elif wrong_only:
        st.success("No image of this split has a wrong class.")


def submission_tab(choice: ModelChoice, folder: DatasetFolder, signature: tuple) -> None:
    st.markdown(
        "Predicts every row of `test.csv` and writes the competition's format: "
        "`filename,class,xmin,ymin,xmax,ymax` with pixel boxes."
    )
    if folder.test is None:
        st.info("This dataset has no test.csv.")
        return
    if st.button("Predict test.csv", key="predict_submit"):
        st.session_state["predict_submission_for"] = (str(choice.path), str(folder.root))
    if st.session_state.get("predict_submission_for") != (str(choice.path), str(folder.root)):
        return
    try:
        submission = submission_csv(
            str(choice.path), choice.path.stat().st_mtime_ns, str(folder.root), signature
        )
    except USER_ERRORS as error:
        st.error(str(error))
        return
    st.dataframe(submission, hide_index=True, height=240, key="predict_submission_table")
    st.download_button(
        f"Download submission.csv ({len(submission)} rows)",
        submission.to_csv(index=False),
        file_name="submission.csv",
        mime="text/csv",
        key="predict_download",
        on_click="ignore",
    )


def show_prediction(prediction: Prediction, image) -> None:
    boxes = drawn(image, prediction.box, prediction.class_name, prediction.confidence)
    st.image(drawing.draw_boxes(image, boxes), caption="prediction in red", width=480)
    st.markdown(f"### {prediction.class_name} · {prediction.confidence:.0%}")
    for name, probability in sorted(prediction.probabilities.items(), key=lambda kv: -kv[1]):
        st.progress(probability, text=f"{name}: {probability:.1%}")


def single_image_tab(choice: ModelChoice) -> None:
    upload = st.file_uploader("An image with one face", type=IMAGE_TYPES, key="predict_upload")
    if upload is None:
        return
    try:
        data = upload.getvalue()
        image = read_rgb(data)
        prediction = choice.predictor.predict(image)
    except USER_ERRORS as error:
        st.error(f"Cannot use {upload.name}: {error}")
        return
    show_prediction(prediction, image)


st.title("Predict")
folder = dataset_or_stop()
signature = dataset_signature(folder.root)
choice = model_chooser("predict_model")
if choice is None:
    st.stop()
st.caption(describe_model(choice))
evaluate_t, submission_t, single_t = st.tabs(["Evaluate", "Submission", "One image"])
with evaluate_t:
    evaluate_tab(choice, folder, signature)
with submission_t:
    submission_tab(choice, folder, signature)
with single_t:
    single_image_tab(choice)
