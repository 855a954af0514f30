"""Does an exported ONNX file answer like its checkpoint? Same images through both runtimes."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from ..data.image_cache import resize_square
from ..data.images import ImageSource, read_rgb
from ..training.device import to_float_images
from .onnx_runtime import OnnxPredictor
from .predictor import Predictor


@dataclass(frozen=True)
class Parity:
    images: int
    classes_equal: bool
    max_box_difference: float
    max_probability_difference: float
    max_presence_difference: float | None = None  # None: the model has no presence output

    def summary(self) -> str:
        return (
            f"parity on {self.images} images: classes "
            f"{'equal' if self.classes_equal else 'DIFFER'}, max box difference "
            f"{self.max_box_difference:.2e}, max probability difference "
            f"{self.max_probability_difference:.2e}"
            + (
                ""
                if self.max_presence_difference is None
                else f", max presence difference {self.max_presence_difference:.2e}"
            )
        )


def batch_answers(
    predictor: Predictor, images: Sequence[ImageSource]
) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """(probabilities, normalised boxes, presence logits or None) of one batch."""
    size = predictor.image_size
    batch = torch.from_numpy(
        np.stack([resize_square(read_rgb(image), size) for image in images])
    ).permute(0, 3, 1, 2)
    with torch.no_grad():
        out = predictor.model(to_float_images(batch, predictor.device))
    presence = out["presence"].float().cpu().numpy() if "presence" in out else None
    return (
        out["logits"].float().softmax(1).cpu().numpy(),
        out["boxes"].float().cpu().numpy(),
        presence,
    )


def parity(
    checkpoint: str | Path, onnx_file: str | Path, images: Sequence[ImageSource] | None = None
) -> Parity:
    """Compare both runtimes on `images` (default: eight noise pictures), as one batch."""
    if images is None:
        rng = np.random.default_rng(0)
        images = [rng.integers(0, 256, (120, 100, 3), dtype=np.uint8) for _ in range(8)]
    torch_probs, torch_boxes, torch_presence = batch_answers(
        Predictor(checkpoint, device="cpu"), images
    )
    onnx_probs, onnx_boxes, onnx_presence = batch_answers(OnnxPredictor(onnx_file), images)
    if (torch_presence is None) != (onnx_presence is None):
        raise ValueError(f"{onnx_file}: presence output differs from the checkpoint's model")
    return Parity(
        images=len(images),
        classes_equal=bool((torch_probs.argmax(1) == onnx_probs.argmax(1)).all()),
        max_box_difference=float(np.abs(torch_boxes - onnx_boxes).max()),
        max_probability_difference=float(np.abs(torch_probs - onnx_probs).max()),
        max_presence_difference=None
        if torch_presence is None
        else float(np.abs(torch_presence - onnx_presence).max()),
    )
