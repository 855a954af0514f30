"""One training run from a RunConfig: data -> model -> Trainer -> run folder on disk.

A run folder holds config.json, history.json (one row per evaluation), status.json and best.pt,
each written atomically as the run goes, so a crash or restart loses nothing already reported.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import torch

from .checkpoint import atomic_write_json, read_json, save_checkpoint
from .config import RunConfig, SettingError
from .data import DataError
from .engine import Trainer, TrainerState
from .finetune import adopt_checkpoint
from .images import ImageError
from .layout import VAL
from .live_strip import LiveStrip, strip_positions
from .messages import N_, Text, as_text
from .progress import Progress
from .trainer_setup import PreparedData, build_trainer, for_data, prepare_data, trained_model
from .weights import WeightsUnavailable

# Marked for the app's catalogue: pages show a state with t(state); status.json keeps English.
STATUSES = (
    N_("queued"), N_("running"), N_("finished"), N_("stopped"), N_("failed"), N_("interrupted")
)  # fmt: skip
BEST_CHECKPOINT = "best.pt"  # the file a run folder keeps its best weights in

logger = logging.getLogger(__name__)
# Start-up work before the first training step, in order; a UI shows each with its own progress.
STARTUP_PHASES = (Text(N_("decoding images")), Text(N_("stem features")))
StartupProgress = Callable[[str, int, int], None]  # (phase, done, total)

# What a run's status says (English in status.json and the CLI; the app shows it translated).
PREPARING_DATA = Text(N_("preparing data"))
STOPPED_BY_USER = Text(N_("stopped by user"))
EARLY_STOPPING = Text(N_("early stopping"))
ALL_STEPS_DONE = Text(N_("all steps done"))
NO_STATUS_FILE = Text(N_("no status file"))
OUT_OF_MEMORY = Text(N_("out of memory: lower the batch size or the image size, then start again"))


class RunFolder:
    """Reads and writes one run's files; every write is atomic."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)

    @property
    def name(self) -> str:
        return self.path.name

    @property
    def checkpoint(self) -> Path:
        return self.path / BEST_CHECKPOINT

    def config(self) -> RunConfig:
        """The run's settings; SettingError if config.json holds values no longer allowed."""
        return RunConfig.from_dict(read_json(self.path / "config.json", {}))

    def history(self) -> list[dict[str, Any]]:
        return read_json(self.path / "history.json", [])

    def status(self) -> dict[str, Any]:
        return read_json(
            self.path / "status.json", {"state": "interrupted", **NO_STATUS_FILE.to_json()}
        )

    def message(self) -> str:
        """The status's message: a Text (shown in the app's language) when it was written with
        its template, the plain English of an older run otherwise."""
        return Text.from_json(self.status())

    def write_config(self, config: RunConfig) -> None:
        self.path.mkdir(parents=True, exist_ok=True)
        atomic_write_json(self.path / "config.json", config.to_dict())

    def write_history(self, history: list[dict[str, Any]]) -> None:
        atomic_write_json(self.path / "history.json", history)

    def write_status(self, state: str, message: str = "", **extra: Any) -> None:
        """`message` in English for the CLI and older readers; a Text keeps its template and
        fields beside it, so the app can show it in its own language."""
        if state not in STATUSES:
            raise ValueError(f"unknown run state {state!r}")
        said = message.to_json() if isinstance(message, Text) else {"message": message}
        payload = {"state": state, **said, "updated": time.time(), **extra}
        atomic_write_json(self.path / "status.json", payload)


Callback = Callable[[Trainer], None]


def failure_reason(error: BaseException) -> str:
    """One line a user can act on (a Text where the app can say it in its own language)."""
    if isinstance(error, torch.cuda.OutOfMemoryError | MemoryError):
        return OUT_OF_MEMORY
    if isinstance(error, SettingError):
        return error.for_page()  # English: the settings it names are not kept in status.json
    if isinstance(error, DataError | ImageError | WeightsUnavailable) and str(error):
        return as_text(error)  # already in the user's words: no Python class name in front
    return f"{type(error).__name__}: {error}" if str(error) else type(error).__name__


