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

from .messages import N_, Text, Translate, explained, identity

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

# Train page columns, in order (their headings); settings in none sit under "More settings".
PAGE_GROUPS = (N_("Model"), N_("Loss and data"), N_("Learning rates"), N_("Schedule"))


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

    def limits_phrase(self) -> Phrase | None:
        """The allowed values in words: "one of a, b", "at least 1", "within [0, 1]"."""
        if self.choices is not None:
            return Phrase(N_("one of {values}"), values=", ".join(map(str, self.choice_help())))
        low, high = _plain_number(self.low), _plain_number(self.high)
        if self.below is not None:
            return Phrase(N_("within [{low}, {below})"), low=low, below=_plain_number(self.below))
        if self.low is not None and self.high is not None:
            return Phrase(N_("within [{low}, {high}]"), low=low, high=high)
        if self.low is not None:
            return Phrase(N_("at least {low}"), low=low)
        if self.high is not None:
            return Phrase(N_("at most {high}"), high=high)
        return None

    def limits_text(self) -> str:
        phrase = self.limits_phrase()
        return "" if phrase is None else phrase.explain()

    def problem_phrase(self, value: Any) -> Phrase | None:
        """Why `value` is not allowed here, naming the setting as `{setting}`."""
        got = repr(value)
        if self.kind is bool:
            if isinstance(value, bool):
                return None
            return Phrase(N_("{setting} must be true or false, got {value}"), value=got)
        if self.kind in (int, float):
            if isinstance(value, bool) or not isinstance(value, int | float):
                return Phrase(N_("{setting} must be a number, got {value}"), value=got)
            if self.kind is int and value != int(value):
                return Phrase(N_("{setting} must be a whole number, got {value}"), value=got)
            if not math.isfinite(value):
                return Phrase(N_("{setting} must be a finite number, got {value}"), value=got)
        elif not isinstance(value, str):
            return Phrase(N_("{setting} must be text, got {value}"), value=got)
        allowed = self.choice_help()
        if allowed and value not in allowed:
            return Phrase(
                N_("{setting} must be {limits}; got {value}"),
                limits=self.limits_phrase(),
                value=got,
            )
        too_low = self.low is not None and value < self.low
        too_high = (self.high is not None and value > self.high) or (
            self.below is not None and value >= self.below
        )
        if too_low or too_high:
            return Phrase(
                N_("{setting} must be {limits}, got {value}"),
                limits=self.limits_phrase(),
                value=_plain_number(value),
            )
        return None

    def problem(self, value: Any) -> str | None:
        """Why `value` is not allowed here, in English words that fit after the setting's name."""
        phrase = self.problem_phrase(value)
        return None if phrase is None else phrase.explain().removeprefix("{setting} ")


def _plain_number(value: Any) -> str:
    return f"{value:g}" if isinstance(value, float) else str(value)


class Phrase(Text):
    """A `Text` about settings: its template may name a setting (`{section.field}`, or
    `{section.field:on}` / `:off` for "switch it on/off") and a field may be a Setting, worded by
    the caller (a CLI flag or a page control) down through phrases inside it; without a wording
    the setting's placeholder stays as it is."""

    @classmethod
    def english(cls, template: str, fields: dict[str, Any]) -> str:
        return _worded(template, fields, identity, None)

    def explain(
        self, translate: Translate = identity, name: Callable[[Setting, str], str] | None = None
    ) -> str:
        return _worded(self.template, self.fields, translate, name)


def _worded(
    template: str,
    fields: dict[str, Any],
    translate: Translate,
    name: Callable[[Setting, str], str] | None,
) -> str:
    def replace(match: re.Match) -> str:
        key, switch = match.group(1), match.group(2) or ""
        if "." in key:  # {section.field}: a setting named in the template itself
            value: Any = SETTINGS.get(key, match.group(0))
        else:
            value = fields.get(key, match.group(0))
        if isinstance(value, Setting):
            return name(value, switch) if name else match.group(0)
        if isinstance(value, Phrase):
            return value.explain(translate, name)
        return str(explained(value, translate))

    return _FIELD.sub(replace, translate(template))


_FIELD = re.compile(r"\{([a-z_]+(?:\.[a-z_]+)?)(?::(on|off))?\}")


