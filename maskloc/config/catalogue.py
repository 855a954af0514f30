"""The values a setting may take, declared where the settings are.

A higher layer implements each value (a backbone in maskloc/models/backbones.py, an augmentation
recipe in maskloc/data/transforms.py, a box loss in maskloc/training/losses.py); what a setting
needs to offer and check the value (its name, its words, a backbone's block count) lives here, so
the settings import nothing above them. A test keeps each implementation's names equal to these.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..utils.messages import N_


@dataclass(frozen=True)
class BackboneFacts:
    """What the settings know of a backbone: enough to offer it and check a ModelConfig."""

    description: str
    blocks: int  # Sequential blocks of the trunk: at most blocks - 1 can be frozen (0: none)
    imagenet: bool = True  # ImageNet weights exist for it (on this machine or not)
    fine_tap: int | None = None  # Sequential index whose input is the stride-16 map ("fused");
    # tests/models/test_models.py checks it on each real trunk


BACKBONES: dict[str, BackboneFacts] = {
    "own_cnn": BackboneFacts(
        N_("the notebook's 4-block CNN, He init, no pretraining"), blocks=4, imagenet=False
    ),
    "mobilenet_v2": BackboneFacts(
        N_("MobileNetV2, ImageNet weights offline"), blocks=19, fine_tap=14
    ),
    "efficientnet_lite0": BackboneFacts(
        N_("EfficientNet-Lite0, ImageNet weights offline"), blocks=18, fine_tap=12
    ),
    "resnet50": BackboneFacts(N_("ResNet50 with MLP heads"), blocks=8),
    "resnet50_fpn": BackboneFacts(N_("ResNet50 + FPN, dropout/BatchNorm heads"), blocks=0),
}

AUGMENTATIONS: dict[str, str] = {  # training augmentation recipes
    "none": N_("no augmentation"),
    "flip": N_("horizontal flip only"),
    "notebook": N_(
        "the notebook's five: flip, brightness/contrast, motion blur, hue/saturation, affine"
    ),
    # Webcam frames show smaller, off-centre faces than the training crops.
    "zoom_out": N_(
        "the notebook's, with faces shrunk and moved like in webcam frames, some grayscale"
    ),
}

BOX_LOSSES = ("mse", "l1", "giou", "diou", "ciou", "l1_giou")
BOX_FORMATS = ("cxcywh", "xyxy")
BOX_HEADS: dict[str, str] = {
    "spatial": N_("reads the feature map where the face is"),
    "fused": N_("the same on a grid twice as fine (mobilenet_v2, efficientnet_lite0)"),
    "gap": N_("the notebook's globally pooled features"),
}
CLASS_WEIGHTINGS: dict[str, str] = {
    "none": N_("plain cross-entropy"),
    "balanced": N_("class loss weighted by inverse class frequency"),
    "sampler": N_("oversample the rare class"),
}
DEVICES = ("auto", "cpu", "cuda")

# The values the Train page's sliders offer.
LEARNING_RATES = (1e-5, 3e-5, 1e-4, 3e-4, 1e-3, 2e-3, 3e-3, 1e-2)  # 2e-3: the finetune preset
IMAGE_SIZES = (64, 96, 128, 160, 192, 224, 256, 320)
BATCH_SIZES = (4, 8, 16, 32, 64)

# Train page columns, in order (their headings); settings in none sit under "More settings".
PAGE_GROUPS = (N_("Model"), N_("Loss and data"), N_("Learning rates"), N_("Schedule"))
