"""Model registry: every family builds, outputs valid boxes, groups its parameters, summarises."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from maskloc.config.catalogue import BACKBONES as BACKBONE_FACTS
from maskloc.config.paths import DEFAULT_DATA
from maskloc.config.sections import ModelConfig
from maskloc.data.image_cache import resize_square
from maskloc.data.images import read_rgb
from maskloc.models.backbones import BACKBONES
from maskloc.models.localization import LocalizationModel, model_summary
from maskloc.models.weights import WeightsUnavailable, find_weights, pretrained_available


@pytest.mark.parametrize("name", sorted(BACKBONES))
@pytest.mark.parametrize("box_format", ["cxcywh", "xyxy"])
def test_every_model_outputs_logits_and_normalised_boxes(name, box_format):
    model = LocalizationModel(ModelConfig(name, pretrained=False, box_format=box_format)).eval()
    out = model(torch.rand(2, 3, 64, 64))
    assert out["logits"].shape == (2, 2) and out["boxes"].shape == (2, 4)
    assert out["boxes"].min() >= 0 and out["boxes"].max() <= 1


def test_cxcywh_boxes_are_ordered():
    model = LocalizationModel(ModelConfig("own_cnn", pretrained=False)).eval()
    boxes = model(torch.rand(8, 3, 64, 64))["boxes"]
    assert (boxes[:, 2] >= boxes[:, 0]).all() and (boxes[:, 3] >= boxes[:, 1]).all()


def test_model_normalises_with_its_own_statistics():
    model = LocalizationModel(ModelConfig("own_cnn", pretrained=False), (0.1, 0.2, 0.3), (1, 2, 3))
    assert model.mean.flatten().tolist() == pytest.approx([0.1, 0.2, 0.3])
    assert "mean" in model.state_dict()


def test_parameter_groups_cover_all_trainable_parameters_once():
    model = LocalizationModel(ModelConfig("own_cnn", pretrained=False))
    groups = model.parameter_groups(1e-4, 1e-3, 2e-3)
    assert [g["name"] for g in groups] == ["backbone", "class_head", "box_head", "presence_head"]
    assert [g["lr"] for g in groups] == [1e-4, 1e-3, 2e-3, 1e-3]  # presence: the class rate
    ids = [id(p) for g in groups for p in g["params"]]
    assert len(ids) == len(set(ids)) == len(list(model.parameters()))


def test_frozen_backbone_is_left_out_and_stays_in_eval_mode():
    model = LocalizationModel(ModelConfig("own_cnn", pretrained=False, freeze_backbone=True))
    model.train()
    names = [g["name"] for g in model.parameter_groups(1, 1, 1)]
    assert names == ["class_head", "box_head", "presence_head"]
    assert not model.backbone.training and model.box_head.training


@pytest.mark.parametrize(
    ("name", "file"),
    [
        ("mobilenet_v2", "mobilenet_v2-b0353104.pth"),
        ("efficientnet_lite0", "efficientnet-lite0-57934424.pth"),
    ],
)
def test_imagenet_weights_ship_offline_and_load(name, file):
    path = find_weights(name)
    assert path is not None and path.name == file
    model = LocalizationModel(ModelConfig(name, pretrained=True))
    first_conv = model.backbone[0][0].weight
    assert first_conv.abs().mean() > 0.05  # real weights, not a fresh init


def test_efficientnet_lite0_weights_land_on_the_right_layers():
    """Mis-mapped names would load (shapes repeat across blocks) but give activations unlike
    the statistics each BatchNorm was trained with: check they agree on real photos."""
    model = LocalizationModel(ModelConfig("efficientnet_lite0", pretrained=True)).eval()
    paths = sorted((DEFAULT_DATA / "images").glob("*.jpg"))[:16]
    images = torch.stack(
        [torch.from_numpy(resize_square(read_rgb(p), 224)).permute(2, 0, 1) for p in paths]
    )
    block = model.backbone[9].project
    seen = []
    block[0].register_forward_hook(lambda m, i, out: seen.append(out.mean(dim=(0, 2, 3))))
    with torch.no_grad():
        model.backbone((images.float() / 255 - 0.5) / 0.5)
    correlation = torch.corrcoef(torch.stack([seen[0], block[1].running_mean]))[0, 1]
    assert correlation > 0.9


def test_missing_pretrained_weights_are_explained(monkeypatch):
    monkeypatch.setattr(torch.hub, "get_dir", lambda: "/nonexistent")  # resnet50's only source
    find_weights.cache_clear()
    try:
        assert not pretrained_available("resnet50")
        with pytest.raises(WeightsUnavailable, match="resnet50"):
            LocalizationModel(ModelConfig("resnet50", pretrained=True))
    finally:
        find_weights.cache_clear()
    with pytest.raises(ValueError, match="own_cnn has no ImageNet weights: use --no-pretrained"):
        LocalizationModel(ModelConfig("own_cnn", pretrained=True))
    with pytest.raises(ValueError, match=r"--model .* must be one of own_cnn, .*; got 'vgg'"):
        LocalizationModel(ModelConfig("vgg", pretrained=False))


def test_summary_lists_layers_and_parameter_count():
    text = model_summary(LocalizationModel(ModelConfig("own_cnn", pretrained=False)), 64)
    assert "Conv2d" in text and "Total params" in text
    assert "[1, 256, 4, 4]" in text  # the feature map the heads share


def test_spatial_box_head_sees_position_that_pooling_loses():
    """Two images with the same content at different places: pooled features cannot tell them
    apart (translation-invariant), the spatial head's grid can."""
    features = torch.zeros(2, 256, 8, 8)
    features[0, :, 1, 1] = 1.0
    features[1, :, 6, 6] = 1.0
    gap = LocalizationModel(ModelConfig("own_cnn", pretrained=False, box_head="gap")).eval()
    spatial = LocalizationModel(ModelConfig("own_cnn", pretrained=False, box_head="spatial")).eval()
    gap_boxes = gap.box_head(features)
    assert torch.allclose(gap_boxes[0], gap_boxes[1])
    spatial_boxes = spatial.box_head(features)
    assert not torch.allclose(spatial_boxes[0], spatial_boxes[1])


