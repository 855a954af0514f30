"""CLI: python -m maskloc train | evaluate | ensemble | predict | build-dataset | zoom-out | bench |
summary | settings | check | fit-presence | export | import-dataset | export-dataset.

Arguments are wired to library calls and nothing else; every expected failure ends with one line
on stderr and exit status 2. The `train` flags are generated from the settings declared in
maskloc/config.py (`SETTINGS`). A command is an `_add_<name>(commands)` function that registers its
parser and handler; `COMMANDS` lists them, so a new command is one line there.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path

from . import cli_check, cli_datasets, cli_export, cli_presence_fit
from .config import (
    DEFAULT_CHECKPOINT,
    DEFAULT_DATA,
    PRESETS,
    SETTINGS,
    DataConfig,
    ModelConfig,
    RunConfig,
    Setting,
    SettingError,
    override,
    preset,
)
from .layout import EVAL_SPLITS, TEST, VAL
from .messages import ExplainedError
from .progress import Progress

DEFAULT_PRESET = "full"


def _progress_bar(description: str) -> Progress:
    """A tqdm bar fed by the library's (done, total) progress callbacks."""
    from tqdm import tqdm

    bar = None

    def update(done: int, total: int) -> None:
        nonlocal bar
        if bar is None or done < bar.n or total != bar.total:  # a new phase starts a new bar
            bar = tqdm(total=total, desc=description, unit="img", leave=False, file=sys.stderr)
        bar.update(done - bar.n)
        if done >= total:
            bar.close()

    return update


def _refuse_bad_rows(data: str, skip: bool) -> None:
    """Bad rows stop the CLI unless --skip-bad-rows; skipped ones are listed on stderr."""
    from .data import DataError, load_dataset

    problems = load_dataset(data).problems
    if problems and not skip:
        raise DataError(
            f"{len(problems)} bad row(s), first: {problems[0]}; "
            "fix them or pass --skip-bad-rows to use the good rows"
        )
    for problem in problems:
        print(f"skipped: {problem}", file=sys.stderr)


def _add_skip_bad_rows(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--skip-bad-rows", action="store_true", help="use the valid rows, list the others"
    )


def _fraction(text: str) -> float:
    value = float(text)
    if not 0.0 <= value <= 1.0:
        raise argparse.ArgumentTypeError(f"{text} is not within [0, 1]")
    return value


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text} must be at least 1")
    return value


def _setting_help(setting: Setting) -> str:
    """The flag's help: what it does, its allowed values, the default preset's value."""
    choices = setting.choice_help()
    text = setting.help
    if any(choices.values()):
        text += " (" + "; ".join(f"{k}: {v}" for k, v in choices.items()) + ")"
    elif setting.kind in (int, float) and setting.limits_text():
        text += f" ({setting.limits_text()})"
    return text


def add_setting_flags(parser: argparse.ArgumentParser) -> None:
    """One flag per setting in config.SETTINGS; a flag left out keeps the preset's value."""
    for setting in SETTINGS.values():
        if not setting.flag:
            continue
        common = {"dest": setting.path, "default": None, "help": _setting_help(setting)}
        if setting.kind is bool:
            parser.add_argument(setting.flag, action=argparse.BooleanOptionalAction, **common)
        elif setting.choices is not None:
            parser.add_argument(setting.flag, choices=list(setting.choice_help()), **common)
        else:
            metavar = setting.flag.removeprefix("--").upper().replace("-", "_")
            parser.add_argument(setting.flag, type=setting.kind, metavar=metavar, **common)


