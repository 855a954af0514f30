"""What the model looked at: Grad-CAM on the backbone's last feature map, once for the class
decision and once for the box, drawn as a heat map over the picture.

Grad-CAM (Selvaraju et al., 2017) weights each channel of a feature map by the mean gradient of a
score with respect to it and keeps the positive sum. Here it is a short hook-based function rather
than a library: Captum's LayerGradCam does the same (and pulls matplotlib in); the PyPI
`grad-cam` package needs the non-headless OpenCV, which must not be installed next to the
headless one. For the box there is no single score, so the map is the mean of the absolute
Grad-CAM maps of its four coordinates: where the features moved the box most.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image
from torch import nn

from ..data.boxes import pixel_boxes
from ..data.image_cache import resize_square
from ..data.images import ImageSource, read_rgb
from ..models.localization import LocalizationModel
from ..training.device import to_float_images
from ..utils.messages import N_, ExplainedError
from ..viz.drawing import to_pil
from .predictor import Prediction, Predictor


class SaliencyUnavailable(ExplainedError, ValueError):
    """A model that has no single feature map to show (an ensemble); the message says why."""


@dataclass(frozen=True)
class Saliency:
    """Heat maps in [0, 1] at the picture's own size, with the prediction they explain."""

    class_map: np.ndarray
    box_map: np.ndarray
    prediction: Prediction


def feature_layer(model: LocalizationModel) -> nn.Module:
    """The module whose output is the last feature map both heads read."""
    backbone = model.backbone
    if isinstance(backbone, nn.Sequential) and len(backbone):
        return backbone[-1]
    return backbone


def _cam(activations: torch.Tensor, gradients: torch.Tensor) -> torch.Tensor:
    weights = gradients.mean(dim=(2, 3), keepdim=True)
    return (weights * activations).sum(dim=1)


def grad_cam(
    model: LocalizationModel, images: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor, dict[str, torch.Tensor]]:
    """(class maps, box maps, outputs) for float images in [0, 1] (N x 3 x H x W); maps are
    N x h x w on the feature grid, not yet normalised. The class map explains the predicted
    class's logit."""
    layer = feature_layer(model)
    captured: list[torch.Tensor] = []

    def keep(_module: nn.Module, _inputs: object, output: torch.Tensor) -> None:
        if not output.requires_grad:  # a fully frozen backbone: still differentiate from here
            output.requires_grad_(True)
        captured.append(output)

    was_training = model.training
    model.eval()
    handle = layer.register_forward_hook(keep)
    try:
        with torch.enable_grad():
            outputs = model(images)
            activations = captured[-1]
            logits = outputs["logits"]
            chosen = logits.gather(1, logits.argmax(dim=1, keepdim=True)).sum()
            (class_grad,) = torch.autograd.grad(chosen, activations, retain_graph=True)
            class_map = _cam(activations, class_grad).relu()
            box_maps = []
            for k in range(4):
                last = k == 3
                (box_grad,) = torch.autograd.grad(
                    outputs["boxes"][:, k].sum(), activations, retain_graph=not last
                )
                box_maps.append(_cam(activations, box_grad).abs())
            box_map = torch.stack(box_maps).mean(dim=0)
    finally:
        handle.remove()
        model.train(was_training)
    detached = {key: value.detach() for key, value in outputs.items()}
    return class_map.detach(), box_map.detach(), detached


def _to_picture(cam: torch.Tensor, height: int, width: int) -> np.ndarray:
    """One feature-grid map upsampled to the picture and scaled to [0, 1]."""
    upsampled = F.interpolate(cam[None, None].float(), size=(height, width), mode="bilinear")[0, 0]
    low, high = float(upsampled.min()), float(upsampled.max())
    if high - low < 1e-12:
        return np.zeros((height, width), dtype=np.float32)
    return ((upsampled - low) / (high - low)).numpy().astype(np.float32)


def explain(predictor: Predictor, image: ImageSource) -> Saliency:
    """The prediction for one picture and the two maps that explain it.

    Raises SaliencyUnavailable for an ensemble checkpoint: its members look at different maps.
    """
    if not isinstance(predictor.model, LocalizationModel):
        raise SaliencyUnavailable(
            N_("saliency maps need a single model; this checkpoint is an ensemble")
        )
    rgb = read_rgb(image, draft=predictor.image_size)
    height, width = rgb.shape[:2]
    batch = torch.from_numpy(resize_square(rgb, predictor.image_size)).permute(2, 0, 1)[None]
    class_map, box_map, outputs = grad_cam(
        predictor.model, to_float_images(batch, predictor.device)
    )
    probabilities = outputs["logits"].float().softmax(dim=1)[0].cpu().numpy()
    box = pixel_boxes(outputs["boxes"].float().cpu().numpy(), np.array([width]), np.array([height]))
    best = int(probabilities.argmax())
    prediction = Prediction(
        predictor.class_names[best],
        float(probabilities[best]),
        tuple(int(v) for v in box[0]),
        dict(zip(predictor.class_names, map(float, probabilities), strict=True)),
    )
    return Saliency(
        _to_picture(class_map[0].cpu(), height, width),
        _to_picture(box_map[0].cpu(), height, width),
        prediction,
    )


# Black-blue-cyan-yellow-red: reads on a projector and for most colour-blind viewers.
_STOPS = np.array(
    [[0, 0, 0], [20, 40, 160], [0, 170, 200], [250, 220, 40], [230, 30, 30]], dtype=np.float32
)


def heat_colors(values: np.ndarray) -> np.ndarray:
    """[0, 1] values -> uint8 RGB along the colour stops."""
    position = np.clip(values, 0.0, 1.0) * (len(_STOPS) - 1)
    low = np.floor(position).astype(int).clip(0, len(_STOPS) - 2)
    frac = (position - low)[..., None]
    return (_STOPS[low] * (1 - frac) + _STOPS[low + 1] * frac).astype(np.uint8)


def heat_overlay(
    image: Image.Image | np.ndarray, heat: np.ndarray, opacity: float = 0.5
) -> Image.Image:
    """The picture with the map laid over it: strong where the map is high, faint elsewhere."""
    picture = np.asarray(to_pil(image), dtype=np.float32)
    if heat.shape != picture.shape[:2]:
        heat = np.asarray(
            Image.fromarray(heat.astype(np.float32)).resize(
                (picture.shape[1], picture.shape[0]), Image.Resampling.BILINEAR
            )
        )
    weight = (opacity * np.clip(heat, 0.0, 1.0) ** 0.7)[..., None]
    mixed = picture * (1 - weight) + heat_colors(heat).astype(np.float32) * weight
    return Image.fromarray(mixed.clip(0, 255).astype(np.uint8))


def inside_outside(heat: np.ndarray, box: tuple[float, float, float, float]) -> tuple[float, float]:
    """Mean of the map inside a pixel xyxy box and outside it."""
    x0, y0, x1, y1 = (round(float(v)) for v in box)
    mask = np.zeros(heat.shape, dtype=bool)
    mask[max(0, y0) : max(0, y1), max(0, x0) : max(0, x1)] = True
    inside = float(heat[mask].mean()) if mask.any() else 0.0
    outside = float(heat[~mask].mean()) if (~mask).any() else 0.0
    return inside, outside
