"""Settings as dataclasses, one per concern, serialisable into run folders and checkpoints.

Every setting is declared once, as a dataclass field with its help, choices and limits
(`option(...)`). The command line's `train` flags, the Train page's controls, the README's option
table and the validation below are all generated from these declarations, so adding a setting is
one field here (and a preset is one entry of `PRESETS`).
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import MISSING, asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

PROJECT_ROOT = Path(__file__).resolve().parents[1]
DEFAULT_DATA = PROJECT_ROOT / "data" / "mask-faces"
DEFAULT_CHECKPOINT = PROJECT_ROOT / "checkpoints" / "maskloc-mobilenet_v2.pt"
DEFAULT_RUNS = PROJECT_ROOT / "runs"

BOX_LOSSES = ("mse", "l1", "giou", "diou", "ciou", "l1_giou")
CLASS_WEIGHTINGS = ("none", "balanced", "sampler")
BOX_FORMATS = ("cxcywh", "xyxy")
BOX_HEADS = ("spatial", "fused", "gap")
DEVICES = ("auto", "cpu", "cuda")

LEARNING_RATES = (1e-5, 3e-5, 1e-4, 3e-4, 1e-3, 2e-3, 3e-3, 1e-2)  # 2e-3: the finetune preset
IMAGE_SIZES = (64, 96, 128, 160, 192, 224, 256, 320)
BATCH_SIZES = (4, 8, 16, 32, 64)

# Train page columns, in order; settings in none of them sit under "More settings".
PAGE_GROUPS = ("Model", "Loss and data", "Learning rates", "Schedule")


# --- declaring a setting ---------------------------------------------------------------------


def _model_choices() -> dict[str, str]:
    from .models import BACKBONES  # models imports this module: look it up when asked

    return {name: spec.description for name, spec in BACKBONES.items()}


def _augment_choices() -> dict[str, str]:
    from .transforms import AUGMENTATIONS

    return {name: recipe.description for name, recipe in AUGMENTATIONS.items()}


Choices = tuple[Any, ...] | dict[str, str] | Callable[[], dict[str, str]]


def option(
    default: Any,
    help: str,
    *,
    label: str = "",
    flag: str | None = None,
    choices: Choices | None = None,
    low: float | None = None,
    high: float | None = None,
    below: float | None = None,
    options: tuple[Any, ...] | None = None,
    step: float | None = None,
    group: str | None = None,
) -> Any:
    """A dataclass field that describes itself: `label` is its Train page control (none: not on
    the page), `flag` its CLI flag (default --field-name; "" for none), `low`/`high` inclusive
    limits, `below` an exclusive upper limit, `options` the values a page slider offers, `group`
    the page column (None: under "More settings")."""
    about = {
        "help": help,
        "label": label,
        "flag": flag,
        "choices": choices,
        "low": low,
        "high": high,
        "below": below,
        "options": options,
        "step": step,
        "group": group,
    }
    return field(default=default, metadata={"setting": about})


_KINDS = {"int": int, "float": float, "str": str, "bool": bool}


@dataclass(frozen=True)
class Setting:
    """One setting as every front end sees it, built from its field's `option(...)`."""

    path: str  # "section.field", the key of `override`
    kind: type
    default: Any
    help: str
    label: str
    flag: str
    choices: Choices | None
    low: float | None
    high: float | None
    below: float | None
    options: tuple[Any, ...] | None
    step: float | None
    group: str | None

    @property
    def section(self) -> str:
        return self.path.split(".")[0]

    @property
    def name(self) -> str:
        return self.path.split(".")[1]

    @property
    def key(self) -> str:
        """The Train page widget key, named after the CLI flag: --lr-box-head: train_lr_box_head."""
        return "train_" + (self.flag or "--" + self.name).lstrip("-").replace("-", "_")

    def choice_help(self) -> dict[Any, str]:
        """Allowed value -> what it means ("" where there is nothing to say)."""
        choices = self.choices() if callable(self.choices) else self.choices
        if choices is None:
            return {}
        return dict(choices) if isinstance(choices, dict) else dict.fromkeys(choices, "")

    def limits_text(self) -> str:
        """The allowed values in words: "one of a, b", "at least 1", "within [0, 1]"."""
        if self.choices is not None:
            return "one of " + ", ".join(str(c) for c in self.choice_help())
        low, high = _plain_number(self.low), _plain_number(self.high)
        if self.below is not None:
            return f"within [{low}, {_plain_number(self.below)})"
        if self.low is not None and self.high is not None:
            return f"within [{low}, {high}]"
        if self.low is not None:
            return f"at least {low}"
        if self.high is not None:
            return f"at most {high}"
        return ""

    def problem(self, value: Any) -> str | None:
        """Why `value` is not allowed here, in words that fit after the setting's name."""
        if self.kind is bool:
            return None if isinstance(value, bool) else f"must be true or false, got {value!r}"
        if self.kind in (int, float):
            if isinstance(value, bool) or not isinstance(value, int | float):
                return f"must be a number, got {value!r}"
            if self.kind is int and value != int(value):
                return f"must be a whole number, got {value!r}"
            if not math.isfinite(value):
                return f"must be a finite number, got {value!r}"
        elif not isinstance(value, str):
            return f"must be text, got {value!r}"
        allowed = self.choice_help()
        if allowed and value not in allowed:
            return f"must be {self.limits_text()}; got {value!r}"
        too_low = self.low is not None and value < self.low
        too_high = (self.high is not None and value > self.high) or (
            self.below is not None and value >= self.below
        )
        if too_low or too_high:
            return f"must be {self.limits_text()}, got {_plain_number(value)}"
        return None


