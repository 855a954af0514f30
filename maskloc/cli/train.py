"""`train` (one run, here or on a Dask cluster) and `settings` (every training setting as a table).

The `train` flags are generated from the settings declared in maskloc/config/sections.py.
"""

from __future__ import annotations

import argparse
import json
import sys
import time

from ..config.paths import default_data_root, scheduler_address
from ..config.presets import PRESETS, override, preset
from ..config.sections import RunConfig
from ..config.settings import SETTINGS, Setting
from ._shared import add_skip_bad_rows, progress_bar

DEFAULT_PRESET = "full"


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


def add_commands(commands: argparse._SubParsersAction) -> None:
    """Register `train` and `settings`."""
    p = commands.add_parser(
        "train",
        help="train a model; writes OUT/best.pt, config and history",
        description="Starts from --preset and changes the settings given; a bad value or "
        "combination, missing ImageNet weights, an unreadable dataset or a class too rare to "
        "split is refused before any image is read. `maskloc settings` lists them all.",
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
        default=scheduler_address(),
        help="train on a Dask cluster: the scheduler's address, e.g. tcp://10.0.0.5:8786 "
        "(default: $MASKLOC_SCHEDULER; unset: train in this process)",
    )
    add_skip_bad_rows(p)
    p.set_defaults(handler=_train)

    p = commands.add_parser(
        "settings", help="list every training setting: flag, Train page control, values, help"
    )
    p.set_defaults(handler=_settings)


def train_config(args: argparse.Namespace) -> RunConfig:
    """The preset, overridden by the settings that were given, validated as a whole."""
    given = {path: getattr(args, path, None) for path in SETTINGS}
    name = args.preset or ("finetune" if given.get("train.init_from") else DEFAULT_PRESET)
    if given.get("data.root") is None:  # MASKLOC_DATA, or the bundled dataset
        given["data.root"] = str(default_data_root())
    return override(preset(name), {k: v for k, v in given.items() if v is not None})


def _train_on_cluster(config: RunConfig, args: argparse.Namespace) -> int:
    """One run sent to the Dask scheduler at args.scheduler; progress lines as it reports."""
    from ..classroom.cluster import ClusterBackend, ClusterError
    from ..classroom.jobs import TrainingJob

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

    from ..training.preflight import preflight
    from ..training.run import train_run

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
        progress=progress_bar("prepare images"),
    )
    if bar is not None:
        bar.close()
    best = {k: v for k, v in state.best_metrics.items() if k != "confusion"}
    print(
        json.dumps({"run": args.out, **best, "wall_seconds": round(time.monotonic() - started, 1)})
    )
    return 0


def settings_markdown() -> str:
    """The table of `train` flags, made from SETTINGS (docs/settings.md holds it; a test checks)."""
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


def _settings(args: argparse.Namespace) -> int:
    print(settings_markdown(), end="")
    return 0
