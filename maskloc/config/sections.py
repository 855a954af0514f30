"""The settings: one dataclass per concern (data, model, training), serialisable into run
folders and checkpoints.

Every setting is declared once, as a dataclass field with its help, choices and limits
(`option(...)`, maskloc/config/settings.py). The command line's `train` flags, the Train page's
controls, the settings table in docs/settings.md and the validation are all generated from these
declarations, so adding a setting is one field here (and a preset is one entry of `PRESETS`).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields
from typing import Any

from ..utils.messages import N_
from .catalogue import (
    AUGMENTATIONS,
    BACKBONES,
    BATCH_SIZES,
    BOX_FORMATS,
    BOX_HEADS,
    BOX_LOSSES,
    CLASS_WEIGHTINGS,
    DEVICES,
    IMAGE_SIZES,
    LEARNING_RATES,
)
from .paths import DEFAULT_DATA
from .settings import SECTIONS, Phrase, Section, SettingError, option, section

# --- the settings ----------------------------------------------------------------------------


@section("data")
@dataclass
class DataConfig(Section):
    """Which dataset folder, how images are sized, split and augmented."""

    root: str = option(
        str(DEFAULT_DATA), N_("dataset folder (competition layout)"), flag="--data", label=""
    )
    image_size: int = option(
        224,
        N_("images are resized to this square side (pixels)"),
        label=N_("Image size (px)"),
        low=16,
        high=1024,
        options=IMAGE_SIZES,
        group="Model",
    )
    val_fraction: float = option(
        0.25,
        N_("share of train.csv held out for validation"),
        label=N_("Validation share"),
        low=0.05,
        high=0.9,
        step=0.05,
    )
    split_seed: int = option(
        42, N_("seed of the train/validation split"), label=N_("Split seed"), low=0
    )
    augment: str = option(
        "notebook",
        N_("training augmentation recipe"),
        label=N_("Augmentation"),
        choices=AUGMENTATIONS,
        group="Loss and data",
    )


@section("model")
@dataclass
class ModelConfig(Section):
    """Architecture choice; everything needed to rebuild the network from a checkpoint."""

    name: str = option(
        "mobilenet_v2",
        N_("backbone"),
        flag="--model",
        label=N_("Model"),
        choices={name: facts.description for name, facts in BACKBONES.items()},
        group="Model",
    )
    pretrained: bool = option(
        True,
        N_("start from ImageNet weights (default: yes where the model has them; own_cnn has none)"),
        label=N_("ImageNet weights"),
        group="Model",
    )
    num_classes: int = 2  # not a setting: the data decides (written into config.json)
    dropout: float = option(
        0.2, N_("dropout in the heads"), label=N_("Dropout"), low=0.0, below=1.0
    )
    freeze_backbone: bool = option(
        False, N_("train the heads only"), label=N_("Freeze whole backbone")
    )
    frozen_blocks: int = option(
        0,
        N_("the first N backbone blocks keep their ImageNet weights"),
        label=N_("Frozen blocks"),
        low=0,
        group="Model",
    )
    box_format: str = option(
        "cxcywh", N_("what the box head predicts"), label=N_("Box format"), choices=BOX_FORMATS
    )
    box_head: str = option(
        "spatial",
        N_("how the box head reads the features"),
        label=N_("Box head"),
        choices=BOX_HEADS,
        group="Model",
    )
    # Checkpoints from before it existed load with presence=False and always answer.
    presence: bool = option(
        True,
        N_(
            "a face-present output (like a detector's objectness), trained on the dataset's "
            "no_face.csv windows; without it the model always answers"
        ),
        label=N_("Face-presence output"),
    )

    def check(self) -> None:
        problem = model_config_problem(self)
        if problem is not None:
            raise SettingError(problem.template, **problem.fields)


@section("train")
@dataclass
class TrainConfig(Section):
    """Optimisation: the loss mix (alpha), class balance, learning rates per group, schedule."""

    alpha: float = option(
        0.7,
        N_("weight of the box loss: loss = (1 - alpha) * class loss + alpha * box loss"),
        label=N_("alpha: box weight"),
        low=0.0,
        high=1.0,
        step=0.05,
        group="Loss and data",
    )
    presence_weight: float = option(
        0.5,
        N_(
            "weight of the face-presence term, added to the loss above; class and box terms count "
            "only images with a face"
        ),
        label=N_("Presence weight"),
        low=0.0,
    )
    box_loss: str = option("l1_giou", N_("box loss"), label=N_("Box loss"), choices=BOX_LOSSES)
    class_weighting: str = option(
        "balanced",
        N_("how the rarer class is balanced"),
        label=N_("Class balance"),
        choices=CLASS_WEIGHTINGS,
        group="Loss and data",
    )
    lr_backbone: float = option(
        3e-4,
        N_("learning rate of the backbone"),
        label=N_("LR backbone"),
        low=0.0,
        high=1.0,
        options=LEARNING_RATES,
        group="Learning rates",
    )
    lr_class_head: float = option(
        1e-3,
        N_("learning rate of the class head"),
        label=N_("LR class head"),
        low=0.0,
        high=1.0,
        options=LEARNING_RATES,
        group="Learning rates",
    )
    lr_box_head: float = option(
        1e-3,
        N_("learning rate of the box head"),
        label=N_("LR box head"),
        low=0.0,
        high=1.0,
        options=LEARNING_RATES,
        group="Learning rates",
    )
    weight_decay: float = option(1e-4, N_("AdamW weight decay"), label=N_("Weight decay"), low=0.0)
    batch_size: int = option(
        32,
        N_("images per training step"),
        label=N_("Batch size"),
        low=1,
        high=4096,
        options=BATCH_SIZES,
        group="Schedule",
    )
    ema_decay: float = option(
        0.0,
        N_("keep a running average of the weights (0: off, ~0.98)"),
        label=N_("Weight EMA"),
        low=0.0,
        below=1.0,
    )
    epochs: int = option(
        30, N_("passes over the training split"), label=N_("Epochs"), low=1, group="Schedule"
    )
    patience: int = option(
        10,
        N_("evaluations without improvement before stopping early"),
        label=N_("Patience"),
        low=1,
        group="Schedule",
    )
    steps: int = option(
        0,
        N_("step mode: train this many steps (0: epoch mode)"),
        label=N_("Steps (0: epochs)"),
        low=0,
    )
    eval_every: int = option(
        50, N_("step mode: evaluate every N steps"), label=N_("Evaluate every N steps"), low=1
    )
    seed: int = option(
        0, N_("seed of weights, order and augmentation"), label=N_("Seed"), low=0, group="Schedule"
    )
    device: str = option("auto", N_("where to train"), label=N_("Device"), choices=DEVICES)
    amp: bool = option(True, N_("mixed precision on a GPU"), label=N_("Mixed precision (GPU)"))
    num_threads: int = option(
        0, N_("torch CPU threads of this process (0: torch's default)"), flag="--threads", low=0
    )
    cache_stem: bool = option(
        False,
        N_("run the frozen blocks once per image and cached variant, train the rest (fast)"),
        label=N_("Cache frozen blocks"),
        group="Model",
    )
    cached_variants: int = option(
        6, N_("augmented variants cached per image"), label=N_("Cached variants"), low=1, high=64
    )
    init_from: str = option(
        "",
        N_(
            "start from this checkpoint's weights, architecture, image size, normalisation and "
            "classes (default preset then: finetune); a face-presence head it lacks starts fresh"
        ),
    )

    def check(self) -> None:
        if self.cache_stem and self.class_weighting == "sampler":
            raise SettingError(
                N_(
                    "{train.cache_stem} does not work with {train.class_weighting} 'sampler': "
                    "pick 'balanced' or turn caching off"
                )
            )


@dataclass
class RunConfig:
    """Everything one training run needs; written as config.json into its run folder."""

    data: DataConfig = field(default_factory=DataConfig)
    model: ModelConfig = field(default_factory=ModelConfig)
    train: TrainConfig = field(default_factory=TrainConfig)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> RunConfig:
        """Rebuild from JSON, ignoring unknown keys so old run folders stay readable."""
        parts = {}
        for name, kind in SECTIONS.items():
            known = {f.name for f in fields(kind)}
            parts[name] = kind(**{k: v for k, v in raw.get(name, {}).items() if k in known})
        return cls(**parts)


def model_config_problem(config: ModelConfig) -> Phrase | None:
    """What in a ModelConfig this backbone cannot do, as a SettingError template, or None."""
    spec = BACKBONES.get(config.name)
    if spec is None:  # the setting's own choices check reports it
        return None
    if config.pretrained and not spec.imagenet:
        return Phrase(
            N_("{model} has no ImageNet weights: {model.pretrained:off}"), model=config.name
        )
    if config.frozen_blocks and config.frozen_blocks >= spec.blocks:
        most = (
            Phrase(N_("at most {count}"), count=spec.blocks - 1)
            if spec.blocks
            else Phrase(N_("none (use {model.freeze_backbone})"))
        )
        return Phrase(
            N_(
                "{model.frozen_blocks} is {value}, but {model} has {blocks} blocks: it can freeze "
                "{most}"
            ),
            value=config.frozen_blocks,
            model=config.name,
            blocks=spec.blocks,
            most=most,
        )
    if config.box_head == "fused" and (
        spec.fine_tap is None or config.freeze_backbone or config.frozen_blocks > spec.fine_tap
    ):
        able = [f"{n} ({b.fine_tap})" for n, b in BACKBONES.items() if b.fine_tap]
        return Phrase(
            N_(
                "{model.box_head} 'fused' needs {model}'s stride-16 map trainable; models that "
                "have one (at most this many frozen blocks): {able}"
            ),
            model=config.name,
            able=", ".join(able),
        )
    return None