def _plain_number(value: Any) -> str:
    return f"{value:g}" if isinstance(value, float) else str(value)


class SettingError(ValueError):
    """A setting (or a combination) that cannot run. The message names settings as
    `{section.field}`, or `{section.field:on}` / `{section.field:off}` for "switch it on/off";
    `for_cli()` words them as flags, `for_page()` as the Train page's controls, `str()` as both."""

    def __init__(self, template: str) -> None:
        self.template = template
        super().__init__(self._words(_both_words))

    def _words(self, name: Callable[[Setting, str], str]) -> str:
        def replace(match: re.Match) -> str:
            setting = SETTINGS.get(match.group(1))
            return name(setting, match.group(2) or "") if setting is not None else match.group(0)

        return re.sub(r"\{([a-z_]+\.[a-z_]+)(?::(on|off))?\}", replace, self.template)

    def for_cli(self) -> str:
        return self._words(_cli_words)

    def for_page(self) -> str:
        return self._words(_page_words)


def _cli_words(setting: Setting, switch: str) -> str:
    flag = setting.flag or setting.path
    if switch == "off":
        return "use --no-" + flag.removeprefix("--")
    return f"use {flag}" if switch == "on" else flag


def _page_words(setting: Setting, switch: str) -> str:
    if not setting.label:
        return _cli_words(setting, switch)
    verb = {"on": "tick ", "off": "untick "}.get(switch, "")
    return f"{verb}{_quoted(setting.label)}"


def _both_words(setting: Setting, switch: str) -> str:
    cli = _cli_words(setting, switch)
    return f"{cli} ({_page_words(setting, switch)} on the Train page)" if setting.label else cli


def _quoted(label: str) -> str:
    return f"'{label}'"