def _add_train(commands: argparse._SubParsersAction) -> None:
    p = commands.add_parser(
        "train",
        help="train a model; writes OUT/best.pt, config and history",
        description="Starts from --preset and changes the settings given; a bad value or "
        "combination, missing ImageNet weights, an unreadable dataset or a class too rare to "
        "split is refused before any image is read. `python -m maskloc settings` lists them all.",
    )
    p.add_argument("--out", required=True, help="run folder to create")
    p.add_argument(
        "--preset",
        choices=list(PRESETS),
        help=f"default: {DEFAULT_PRESET} (finetune with --init-from); "
        + "; ".join(f"{name}: {chosen.description}" for name, chosen in PRESETS.items()),
    )
    add_setting_flags(p)
    p.add_argument(
        "--scheduler",
        default=os.environ.get("MASKLOC_SCHEDULER") or None,
        help="train on a Dask cluster: the scheduler's address, e.g. tcp://10.0.0.5:8786 "
        "(default: $MASKLOC_SCHEDULER; unset: train in this process)",
    )
    _add_skip_bad_rows(p)
    p.set_defaults(handler=_train)


def train_config(args: argparse.Namespace) -> RunConfig:
    """The preset, overridden by the settings that were given, validated as a whole."""
    given = {path: getattr(args, path, None) for path in SETTINGS}
    name = args.preset or ("finetune" if given.get("train.init_from") else DEFAULT_PRESET)
    return override(preset(name), {k: v for k, v in given.items() if v is not None})


def _train_on_cluster(config: RunConfig, args: argparse.Namespace) -> int:
    """One run sent to the Dask scheduler at args.scheduler; progress lines as it reports."""
    from .cluster import ClusterBackend, ClusterError
    from .jobs import TrainingJob

    backend = ClusterBackend(args.scheduler)
    print(backend.describe(), file=sys.stderr)  # connects now: an unreachable one ends here
    started = time.monotonic()
    job = TrainingJob(config, args.out, backend=backend).start()
    said = ""
    try:
        while not job.join(0.5):
            snapshot = job.snapshot()
            if snapshot.message != said:
                said = snapshot.message
                print(said, file=sys.stderr)
    except KeyboardInterrupt:
        job.stop()
        job.join()
    finally:
        backend.close()
    snapshot = job.snapshot()
    if snapshot.state == "failed":
        raise ClusterError(f"the run failed: {snapshot.message}")
    best = {k: v for k, v in snapshot.best.items() if k != "confusion"}
    print(
        json.dumps(
            {
                "run": args.out,
                "state": snapshot.state,
                **best,
                "wall_seconds": round(time.monotonic() - started, 1),
            }
        )
    )
    return 0


def _train(args: argparse.Namespace) -> int:
    import torch
    from tqdm import tqdm

    from .preflight import preflight
    from .runs import train_run

    config = train_config(args)
    check = preflight(config, args.skip_bad_rows)
    for problem in check.folder.train.problems:
        print(f"skipped: {problem}", file=sys.stderr)
    print(f"classes: {check.split.classes_text()}", file=sys.stderr)
    for warning in check.warnings:
        print(f"warning: {warning}", file=sys.stderr)
    if args.scheduler:
        return _train_on_cluster(config, args)
    if config.train.num_threads:  # a process-wide setting: the CLI owns its process
        torch.set_num_threads(config.train.num_threads)
    bar = None

    def on_batch(trainer) -> None:
        nonlocal bar
        if bar is None:
            bar = tqdm(total=trainer.state.total_steps, desc="train", unit="step", file=sys.stderr)
        bar.update(1)
        bar.set_postfix(loss=f"{trainer.state.last_batch['loss']:.3f}", epoch=trainer.state.epoch)

    def on_eval(trainer) -> None:
        row = trainer.state.history[-1]
        line = (
            f"epoch {row['epoch']} step {row['step']}: val loss {row['val_loss']:.4f} "
            f"IoU {row['mean_iou']:.3f} acc {row['accuracy']:.3f} "
            f"bal {row['balanced_accuracy']:.3f}"
        )
        if "no_face_rejection" in row:
            line += (
                f" face recall {row['face_recall']:.3f} no-face rejection "
                f"{row['no_face_rejection']:.3f}"
            )
        line += "  *best" if row.get("best") else ""
        (bar.write if bar else print)(line, file=sys.stderr)

    started = time.monotonic()
    state = train_run(
        config,
        args.out,
        {"on_batch_end": [on_batch], "on_eval_end": [on_eval]},
        progress=_progress_bar("prepare images"),
    )
    if bar is not None:
        bar.close()
    best = {k: v for k, v in state.best_metrics.items() if k != "confusion"}
    print(
        json.dumps({"run": args.out, **best, "wall_seconds": round(time.monotonic() - started, 1)})
    )
    return 0