@pytest.mark.parametrize("frozen_blocks", [0, 14])
def test_fused_box_head_reads_the_stride_16_map(frozen_blocks):
    config = ModelConfig(pretrained=False, box_head="fused", frozen_blocks=frozen_blocks)
    model = LocalizationModel(config).eval()
    seen = []
    model.box_head.lateral.register_forward_hook(lambda m, i, o: seen.append(i[0].shape))
    out = model(torch.rand(2, 3, 160, 160))
    assert out["boxes"].shape == (2, 4) and out["boxes"].min() >= 0 and out["boxes"].max() <= 1
    assert seen == [torch.Size([2, 96, 10, 10])]  # 160 / 16


@pytest.mark.parametrize(
    "config",
    [
        ModelConfig(pretrained=False, box_head="fused", frozen_blocks=14),
        ModelConfig(pretrained=False, box_head="spatial", frozen_blocks=7),
        ModelConfig("efficientnet_lite0", pretrained=False, box_head="gap", freeze_backbone=True),
    ],
)
def test_cached_stem_path_answers_like_the_full_forward(config):
    """A run with cache_stem trains on stem outputs computed once (stem_cache.stem_features) and
    fed through StemView: for the same images it must give what the full model gives."""
    from maskloc.training.device import to_float_images
    from maskloc.training.stem_cache import StemView, stem_features

    torch.manual_seed(0)
    model = LocalizationModel(config, (0.4, 0.5, 0.6), (0.2, 0.25, 0.3)).eval()
    assert model.has_frozen_stem
    images = np.random.default_rng(0).integers(0, 256, (3, 96, 96, 3), dtype=np.uint8)
    images[0], images[1] = 0, 255  # a black, a white and a noise image
    boxes = np.tile(np.array([[0.1, 0.2, 0.6, 0.7]], np.float32), (3, 1))
    cpu = torch.device("cpu")
    cached = stem_features(model, images, boxes, np.array([0, 1, 0]), None, 1, cpu)
    batch = to_float_images(torch.from_numpy(images).permute(0, 3, 1, 2), cpu)
    with torch.no_grad():
        direct = model.stem_features(batch)
        full = model(batch)
        from_cache = StemView(model)(cached.features[:, 0])
    assert cached.features.shape[1] == 1  # no transform: the originals only
    torch.testing.assert_close(cached.features[:, 0], direct)
    assert not torch.allclose(direct[0], direct[1])  # the features do depend on the image
    torch.testing.assert_close(from_cache["boxes"], full["boxes"])
    torch.testing.assert_close(from_cache["logits"], full["logits"])


@pytest.mark.parametrize(
    "settings",
    [
        {"name": "own_cnn", "box_head": "fused"},
        {"box_head": "fused", "frozen_blocks": 15},
        {"box_head": "fused", "freeze_backbone": True},
    ],
)
def test_fused_box_head_refuses_models_without_a_trainable_stride_16_map(settings):
    """Refused where the settings are made (the dataclass validates), naming the setting."""
    with pytest.raises(ValueError, match=r"--box-head .*'fused' needs"):
        LocalizationModel(ModelConfig(pretrained=False, **settings))


def test_the_registry_builds_every_backbone_the_settings_offer_and_no_other():
    assert list(BACKBONES) == list(BACKBONE_FACTS)


@pytest.mark.parametrize("name", [n for n, facts in BACKBONE_FACTS.items() if facts.fine_tap])
def test_the_stride_16_tap_the_settings_know_is_where_the_trunk_halves_its_grid(name):
    """The "fused" head reads the input of block `fine_tap`: the last map at stride 16."""
    trunk = BACKBONES[name].build(False).eval()
    tap = BACKBONE_FACTS[name].fine_tap
    with torch.no_grad():
        fine = trunk[:tap](torch.zeros(1, 3, 64, 64))
        coarse = trunk(torch.zeros(1, 3, 64, 64))
    assert fine.shape[-1] == 64 // 16 and coarse.shape[-1] == 64 // 32
    assert fine.shape[1] == BACKBONES[name].fine_dim
    assert len(trunk) == BACKBONE_FACTS[name].blocks
