"""From a checkpoint to answers: one image, a dataset split with scores, or a submission file."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch
from torch.utils.data import DataLoader

from .boxes import clamp_pixel_boxes
from .checkpoint import atomic_write_bytes, load_model
from .config import DataConfig, RunConfig
from .data import (
    IMAGE_CACHE,
    DataError,
    DatasetFolder,
    LocalizationDataset,
    Table,
    load_dataset,
    resize_square,
    split_indices,
)
from .engine import Predictions, resolve_device, run_model, to_float_images
from .images import ImageSource, read_rgb
from .layout import ALL, BOX_COLUMNS, EVAL_SPLITS, SUBMISSION_COLUMNS, TEST, VAL
from .progress import Progress


@dataclass(frozen=True)
class Prediction:
    """One image's answer; `box` is xyxy in pixels of the upright original image."""

    class_name: str
    confidence: float
    box: tuple[int, int, int, int]
    probabilities: dict[str, float]


def pixel_boxes(boxes: np.ndarray, widths: np.ndarray, heights: np.ndarray) -> np.ndarray:
    """Normalised xyxy -> integer pixel xyxy inside each image, never empty."""
    scale = np.stack([widths, heights, widths, heights], axis=1)
    pixels = np.rint(np.clip(boxes, 0.0, 1.0) * scale).astype(np.int64)
    return clamp_pixel_boxes(pixels, widths, heights)


class Predictor:
    """A loaded model with its class names, input size and normalisation, ready on a device."""

    runtime = "PyTorch"

    def __init__(self, checkpoint: str | Path | bytes, device: str = "auto") -> None:
        model, self.meta = load_model(checkpoint)
        self.device = resolve_device(device)
        self.model = model.to(self.device, memory_format=torch.channels_last)
        self.class_names: list[str] = list(self.meta["class_names"])
        self.image_size: int = int(self.meta["image_size"])

    @property
    def run_config(self) -> RunConfig:
        return RunConfig.from_dict(self.meta.get("run_config", {}))

    @torch.no_grad()
    def predict(self, image: ImageSource) -> Prediction:
        """Class, confidence and pixel box for one image (path, bytes, PIL image or RGB array)."""
        rgb = read_rgb(image, draft=self.image_size)
        height, width = rgb.shape[:2]
        batch = torch.from_numpy(resize_square(rgb, self.image_size)).permute(2, 0, 1)[None]
        out = self.model(to_float_images(batch, self.device))
        probabilities = out["logits"].float().softmax(dim=1)[0].cpu().numpy()
        box = pixel_boxes(out["boxes"].float().cpu().numpy(), np.array([width]), np.array([height]))
        best = int(probabilities.argmax())
        return Prediction(
            self.class_names[best],
            float(probabilities[best]),
            tuple(int(v) for v in box[0]),
            dict(zip(self.class_names, map(float, probabilities), strict=True)),
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
        if table.has_boxes:
            out["true_class"] = frame["class"].to_numpy()
            for column in BOX_COLUMNS:  # the row's own answer: never looked up by file name
                out[f"true_{column}"] = frame[column].to_numpy()
            out["iou"] = predictions.ious().numpy()
            out["correct"] = out["class"] == out["true_class"]
        return out


def split_table(folder: DatasetFolder, split: str, data_config: DataConfig) -> Table:
    """The labelled rows of a split: the run's own validation split, the test answers, or all."""
    if split == ALL:
        return folder.train
    if split == TEST:
        if folder.test is None or folder.test_labels is None:
            raise DataError(f"{folder.root}: --split test needs test.csv and test_labels.csv")
        wanted = set(folder.test.frame["filename"])
        labels = folder.test_labels
        return Table(labels.frame[labels.frame["filename"].isin(wanted)].reset_index(drop=True))
    if split == VAL:
        frame = folder.train.frame
        groups = frame["source"].to_numpy() if "source" in frame.columns else None
        _, val_idx = split_indices(
            folder.labels(folder.train), groups, data_config.val_fraction, data_config.split_seed
        )
        return Table(frame.iloc[val_idx].reset_index(drop=True))
    raise ValueError(f"unknown split {split!r}; choose one of {EVAL_SPLITS}")


def evaluate(
    predictor: Predictor,
    data_root: str | Path,
    split: str = VAL,
    flip_tta: bool = False,
    progress: Progress | None = None,
) -> tuple[dict[str, Any], pd.DataFrame]:
    """Metrics and per-image results of a checkpoint on one split of a dataset folder.

    `val` reproduces the split the model was trained with (its saved val_fraction and seed).
    """
    folder = load_dataset(data_root)
    table = split_table(folder, split, predictor.run_config.data)
    if table.frame.empty:
        raise DataError(f"{data_root}: the {split} split has no usable labelled rows")
    unknown = set(table.frame["class"]) - set(predictor.class_names)
    if unknown:
        raise DataError(f"classes {sorted(unknown)} are not known to this model")
    predictions = predictor.run_table(table, flip_tta, progress)
    metrics = predictions.metrics()
    metrics["split"] = split
    return metrics, predictor.describe(table, predictions)


def predict_submission(
    predictor: Predictor, data_root: str | Path, progress: Progress | None = None
) -> pd.DataFrame:
    """Predictions for every row of the folder's test.csv in the competition's format."""
    folder = load_dataset(data_root)
    if folder.test is None:
        raise DataError(f"{data_root}: no test.csv to predict")
    if folder.test.frame.empty:
        raise DataError(f"{data_root}/test.csv: no usable rows")
    return submission_frame(predictor.predict_table(folder.test, progress=progress))


def submission_frame(predictions: pd.DataFrame) -> pd.DataFrame:
    return predictions.loc[:, list(SUBMISSION_COLUMNS)].reset_index(drop=True)


def write_submission(submission: pd.DataFrame, path: str | Path) -> None:
    atomic_write_bytes(Path(path), submission_frame(submission).to_csv(index=False).encode())
