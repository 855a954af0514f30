"""The settings table: declared once, every front end generated from it, validation that names
the setting as the user sees it, presets as plain overrides, docs/settings.md's table kept equal."""

from __future__ import annotations

from dataclasses import fields

import pytest
from conftest import ROOT

from maskloc.cli import build_parser
from maskloc.cli.train import settings_markdown, train_config
from maskloc.config.catalogue import PAGE_GROUPS
from maskloc.config.presets import PRESETS, override, preset
from maskloc.config.sections import DataConfig, ModelConfig, RunConfig, TrainConfig
from maskloc.config.settings import SETTINGS, SettingError

NOT_SETTINGS = {"model.num_classes"}  # decided by the data, not by the user


def test_every_field_is_a_declared_setting_with_help():
    for section, kind in (("data", DataConfig), ("model", ModelConfig), ("train", TrainConfig)):
        for f in fields(kind):
            path = f"{section}.{f.name}"
            assert path in SETTINGS or path in NOT_SETTINGS, f"{path} has no option(...)"
    for setting in SETTINGS.values():
        assert setting.help and setting.flag.startswith("--")
        assert setting.group is None or setting.group in PAGE_GROUPS
        assert not setting.group or setting.label, f"{setting.path}: a page column needs a label"


def _another_value(setting, base_value):
    """Values other than the preset's one, most likely to be allowed first."""
    if setting.kind is bool:
        return [not base_value]
    if setting.choices is not None:
        return [c for c in setting.choice_help() if c != base_value]
    if setting.kind is str:  # free text: a folder or a file
        return ["/some/folder"]
    top = setting.below if setting.below is not None else setting.high
    middle = None if setting.low is None or top is None else (setting.low + top) / 2
    candidates = [base_value + 1, base_value * 2, setting.low, base_value / 2, middle]
    return [v for v in candidates if v is not None and v != base_value]


def test_every_setting_has_a_train_flag_that_reaches_its_field():
    parser = build_parser()
    base = preset("full")
    for setting in SETTINGS.values():
        base_value = getattr(getattr(base, setting.section), setting.name)
        for value in _another_value(setting, base_value):
            if setting.kind is bool:
                argv = [setting.flag if value else "--no-" + setting.flag[2:]]
            else:
                argv = [setting.flag, str(value)]
            try:
                config = train_config(parser.parse_args(["train", "--out", "x", *argv]))
            except SettingError:
                continue  # not allowed with the rest of the preset: try the next value
            got = getattr(getattr(config, setting.section), setting.name)
            assert got == setting.kind(value), setting.path
            break
        else:
            pytest.fail(f"no value of {setting.flag} could be set")


@pytest.mark.parametrize(
    ("changes", "cli", "page"),
    [
        ({"train.epochs": 0}, "--epochs must be at least 1, got 0", "'Epochs' must be at least"),
        (
            {"train.alpha": 1.5},
            "--alpha must be within [0, 1], got 1.5",
            "'alpha: box weight' must be within [0, 1], got 1.5",
        ),
        ({"train.batch_size": None}, "--batch-size must be a number, got None", "'Batch size'"),
        ({"train.epochs": 2.5}, "--epochs must be a whole number, got 2.5", "'Epochs'"),
        ({"model.name": "resnet9"}, "--model must be one of own_cnn, mobilenet_v2", "'Model'"),
        (
            {"model.name": "own_cnn", "model.pretrained": True},
            "own_cnn has no ImageNet weights: use --no-pretrained",
            "own_cnn has no ImageNet weights: untick 'ImageNet weights'",
        ),
        (
            {"train.cache_stem": True, "train.class_weighting": "sampler"},
            "--cache-stem does not work with --class-weighting 'sampler'",
            "'Cache frozen blocks' does not work with 'Class balance'",
        ),
        (
            {"model.name": "resnet50", "model.box_head": "fused"},
            "--box-head 'fused' needs resnet50's stride-16 map trainable",
            "'Box head' 'fused' needs",
        ),
    ],
)
def test_validation_names_the_flag_and_the_page_control(changes, cli, page):
    with pytest.raises(SettingError) as error:
        override(RunConfig(), changes)
    assert error.value.for_cli().startswith(cli)
    assert error.value.for_page().startswith(page)
    assert isinstance(error.value, ValueError)


def test_override_leaves_the_base_alone_and_validates_again():
    base = preset("classroom")
    before = base.to_dict()
    changed = override(base, {"train.alpha": 0.2, "data.image_size": 64})
    assert base.to_dict() == before
    assert (changed.train.alpha, changed.data.image_size) == (0.2, 64)
    assert changed.train.cache_stem  # the rest is the base's
    with pytest.raises(SettingError, match=r"unknown setting 'train\.speed'"):
        override(base, {"train.speed": 3})


def test_a_model_chosen_without_saying_takes_its_own_pretraining_default():
    assert override(preset("full"), {"model.name": "own_cnn"}).model.pretrained is False
    notebook = preset("notebook")
    assert notebook.model.pretrained is False
    assert override(notebook, {"model.name": "mobilenet_v2"}).model.pretrained is True
    chosen = {"model.name": "mobilenet_v2", "model.pretrained": False}
    assert override(notebook, chosen).model.pretrained is False


def test_presets_are_overrides_of_known_settings_the_page_can_show():
    assert {"classroom", "full", "notebook"} <= set(PRESETS)
    for name, chosen in PRESETS.items():
        assert chosen.description
        assert set(chosen.changes) <= set(SETTINGS), name
        config = preset(name)
        for setting in SETTINGS.values():
            value = getattr(getattr(config, setting.section), setting.name)
            if setting.label and setting.options:  # a page slider must hold the preset's value
                assert value in setting.options, f"{name}: {setting.path} = {value}"
    classroom = preset("classroom")
    assert classroom.train.cache_stem and classroom.model.frozen_blocks == 14
    assert preset("notebook").model.name == "own_cnn"


def test_config_json_round_trip_keeps_types():
    config = RunConfig.from_dict({"train": {"epochs": 3.0, "alpha": 1}, "data": {"other": 1}})
    assert config.train.epochs == 3 and isinstance(config.train.epochs, int)
    assert config.train.alpha == 1.0 and isinstance(config.train.alpha, float)
    assert RunConfig.from_dict(config.to_dict()) == config


def test_the_settings_page_lists_the_train_flags_of_the_settings_table():
    page = (ROOT / "docs" / "settings.md").read_text()
    start, end = "<!-- train-settings:start -->\n", "<!-- train-settings:end -->"
    assert start in page and end in page
    table = page.split(start, 1)[1].split(end, 1)[0]
    assert table == settings_markdown(), (
        "docs/settings.md's table is stale: paste `maskloc settings` between the markers"
    )
