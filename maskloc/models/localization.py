"""Backbone + heads -> LocalizationModel(images) -> {"logits", "boxes"[, "presence"]}.

The model takes float images in [0, 1] and normalises them itself, so a checkpoint carries its own
mean/std and a caller cannot feed it the wrong statistics.
"""

from __future__ import annotations

import torch
import torchinfo
from torch import nn
from torchvision.ops import box_convert

from ..config.catalogue import BACKBONES as BACKBONE_FACTS
from ..config.sections import ModelConfig, model_config_problem
from ..config.settings import SettingError
from .backbones import BACKBONES
from .heads import FUSED_GRID, FusedBoxHead, mlp_head, spatial_box_head


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
        problem = model_config_problem(config)  # a config changed after it was checked
        if problem is not None:
            raise SettingError(problem.template, **problem.fields)
        spec = BACKBONES[config.name]
        self.config = config
        self.register_buffer("mean", torch.tensor(mean, dtype=torch.float32).view(1, 3, 1, 1))
        self.register_buffer("std", torch.tensor(std, dtype=torch.float32).view(1, 3, 1, 1))
        self.backbone = spec.build(config.pretrained)
        width, dropout, batchnorm = spec.feature_dim, config.dropout, spec.batchnorm_heads
        self.class_head = nn.Sequential(
            nn.AdaptiveAvgPool2d(1),
            nn.Flatten(),
            mlp_head(width, spec.class_hidden, config.num_classes, dropout, batchnorm),
        )
        # Face presence reads the same pooled features as the class head: "is there a face at
        # all" is a whole-picture question. One logit per image; absent in old checkpoints.
        self.presence_head = (
            nn.Sequential(
                nn.AdaptiveAvgPool2d(1),
                nn.Flatten(),
                mlp_head(width, spec.class_hidden, 1, dropout, batchnorm),
            )
            if config.presence
            else None
        )
        if config.box_head == "spatial":
            self.box_head = spatial_box_head(width, spec.box_hidden, dropout, batchnorm)
        elif config.box_head == "fused":
            self.box_head = FusedBoxHead(
                width, spec.fine_dim, spec.box_hidden, dropout, batchnorm, FUSED_GRID
            )
        else:
            self.box_head = nn.Sequential(
                nn.AdaptiveAvgPool2d(1),
                nn.Flatten(),
                mlp_head(width, spec.box_hidden, 4, dropout, batchnorm),
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
        if isinstance(self.box_head, FusedBoxHead):
            tap = BACKBONE_FACTS[self.config.name].fine_tap - self.config.frozen_blocks
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