def run_strip(data: PreparedData) -> LiveStrip:
    """The run's fixed strip of validation pictures (both classes), with their truth."""
    images, boxes, labels = data.subset(VAL)
    faces = np.flatnonzero((labels >= 0) & (labels < len(data.folder.class_names)))
    positions = faces[strip_positions(labels[faces])].tolist()  # no-face windows stay off it
    return LiveStrip(
        images[positions], boxes[positions], labels[positions], data.folder.class_names, positions
    )


def train_run(
    config: RunConfig,
    run_dir: str | Path,
    callbacks: dict[str, list[Callback]] | None = None,
    stop_event: threading.Event | None = None,
    data: PreparedData | None = None,
    progress: Progress | None = None,
    startup: StartupProgress | None = None,
) -> TrainerState:
    """Train one run end to end, keeping its folder current after every evaluation (history,
    status, best checkpoint and the live strip's predictions).

    `progress` hears (done, total) of every start-up phase; `startup` hears (phase, done, total)
    with the phase's name from STARTUP_PHASES. Raises what the Trainer raises (after marking the
    run failed), so callers see the reason.
    """

    def phase(name: str) -> Progress | None:
        if startup is None:
            return progress
        return lambda done, total: startup(name, done, total)

    run = RunFolder(run_dir)
    run.write_config(config)
    run.write_status("running", PREPARING_DATA)
    logger.info("run %s: %s on %s", run.path, config.model.name, config.data.root)
    try:
        kept = adopt_checkpoint(config)["class_names"] if config.train.init_from else ()
        data = data or prepare_data(
            config.data, phase(STARTUP_PHASES[0]), no_face=config.model.presence, kept_classes=kept
        )
        config = for_data(config, data)
        trainer = build_trainer(config, data, stop_event, phase(STARTUP_PHASES[1]))
        strip = run_strip(data)
        strip.save(run.path)
    except Exception as error:
        run.write_status("failed", failure_reason(error))
        logger.warning("run %s failed before training: %s", run.path, failure_reason(error))
        raise
    run.write_config(config)  # now with the number of classes the data has

    def save(trainer: Trainer) -> None:
        history = trainer.state.history
        run.write_history(history)
        predictions = trainer.state.last_predictions
        if predictions is not None and len(predictions.boxes) == len(data.val_idx):
            strip.record(
                trainer.state.epoch,
                trainer.state.step,
                predictions.boxes.numpy(),
                predictions.probabilities.numpy(),
                bool(history[-1].get("best")),
            )
            strip.save(run.path, pictures=False)
        if history[-1].get("best"):
            save_checkpoint(
                run.checkpoint,
                trained_model(trainer),
                data.folder.class_names,
                data.image_size,
                metrics=history[-1],
                run_config=config.to_dict(),
                # Chosen on validation (this evaluation's no-face windows and faces); absent when
                # the data had no windows, and then the model always answers as before.
                presence_threshold=history[-1].get("presence_threshold"),
            )
        run.write_status(
            "running",
            Text(
                N_("step {step}/{total}"), step=trainer.state.step, total=trainer.state.total_steps
            ),
        )

    trainer.add_callback("on_eval_end", save)
    for event, functions in (callbacks or {}).items():
        for function in functions:
            trainer.add_callback(event, function)
    try:
        state = trainer.fit()
    except Exception as error:
        run.write_status("failed", failure_reason(error))
        logger.warning(
            "run %s failed at step %d: %s", run.path, trainer.state.step, failure_reason(error)
        )
        raise
    if state.stopped_by_user:
        run.write_status("stopped", STOPPED_BY_USER, best=state.best_metrics)
        logger.info("run %s stopped by the user at step %d", run.path, state.step)
    else:
        how = EARLY_STOPPING if state.stopped_early else ALL_STEPS_DONE
        run.write_status("finished", how, best=state.best_metrics)
        logger.info(
            "run %s finished (%s) after %d steps in %.0f s; best mean IoU %.3f",
            run.path,
            how,
            state.step,
            state.elapsed,
            state.best_metrics.get("mean_iou", float("nan")),
        )
    return state