def settings_markdown() -> str:
    """The README's table of `train` flags, made from config.SETTINGS (a test keeps them equal)."""
    base = preset(DEFAULT_PRESET).to_dict()
    lines = [
        f"| flag | Train page control | values | `{DEFAULT_PRESET}` | what it sets |",
        "|---|---|---|---|---|",
    ]
    for s in SETTINGS.values():
        if not s.flag:
            continue
        flag = f"`{s.flag}` / `--no-{s.flag[2:]}`" if s.kind is bool else f"`{s.flag}`"
        values = "on / off" if s.kind is bool else s.limits_text() or "text"
        default = base[s.section][s.name]
        if s.path == "data.root":
            default = "data/mask-faces"
        elif s.kind is bool:
            default = "on" if default else "off"
        elif s.kind is float:
            default = f"{default:g}"
        label = s.label or "–"
        lines.append(f"| {flag} | {label} | {values} | {default} | {s.help} |")
    return "\n".join(lines) + "\n"


def _add_settings(commands: argparse._SubParsersAction) -> None:
    p = commands.add_parser(
        "settings", help="list every training setting: flag, Train page control, values, help"
    )
    p.set_defaults(handler=_settings)


def _settings(args: argparse.Namespace) -> int:
    print(settings_markdown(), end="")
    return 0


def _add_evaluate(commands: argparse._SubParsersAction) -> None:
    p = commands.add_parser("evaluate", help="score a checkpoint on a split of a dataset folder")
    p.add_argument("--checkpoint", default=str(DEFAULT_CHECKPOINT))
    p.add_argument("--data", default=str(DEFAULT_DATA))
    p.add_argument(
        "--split",
        default=VAL,
        choices=EVAL_SPLITS,
        help="val: the model's validation split of train.csv; test: test.csv scored against "
        "test_labels.csv; all: every labelled row of train.csv",
    )
    p.add_argument("--tta", action="store_true", help="average with the mirrored image")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.add_argument("--per-image", help="also write per-image results to this CSV")
    _add_skip_bad_rows(p)
    p.set_defaults(handler=_evaluate)


def _evaluate(args: argparse.Namespace) -> int:
    from .predict import Predictor, evaluate

    _refuse_bad_rows(args.data, args.skip_bad_rows)
    predictor = Predictor(args.checkpoint)
    metrics, per_image = evaluate(
        predictor, args.data, args.split, args.tta, _progress_bar("decode images")
    )
    if args.per_image:
        per_image.to_csv(args.per_image, index=False)
    if args.json:
        print(json.dumps(metrics))
    else:
        for key, value in metrics.items():
            print(f"{key:>18}: {value:.4f}" if isinstance(value, float) else f"{key:>18}: {value}")
    return 0


def _add_ensemble(commands: argparse._SubParsersAction) -> None:
    p = commands.add_parser(
        "ensemble",
        help="combine trained checkpoints into one that averages their answers",
        description="Members must share classes, input size and validation split; the result "
        "stores float16 weights and its own validation metrics.",
    )
    p.add_argument("members", nargs="+", help="member checkpoints (two or more)")
    p.add_argument("--out", required=True, help="ensemble checkpoint to write")
    p.add_argument("--data", default=str(DEFAULT_DATA), help="dataset for the validation score")
    p.set_defaults(handler=_ensemble)


def _ensemble(args: argparse.Namespace) -> int:
    from .checkpoint import atomic_write_bytes, checkpoint_bytes, ensemble_payload
    from .predict import Predictor, evaluate

    payload = ensemble_payload(args.members)
    metrics, _ = evaluate(Predictor(checkpoint_bytes(payload)), args.data, VAL)
    payload["metrics"] = metrics
    atomic_write_bytes(Path(args.out), checkpoint_bytes(payload))
    print(f"wrote {args.out}: {payload['model_config']['name']}, validation {json.dumps(metrics)}")
    return 0


