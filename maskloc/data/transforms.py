"""Albumentations pipelines whose boxes move with the image, and a catalogue that describes
playground transforms as data (name, parameters, limits, defaults) so a UI can build widgets.

Boxes use albumentations' own "albumentations" format: normalised xyxy, the library's convention.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import albumentations as A
import cv2
import numpy as np

BBOX_PARAMS = A.BboxParams(format="albumentations", label_fields=["labels"], clip=True)


@dataclass(frozen=True)
class Param:
    """One widget's worth of a transform parameter. `pair` parameters are (low, high) ranges."""

    name: str
    low: float
    high: float
    default: float | tuple[float, float]
    step: float
    help: str = ""

    @property
    def pair(self) -> bool:
        return isinstance(self.default, tuple)

    @property
    def integer(self) -> bool:
        return isinstance(self.step, int)


@dataclass(frozen=True)
class TransformSpec:
    """A playground transform: how to build it from widget values, and a note for the class."""

    name: str
    build: Callable[..., A.BasicTransform]
    params: tuple[Param, ...]
    default_p: float
    note: str

    def create(self, p: float | None = None, **values: Any) -> A.BasicTransform:
        settings = {param.name: param.default for param in self.params} | values
        return self.build(p=self.default_p if p is None else p, **settings)


def _odd_pair(low: float, high: float) -> tuple[int, int]:
    """MotionBlur wants odd kernel sizes >= 3."""
    low, high = int(low) | 1, int(high) | 1
    return max(3, low), max(3, high)


CATALOGUE: dict[str, TransformSpec] = {
    spec.name: spec
    for spec in (
        TransformSpec(
            "HorizontalFlip",
            lambda p: A.HorizontalFlip(p=p),
            (),
            0.5,
            "Mirrors the face; the box mirrors exactly.",
        ),
        TransformSpec(
            "RandomBrightnessContrast",
            lambda p, brightness, contrast: A.RandomBrightnessContrast(
                brightness_limit=brightness, contrast_limit=contrast, p=p
            ),
            (
                Param("brightness", 0.0, 0.8, 0.2, 0.05, "largest brightness change"),
                Param("contrast", 0.0, 0.8, 0.2, 0.05, "largest contrast change"),
            ),
            0.5,
            "Lighting changes; the box does not move.",
        ),
        TransformSpec(
            "MotionBlur",
            lambda p, kernel: A.MotionBlur(blur_limit=_odd_pair(*kernel), p=p),
            (Param("kernel", 3, 31, (3, 7), 2, "blur kernel size range (odd)"),),
            0.2,
            "Camera shake; the box does not move.",
        ),
        TransformSpec(
            "HueSaturationValue",
            lambda p, hue, saturation, value: A.HueSaturationValue(
                hue_shift_limit=hue,
                sat_shift_limit=saturation,
                val_shift_limit=value,
                p=p,
            ),
            (
                Param("hue", 0, 60, 10, 1, "largest hue shift"),
                Param("saturation", 0, 80, 20, 1, "largest saturation shift"),
                Param("value", 0, 80, 10, 1, "largest value shift"),
            ),
            0.3,
            "Colour casts; mask colours vary a lot.",
        ),
        TransformSpec(
            "Affine",
            lambda p, scale, translate: A.Affine(
                scale=scale,
                translate_percent=(-translate, translate),
                keep_ratio=True,
                border_mode=cv2.BORDER_REPLICATE,
                p=p,
            ),
            (
                Param("scale", 0.3, 1.5, (0.9, 1.1), 0.05, "zoom range (< 1 zooms out)"),
                Param(
                    "translate",
                    0.0,
                    0.4,
                    0.1,
                    0.01,
                    "largest shift, fraction of the side",
                ),
            ),
            0.5,
            "Zoom and shift; the box moves and stays tight.",
        ),
        TransformSpec(
            "Rotate",
            lambda p, limit: A.Rotate(limit=(-limit, limit), border_mode=cv2.BORDER_REPLICATE, p=p),
            (Param("limit", 0, 90, 30, 1, "largest angle in degrees"),),
            0.5,
            "Dropped from training: an axis-aligned box around a rotated box is loose.",
        ),
        TransformSpec(
            "Perspective",
            lambda p, scale: A.Perspective(scale=scale, p=p),
            (Param("scale", 0.0, 0.2, (0.02, 0.08), 0.01, "corner jitter range"),),
            0.3,
            "Viewpoint change; boxes loosen a little.",
        ),
        TransformSpec(
            "GaussNoise",
            lambda p, std: A.GaussNoise(std_range=std, p=p),
            (
                Param(
                    "std",
                    0.0,
                    0.5,
                    (0.05, 0.15),
                    0.01,
                    "noise std range, fraction of 255",
                ),
            ),
            0.3,
            "Sensor noise of cheap webcams.",
        ),
        TransformSpec(
            "ToGray",
            lambda p: A.ToGray(p=p),
            (),
            0.1,
            "Grayscale cameras; the model must not rely on colour alone.",
        ),
        TransformSpec(
            "CoarseDropout",
            lambda p, holes, size: A.CoarseDropout(
                num_holes_range=(1, int(holes)),
                hole_height_range=size,
                hole_width_range=size,
                p=p,
            ),
            (
                Param("holes", 1, 12, 4, 1, "most holes"),
                Param("size", 0.02, 0.3, (0.05, 0.15), 0.01, "hole side range, fraction"),
            ),
            0.3,
            "Occlusion by hands, hair or other people.",
        ),
    )
}

