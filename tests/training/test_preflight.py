"""Checks before a run starts: classes counted per split, a typo class refused or warned about,
bad rows refused or skipped, missing ImageNet weights named before the dataset is read."""

from __future__ import annotations

import pandas as pd
import pytest
from conftest import make_dataset

import maskloc.training.preflight
from maskloc.config.presets import override, preset
from maskloc.config.settings import SettingError
from maskloc.data.table import DataError
from maskloc.training.preflight import preflight


def _config(root, **changes):
    return override(preset("notebook"), {"data.root": str(root), **changes})


def _rename_class(root, rows, name):
    frame = pd.read_csv(root / "train.csv")
    frame.loc[rows, "class"] = name
    frame.to_csv(root / "train.csv", index=False)


def test_classes_are_counted_per_split(tiny_dataset):
    check = preflight(_config(tiny_dataset))
    counts = check.split.counts
    assert list(counts) == ["mask", "no-mask"]
    assert counts["mask"][0] == 16 and counts["no-mask"][0] == 8
    assert all(total == train + val and val > 0 for total, train, val in counts.values())
    assert check.split.classes_text().startswith("mask 16 rows (")
    assert check.warnings == [
        f"class {name!r} has only {val} validation rows: its validation scores are noisy"
        for name, (_, _, val) in counts.items()
    ]


def test_a_third_class_that_can_be_split_trains_with_a_warning(tmp_path):
    root = make_dataset(tmp_path / "ds", n=24, n_test=2)
    _rename_class(root, [1, 2, 4, 5, 7, 8, 10, 11], "maks")  # 8 rows, several photos
    check = preflight(_config(root))
    assert "maks" in check.split.counts
    (warning,) = [w for w in check.warnings if "maks" in w]
    assert warning.startswith("class 'maks' (8 rows, train.csv rows 3, 4, 6, 7, 9) is neither")


def test_a_class_on_one_side_of_the_split_only_is_refused(tmp_path):
    root = make_dataset(tmp_path / "ds", n=24, n_test=2)
    _rename_class(
        root, [2, 3], "maks"
    )  # two rows of one photo: the grouped split keeps them together
    with pytest.raises(DataError, match=r"class 'maks' has 2 rows \(train.csv rows 4, 5\)"):
        preflight(_config(root))


def test_bad_rows_are_skipped_with_a_warning_or_refused(tiny_dataset):
    with (tiny_dataset / "train.csv").open("a") as handle:
        handle.write("missing.jpg,1,1,5,5,mask,x\n")
    check = preflight(_config(tiny_dataset))
    assert check.warnings[0].startswith("1 row(s) of train.csv cannot be used (first: train.csv")
    with pytest.raises(DataError, match="--skip-bad-rows"):
        preflight(_config(tiny_dataset), skip_bad_rows=False)


def test_missing_weights_are_named_before_the_dataset_is_read(monkeypatch, tmp_path):
    monkeypatch.setattr(maskloc.training.preflight, "pretrained_available", lambda name: False)
    config = override(preset("full"), {"data.root": str(tmp_path / "nowhere")})
    with pytest.raises(SettingError) as error:
        preflight(config)
    assert "untick 'ImageNet weights'" in error.value.for_page()
    assert "use --no-pretrained" in error.value.for_cli()
    with pytest.raises(DataError, match="dataset folder not found"):  # once weights are not asked
        preflight(override(config, {"model.pretrained": False}))
