"""End to end through the CLI: train -> evaluate -> predict on a dataset the test makes."""

from __future__ import annotations

import json
import subprocess
import sys

import pandas as pd
import pytest
from conftest import ROOT, make_dataset

from maskloc.cli import main


def _cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "maskloc", *args], capture_output=True, text=True, cwd=ROOT
    )


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    root = make_dataset(tmp_path_factory.mktemp("data") / "ds", n=30, n_test=8)
    run = tmp_path_factory.mktemp("runs") / "run"
    done = _cli(
        "train",
        "--data",
        str(root),
        "--out",
        str(run),
        "--model",
        "own_cnn",  # no --no-pretrained: own_cnn has no ImageNet weights, so none are asked for
        "--epochs",
        "2",
        "--image-size",
        "48",
        "--batch-size",
        "8",
        "--device",
        "cpu",
    )
    assert done.returncode == 0, done.stderr
    assert "classes: mask 20 rows (" in done.stderr and ", no-mask 10 rows (" in done.stderr
    return root, run, json.loads(done.stdout.strip().splitlines()[-1])


def test_train_writes_run_folder(trained):
    _, run, summary = trained
    assert {p.name for p in run.iterdir()} >= {
        "best.pt",
        "config.json",
        "history.json",
        "status.json",
    }
    history = json.loads((run / "history.json").read_text())
    assert [row["epoch"] for row in history] == [1, 2]
    assert json.loads((run / "status.json").read_text())["state"] == "finished"
    config = json.loads((run / "config.json").read_text())
    assert config["model"]["name"] == "own_cnn" and config["data"]["image_size"] == 48
    assert 0 <= summary["mean_iou"] <= 1 and summary["n"] > 0


def _val_iou(checkpoint, root) -> float:
    done = _cli("evaluate", "--checkpoint", str(checkpoint), "--data", str(root), "--json")
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)["mean_iou"]


def test_ensemble_of_two_runs_is_scored_and_usable(trained, tmp_path):
    root, run, _ = trained
    member, out = str(run / "best.pt"), tmp_path / "ensemble.pt"
    done = _cli("ensemble", member, member, "--out", str(out), "--data", str(root))
    assert done.returncode == 0, done.stderr
    assert "own_cnn + own_cnn" in done.stdout
    # two copies of one model answer like the model (up to float16 storage)
    assert _val_iou(out, root) == pytest.approx(_val_iou(member, root), abs=2e-3)
    refused = _cli("ensemble", member, "--out", str(tmp_path / "one.pt"))
    assert refused.returncode == 2 and "at least two" in refused.stderr


@pytest.mark.parametrize("split", ["val", "test", "all"])
def test_evaluate_json_for_each_split(trained, split):
    root, run, summary = trained
    done = _cli(
        "evaluate",
        "--checkpoint",
        str(run / "best.pt"),
        "--data",
        str(root),
        "--split",
        split,
        "--json",
    )
    assert done.returncode == 0, done.stderr
    metrics = json.loads(done.stdout)
    assert {"mean_iou", "iou50", "accuracy", "balanced_accuracy", "n"} <= set(metrics)
    expected_n = {"val": summary["n"], "test": 8, "all": 30}[split]
    assert metrics["n"] == expected_n


def test_evaluate_val_gives_the_score_the_run_reported(trained):
    """Same split and weights as in training: the same mean IoU."""
    root, run, summary = trained
    assert _val_iou(run / "best.pt", root) == pytest.approx(summary["mean_iou"], abs=1e-4)