NOTEBOOK_AUGMENTATIONS = (
    "HorizontalFlip",
    "RandomBrightnessContrast",
    "MotionBlur",
    "HueSaturationValue",
    "Affine",
)


# The training augmentation recipes named (and described) in config.catalogue.AUGMENTATIONS.
RECIPES: dict[str, Callable[[], list[A.BasicTransform]]] = {
    "none": list,
    "flip": lambda: [CATALOGUE["HorizontalFlip"].create()],
    "notebook": lambda: [CATALOGUE[name].create() for name in NOTEBOOK_AUGMENTATIONS],
    "zoom_out": lambda: [  # faces shrunk and moved like in webcam frames, some grayscale
        *(CATALOGUE[name].create() for name in NOTEBOOK_AUGMENTATIONS[:-1]),
        CATALOGUE["Affine"].create(p=0.7, scale=(0.45, 1.1), translate=0.2),
        CATALOGUE["ToGray"].create(p=0.05),
    ],
}


def compose(
    transforms: list[A.BasicTransform], seed: int | None = None, **kwargs: Any
) -> A.Compose:
    """A pipeline that carries one normalised xyxy box through every transform.

    Albumentations 2.0.8 hands every transform of a seeded Compose the *same* seed, so on a
    fresh pipeline all "apply with probability p" draws are one and the same number (the first
    image gets all transforms or none). Each transform gets its own seed derived from `seed`.
    """
    with warnings.catch_warnings():  # pixel-only pipelines leave the box alone, as they should
        warnings.filterwarnings("ignore", "Got processor for bboxes", UserWarning)
        pipeline = A.Compose(transforms, bbox_params=BBOX_PARAMS, seed=seed, **kwargs)
    if seed is not None:
        seeds = np.random.SeedSequence(seed).generate_state(len(pipeline.transforms))
        for transform, own_seed in zip(pipeline.transforms, seeds, strict=True):
            transform.set_random_seed(int(own_seed))
    return pipeline


def train_transform(augmentation: str, seed: int | None = None) -> A.Compose | None:
    """The training pipeline of a named augmentation recipe, or None for no augmentation."""
    if augmentation not in RECIPES:
        raise ValueError(
            f"unknown augmentation {augmentation!r}; choose one of {', '.join(RECIPES)}"
        )
    transforms = RECIPES[augmentation]()
    return compose(transforms, seed=seed) if transforms else None