class _Checked:
    """Dataclass base: every field declared with `option(...)` is checked on construction, ints
    given as floats that are whole (JSON, widgets) become ints, ints given for floats floats."""

    def __post_init__(self) -> None:
        section = _SECTION_OF[type(self).__name__]
        for f in fields(self):  # type: ignore[arg-type]
            setting = SETTINGS.get(f"{section}.{f.name}")
            if setting is None:
                continue
            value = getattr(self, f.name)
            if setting.kind is float and isinstance(value, int) and not isinstance(value, bool):
                value = float(value)
            if setting.kind is int and isinstance(value, float) and value.is_integer():
                value = int(value)
            problem = setting.problem(value)
            if problem is not None:
                raise SettingError(f"{{{setting.path}}} {problem}")
            setattr(self, f.name, value)
        self.check()

    def check(self) -> None:
        """Combinations of this section's fields; override to add some."""


# --- the settings ----------------------------------------------------------------------------


@dataclass
class DataConfig(_Checked):
    """Which dataset folder, how images are sized, split and augmented."""

    root: str = option(
        str(DEFAULT_DATA), "dataset folder (competition layout)", flag="--data", label=""
    )
    image_size: int = option(
        224,
        "images are resized to this square side (pixels)",
        label="Image size (px)",
        low=16,
        high=1024,
        options=IMAGE_SIZES,
        group="Model",
    )
    val_fraction: float = option(
        0.25,
        "share of train.csv held out for validation",
        label="Validation share",
        low=0.05,
        high=0.9,
        step=0.05,
    )
    split_seed: int = option(42, "seed of the train/validation split", label="Split seed", low=0)
    augment: str = option(
        "notebook",
        "training augmentation recipe",
        label="Augmentation",
        choices=_augment_choices,
        group="Loss and data",
    )


@dataclass
class ModelConfig(_Checked):
    """Architecture choice; everything needed to rebuild the network from a checkpoint."""

    name: str = option(
        "mobilenet_v2",
        "backbone",
        flag="--model",
        label="Model",
        choices=_model_choices,
        group="Model",
    )
    pretrained: bool = option(
        True,
        "start from ImageNet weights (default: yes where the model has them; own_cnn has none)",
        label="ImageNet-pretrained backbone",
        group="Model",
    )
    num_classes: int = 2  # not a setting: the data decides (written into config.json)
    dropout: float = option(0.2, "dropout in the heads", label="Dropout", low=0.0, below=1.0)
    freeze_backbone: bool = option(False, "train the heads only", label="Freeze the whole backbone")
    frozen_blocks: int = option(
        0,
        "the first N backbone blocks keep their ImageNet weights",
        label="Frozen backbone blocks",
        low=0,
        group="Model",
    )
    box_format: str = option(
        "cxcywh", "what the box head predicts", label="Box format", choices=BOX_FORMATS
    )
    box_head: str = option(
        "spatial",
        "how the box head reads the features",
        label="Box head",
        choices={
            "spatial": "reads the feature map where the face is",
            "fused": "the same on a grid twice as fine (mobilenet_v2, efficientnet_lite0)",
            "gap": "the notebook's globally pooled features",
        },
        group="Model",
    )
    # Checkpoints from before it existed load with presence=False and always answer.
    presence: bool = option(
        True,
        "a face-present output (like a detector's objectness), trained on the dataset's "
        "no_face.csv windows; without it the model always answers",
        label="Face-presence output",
    )

    def check(self) -> None:
        from .models import model_config_problem  # the backbone registry knows its blocks

        problem = model_config_problem(self)
        if problem is not None:
            raise SettingError(problem)


