"""What Webcam and Predict say around a verdict: "No face found", "Come closer", one face of many.

One place, so both pages word it the same way and never show a verdict about a face that is not
there.
"""

from __future__ import annotations

import streamlit as st

from app_parts.i18n import N_, number, percent, t
from maskloc.inference.predictor import COME_CLOSER_SHARE, Prediction

SEVERAL_FACES_NOTE = N_(
    "One face per picture: with several faces in view the model judges one of them, the one in "
    "the box."
)


def said_no_face(prediction: Prediction, threshold: float | None) -> bool:
    """Show "No face found" with the score when the model saw no face; True then, and the page
    must show no verdict."""
    if prediction.face:
        return False
    score = prediction.face_score if prediction.face_score is not None else 0.0
    st.markdown("## " + t("No face found · face score {score}").format(score=percent(score)))
    if threshold is not None:
        st.caption(
            t(
                "The face-present score {score} is under this model's threshold {threshold} "
                "(chosen on validation), so it gives no mask verdict. Face the camera, close "
                "enough that your face fills a good part of the picture."
            ).format(score=number(score, 2), threshold=number(threshold, 2))
        )
    return True


def framing_notes(prediction: Prediction) -> None:
    """After a verdict: ask to come closer when the face is small, and say one face is judged."""
    if prediction.too_small:
        st.warning(
            t(
                "Come closer: the face box spans {share} of the picture's shorter side (under "
                "{limit}); the model learned on faces that fill much more of it, so this verdict "
                "is less reliable."
            ).format(share=percent(prediction.face_share), limit=percent(COME_CLOSER_SHARE))
        )
    score = prediction.face_score
    shown = "" if score is None else " " + t("Face score {score}.").format(score=percent(score))
    st.caption(t(SEVERAL_FACES_NOTE) + shown)
