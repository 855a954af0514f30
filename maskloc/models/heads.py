"""The heads a LocalizationModel puts on its trunk: MLPs on pooled features, and box heads that
keep where things are (a coarse spatial grid, or a finer one fused with the stride-16 map)."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

SPATIAL_GRID = 7


FUSED_GRID = 10


SPATIAL_CHANNELS = 64


def mlp_head(
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


def spatial_box_head(
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
        mlp_head(flat, hidden, 4, dropout, batchnorm),
    )


class FusedBoxHead(nn.Module):
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
            mlp_head(SPATIAL_CHANNELS * grid * grid, hidden, 4, dropout, batchnorm),
        )

    def forward(self, coarse: torch.Tensor, fine: torch.Tensor) -> torch.Tensor:
        top = F.interpolate(self.top(coarse), size=fine.shape[-2:], mode="nearest")
        return self.mix(self.lateral(fine) + top)
