"""Webcam: a snapshot (or an uploaded photo) -> face box, class and confidence on the picture."""

import streamlit as st

from app_pages._common import IMAGE_TYPES, USER_ERRORS, describe_model, model_chooser
from app_pages._saliency import CHOICES as looked_at_words
from app_pages._saliency import looked_at, saliency_choice
from maskloc import drawing
from maskloc.images import read_rgb

st.title("Webcam")
st.markdown(
    "Take a snapshot: the model draws one box around the face and says **mask** or **no-mask** "
    "with its confidence. It was trained on crops with one face filling much of the picture, so "
    "come close to the camera. It always answers: it has no 'no face' class, and with several "
    "faces it picks one."
)
choice = model_chooser("webcam_model")
if choice is None:
    st.stop()
st.caption(describe_model(choice))

camera, result = st.columns(2)
with camera:
    shot = st.camera_input("Snapshot", key="webcam_camera")
    upload = st.file_uploader("…or upload a photo", type=IMAGE_TYPES, key="webcam_upload")
source = shot if shot is not None else upload

with result:
    if source is None:
        st.info("Take a snapshot or upload a photo.")
        st.stop()
    try:
        image = read_rgb(source.getvalue())
        prediction = choice.predictor.predict(image)
    except USER_ERRORS as error:
        st.error(f"Cannot use this picture: {error}")
        st.stop()
    box = drawing.predicted_box(prediction.box, prediction.class_name, prediction.confidence)
    verdict = "😷 mask" if prediction.class_name == "mask" else f"🙂 {prediction.class_name}"
    st.markdown(f"## {verdict} · {prediction.confidence:.0%}")  # the answer first: above the fold
    looked = saliency_choice("webcam_saliency")
    picture, caption = image, "prediction in red"
    if looked != "off":
        try:
            picture, _ = looked_at(choice.predictor, image, looked)
            caption = f"prediction in red · what it looked at {looked_at_words[looked]}"
        except ValueError as error:  # an ensemble checkpoint
            st.info(f"No saliency map: {error}")
    st.image(drawing.draw_boxes(picture, [box]), caption=caption)
    for name, probability in sorted(prediction.probabilities.items(), key=lambda kv: -kv[1]):
        st.progress(probability, text=f"{name}: {probability:.1%}")
