"""The "what the model looked at" switch shared by Predict and Webcam: Grad-CAM heat maps for
the class decision or for the box, laid over the picture (maskloc/inference/saliency.py makes them).
"""

from __future__ import annotations

import numpy as np
import streamlit as st
from PIL import Image

from app_parts.formatting import shown_words
from app_parts.i18n import N_, t
from maskloc.inference.predictor import Predictor
from maskloc.inference.saliency import Saliency, explain, heat_overlay

CHOICES = {  # value (kept in session state) -> words shown
    "off": N_("off"),
    "class": N_("for the class (mask / no-mask)"),
    "box": N_("for the box"),
}
HELP = N_(
    "Grad-CAM on the last feature map: red where the features pushed the decision most, dark "
    "where they did not matter. A wrong answer often looked at the wrong place."
)


def saliency_choice(key: str) -> str:
    """'off', 'class' or 'box', from a horizontal radio under `key`."""
    return st.radio(
        t("What the model looked at"),
        list(CHOICES),
        format_func=shown_words(CHOICES),
        horizontal=True,
        key=key,
        help=t(HELP),
    )


def looked_at(predictor: Predictor, image: np.ndarray, which: str) -> tuple[Image.Image, Saliency]:
    """The picture with the chosen heat map over it, and the maps with their prediction."""
    saliency = explain(predictor, image)
    heat = saliency.class_map if which == "class" else saliency.box_map
    return heat_overlay(image, heat), saliency
