"""A fixed strip of validation pictures and what the model answers for them after each
evaluation: the boxes a class watches walk onto the faces while a run trains.

The pictures are chosen once per run (both classes mixed, evenly spread over the validation split)
and stored with the run as `strip.png`; each evaluation appends one frame of predicted boxes and
class probabilities to `strip.json`. Both files belong to the run folder, so a sweep's runs can be
shown side by side later without opening any dataset file by a stored name. The predictions come
from the evaluation pass the Trainer makes anyway: the strip costs no extra forward pass.
"""

from __future__ import annotations

import io
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from ..data.layout import VAL
from ..data.prepared import PreparedData
from ..utils.atomic import atomic_write_bytes, atomic_write_json
from ..viz.drawing import LabeledBox, annotated_thumbnail, predicted_box, truth_box
from .run_folder import STRIP_JSON, STRIP_PNG

STRIP_SIZE = 6


def strip_positions(labels: np.ndarray, count: int = STRIP_SIZE) -> list[int]:
    """Positions in the validation split: classes alternate (as far as each has pictures), each
    class's pictures evenly spread, so the strip is the same for every run on the same split."""
    labels = np.asarray(labels)
    by_class = [np.flatnonzero(labels == c).tolist() for c in np.unique(labels)]
    share = [0] * len(by_class)
    for i in range(min(count, len(labels))):  # round-robin quota per class
        open_classes = [c for c, rows in enumerate(by_class) if share[c] < len(rows)]
        share[open_classes[i % len(open_classes)]] += 1
    picked: list[list[int]] = []
    for rows, n in zip(by_class, share, strict=True):
        spots = np.linspace(0, len(rows) - 1, n).round().astype(int) if n else []
        picked.append([rows[s] for s in spots])
    order: list[int] = []
    for turn in range(max(share, default=0)):
        order += [rows[turn] for rows in picked if turn < len(rows)]
    return order


@dataclass
class StripFrame:
    """One evaluation's answers for the strip: normalised xyxy boxes and class probabilities."""

    epoch: int
    step: int
    boxes: list[list[float]]
    probabilities: list[list[float]]
    best: bool = False


@dataclass
class LiveStrip:
    """The strip's pictures (uint8, N x H x W x 3), their truth, and one frame per evaluation."""

    images: np.ndarray
    truth_boxes: np.ndarray
    truth_labels: np.ndarray
    class_names: list[str]
    positions: list[int]
    frames: list[StripFrame] = field(default_factory=list)

    def record(
        self,
        epoch: int,
        step: int,
        boxes: np.ndarray,
        probabilities: np.ndarray,
        best: bool = False,
    ) -> StripFrame:
        """Keep the strip's rows of a whole-split evaluation (in validation order)."""
        frame = StripFrame(
            epoch,
            step,
            np.asarray(boxes, dtype=np.float64)[self.positions].round(4).tolist(),
            np.asarray(probabilities, dtype=np.float64)[self.positions].round(4).tolist(),
            best,
        )
        self.frames.append(frame)
        return frame

    @property
    def best_frame(self) -> StripFrame | None:
        marked = [f for f in self.frames if f.best]
        return marked[-1] if marked else (self.frames[-1] if self.frames else None)

    def save(self, run_dir: str | Path, pictures: bool = True) -> None:
        """strip.json (always) and strip.png (the pictures, once), both written atomically."""
        run_dir = Path(run_dir)
        if len(self.images) and (pictures or not (run_dir / STRIP_PNG).exists()):
            buffer = io.BytesIO()
            Image.fromarray(np.concatenate(list(self.images), axis=1)).save(buffer, "PNG")
            atomic_write_bytes(run_dir / STRIP_PNG, buffer.getvalue())
        atomic_write_json(
            run_dir / STRIP_JSON,
            {
                "class_names": self.class_names,
                "positions": self.positions,
                "truth_boxes": np.asarray(self.truth_boxes, dtype=np.float64).round(4).tolist(),
                "truth_labels": np.asarray(self.truth_labels).tolist(),
                "frames": [vars(f) for f in self.frames],
            },
        )

    @classmethod
    def load(cls, run_dir: str | Path) -> LiveStrip | None:
        """The run's strip, or None when it has none (older runs) or its files are unreadable."""
        run_dir = Path(run_dir)
        try:
            raw: dict[str, Any] = json.loads((run_dir / STRIP_JSON).read_text())
            with Image.open(run_dir / STRIP_PNG) as png:
                wide = np.asarray(png.convert("RGB"))
            count = len(raw["truth_labels"])
            images = np.stack(np.split(wide, count, axis=1)) if count else wide[:0]
            return cls(
                images,
                np.asarray(raw["truth_boxes"], dtype=np.float32).reshape(-1, 4),
                np.asarray(raw["truth_labels"], dtype=np.int64),
                list(raw["class_names"]),
                list(raw["positions"]),
                [StripFrame(**f) for f in raw.get("frames", [])],
            )
        except (OSError, ValueError, KeyError, TypeError):
            return None

    def pictures(self, frame: StripFrame | None = None, side: int = 160) -> list[Image.Image]:
        """Each strip picture with its truth (green) and the frame's prediction (red, labelled
        with class and confidence); without a frame only the truth."""
        out = []
        for i, image in enumerate(self.images):
            height, width = image.shape[:2]
            scale = np.array([width, height, width, height], dtype=np.float64)
            boxes = [truth_box(self.truth_boxes[i] * scale)]
            if frame is not None:
                probs = np.asarray(frame.probabilities[i])
                guess = int(probs.argmax())
                boxes.append(
                    predicted_box(
                        np.asarray(frame.boxes[i]) * scale,
                        self.class_names[guess],
                        float(probs[guess]),
                    )
                )
            picture = upscaled(image, side)
            factor = picture.width / width
            boxes = [LabeledBox(tuple(v * factor for v in b.box), b.color, b.label) for b in boxes]
            out.append(annotated_thumbnail(picture, boxes, max_side=side))
        return out

    def correct(self, frame: StripFrame) -> list[bool]:
        return [
            int(np.argmax(p)) == int(t)
            for p, t in zip(frame.probabilities, self.truth_labels, strict=True)
        ]


def upscaled(image: np.ndarray, side: int) -> Image.Image:
    """Small training-size pictures enlarged for a projector (labels drawn after, so crisp)."""
    picture = Image.fromarray(image)
    if picture.width >= side:
        return picture
    return picture.resize((side, round(picture.height * side / picture.width)), Image.BICUBIC)


def strip_for(data: PreparedData) -> LiveStrip:
    """The run's fixed strip of validation pictures (both classes), with their truth."""
    images, boxes, labels = data.subset(VAL)
    faces = np.flatnonzero((labels >= 0) & (labels < len(data.folder.class_names)))
    positions = faces[strip_positions(labels[faces])].tolist()  # no-face windows stay off it
    return LiveStrip(
        images[positions], boxes[positions], labels[positions], data.folder.class_names, positions
    )
