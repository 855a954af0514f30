"""import-dataset / export-dataset / train --init-from through the CLI's main()."""

from __future__ import annotations

import json

import pandas as pd

from maskloc.cli import build_parser, main
from maskloc.cli.train import train_config

COLUMNS = ["filename", "xmin", "ymin", "xmax", "ymax", "class"]


def test_export_then_import_with_a_rename_prints_the_report(tiny_dataset, tmp_path, capsys):
    assert main(["export-dataset", "--data", str(tiny_dataset), "--format", "yolo",
                 "--out", str(tmp_path / "y.zip")]) == 0  # fmt: skip
    assert "exported 24 picture(s) as yolo" in capsys.readouterr().out
    code = main(["import-dataset", str(tmp_path / "y.zip"), "--format", "yolo",
                 "--out", str(tmp_path / "back"), "--rename-class", "no-mask=bare"])  # fmt: skip
    assert code == 0
    out = capsys.readouterr().out
    assert "imported 24 picture(s) from yolo" in out and "per class: bare 8, mask 16" in out
    back = pd.read_csv(tmp_path / "back" / "train.csv").sort_values("filename")
    original = pd.read_csv(tiny_dataset / "train.csv").sort_values("filename")
    original["class"] = original["class"].replace("no-mask", "bare")
    assert back[COLUMNS].values.tolist() == original[COLUMNS].values.tolist()


def test_import_problems_end_with_one_error_line(tmp_path, capsys):
    assert main(["import-dataset", str(tmp_path / "nope"), "--format", "voc",
                 "--out", str(tmp_path / "o")]) == 2  # fmt: skip
    assert (
        capsys.readouterr().err.strip() == f"error: {tmp_path / 'nope'}: no such folder or zip file"
    )
    assert main(["import-dataset", str(tmp_path), "--format", "voc", "--out",
                 str(tmp_path / "o"), "--rename-class", "mask"]) == 2  # fmt: skip
    assert "expected OLD=NEW" in capsys.readouterr().err


def test_init_from_picks_the_finetune_preset_unless_one_is_named():
    parser = build_parser()
    tuned = train_config(parser.parse_args(["train", "--out", "r", "--init-from", "x.pt"]))
    assert tuned.train.init_from == "x.pt"
    assert tuned.model.freeze_backbone and tuned.train.cache_stem
    named = train_config(
        parser.parse_args(["train", "--out", "r", "--init-from", "x.pt", "--preset", "full"])
    )
    assert not named.model.freeze_backbone and named.train.init_from == "x.pt"
    assert train_config(parser.parse_args(["train", "--out", "r"])).train.init_from == ""


def test_init_from_a_missing_checkpoint_is_one_error_line(tiny_dataset, tmp_path, capsys):
    code = main(["train", "--data", str(tiny_dataset), "--out", str(tmp_path / "r"),
                 "--init-from", str(tmp_path / "none.pt")])  # fmt: skip
    assert code == 2
    assert capsys.readouterr().err.strip().endswith("none.pt: file not found")
    status = json.loads((tmp_path / "r" / "status.json").read_text())
    assert status["state"] == "failed"
