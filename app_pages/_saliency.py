"""The "what the model looked at" switch shared by Predict and Webcam: Grad-CAM heat maps for
the class decision or for the box, laid over the picture (maskloc/saliency.py computes them)."""

from __future__ import annotations

import numpy as np
import streamlit as st
from PIL import Image

from maskloc.predict import Predictor
from maskloc.saliency import Saliency, explain, heat_overlay

CHOICES = {
    "off": "off",
    "class": "for the class (mask / no-mask)",
    "box": "for the box",
}
HELP = (
    "Grad-CAM on the last feature map: red where the features pushed the decision most, dark "
    "where they did not matter. A wrong answer often looked at the wrong place."
)


def saliency_choice(key: str) -> str:
    """'off', 'class' or 'box', from a horizontal radio under `key`."""
    return st.radio(
        "What the model looked at",
        list(CHOICES),
        format_func=CHOICES.get,
        horizontal=True,
        key=key,
        help=HELP,
    )


def looked_at(predictor: Predictor, image: np.ndarray, which: str) -> tuple[Image.Image, Saliency]:
    """The picture with the chosen heat map over it, and the maps with their prediction."""
    saliency = explain(predictor, image)
    heat = saliency.class_map if which == "class" else saliency.box_map
    return heat_overlay(image, heat), saliency
