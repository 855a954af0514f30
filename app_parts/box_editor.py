"""The box/class editor that Collect, Webcam and Predict share: the model's proposal drawn on
the picture, a rectangle the user drags to correct it, a class, and "Add" into a user dataset.

streamlit-drawable-canvas works in canvas pixels; the picture is shown at most EDIT_WIDTH wide,
so boxes are scaled on the way in and out. Drawing a new rectangle replaces the proposal (the
last rectangle on the canvas is the box); the toolbar's edit toggle moves or resizes it.
"""

from __future__ import annotations

import hashlib

import numpy as np
import streamlit as st
from PIL import Image

from app_parts.i18n import error_text, t
from app_parts.inputs import USER_ERRORS
from maskloc.config.paths import user_data_root
from maskloc.data.layout import KNOWN_CLASSES
from maskloc.data.user_datasets import UserDataset, create_dataset, list_datasets
from maskloc.inference.predictor import Prediction

EDIT_WIDTH = 480
DATASET_KEY = "maskloc_user_dataset"  # the dataset this session adds to, shared by the pages
DEFAULT_NAME = "my-faces"
STROKE = "#ff3030"

Box = tuple[float, float, float, float]


def picture_id(image: np.ndarray) -> str:
    return hashlib.sha1(image.tobytes()).hexdigest()[:12]


def proposal_box(image: np.ndarray, prediction: Prediction | None) -> Box:
    """The model's box, or a centred half-size box when there is no model."""
    if prediction is not None:
        return tuple(float(v) for v in prediction.box)
    height, width = image.shape[:2]
    return (width * 0.25, height * 0.25, width * 0.75, height * 0.75)


def _canvas_rect(box: Box, scale: float) -> dict:
    xmin, ymin, xmax, ymax = box
    return {
        "type": "rect",
        "left": xmin * scale,
        "top": ymin * scale,
        "width": (xmax - xmin) * scale,
        "height": (ymax - ymin) * scale,
        "originX": "left",
        "originY": "top",
        "scaleX": 1,
        "scaleY": 1,
        "angle": 0,
        "fill": "rgba(255, 48, 48, 0.08)",
        "stroke": STROKE,
        "strokeWidth": 3,
        "strokeUniform": True,
    }


def box_from_drawing(drawing: dict | None, scale: float, width: int, height: int) -> Box | None:
    """The last rectangle of a canvas drawing, in picture pixels, clipped to the picture."""
    objects = (drawing or {}).get("objects", [])
    rects = [o for o in objects if str(o.get("type", "")).lower() == "rect"]  # Fabric 6: "Rect"
    if not rects:
        return None
    rect = rects[-1]
    w = rect.get("width", 0) * rect.get("scaleX", 1)
    h = rect.get("height", 0) * rect.get("scaleY", 1)
    left = rect.get("left", 0) - (w / 2 if rect.get("originX") == "center" else 0)
    top = rect.get("top", 0) - (h / 2 if rect.get("originY") == "center" else 0)
    xmin, ymin = max(0.0, left / scale), max(0.0, top / scale)
    xmax, ymax = min(float(width), (left + w) / scale), min(float(height), (top + h) / scale)
    return (round(xmin, 1), round(ymin, 1), round(xmax, 1), round(ymax, 1))


def edit_box(image: np.ndarray, start: Box, key: str) -> Box | None:
    """Show the picture with `start` drawn; returns the box the user leaves on it."""
    from streamlit_drawable_canvas import st_canvas  # needs a running Streamlit to register

    height, width = image.shape[:2]
    scale = min(1.0, EDIT_WIDTH / width)
    shown = Image.fromarray(image).resize((round(width * scale), round(height * scale)))
    result = st_canvas(
        fill_color="rgba(255, 48, 48, 0.08)",
        stroke_width=3,
        stroke_color=STROKE,
        background_image=shown,
        drawing_mode="rect",
        initial_drawing={"objects": [_canvas_rect(start, scale)]},
        width=shown.width,
        height=shown.height,
        key=f"{key}_canvas_{picture_id(image)}",
    )
    return box_from_drawing(result.json_data, scale, width, height)


def dataset_picker(key: str) -> str:
    """Which user dataset to add to (an existing one or a new name), kept for the session."""
    names = [d.name for d in list_datasets()]
    current = st.session_state.get(DATASET_KEY) or (names[0] if names else DEFAULT_NAME)
    options = list(dict.fromkeys([current, *names]))
    name = st.selectbox(
        t("Add to dataset"),
        options,
        key=f"{key}_dataset",
        accept_new_options=True,
        help=t("A folder under {folder} (type a new name to start one).").format(
            folder=user_data_root()
        ),
    )
    st.session_state[DATASET_KEY] = name
    return name or DEFAULT_NAME


def class_picker(default: str, key: str, extra: list[str] | None = None) -> str:
    classes = list(dict.fromkeys([*KNOWN_CLASSES, *(extra or []), default]))
    return st.radio(t("Class"), classes, index=classes.index(default), key=key, horizontal=True)


def fix_and_add(
    image: np.ndarray, prediction: Prediction | None, key: str, picker: bool = True
) -> str | None:
    """Editor + class + Add: writes the picture and its corrected box into the chosen user
    dataset; returns the new file name once added (None before, or after a refused input)."""
    box = edit_box(image, proposal_box(image, prediction), key)
    default = prediction.class_name if prediction is not None else KNOWN_CLASSES[0]
    class_name = class_picker(default, f"{key}_class")
    name = dataset_picker(key) if picker else st.session_state.get(DATASET_KEY) or DEFAULT_NAME
    if box is not None:
        st.caption(
            t("box: x {xmin}–{xmax}, y {ymin}–{ymax} px").format(
                xmin=f"{box[0]:.0f}",
                xmax=f"{box[2]:.0f}",
                ymin=f"{box[1]:.0f}",
                ymax=f"{box[3]:.0f}",
            )
        )
    if not st.button(t("Add"), key=f"{key}_add", type="primary", disabled=box is None):
        return None
    try:
        dataset = create_dataset(name)
        filename = dataset.add(image, box, class_name)
    except (*USER_ERRORS, ValueError, OSError) as error:
        st.error(t("Not added: {error}").format(error=error_text(error)))
        return None
    st.success(
        t("Added {file} ({cls}) to {dataset}: {n} pictures").format(
            file=filename, cls=class_name, dataset=dataset.name, n=len(dataset.rows())
        )
    )
    return filename


def fix_button(image: np.ndarray, prediction: Prediction, key: str) -> None:
    """'wrong? fix it': opens the shared editor under a prediction."""
    if st.toggle(t("Wrong? Fix it"), key=f"{key}_fix_open"):
        fix_and_add(image, prediction, f"{key}_fix")


def dataset_for(name: str) -> UserDataset:
    return UserDataset(user_data_root() / name)
