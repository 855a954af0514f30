"""Backbone registry + heads -> LocalizationModel(images) -> {"logits", "boxes"[, "presence"]}.

The model takes float images in [0, 1] and normalises them itself, so a checkpoint carries its own
mean/std and a caller cannot feed it the wrong statistics.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

import torch
import torch.nn.functional as F
import torchinfo
from torch import nn
from torchvision import models as tv_models
from torchvision.models._utils import IntermediateLayerGetter
from torchvision.ops import FeaturePyramidNetwork, box_convert

from .config import ModelConfig, Phrase, SettingError
from .efficientnet_lite import STRIDE_16_INDEX, convert_state_dict, efficientnet_lite0_features
from .messages import N_
from .weights import load_pretrained_state


@dataclass(frozen=True)
class BackboneSpec:
    """How to build one family: its trunk, feature width and the shape of its heads."""

    build: Callable[[bool], nn.Module]
    feature_dim: int
    class_hidden: tuple[int, ...]
    box_hidden: tuple[int, ...]
    batchnorm_heads: bool
    description: str
    blocks: int  # Sequential blocks of the trunk: at most blocks - 1 can be frozen (0: none)
    imagenet: bool = True  # ImageNet weights exist for it (on this machine or not)
    fine_tap: int | None = None  # Sequential index whose input is the stride-16 map ("fused")
    fine_dim: int = 0


def _conv_block(c_in: int, c_out: int) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(c_in, c_out, 3, padding=1, bias=False),
        nn.BatchNorm2d(c_out),
        nn.ReLU(inplace=True),
        nn.MaxPool2d(2),
    )


def _own_cnn(pretrained: bool) -> nn.Module:
    if pretrained:
        raise SettingError(
            N_("{model} has no ImageNet weights: {model.pretrained:off}"), model="own_cnn"
        )
    trunk = nn.Sequential(
        *(_conv_block(a, b) for a, b in ((3, 32), (32, 64), (64, 128), (128, 256)))
    )
    for module in trunk.modules():
        if isinstance(module, nn.Conv2d):
            nn.init.kaiming_normal_(module.weight, mode="fan_out", nonlinearity="relu")
    return trunk


def _mobilenet_v2(pretrained: bool) -> nn.Module:
    net = tv_models.mobilenet_v2()
    if pretrained:
        net.load_state_dict(load_pretrained_state("mobilenet_v2"), strict=True)
    return net.features


def _efficientnet_lite0(pretrained: bool) -> nn.Module:
    trunk = efficientnet_lite0_features()
    if pretrained:
        state = convert_state_dict(load_pretrained_state("efficientnet_lite0"))
        trunk.load_state_dict(state, strict=True)
    return trunk


def _resnet50_trunk(pretrained: bool) -> nn.Module:
    net = tv_models.resnet50()
    if pretrained:
        net.load_state_dict(load_pretrained_state("resnet50"), strict=True)
    return net


def _resnet50(pretrained: bool) -> nn.Module:
    net = _resnet50_trunk(pretrained)
    return nn.Sequential(*list(net.children())[:-2])  # drop avgpool and fc: keep the map


class _PooledFPN(nn.Module):
    """ResNet50 layers 2-4 through an FPN; levels pooled to the coarsest grid and concatenated."""

    def __init__(self, pretrained: bool) -> None:
        super().__init__()
        self.body = IntermediateLayerGetter(
            _resnet50_trunk(pretrained), {"layer2": "0", "layer3": "1", "layer4": "2"}
        )
        self.fpn = FeaturePyramidNetwork([512, 1024, 2048], 256)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        levels: OrderedDict[str, torch.Tensor] = self.fpn(self.body(images))
        grid = levels["2"].shape[-2:]
        return torch.cat([F.adaptive_avg_pool2d(level, grid) for level in levels.values()], dim=1)


BACKBONES: dict[str, BackboneSpec] = {
    "own_cnn": BackboneSpec(
        _own_cnn,
        256,
        (128,),
        (256, 128),
        False,
        N_("the notebook's 4-block CNN, He init, no pretraining"),
        blocks=4,
        imagenet=False,
    ),
    "mobilenet_v2": BackboneSpec(
        _mobilenet_v2,
        1280,
        (256,),
        (256, 128),
        False,
        N_("MobileNetV2, ImageNet weights offline"),
        blocks=19,
        fine_tap=14,
        fine_dim=96,
    ),
    "efficientnet_lite0": BackboneSpec(
        _efficientnet_lite0,
        1280,
        (256,),
        (256, 128),
        False,
        N_("EfficientNet-Lite0, ImageNet weights offline"),
        blocks=18,
        fine_tap=STRIDE_16_INDEX,
        fine_dim=112,
    ),
    "resnet50": BackboneSpec(
        _resnet50, 2048, (256,), (512, 256), False, N_("ResNet50 with MLP heads"), blocks=8
    ),
    "resnet50_fpn": BackboneSpec(
        _PooledFPN,
        768,
        (256,),
        (512, 256),
        True,
        N_("ResNet50 + FPN, dropout/BatchNorm heads"),
        blocks=0,
    ),
}


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


SPATIAL_GRID = 7
FUSED_GRID = 10
SPATIAL_CHANNELS = 64


def _head(
    in_dim: int, hidden: tuple[int, ...], out_dim: int, dropout: float, batchnorm: bool
) -> nn.Sequential:
    layers: list[nn.Module] = []
    for width in hidden:
        layers.append(nn.Linear(in_dim, width))
        if batchnorm:
            layers.append(nn.BatchNorm1d(width))
        layers += [nn.ReLU(inplace=True), nn.Dropout(dropout)]
        in_dim = width
    layers.append(nn.Linear(in_dim, out_dim))
    return nn.Sequential(*layers)


def _spatial_box_head(
    channels: int, hidden: tuple[int, ...], dropout: float, batchnorm: bool
) -> nn.Sequential:
    """Keeps where things are: 1x1 conv to a few channels, a fixed 7x7 grid, then an MLP.

    Global average pooling throws position away, and position is what a box is.
    """
    flat = SPATIAL_CHANNELS * SPATIAL_GRID * SPATIAL_GRID
    return nn.Sequential(
        nn.Conv2d(channels, SPATIAL_CHANNELS, 1, bias=False),
        nn.BatchNorm2d(SPATIAL_CHANNELS),
        nn.ReLU(inplace=True),
        nn.AdaptiveAvgPool2d(SPATIAL_GRID),
        nn.Flatten(),
        _head(flat, hidden, 4, dropout, batchnorm),
    )


class _FusedBoxHead(nn.Module):
    """The spatial head on a finer map: the stride-32 features upsampled onto the stride-16 ones
    (one FPN step), read on a 10x10 grid instead of 7x7."""

    def __init__(
        self,
        coarse_dim: int,
        fine_dim: int,
        hidden: tuple[int, ...],
        dropout: float,
        batchnorm: bool,
        grid: int,
    ) -> None:
        super().__init__()
        self.lateral = nn.Conv2d(fine_dim, SPATIAL_CHANNELS, 1, bias=False)
        self.top = nn.Conv2d(coarse_dim, SPATIAL_CHANNELS, 1, bias=False)
        self.mix = nn.Sequential(
            nn.BatchNorm2d(SPATIAL_CHANNELS),
            nn.ReLU(inplace=True),
            nn.Conv2d(SPATIAL_CHANNELS, SPATIAL_CHANNELS, 3, padding=1, bias=False),
            nn.BatchNorm2d(SPATIAL_CHANNELS),
            nn.ReLU(inplace=True),
            nn.AdaptiveAvgPool2d(grid),
            nn.Flatten(),
            _head(SPATIAL_CHANNELS * grid * grid, hidden, 4, dropout, batchnorm),
        )

    def forward(self, coarse: torch.Tensor, fine: torch.Tensor) -> torch.Tensor:
        top = F.interpolate(self.top(coarse), size=fine.shape[-2:], mode="nearest")
        return self.mix(self.lateral(fine) + top)


class LocalizationModel(nn.Module):
    """Shared trunk (a feature map), a pooled class head and a deeper box head that is pooled
    like the notebook's ("gap"), keeps a coarse spatial grid ("spatial") or a finer one that also
    sees the stride-16 map ("fused").
    Boxes come out as normalised xyxy."""

    def __init__(
        self,
        config: ModelConfig,
        mean: tuple[float, float, float] = (0.485, 0.456, 0.406),
        std: tuple[float, float, float] = (0.229, 0.224, 0.225),
    ) -> None:
        super().__init__()
        if config.name not in BACKBONES:
            raise ValueError(f"unknown model {config.name!r}; choose one of {sorted(BACKBONES)}")
        spec = BACKBONES[config.name]
        self.config = config
        self.register_buffer("mean", torch.tensor(mean, dtype=torch.float32).view(1, 3, 1, 1))
        self.register_buffer("std", torch.tensor(std, dtype=torch.float32).view(1, 3, 1, 1))
        self.backbone = spec.build(config.pretrained)
        width, dropout, batchnorm = spec.feature_dim, config.dropout, spec.batchnorm_heads
        self.class_head = nn.Sequential(
            nn.AdaptiveAvgPool2d(1),
            nn.Flatten(),
            _head(width, spec.class_hidden, config.num_classes, dropout, batchnorm),
        )
        # Face presence reads the same pooled features as the class head: "is there a face at
        # all" is a whole-picture question. One logit per image; absent in old checkpoints.
        self.presence_head = (
            nn.Sequential(
                nn.AdaptiveAvgPool2d(1),
                nn.Flatten(),
                _head(width, spec.class_hidden, 1, dropout, batchnorm),
            )
            if config.presence
            else None
        )
        if config.box_head == "spatial":
            self.box_head = _spatial_box_head(width, spec.box_hidden, dropout, batchnorm)
        elif config.box_head == "fused":
            if (
                spec.fine_tap is None
                or config.freeze_backbone
                or config.frozen_blocks > spec.fine_tap
            ):
                able = [
                    f"{n} (at most {b.fine_tap} frozen blocks)"
                    for n, b in BACKBONES.items()
                    if b.fine_tap is not None
                ]
                raise ValueError(
                    f"box head 'fused' needs {config.name}'s stride-16 map trainable; "
                    f"models that have one: {', '.join(able)}"
                )
            self.box_head = _FusedBoxHead(
                width, spec.fine_dim, spec.box_hidden, dropout, batchnorm, FUSED_GRID
            )
        else:
            self.box_head = nn.Sequential(
                nn.AdaptiveAvgPool2d(1),
                nn.Flatten(),
                _head(width, spec.box_hidden, 4, dropout, batchnorm),
            )
        # Plain tuple: the two halves share the backbone's modules without registering twice.
        self._stem_tail = self._split_backbone()
        self.stem.requires_grad_(False)

    def _split_backbone(self) -> tuple[nn.Module, nn.Module]:
        """(frozen stem, trainable tail) of the backbone."""
        if self.config.freeze_backbone:
            return self.backbone, nn.Identity()
        count = self.config.frozen_blocks
        if count == 0:
            return nn.Identity(), self.backbone
        if not isinstance(self.backbone, nn.Sequential) or count >= len(self.backbone):
            raise ValueError(f"{self.config.name} cannot freeze its first {count} blocks")
        return self.backbone[:count], self.backbone[count:]

    @property
    def stem(self) -> nn.Module:
        """The frozen leading part of the backbone (Identity when nothing is frozen)."""
        return self._stem_tail[0]

    @property
    def has_frozen_stem(self) -> bool:
        return not isinstance(self.stem, nn.Identity)

    def train(self, mode: bool = True) -> LocalizationModel:
        """A frozen stem keeps its BatchNorm statistics fixed too."""
        super().train(mode)
        self.stem.eval()
        return self

    def stem_features(self, images: torch.Tensor) -> torch.Tensor:
        return self.stem((images - self.mean) / self.std)

    def forward(self, images: torch.Tensor) -> dict[str, torch.Tensor]:
        return self.forward_from_stem(self.stem_features(images))

    def trunk_features(self, images: torch.Tensor) -> torch.Tensor:
        """The backbone's last feature map, the one the class and presence heads pool."""
        return self._stem_tail[1](self.stem_features(images))

    def forward_from_stem(self, stem_features: torch.Tensor) -> dict[str, torch.Tensor]:
        """The trainable part: what a run with cached stem features trains."""
        if isinstance(self.box_head, _FusedBoxHead):
            tap = BACKBONES[self.config.name].fine_tap - self.config.frozen_blocks
            tail = self._stem_tail[1]
            fine = tail[:tap](stem_features)
            features = tail[tap:](fine)
            raw_boxes = torch.sigmoid(self.box_head(features, fine).float())
        else:
            features = self._stem_tail[1](stem_features)
            raw_boxes = torch.sigmoid(self.box_head(features).float())
        if self.config.box_format == "cxcywh":
            boxes = box_convert(raw_boxes, "cxcywh", "xyxy").clamp(0.0, 1.0)
        else:
            boxes = raw_boxes
        out = {"logits": self.class_head(features).float(), "boxes": boxes}
        if self.presence_head is not None:
            out["presence"] = self.presence_head(features).float().squeeze(1)
        return out

    def parameter_groups(
        self, lr_backbone: float, lr_class_head: float, lr_box_head: float
    ) -> list[dict]:
        """AdamW groups with their own learning rates; frozen parameters are left out."""
        groups = [
            {
                "params": self.backbone.parameters(),
                "lr": lr_backbone,
                "name": "backbone",
            },
            {
                "params": self.class_head.parameters(),
                "lr": lr_class_head,
                "name": "class_head",
            },
            {
                "params": self.box_head.parameters(),
                "lr": lr_box_head,
                "name": "box_head",
            },
        ]
        if self.presence_head is not None:
            groups.append(
                {
                    "params": self.presence_head.parameters(),
                    "lr": lr_class_head,
                    "name": "presence_head",
                }
            )
        for group in groups:
            group["params"] = [p for p in group["params"] if p.requires_grad]
        return [group for group in groups if group["params"]]


def model_summary(model: nn.Module, image_size: int, depth: int = 3) -> str:
    """Layer table with output shapes and parameter counts (torchinfo)."""
    stats = torchinfo.summary(
        model,
        input_size=(1, 3, image_size, image_size),
        depth=depth,
        col_names=("output_size", "num_params", "trainable"),
        device="cpu",
        verbose=0,
        mode="eval",
    )
    return str(stats)
