"""The backbone registry: how each family named in the settings' catalogue
(maskloc/config/catalogue.py, with its description, block count and stride-16 tap) builds its trunk
and how wide its features and heads are. ImageNet weights come from maskloc/models/weights.py."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn
from torchvision import models as tv_models
from torchvision.models._utils import IntermediateLayerGetter
from torchvision.ops import FeaturePyramidNetwork

from ..config.settings import SettingError
from ..utils.messages import N_
from .efficientnet_lite import convert_state_dict, efficientnet_lite0_features
from .weights import load_pretrained_state


@dataclass(frozen=True)
class BackboneSpec:
    """How to build one family: its trunk, feature width and the shape of its heads."""

    build: Callable[[bool], nn.Module]
    feature_dim: int
    class_hidden: tuple[int, ...]
    box_hidden: tuple[int, ...]
    batchnorm_heads: bool = False
    fine_dim: int = 0  # channels of the stride-16 map the "fused" box head reads


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


BACKBONES: dict[str, BackboneSpec] = {  # the names of config.catalogue.BACKBONES
    "own_cnn": BackboneSpec(_own_cnn, 256, (128,), (256, 128)),
    "mobilenet_v2": BackboneSpec(_mobilenet_v2, 1280, (256,), (256, 128), fine_dim=96),
    "efficientnet_lite0": BackboneSpec(_efficientnet_lite0, 1280, (256,), (256, 128), fine_dim=112),
    "resnet50": BackboneSpec(_resnet50, 2048, (256,), (512, 256)),
    "resnet50_fpn": BackboneSpec(_PooledFPN, 768, (256,), (512, 256), batchnorm_heads=True),
}