def _add_predict(commands: argparse._SubParsersAction) -> None:
    p = commands.add_parser("predict", help="predict test.csv and write a submission CSV")
    p.add_argument("--checkpoint", default=str(DEFAULT_CHECKPOINT))
    p.add_argument("--data", default=str(DEFAULT_DATA))
    p.add_argument("--out", default="submission.csv")
    _add_skip_bad_rows(p)
    p.set_defaults(handler=_predict)


def _predict(args: argparse.Namespace) -> int:
    from .predict import Predictor, predict_submission, write_submission

    _refuse_bad_rows(args.data, args.skip_bad_rows)
    submission = predict_submission(
        Predictor(args.checkpoint), args.data, _progress_bar("decode images")
    )
    write_submission(submission, args.out)
    print(f"wrote {len(submission)} rows to {args.out}", file=sys.stderr)
    return 0


def _add_build_dataset(commands: argparse._SubParsersAction) -> None:
    from .dataset_build import BuildSettings

    s = BuildSettings()
    p = commands.add_parser("build-dataset", help="crop one face per image from a raw photo set")
    p.add_argument("--raw", required=True, help="folder with boxes.csv and images/")
    p.add_argument("--out", required=True, help="dataset folder to write")
    p.add_argument("--size", type=_positive, default=s.size, help="output side in pixels")
    p.add_argument("--min-face", type=_positive, default=s.min_face, help="skip smaller faces")
    p.add_argument("--context-min", type=float, default=s.context_min)
    p.add_argument("--context-max", type=float, default=s.context_max)
    p.add_argument("--max-other-overlap", type=_fraction, default=s.max_other_overlap)
    p.add_argument("--test-fraction", type=_fraction, default=s.test_fraction)
    p.add_argument(
        "--max-per-photo",
        type=lambda text: None if text.lower() == "none" else _positive(text),
        default=s.max_per_photo,
        help="cap on crops from one photo ('none': no cap)",
    )
    p.add_argument("--jpeg-quality", type=_positive, default=s.jpeg_quality)
    p.add_argument(
        "--no-face-per-photo",
        type=int,
        default=s.no_face_per_photo,
        help="no-face windows (presence negatives) per photo; 0: none",
    )
    p.add_argument("--no-face-margin", type=float, default=s.no_face_margin)
    p.add_argument("--seed", type=int, default=s.seed)
    p.add_argument("--overwrite", action="store_true", help="replace a previous build in OUT")
    p.set_defaults(handler=_build_dataset)


def _build_dataset(args: argparse.Namespace) -> int:
    from dataclasses import replace

    from .dataset_build import BuildSettings, build_dataset

    settings = replace(
        BuildSettings(),
        size=args.size,
        min_face=args.min_face,
        context_min=args.context_min,
        context_max=args.context_max,
        max_other_overlap=args.max_other_overlap,
        test_fraction=args.test_fraction,
        max_per_photo=args.max_per_photo,
        jpeg_quality=args.jpeg_quality,
        seed=args.seed,
        no_face_per_photo=args.no_face_per_photo,
        no_face_margin=args.no_face_margin,
    )
    report = build_dataset(
        Path(args.raw), Path(args.out), settings, _progress_bar("crop faces"), args.overwrite
    )
    print(report.summary())
    return 0


def _add_zoom_out(commands: argparse._SubParsersAction) -> None:
    p = commands.add_parser(
        "zoom-out", help="copy a split with each image on a 2x edge-stretched canvas (webcam-like)"
    )
    p.add_argument("--data", default=str(DEFAULT_DATA))
    p.add_argument("--split", default=TEST, choices=EVAL_SPLITS)
    p.add_argument("--out", required=True, help="dataset folder to write")
    p.add_argument("--factor", type=float, default=2.0, help="canvas side / image side")
    p.add_argument("--seed", type=int, default=0)
    p.set_defaults(handler=_zoom_out)