@dataclass
class TrainConfig(_Checked):
    """Optimisation: the loss mix (alpha), class balance, learning rates per group, schedule."""

    alpha: float = option(
        0.7,
        "weight of the box loss: loss = (1 - alpha) * class loss + alpha * box loss",
        label="alpha (weight of the box loss)",
        low=0.0,
        high=1.0,
        step=0.05,
        group="Loss and data",
    )
    presence_weight: float = option(
        0.5,
        "weight of the face-presence term, added to the loss above; class and box terms count "
        "only images with a face",
        label="Presence weight",
        low=0.0,
    )
    box_loss: str = option("l1_giou", "box loss", label="Box loss", choices=BOX_LOSSES)
    class_weighting: str = option(
        "balanced",
        "how the rarer class is balanced",
        label="Class balance",
        choices={
            "none": "plain cross-entropy",
            "balanced": "class loss weighted by inverse class frequency",
            "sampler": "oversample the rare class",
        },
        group="Loss and data",
    )
    lr_backbone: float = option(
        3e-4,
        "learning rate of the backbone",
        label="LR backbone",
        low=0.0,
        high=1.0,
        options=LEARNING_RATES,
        group="Learning rates",
    )
    lr_class_head: float = option(
        1e-3,
        "learning rate of the class head",
        label="LR class head",
        low=0.0,
        high=1.0,
        options=LEARNING_RATES,
        group="Learning rates",
    )
    lr_box_head: float = option(
        1e-3,
        "learning rate of the box head",
        label="LR box head",
        low=0.0,
        high=1.0,
        options=LEARNING_RATES,
        group="Learning rates",
    )
    weight_decay: float = option(1e-4, "AdamW weight decay", label="Weight decay", low=0.0)
    batch_size: int = option(
        32,
        "images per training step",
        label="Batch size",
        low=1,
        high=4096,
        options=BATCH_SIZES,
        group="Schedule",
    )
    ema_decay: float = option(
        0.0,
        "keep a running average of the weights (0: off, ~0.98)",
        label="Weight EMA decay",
        low=0.0,
        below=1.0,
    )
    epochs: int = option(
        30, "passes over the training split", label="Epochs", low=1, group="Schedule"
    )
    patience: int = option(
        10,
        "evaluations without improvement before stopping early",
        label="Early-stopping patience",
        low=1,
        group="Schedule",
    )
    steps: int = option(
        0, "step mode: train this many steps (0: epoch mode)", label="Steps (0: epochs)", low=0
    )
    eval_every: int = option(
        50, "step mode: evaluate every N steps", label="Evaluate every N steps", low=1
    )
    seed: int = option(
        0, "seed of weights, order and augmentation", label="Seed", low=0, group="Schedule"
    )
    device: str = option("auto", "where to train", label="Device", choices=DEVICES)
    amp: bool = option(True, "mixed precision on a GPU", label="Mixed precision (GPU)")
    num_threads: int = option(
        0, "torch CPU threads of this process (0: torch's default)", flag="--threads", low=0
    )
    cache_stem: bool = option(
        False,
        "run the frozen blocks once per image and cached variant, train the rest (fast)",
        label="Cache the frozen blocks' features (fast)",
        group="Model",
    )
    cached_variants: int = option(
        6, "augmented variants cached per image", label="Cached variants", low=1, high=64
    )
    init_checkpoint: str = option(
        "",
        "start from this checkpoint's weights (same model settings; a presence head it lacks "
        "starts fresh)",
    )
    init_from: str = option(
        "",
        "start from this checkpoint's weights, architecture, image size, normalisation and "
        "classes (default preset then: finetune)",
    )

    def check(self) -> None:
        if self.cache_stem and self.class_weighting == "sampler":
            raise SettingError(
                "{train.cache_stem} does not work with {train.class_weighting} 'sampler': "
                "pick 'balanced' or turn caching off"
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
        for name, kind in _SECTIONS.items():
            known = {f.name for f in fields(kind)}
            parts[name] = kind(**{k: v for k, v in raw.get(name, {}).items() if k in known})
        return cls(**parts)


_SECTIONS: dict[str, type] = {"data": DataConfig, "model": ModelConfig, "train": TrainConfig}
_SECTION_OF = {kind.__name__: name for name, kind in _SECTIONS.items()}


def _settings() -> Iterator[Setting]:
    for section, kind in _SECTIONS.items():
        for f in fields(kind):
            about = f.metadata.get("setting")
            if about is None:
                continue
            flag = about["flag"]
            yield Setting(
                path=f"{section}.{f.name}",
                kind=_KINDS[str(f.type)],
                default=f.default if f.default is not MISSING else None,
                help=about["help"],
                label=about["label"],
                flag="--" + f.name.replace("_", "-") if flag is None else flag,
                **{k: about[k] for k in ("choices", "low", "high", "below", "options", "step")},
                group=about["group"],
            )


SETTINGS: dict[str, Setting] = {s.path: s for s in _settings()}
"""Every setting by "section.field", in declaration order (data, model, train)."""


# --- presets: named overrides ----------------------------------------------------------------


@dataclass(frozen=True)
class Preset:
    """A named starting point: a sentence for the user and the settings it changes."""

    description: str
    changes: Mapping[str, Any]


PRESETS: dict[str, Preset] = {
    "classroom": Preset(
        "seconds per run on a laptop CPU: 128 px, frozen MobileNetV2 stem with cached features, "
        "the last blocks and the heads train (alpha still matters: both heads share them)",
        {
            "data.image_size": 128,
            "model.name": "mobilenet_v2",
            "model.frozen_blocks": 14,
            "train.epochs": 12,
            "train.patience": 12,
            "train.lr_backbone": 1e-3,
            "train.cache_stem": True,
            "train.cached_variants": 6,
        },
    ),
    "full": Preset(
        "fine-tune the whole MobileNetV2 at 224 px: best quality, minutes per epoch on a CPU", {}
    ),
    "notebook": Preset(
        "the course notebook's own CNN, MSE box loss and pooled heads, for comparison",
        {
            "model.name": "own_cnn",
            "model.box_head": "gap",
            "model.dropout": 0.3,
            "train.box_loss": "mse",
            "train.alpha": 0.5,
            "train.lr_backbone": 1e-3,
        },
    ),
    # Measured on 20 re-labelled pictures (bench/own_pictures.py): held-out IoU 0.50 -> 0.64.
    "finetune": Preset(
        "10-50 own pictures on top of a trained model (start from a checkpoint): the whole trunk "
        "frozen and run once per picture and augmented variant, only the heads train (seconds)",
        {
            "model.freeze_backbone": True,
            "train.epochs": 25,
            "train.patience": 25,
            "train.batch_size": 4,
            "train.lr_box_head": 2e-3,
            "train.cache_stem": True,
            "train.cached_variants": 8,
        },
    ),
}


def default_pretrained(model_name: str) -> bool:
    """Whether a model starts from ImageNet weights unless told otherwise (own_cnn has none)."""
    from .models import BACKBONES

    spec = BACKBONES.get(model_name)
    return spec is not None and spec.imagenet


def override(base: RunConfig, changes: Mapping[str, Any]) -> RunConfig:
    """A new, validated RunConfig: `base` with {"section.field": value} changes applied.

    Choosing another model without saying whether it is pretrained takes that model's default
    (own_cnn: no ImageNet weights; the others: ImageNet)."""
    raw = base.to_dict()
    for path, value in changes.items():
        section, _, name = path.partition(".")
        if path not in SETTINGS:
            raise SettingError(f"unknown setting {path!r}; known: {', '.join(SETTINGS)}")
        raw[section][name] = value
    if "model.name" in changes and "model.pretrained" not in changes:
        raw["model"]["pretrained"] = default_pretrained(raw["model"]["name"])
    return RunConfig.from_dict(raw)


# The alpha sweep a class sees by default: both ends (alpha 0 trains only the class head's loss,
# alpha 1 only the box head's) and three steps between.
SWEEP_ALPHAS = (0.0, 0.25, 0.5, 0.75, 1.0)


def preset(name: str) -> RunConfig:
    """A fresh RunConfig for a named preset (see PRESETS)."""
    if name not in PRESETS:
        raise SettingError(f"unknown preset {name!r}; choose one of {', '.join(PRESETS)}")
    return override(RunConfig(), PRESETS[name].changes)
