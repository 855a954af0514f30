"""Predict: score a model on a split (errors worst first, confusion matrix), write the
competition's submission.csv, or try one uploaded image."""

import streamlit as st

from app_parts.box_editor import fix_button
from app_parts.dataset_chooser import dataset_or_stop
from app_parts.formatting import shown_words
from app_parts.i18n import N_, error_text, number, percent, t
from app_parts.inputs import IMAGE_TYPES, USER_ERRORS
from app_parts.model_chooser import ModelChoice, describe_model, model_chooser
from app_parts.presence import framing_notes, said_no_face
from app_parts.saliency import looked_at, saliency_choice
from app_parts.shared_answers import onnx_download_bytes, scored, submission
from app_parts.widgets import page_of, probability_bars
from maskloc.data.folder import DatasetFolder
from maskloc.data.images import ImageError, read_rgb
from maskloc.data.layout import BOX_COLUMNS, EVAL_SPLITS, safe_image_path
from maskloc.inference.onnx_export import export_available
from maskloc.inference.predictor import Prediction
from maskloc.viz import charts, drawing

PER_PAGE = 12
SORTS = {  # shown words (English keys kept in session state) -> (column, ascending)
    N_("worst IoU first"): ("iou", True),
    N_("least confident first"): ("confidence", True),
    N_("file name"): ("filename", True),
}
SPLIT_NAMES = {"val": N_("val"), "test": N_("test"), "all": N_("all")}
SPLIT_HELP = N_(
    "val: the model's own validation part of train.csv (same seed and fraction as in training); "
    "test: test.csv scored against test_labels.csv; all: every labelled row of train.csv"
)
# The per-image table's headers as shown (the CSV download keeps the column names as they are).
HEADERS = {
    "filename": N_("filename"),
    "class": N_("class"),
    "confidence": N_("confidence"),
    "face_score": N_("face_score"),
    "true_class": N_("true_class"),
    "true_xmin": N_("true_xmin"),
    "true_ymin": N_("true_ymin"),
    "true_xmax": N_("true_xmax"),
    "true_ymax": N_("true_ymax"),
    "iou": N_("iou"),
    "correct": N_("correct"),
}


def overlay_boxes(prediction_box, prediction_label: str, confidence: float, truth=None):
    """The boxes a picture gets: the ground truth (green) when known, the prediction (red)."""
    boxes = [] if truth is None else [drawing.truth_box(truth)]
    boxes.append(drawing.predicted_box(prediction_box, prediction_label, confidence))
    return boxes


def evaluate_tab(choice: ModelChoice, folder: DatasetFolder) -> None:
    left, right = st.columns([3, 2], vertical_alignment="bottom")
    split = left.radio(
        t("Split"),
        EVAL_SPLITS,
        horizontal=True,
        key="predict_split",
        help=t(SPLIT_HELP),
        format_func=shown_words(SPLIT_NAMES),
    )
    tta = right.checkbox(t("Flip test-time augmentation"), key="predict_tta")
    try:
        with st.spinner(t("Scoring every image of the split (once per model and dataset)…")):
            metrics, per_image = scored(choice, folder.root, split, tta)
    except USER_ERRORS as error:
        st.error(error_text(error))
        return
    cols = st.columns([0.8, 1, 1, 1, 1.5])  # "balanced accuracy" uncut at 1024 px
    cols[0].metric(t("images"), metrics["n"])
    cols[1].metric(t("mean IoU"), number(metrics["mean_iou"], 3))
    cols[2].metric(t("IoU ≥ {limit}").format(limit=number(0.5, 1)), percent(metrics["iou50"]))
    cols[3].metric(t("accuracy"), number(metrics["accuracy"], 3))
    cols[4].metric(t("balanced accuracy"), number(metrics["balanced_accuracy"], 3))
    if "no_face_rejection" in metrics:
        st.caption(
            t(
                "Face presence at threshold {threshold}: {found} of these faces found, "
                "{rejected} of {n} no-face windows of this split answered 'no face'."
            ).format(
                threshold=number(metrics["presence_threshold"], 2),
                found=percent(metrics["face_recall"], 1),
                rejected=percent(metrics["no_face_rejection"], 1),
                n=metrics["n_no_face"],
            )
        )
    chart, table = st.columns([1, 2])
    chart.plotly_chart(
        charts.confusion_figure(metrics["confusion"], choice.predictor.class_names, translate=t),
        key="predict_confusion",
    )
    shown = per_image.round(3).rename(columns=lambda name: t(HEADERS.get(name, name)))
    table.dataframe(shown, hide_index=True, height=300, key="predict_table")
    table.download_button(
        t("Download per-image results (CSV)"),
        per_image.to_csv(index=False),
        file_name=f"per-image-{split}.csv",
        mime="text/csv",
        key="predict_per_image_download",
        on_click="ignore",
    )

    st.subheader(t("Ground truth (green) vs prediction (red)"))
    controls = st.columns([2, 2, 1], vertical_alignment="bottom")
    sort = controls[0].selectbox(
        t("Order"),
        list(SORTS),
        key="predict_sort",
        format_func=shown_words({name: name for name in SORTS}),
    )
    wrong_only = controls[1].checkbox(t("Only wrong classes"), key="predict_wrong_only")
    with controls[1]:
        looked = saliency_choice("predict_saliency")
    column, ascending = SORTS[sort]
    rows = per_image[~per_image["correct"]] if wrong_only else per_image
    rows = rows.sort_values(column, ascending=ascending, kind="stable")
    pictures, captions = [], []
    for row in page_of(rows, PER_PAGE, controls[2], "predict_page").to_dict("records"):
        try:
            image = read_rgb(safe_image_path(folder.images_dir, row["filename"]))
        except (ImageError, ValueError) as error:
            st.warning(error_text(error))
            continue
        if looked != "off":
            try:
                image, _ = looked_at(choice.predictor, image, looked)
            except ValueError as error:  # an ensemble: no single feature map
                st.info(t("No saliency map: {error}").format(error=error_text(error)))
                looked = "off"
        boxes = overlay_boxes(
            [row[c] for c in BOX_COLUMNS],
            row["class"],
            row["confidence"],
            [row[f"true_{c}"] for c in BOX_COLUMNS],  # this split's own row, not a name lookup
        )
        pictures.append(drawing.annotated_thumbnail(image, boxes, 240))
        captions.append(
            t("{mark} true {truth} → {guess} {confidence} · IoU {iou}").format(
                mark="✓" if row["correct"] else "✗",
                truth=row["true_class"],
                guess=row["class"],
                confidence=percent(row["confidence"]),
                iou=number(row["iou"], 2),
            )
        )
    if pictures:
        st.image(pictures, caption=captions, width=200)
    elif wrong_only:
        st.success(t("No image of this split has a wrong class."))