def test_predict_writes_submission_in_competition_format(trained, tmp_path):
    root, run, _ = trained
    out = tmp_path / "submission.csv"
    done = _cli(
        "predict", "--checkpoint", str(run / "best.pt"), "--data", str(root), "--out", str(out)
    )
    assert done.returncode == 0, done.stderr
    lines = out.read_text().splitlines()
    assert lines[0] == "filename,class,xmin,ymin,xmax,ymax"
    submission = pd.read_csv(out)
    expected = pd.read_csv(root / "test.csv")["filename"].tolist()
    assert submission["filename"].tolist() == expected
    assert set(submission["class"]) <= {"mask", "no-mask"}
    for column in ("xmin", "ymin", "xmax", "ymax"):
        assert pd.api.types.is_integer_dtype(submission[column])
    sizes = {0: (96, 64), 1: (64, 80), 2: (72, 72)}
    for i, row in submission.iterrows():
        width, height = sizes[(30 + i) % 3]
        assert 0 <= row.xmin < row.xmax <= width and 0 <= row.ymin < row.ymax <= height


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["evaluate", "--checkpoint", "nope.pt"], "nope.pt: file not found"),
        (["train", "--data", "/no/such/folder", "--out", "{tmp}/r"], "dataset folder not found"),
        (["predict", "--checkpoint", "{ckpt}", "--data", "/no/such"], "dataset folder not found"),
    ],
)
def test_bad_input_ends_with_one_clear_line(trained, tmp_path, capsys, args, message):
    root, run, _ = trained
    args = [a.format(tmp=tmp_path, ckpt=run / "best.pt", root=root) for a in args]
    assert main(args) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1].startswith("error: ") and message in err[-1]
    assert "Traceback" not in "".join(err)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--alpha", "1.5"], "error: --alpha must be within [0, 1], got 1.5"),
        (["--epochs", "0"], "error: --epochs must be at least 1, got 0"),
        (
            ["--model", "own_cnn", "--pretrained"],
            "error: own_cnn has no ImageNet weights: use --no-pretrained",
        ),
        (
            ["--model", "own_cnn", "--frozen-blocks", "14"],
            "error: --frozen-blocks is 14, but own_cnn has 4 blocks: it can freeze at most 3",
        ),
        (
            ["--cache-stem", "--class-weighting", "sampler"],
            "error: --cache-stem does not work with --class-weighting 'sampler'",
        ),
    ],
)
def test_bad_settings_are_refused_before_any_work_naming_the_flag(
    tmp_path, capsys, monkeypatch, args, message
):
    import maskloc.training.preflight

    def no_reading(*_):
        raise AssertionError("the dataset was read")

    monkeypatch.setattr(maskloc.training.preflight, "load_dataset", no_reading)
    assert main(["train", "--out", str(tmp_path / "r"), *args]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith(message)
    assert not (tmp_path / "r").exists()


def test_unknown_choices_are_refused_by_the_parser(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["train", "--out", "x", "--model", "resnet9"])
    assert exit_info.value.code == 2
    assert "--model: invalid choice: 'resnet9'" in capsys.readouterr().err


def test_missing_imagenet_weights_are_named_before_any_image_is_read(tmp_path, capsys, monkeypatch):
    import maskloc.training.preflight

    def no_reading(*_):
        raise AssertionError("the dataset was read")

    monkeypatch.setattr(maskloc.training.preflight, "pretrained_available", lambda name: False)
    monkeypatch.setattr(maskloc.training.preflight, "load_dataset", no_reading)
    assert main(["train", "--out", str(tmp_path / "r"), "--model", "resnet50"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: ImageNet weights for resnet50 (resnet50-0676ba61.pth) are not")
    assert "use --no-pretrained to train from random weights" in err


def test_a_typo_class_is_refused_naming_it_and_its_row(tmp_path, capsys):
    root = make_dataset(tmp_path / "ds", n=12, n_test=2)
    frame = pd.read_csv(root / "train.csv")
    frame.loc[4, "class"] = "maks"
    frame.to_csv(root / "train.csv", index=False)
    assert main(["train", "--data", str(root), "--out", str(tmp_path / "r")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [
        "error: class 'maks' has 1 row (train.csv row 6): too few to be in both the training and "
        "the validation split; fix the class name if it is a typo, add rows of it, or remove them"
    ]
    assert not (tmp_path / "r").exists()


def test_every_command_has_help_and_the_docstring_names_it(capsys):
    import maskloc.cli as cli

    commands = list(cli.build_parser()._subparsers._group_actions[0].choices)
    assert len(commands) >= 9
    for command in commands:
        assert command in cli.__doc__
        with pytest.raises(SystemExit) as exit_info:
            main([command, "--help"])
        assert exit_info.value.code == 0
        assert "usage:" in capsys.readouterr().out


def test_summary_prints_the_layer_table():
    done = _cli("summary", "--model", "own_cnn", "--image-size", "64")
    assert done.returncode == 0 and "Total params" in done.stdout


def test_train_options_override_the_preset_and_are_validated():
    from maskloc.cli import build_parser
    from maskloc.cli.train import train_config

    parser = build_parser()
    args = parser.parse_args(["train", "--out", "x", "--preset", "classroom", "--alpha", "0.2"])
    config = train_config(args)
    assert config.train.alpha == 0.2 and config.train.cache_stem and config.data.image_size == 128
    args = parser.parse_args(["train", "--out", "x", "--no-pretrained", "--box-head", "gap"])
    config = train_config(args)
    assert not config.model.pretrained and config.model.box_head == "gap"
    assert config.train.alpha == 0.7 and not config.train.cache_stem  # the "full" preset
    args = parser.parse_args(["train", "--out", "x", "--preset", "classroom", "--no-cache-stem"])
    assert not train_config(args).train.cache_stem and train_config(args).model.frozen_blocks == 14


def test_bad_rows_stop_the_cli_unless_skipped(trained, tmp_path, capsys):
    import shutil

    root, run, _ = trained
    copy = tmp_path / "copy"
    shutil.copytree(root, copy)
    with (copy / "train.csv").open("a") as handle:
        handle.write("../escape.jpg,1,2,3,4,mask\nimg_000.jpg,9,9,3,4,mask\n")
    args = ["evaluate", "--checkpoint", str(run / "best.pt"), "--data", str(copy), "--json"]
    assert main([*args, "--split", "all"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1].startswith("error: 2 bad row(s), first: train.csv row 32, filename")
    assert main([*args, "--split", "all", "--skip-bad-rows"]) == 0
    captured = capsys.readouterr()
    assert "skipped: train.csv row 33, filename: duplicate of row 2" in captured.err
    assert json.loads(captured.out)["n"] == 30


def test_verbose_shows_what_the_library_logs_and_leaves_the_logger_as_it_was(capsys):
    import logging

    from maskloc.config.paths import DEFAULT_CHECKPOINT

    library = logging.getLogger("maskloc")
    level, handlers = library.level, list(library.handlers)
    args = ["summary", "--checkpoint", str(DEFAULT_CHECKPOINT)]
    assert main(args) == 0
    assert "INFO maskloc.models.checkpoint: loaded" not in capsys.readouterr().err
    for verbose in (["-v", *args], [*args, "--verbose"]):
        assert main(verbose) == 0
        loaded = f"INFO maskloc.models.checkpoint: loaded {DEFAULT_CHECKPOINT}"
        assert loaded in capsys.readouterr().err
    assert (library.level, library.handlers) == (level, handlers)
