"""Webcam: a snapshot (or an uploaded photo) -> face box, class and confidence on the picture."""

import streamlit as st

from app_parts.box_editor import fix_button
from app_parts.i18n import N_, error_text, percent, t
from app_parts.inputs import IMAGE_TYPES, USER_ERRORS
from app_parts.model_chooser import describe_model, model_chooser
from app_parts.presence import framing_notes, said_no_face
from app_parts.saliency import CHOICES as looked_at_words
from app_parts.saliency import looked_at, saliency_choice
from app_parts.shared_answers import webcam_predictor
from app_parts.widgets import probability_bars
from maskloc.data.images import read_rgb
from maskloc.viz import drawing

st.title(t("Webcam"))
st.markdown(
    t(
        "Take a snapshot: the model draws one box around the face and says **mask** or "
        "**no-mask** with its confidence. It was trained on crops with one face filling much of "
        "the picture, so come close to the camera. With no face in view it says **No face "
        "found** (models trained before face presence existed always answer), and with several "
        "faces it judges one."
    )
)
choice = model_chooser("webcam_model")
if choice is None:
    st.stop()
predictor, runtime = webcam_predictor(choice)  # ONNX Runtime for the bundled model when ready
st.caption(
    t("{model} · answers with {runtime}").format(model=describe_model(choice), runtime=runtime)
)


def _newest(which: str) -> None:
    st.session_state["webcam_newest"] = which


camera, result = st.columns(2)
with camera:
    shot = st.camera_input(
        t("Snapshot"), key="webcam_camera", on_change=_newest, args=("snapshot",)
    )
    upload = st.file_uploader(
        t("…or upload a photo"),
        type=IMAGE_TYPES,
        key="webcam_upload",
        on_change=_newest,
        args=("uploaded photo",),
    )
# The picture answered is the one given last; the caption under the answer names it.
pictures = {"snapshot": shot, "uploaded photo": upload}
THE_PICTURE = {"snapshot": N_("the snapshot"), "uploaded photo": N_("the uploaded photo")}
newest = st.session_state.get("webcam_newest")
if pictures.get(newest) is None:
    newest = next((name for name, picture in pictures.items() if picture is not None), None)
source = pictures.get(newest)

with result:
    if source is None:
        st.info(t("Take a snapshot or upload a photo."))
        st.stop()
    the_picture = t(THE_PICTURE[newest])
    try:
        image = read_rgb(source.getvalue())
        prediction = predictor.predict(image)
    except USER_ERRORS as error:
        st.error(t("Cannot use this picture: {error}").format(error=error_text(error)))
        st.stop()
    if said_no_face(prediction, choice.predictor.presence_threshold):
        st.image(
            image,
            caption=t("{picture}: no face found, no box, no verdict").format(picture=the_picture),
        )
        st.stop()
    box = drawing.predicted_box(prediction.box, prediction.class_name, prediction.confidence)
    verdict = "😷 mask" if prediction.class_name == "mask" else f"🙂 {prediction.class_name}"
    # the answer first: above the fold
    st.markdown(f"## {verdict} · {percent(prediction.confidence)}")
    looked = saliency_choice("webcam_saliency")
    picture = image
    caption = t("{picture}, prediction in red").format(picture=the_picture)
    if looked != "off":
        try:
            picture, _ = looked_at(choice.predictor, image, looked)
            caption = t("{picture}, prediction in red · what it looked at {what}").format(
                picture=the_picture, what=t(looked_at_words[looked])
            )
        except ValueError as error:  # an ensemble checkpoint
            st.info(t("No saliency map: {error}").format(error=error_text(error)))
    st.image(drawing.draw_boxes(picture, [box]), caption=caption)
    probability_bars(prediction.probabilities)
    framing_notes(prediction)
    fix_button(image, prediction, "webcam")