def submission_tab(choice: ModelChoice, folder: DatasetFolder) -> None:
    st.markdown(
        t(
            "Predicts every row of `test.csv` and writes the competition's format: "
            "`filename,class,xmin,ymin,xmax,ymax` with pixel boxes."
        )
    )
    if folder.test is None:
        st.info(t("This dataset has no test.csv."))
        return
    if st.button(t("Predict test.csv"), key="predict_submit"):
        st.session_state["predict_submission_for"] = (str(choice.path), str(folder.root))
    if st.session_state.get("predict_submission_for") != (str(choice.path), str(folder.root)):
        return
    try:
        with st.spinner(t("Predicting test.csv…")):
            answer = submission(choice, folder.root)
    except USER_ERRORS as error:
        st.error(error_text(error))
        return
    # the competition's own column names, as in the file
    st.dataframe(answer, hide_index=True, height=240, key="predict_submission_table")
    st.download_button(
        t("Download submission.csv ({n} rows)").format(n=len(answer)),
        answer.to_csv(index=False),
        file_name="submission.csv",
        mime="text/csv",
        key="predict_download",
        on_click="ignore",
    )


def show_prediction(prediction: Prediction, image, threshold: float | None = None) -> None:
    if said_no_face(prediction, threshold):
        st.image(image, caption=t("no face found: no box, no verdict"), width=480)
        return
    boxes = overlay_boxes(prediction.box, prediction.class_name, prediction.confidence)
    st.image(drawing.draw_boxes(image, boxes), caption=t("prediction in red"), width=480)
    st.markdown(f"### {prediction.class_name} · {percent(prediction.confidence)}")
    probability_bars(prediction.probabilities)
    framing_notes(prediction)


def single_image_tab(choice: ModelChoice) -> None:
    upload = st.file_uploader(t("An image with one face"), type=IMAGE_TYPES, key="predict_upload")
    if upload is None:
        return
    try:
        data = upload.getvalue()
        image = read_rgb(data)
        prediction = choice.predictor.predict(image)
    except USER_ERRORS as error:
        st.error(t("Cannot use {name}: {error}").format(name=upload.name, error=error_text(error)))
        return
    show_prediction(prediction, image, choice.predictor.presence_threshold)
    fix_button(image, prediction, "predict")


def onnx_download(choice: ModelChoice) -> None:
    """The chosen model as ONNX (see the README's contract); exported when clicked."""
    if not export_available():
        return
    st.download_button(
        t("Download as ONNX"),
        data=lambda: onnx_download_bytes(choice.path),  # exported (once) only when clicked
        file_name=f"{choice.path.stem}.onnx",
        mime="application/octet-stream",
        key="predict_onnx_download",
        on_click="ignore",
        help=t(
            "float32 images N×3×S×S in [0, 1] → logits and boxes (x0 y0 x1 y1 in [0, 1]); "
            "runs in ONNX Runtime without maskloc or PyTorch"
        ),
    )


st.title(t("Predict"))
folder = dataset_or_stop()
choice = model_chooser("predict_model")
if choice is None:
    st.stop()
st.caption(describe_model(choice))
onnx_download(choice)
# on_change="rerun": each tab knows whether it is open, so a split is scored only when its
# Evaluate tab is shown (a user who wants "One image" never waits for a whole split).
# (a tab's state is its shown label: switching language opens the first tab again)
evaluate_t, submission_t, single_t = st.tabs(
    [t("Evaluate"), t("Submission"), t("One image")], key="predict_tab", on_change="rerun"
)
if evaluate_t.open:
    with evaluate_t:
        evaluate_tab(choice, folder)
if submission_t.open:
    with submission_t:
        submission_tab(choice, folder)
if single_t.open:
    with single_t:
        single_image_tab(choice)
