"""Settings as dataclasses, one per concern, serialisable into run folders and checkpoints."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields
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


@dataclass
class DataConfig:
    """Which dataset folder, how images are sized, split and augmented."""

    root: str = str(DEFAULT_DATA)
    image_size: int = 224
    val_fraction: float = 0.25
    split_seed: int = 42
    augment: str = "notebook"


@dataclass
class ModelConfig:
    """Architecture choice; everything needed to rebuild the network from a checkpoint."""

    name: str = "mobilenet_v2"
    pretrained: bool = True
    num_classes: int = 2
    dropout: float = 0.2
    freeze_backbone: bool = False
    frozen_blocks: int = 0
    box_format: str = "cxcywh"
    box_head: str = "spatial"

    def __post_init__(self) -> None:
        if self.box_format not in BOX_FORMATS:
            raise ValueError(f"box_format must be one of {BOX_FORMATS}, got {self.box_format!r}")
        if self.box_head not in BOX_HEADS:
            raise ValueError(f"box_head must be one of {BOX_HEADS}, got {self.box_head!r}")


@dataclass
class TrainConfig:
    """Optimisation: the loss mix (alpha), class balance, learning rates per group, schedule."""

    alpha: float = 0.7
    box_loss: str = "l1_giou"
    class_weighting: str = "balanced"
    lr_backbone: float = 3e-4
    lr_class_head: float = 1e-3
    lr_box_head: float = 1e-3
    weight_decay: float = 1e-4
    batch_size: int = 32
    ema_decay: float = 0.0
    epochs: int = 30
    patience: int = 10
    steps: int = 0
    eval_every: int = 50
    seed: int = 0
    device: str = "auto"
    amp: bool = True
    num_threads: int = 0
    cache_stem: bool = False
    cached_variants: int = 6

    def __post_init__(self) -> None:
        if not 0.0 <= self.alpha <= 1.0:
            raise ValueError(f"alpha must be within [0, 1], got {self.alpha}")
        if self.box_loss not in BOX_LOSSES:
            raise ValueError(f"box_loss must be one of {BOX_LOSSES}, got {self.box_loss!r}")
        if self.class_weighting not in CLASS_WEIGHTINGS:
            raise ValueError(
                f"class_weighting must be one of {CLASS_WEIGHTINGS}, got {self.class_weighting!r}"
            )
        if not 0.0 <= self.ema_decay < 1.0:
            raise ValueError(f"ema_decay must be within [0, 1), got {self.ema_decay}")
        if self.batch_size < 1 or self.epochs < 0 or self.patience < 1 or self.steps < 0:
            raise ValueError("batch_size and patience must be >= 1, epochs and steps >= 0")


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
        for name, kind in (
            ("data", DataConfig),
            ("model", ModelConfig),
            ("train", TrainConfig),
        ):
            known = {f.name for f in fields(kind)}
            parts[name] = kind(**{k: v for k, v in raw.get(name, {}).items() if k in known})
        return cls(**parts)


def _classroom() -> RunConfig:
    """Seconds per run on a laptop CPU: 128 px, MobileNetV2 with its first 14 blocks frozen and
    their outputs cached (6 augmented variants per image); the last blocks and heads train."""
    return RunConfig(
        DataConfig(image_size=128, augment="notebook"),
        ModelConfig("mobilenet_v2", pretrained=True, frozen_blocks=14),
        TrainConfig(
            epochs=12,
            patience=12,
            lr_backbone=1e-3,
            lr_class_head=1e-3,
            lr_box_head=1e-3,
            cache_stem=True,
            cached_variants=6,
        ),
    )


def _notebook() -> RunConfig:
    """The course notebook's own CNN and settings, kept for comparison."""
    return RunConfig(
        DataConfig(image_size=224, augment="notebook"),
        ModelConfig("own_cnn", pretrained=False, box_head="gap", dropout=0.3),
        TrainConfig(
            box_loss="mse",
            alpha=0.5,
            epochs=30,
            lr_backbone=1e-3,
            lr_class_head=1e-3,
            lr_box_head=1e-3,
        ),
    )


# The alpha sweep a class sees by default: both ends (alpha 0 trains only the class head's loss,
# alpha 1 only the box head's) and three steps between.
SWEEP_ALPHAS = (0.0, 0.25, 0.5, 0.75, 1.0)

PRESETS = {"classroom": _classroom, "notebook": _notebook, "full": RunConfig}


def preset(name: str) -> RunConfig:
    """A fresh RunConfig for a named preset: classroom (fast), notebook, full (fine-tune all)."""
    if name not in PRESETS:
        raise ValueError(f"unknown preset {name!r}; choose one of {sorted(PRESETS)}")
    return PRESETS[name]()