class SettingError(ValueError):
    """A setting (or a combination) that cannot run. The template names settings as
    `{section.field}`, or `{section.field:on}` / `{section.field:off}` for "switch it on/off", and
    other facts as named fields; `for_cli()` words settings as flags, `for_page(translate)` as
    the Train page's controls in the page's language, `str()` as both in English."""

    def __init__(self, template: str, **fields: Any) -> None:
        self.phrase = Phrase(template, **fields)
        self.template, self.fields = template, fields
        super().__init__(self.phrase.explain(identity, _both_words))

    def for_cli(self) -> str:
        return self.phrase.explain(identity, _cli_words)

    def for_page(self, translate: Translate = identity) -> str:
        def page_words(setting: Setting, switch: str) -> str:
            return _page_words(setting, switch, translate)

        return self.phrase.explain(translate, page_words)

    def explain(self, translate: Translate = identity) -> str:
        """As ExplainedError does: the app's `error_text` shows the page's wording."""
        return self.for_page(translate)


def _cli_words(setting: Setting, switch: str) -> str:
    flag = setting.flag or setting.path
    if switch == "off":
        return "use --no-" + flag.removeprefix("--")
    return f"use {flag}" if switch == "on" else flag


def _page_words(setting: Setting, switch: str, translate: Translate = identity) -> str:
    if not setting.label:
        flag = setting.flag or setting.path
        if switch == "off":
            flag = "--no-" + flag.removeprefix("--")
        return translate(N_("use {flag}")).format(flag=flag) if switch else flag
    template = {"on": N_("tick '{label}'"), "off": N_("untick '{label}'")}.get(switch, "'{label}'")
    return translate(template).format(label=translate(setting.label))


def _both_words(setting: Setting, switch: str) -> str:
    cli = _cli_words(setting, switch)
    return f"{cli} ({_page_words(setting, switch)} on the Train page)" if setting.label else cli


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
            problem = setting.problem_phrase(value)
            if problem is not None:
                raise SettingError(problem.template, setting=setting, **problem.fields)
            setattr(self, f.name, value)
        self.check()

    def check(self) -> None:
        """Combinations of this section's fields; override to add some."""


# --- the settings ----------------------------------------------------------------------------


@dataclass
class DataConfig(_Checked):
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
        choices=_augment_choices,
        group="Loss and data",
    )


@dataclass
class ModelConfig(_Checked):
    """Architecture choice; everything needed to rebuild the network from a checkpoint."""

    name: str = option(
        "mobilenet_v2",
        N_("backbone"),
        flag="--model",
        label=N_("Model"),
        choices=_model_choices,
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
        choices={
            "spatial": N_("reads the feature map where the face is"),
            "fused": N_("the same on a grid twice as fine (mobilenet_v2, efficientnet_lite0)"),
            "gap": N_("the notebook's globally pooled features"),
        },
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
        from .models import model_config_problem  # the backbone registry knows its blocks

        problem = model_config_problem(self)
        if problem is not None:
            raise SettingError(problem.template, **problem.fields)


@dataclass
class TrainConfig(_Checked):
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
        choices={
            "none": N_("plain cross-entropy"),
            "balanced": N_("class loss weighted by inverse class frequency"),
            "sampler": N_("oversample the rare class"),
        },
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
        N_(
            "seconds per run on a laptop CPU: 128 px, frozen MobileNetV2 stem with cached "
            "features, the last blocks and the heads train (alpha still matters: both heads "
            "share them); no face-presence output (the lesson is class vs box)"
        ),
        {
            "data.image_size": 128,
            "model.presence": False,  # a third of the work: the no-face windows
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
        N_("fine-tune the whole MobileNetV2 at 224 px: best quality, minutes per epoch on a CPU"),
        {},
    ),
    "notebook": Preset(
        N_("the course notebook's own CNN, MSE box loss and pooled heads, for comparison"),
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
        N_(
            "10-50 own pictures on top of a trained model (start from a checkpoint): the whole "
            "trunk frozen and run once per picture and augmented variant, only the heads train "
            "(seconds)"
        ),
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
            raise SettingError(
                N_("unknown setting {path}; known: {known}"),
                path=repr(path),
                known=", ".join(SETTINGS),
            )
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
        raise SettingError(
            N_("unknown preset {name}; choose one of {known}"),
            name=repr(name),
            known=", ".join(PRESETS),
        )
    return override(RunConfig(), PRESETS[name].changes)
