"""A checkpoint loaded to answer: one picture (class, confidence, box, face or not) or every row of
a table; scoring a split and the submission file build on it in inference/evaluate.py."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from torch.utils.data import DataLoader

from ..config.sections import RunConfig
from ..data.boxes import pixel_boxes
from ..data.dataset import LocalizationDataset
from ..data.image_cache import IMAGE_CACHE, resize_square
from ..data.images import ImageSource, read_rgb
from ..data.layout import BOX_COLUMNS
from ..data.table import Table
from ..models.checkpoint import load_model
from ..training.device import resolve_device, to_float_images
from ..training.evaluator import Predictions, run_model
from ..utils.progress import Progress

# "Come closer" below this: the face box's longer side as a share of the picture's shorter side.
# Training crops put it at 0.42-0.75 (zoom-out augmentation down to about 0.2).
COME_CLOSER_SHARE = 0.25


@dataclass(frozen=True)
class Prediction:
    """One image's answer; `box` is xyxy in pixels of the upright original image.

    `face` is False when the model's face-present score is under the threshold chosen on
    validation: then class, confidence and box describe nothing and must not be shown as a
    verdict. Models without a presence output always say `face=True` with `face_score=None`.
    """

    class_name: str
    confidence: float
    box: tuple[int, int, int, int]
    probabilities: dict[str, float]
    face: bool = True
    face_score: float | None = None
    image_size: tuple[int, int] = (0, 0)  # width, height of the upright image

    @property
    def face_share(self) -> float:
        """The box's longer side over the picture's shorter side (1.0 when the size is unknown)."""
        width, height = self.image_size
        if min(width, height) <= 0:
            return 1.0
        x0, y0, x1, y1 = self.box
        return max(x1 - x0, y1 - y0) / min(width, height)

    @property
    def too_small(self) -> bool:
        """A found face that is small in the frame: ask the person to come closer."""
        return self.face and self.face_share < COME_CLOSER_SHARE


class Predictor:
    """A loaded model with its class names, input size and normalisation, ready on a device."""

    runtime = "PyTorch"

    def __init__(self, checkpoint: str | Path | bytes, device: str = "auto") -> None:
        model, self.meta = load_model(checkpoint)
        self.device = resolve_device(device)
        self.model = model.to(self.device, memory_format=torch.channels_last)
        self.class_names: list[str] = list(self.meta["class_names"])
        self.image_size: int = int(self.meta["image_size"])
        threshold = self.meta.get("presence_threshold")
        # Chosen on validation at training time; None (old checkpoints): always answer.
        self.presence_threshold: float | None = None if threshold is None else float(threshold)

    @property
    def run_config(self) -> RunConfig:
        return RunConfig.from_dict(self.meta.get("run_config", {}))

    @torch.no_grad()
    def outputs(self, square: np.ndarray) -> dict[str, np.ndarray]:
        """The network's outputs (a batch of one) for one square uint8 RGB picture."""
        batch = torch.from_numpy(square).permute(2, 0, 1)[None]
        out = self.model(to_float_images(batch, self.device))
        return {name: value.float().cpu().numpy() for name, value in out.items()}

    def predict(self, image: ImageSource) -> Prediction:
        """Class, confidence and pixel box for one image (path, bytes, PIL image or RGB array)."""
        rgb = read_rgb(image, draft=self.image_size)
        height, width = rgb.shape[:2]
        out = self.outputs(resize_square(rgb, self.image_size))
        logits = out["logits"][0]
        probabilities = np.exp(logits - logits.max())
        probabilities /= probabilities.sum()
        box = pixel_boxes(out["boxes"], np.array([width]), np.array([height]))
        best = int(probabilities.argmax())
        face, face_score = True, None
        if "presence" in out and self.presence_threshold is not None:
            logit = float(out["presence"].reshape(-1)[0])
            face_score = float(np.exp(-np.logaddexp(0.0, -logit)))  # sigmoid, overflow-free
            face = face_score >= self.presence_threshold
        return Prediction(
            self.class_names[best],
            float(probabilities[best]),
            tuple(int(v) for v in box[0]),
            dict(zip(self.class_names, map(float, probabilities), strict=True)),
            face,
            face_score,
            (width, height),
        )

    def run_table(
        self, table: Table, flip_tta: bool = False, progress: Progress | None = None
    ) -> Predictions:
        """Predictions for every row of a validated table (targets are zeros when unlabelled)."""
        frame = table.frame
        images = IMAGE_CACHE.load(frame["path"].tolist(), self.image_size, progress)
        boxes = (
            table.normalized_boxes() if table.has_boxes else np.zeros((len(frame), 4), np.float32)
        )
        labels = (
            frame["class"].map({n: i for i, n in enumerate(self.class_names)}).to_numpy(np.int64)
            if table.has_boxes
            else np.zeros(len(frame), np.int64)
        )
        loader = DataLoader(LocalizationDataset(images, boxes, labels), batch_size=64)
        return run_model(self.model, loader, self.device, flip_tta=flip_tta)

    def predict_table(
        self, table: Table, flip_tta: bool = False, progress: Progress | None = None
    ) -> pd.DataFrame:
        """One row per image: filename, predicted class, confidence, pixel box."""
        predictions = self.run_table(table, flip_tta, progress)
        return self.describe(table, predictions)

    def describe(self, table: Table, predictions: Predictions) -> pd.DataFrame:
        """Predictions as a frame; with ground truth also the true class and box (`true_xmin`...),
        IoU and whether the class is right."""
        frame = table.frame
        pixels = pixel_boxes(
            predictions.boxes.numpy(), frame["width"].to_numpy(), frame["height"].to_numpy()
        )
        predicted = predictions.predicted.numpy()
        out = pd.DataFrame(
            {
                "filename": frame["filename"].to_numpy(),
                "class": [self.class_names[i] for i in predicted],
                "confidence": predictions.probabilities.max(dim=1).values.numpy(),
                **{name: pixels[:, i] for i, name in enumerate(BOX_COLUMNS)},
            }
        )
        if predictions.presence is not None and self.presence_threshold is not None:
            out["face_score"] = predictions.presence.numpy()
        if table.has_boxes:
            out["true_class"] = frame["class"].to_numpy()
            for column in BOX_COLUMNS:  # the row's own answer: never looked up by file name
                out[f"true_{column}"] = frame[column].to_numpy()
            out["iou"] = predictions.ious().numpy()
            out["correct"] = out["class"] == out["true_class"]
        return out
