"""What the model looked at: Grad-CAM maps for the class and the box, on the bundled model and
bundled pictures (both ship with the repository)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from conftest import ROOT

from maskloc.config.sections import ModelConfig
from maskloc.data.folder import load_dataset
from maskloc.inference.predictor import Predictor
from maskloc.inference.saliency import explain, grad_cam, heat_colors, heat_overlay, inside_outside
from maskloc.models.localization import LocalizationModel

BUNDLED = ROOT / "checkpoints" / "maskloc-mobilenet_v2.pt"
DATA = ROOT / "data" / "mask-faces"


@pytest.fixture(scope="module")
def predictor() -> Predictor:
    if not BUNDLED.is_file():
        pytest.skip("the bundled model is not in this checkout")
    return Predictor(BUNDLED, device="cpu")


def test_maps_are_high_on_the_face_for_correct_predictions(predictor):
    rows = load_dataset(DATA).test_labels.frame
    rows = rows.iloc[np.linspace(0, len(rows) - 1, 8).round().astype(int)]  # both classes
    assert set(rows["class"]) == {"mask", "no-mask"}
    on_face = {"class": [], "box": []}
    for _, row in rows.iterrows():
        saliency = explain(predictor, row["path"])
        if saliency.prediction.class_name != row["class"]:
            continue
        box = (row["xmin"], row["ymin"], row["xmax"], row["ymax"])
        for name, heat in (("class", saliency.class_map), ("box", saliency.box_map)):
            assert heat.shape == (row["height"], row["width"])
            assert heat.min() >= 0.0 and heat.max() == pytest.approx(1.0)
            inside, outside = inside_outside(heat, box)
            on_face[name].append(inside > 2.0 * outside)
    # Mostly on the face; a blurred crowd picture may send the model to a corner (measured:
    # 1 of the 8), which is what the map is there to show.
    for name, hits in on_face.items():
        assert len(hits) >= 6 and sum(hits) >= 0.75 * len(hits), (name, hits)


def test_the_explained_prediction_is_the_predictors_own(predictor):
    path = load_dataset(DATA).test_labels.frame["path"].iloc[0]
    saliency, plain = explain(predictor, path), predictor.predict(path)
    assert saliency.prediction.class_name == plain.class_name
    assert saliency.prediction.box == plain.box
    assert saliency.prediction.confidence == pytest.approx(plain.confidence, abs=1e-5)


def test_a_fully_frozen_backbone_still_gets_maps():
    model = LocalizationModel(ModelConfig("own_cnn", pretrained=False, freeze_backbone=True))
    images = torch.rand(2, 3, 64, 64)
    class_map, box_map, outputs = grad_cam(model, images)
    assert class_map.shape == box_map.shape == (2, 4, 4)  # own_cnn: stride 16
    assert outputs["boxes"].shape == (2, 4) and model.training  # its mode is given back
    assert box_map.abs().sum() > 0


def test_overlay_colours_the_hot_part_only():
    picture = np.full((20, 20, 3), 128, dtype=np.uint8)
    heat = np.zeros((20, 20), dtype=np.float32)
    heat[:10] = 1.0
    out = np.asarray(heat_overlay(picture, heat, opacity=0.6))
    assert (out[15] == 128).all()  # cold: the picture unchanged
    assert tuple(out[5, 5]) != (128, 128, 128)
    assert tuple(heat_colors(np.array([1.0]))[0]) == (230, 30, 30)  # hottest: red
    assert inside_outside(heat, (0, 0, 20, 10)) == (1.0, 0.0)