def _zoom_out(args: argparse.Namespace) -> int:
    from .zoom_out import write_zoomed_out

    count = write_zoomed_out(args.data, args.out, args.split, args.factor, args.seed)
    print(f"wrote {count} zoomed-out images to {args.out}", file=sys.stderr)
    return 0


def _add_bench(commands: argparse._SubParsersAction) -> None:
    p = commands.add_parser(
        "bench",
        help="classroom benchmarks (run from the repository root; --help for options)",
        add_help=False,
    )
    p.set_defaults(handler=lambda args: _bench(args.options), options=[])


def _bench(options: list[str]) -> int:
    try:
        from bench.suite import main as bench_main
    except ImportError as error:
        raise ValueError(
            "run the benchmarks from the repository root (bench/ not found)"
        ) from error
    return bench_main(options)


def _add_summary(commands: argparse._SubParsersAction) -> None:
    p = commands.add_parser("summary", help="layer table of a model (or a checkpoint's model)")
    p.add_argument("--model", default="mobilenet_v2")
    p.add_argument("--checkpoint", help="summarise this checkpoint's model instead")
    p.add_argument("--image-size", type=_positive, default=DataConfig().image_size)
    p.set_defaults(handler=_summary)


def _summary(args: argparse.Namespace) -> int:
    from .checkpoint import load_model
    from .models import LocalizationModel, model_summary

    if args.checkpoint:
        model, meta = load_model(args.checkpoint)
        size = meta["image_size"]
    else:
        model, size = LocalizationModel(ModelConfig(args.model, pretrained=False)), args.image_size
    print(model_summary(model, size))
    return 0


# One line per command, in the order `--help` lists them.
COMMANDS: tuple[Callable[[argparse._SubParsersAction], None], ...] = (
    _add_train,
    _add_evaluate,
    _add_ensemble,
    _add_predict,
    _add_build_dataset,
    _add_zoom_out,
    _add_bench,
    _add_summary,
    _add_settings,
    cli_check.add_command,
    cli_presence_fit.add_command,
    cli_export.add_command,
    cli_datasets.add_commands,
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m maskloc",
        description="Single-object localization: one class (mask / no-mask) and one box per image.",
    )
    verbose_help = "say more on stderr: -v what the library does, -vv every step and refused row"
    parser.add_argument("-v", "--verbose", action="count", default=0, help=verbose_help)
    commands = parser.add_subparsers(dest="command", required=True)
    for add in COMMANDS:
        add(commands)
    for name, command in commands.choices.items():
        if name != "bench":  # bench parses its own options
            command.add_argument(
                "-v", "--verbose", action="count", default=argparse.SUPPRESS, help=verbose_help
            )
    return parser


def _show_library_logs(verbosity: int) -> Callable[[], None]:
    """Send the library's log records to stderr: warnings always, -v info, -vv debug.

    Returns the function that undoes it, so calling main() in a process (tests, a notebook)
    leaves the `maskloc` logger as it was.
    """
    library = logging.getLogger("maskloc")
    level = (logging.WARNING, logging.INFO)[verbosity] if verbosity < 2 else logging.DEBUG
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
    previous = library.level
    library.addHandler(handler)
    library.setLevel(level)

    def undo() -> None:
        library.removeHandler(handler)
        library.setLevel(previous)

    return undo


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args, unknown = parser.parse_known_args(argv)
    if args.command == "bench":  # bench parses its own options
        args.options = unknown
    elif unknown:
        parser.error(f"unrecognized arguments: {' '.join(unknown)}")
    undo_logging = _show_library_logs(args.verbose)
    try:
        return args.handler(args)
    except SettingError as error:
        print(f"error: {error.for_cli()}", file=sys.stderr)
        return 2
    except (ExplainedError, ValueError, OSError) as error:  # every library error is explained
        print(f"error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    finally:
        undo_logging()


if __name__ == "__main__":
    sys.exit(main())
