"""Webcam: a snapshot (or an uploaded photo) -> face box, class and confidence on the picture."""

import streamlit as st

from app_pages._box_editor import fix_button
from app_pages._common import IMAGE_TYPES, USER_ERRORS, describe_model, model_chooser
from app_pages._presence import framing_notes, said_no_face
from app_pages._saliency import CHOICES as looked_at_words
from app_pages._saliency import looked_at, saliency_choice
from app_pages._shared_answers import webcam_predictor
from app_pages._widgets import probability_bars
from maskloc import drawing
from maskloc.images import read_rgb

st.title("Webcam")
st.markdown(
    "Take a snapshot: the model draws one box around the face and says **mask** or **no-mask** "
    "with its confidence. It was trained on crops with one face filling much of the picture, so "
    "come close to the camera. With no face in view it says **No face found** (models trained "
    "before face presence existed always answer), and with several faces it judges one."
)
choice = model_chooser("webcam_model")
if choice is None:
    st.stop()
predictor, runtime = webcam_predictor(choice)  # ONNX Runtime for the bundled model when ready
st.caption(f"{describe_model(choice)} · answers with {runtime}")


def _newest(which: str) -> None:
    st.session_state["webcam_newest"] = which


camera, result = st.columns(2)
with camera:
    shot = st.camera_input("Snapshot", key="webcam_camera", on_change=_newest, args=("snapshot",))
    upload = st.file_uploader(
        "…or upload a photo",
        type=IMAGE_TYPES,
        key="webcam_upload",
        on_change=_newest,
        args=("uploaded photo",),
    )
# The picture answered is the one given last; the caption under the answer names it.
pictures = {"snapshot": shot, "uploaded photo": upload}
newest = st.session_state.get("webcam_newest")
if pictures.get(newest) is None:
    newest = next((name for name, picture in pictures.items() if picture is not None), None)
source = pictures.get(newest)

with result:
    if source is None:
        st.info("Take a snapshot or upload a photo.")
        st.stop()
    try:
        image = read_rgb(source.getvalue())
        prediction = predictor.predict(image)
    except USER_ERRORS as error:
        st.error(f"Cannot use this picture: {error}")
        st.stop()
    if said_no_face(prediction, choice.predictor.presence_threshold):
        st.image(image, caption=f"the {newest}: no face found, no box, no verdict")
        st.stop()
    box = drawing.predicted_box(prediction.box, prediction.class_name, prediction.confidence)
    verdict = "😷 mask" if prediction.class_name == "mask" else f"🙂 {prediction.class_name}"
    st.markdown(f"## {verdict} · {prediction.confidence:.0%}")  # the answer first: above the fold
    looked = saliency_choice("webcam_saliency")
    picture, caption = image, f"the {newest}, prediction in red"
    if looked != "off":
        try:
            picture, _ = looked_at(choice.predictor, image, looked)
            caption = (
                f"the {newest}, prediction in red · what it looked at {looked_at_words[looked]}"
            )
        except ValueError as error:  # an ensemble checkpoint
            st.info(f"No saliency map: {error}")
    st.image(drawing.draw_boxes(picture, [box]), caption=caption)
    probability_bars(prediction.probabilities)
    framing_notes(prediction)
    fix_button(image, prediction, "webcam")
