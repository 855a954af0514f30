"""A checkpoint scored on a dataset: metrics and per-image answers on a split (with face
recall and no-face rejection where the model has a presence output), and the competition's
submission file for test.csv."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..data.folder import DatasetFolder, load_dataset
from ..data.layout import SUBMISSION_COLUMNS, VAL
from ..data.split import no_face_table, split_table
from ..data.table import DataError, Table
from ..training.evaluator import Predictions
from ..utils.atomic import atomic_write_bytes
from ..utils.messages import N_
from ..utils.metrics import presence_metrics
from ..utils.progress import Progress
from .predictor import Predictor


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
        raise DataError(
            N_("{folder}: the {split} split has no usable labelled rows"),
            folder=data_root,
            split=split,
        )
    unknown = set(table.frame["class"]) - set(predictor.class_names)
    if unknown:
        raise DataError(N_("classes {names} are not known to this model"), names=sorted(unknown))
    predictions = predictor.run_table(table, flip_tta, progress)
    metrics = predictions.metrics(predictor.presence_threshold)
    metrics.update(_no_face_scores(predictor, folder, split, table, predictions, flip_tta))
    metrics["split"] = split
    return metrics, predictor.describe(table, predictions)


def _no_face_scores(
    predictor: Predictor,
    folder: DatasetFolder,
    split: str,
    faces: Table,
    face_predictions: Predictions,
    flip_tta: bool,
) -> dict[str, Any]:
    """Face recall and no-face rejection at the checkpoint's threshold, on the split's faces and
    its no-face windows; nothing for a model without a presence threshold."""
    if predictor.presence_threshold is None or face_predictions.presence is None:
        return {}
    windows = no_face_table(folder, split, faces)
    scores = face_predictions.presence.numpy()
    if not windows.frame.empty:
        window_scores = predictor.run_table(windows, flip_tta).presence
        scores = np.concatenate([scores, window_scores.numpy()])
    is_face = np.arange(len(scores)) < len(faces.frame)
    return presence_metrics(scores, is_face, predictor.presence_threshold)


def predict_submission(
    predictor: Predictor, data_root: str | Path, progress: Progress | None = None
) -> pd.DataFrame:
    """Predictions for every row of the folder's test.csv in the competition's format."""
    folder = load_dataset(data_root)
    if folder.test is None:
        raise DataError(N_("{folder}: no test.csv to predict"), folder=data_root)
    if folder.test.frame.empty:
        raise DataError(N_("{folder}/test.csv: no usable rows"), folder=data_root)
    return submission_frame(predictor.predict_table(folder.test, progress=progress))


def submission_frame(predictions: pd.DataFrame) -> pd.DataFrame:
    return predictions.loc[:, list(SUBMISSION_COLUMNS)].reset_index(drop=True)


def write_submission(submission: pd.DataFrame, path: str | Path) -> None:
    atomic_write_bytes(Path(path), submission_frame(submission).to_csv(index=False).encode())
