"""One training run, top-down: the config resolved once (a starting checkpoint adopted), then the
data, the model and loss and loaders (`build_trainer`), the Trainer, and the run folder that keeps
everything the run reports (training/run_folder.py), written as it goes.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from pathlib import Path

from ..config.sections import RunConfig
from ..data.prepared import PreparedData, prepare_data
from ..models.checkpoint import save_checkpoint
from ..utils.messages import N_, Text
from ..utils.progress import Progress
from .builder import build_trainer, for_data, trained_model
from .finetune import adopt_checkpoint
from .live_strip import LiveStrip, strip_for
from .run_folder import (
    ALL_STEPS_DONE,
    EARLY_STOPPING,
    PREPARING_DATA,
    STOPPED_BY_USER,
    RunFolder,
    failure_reason,
)
from .trainer import Callback, Trainer, TrainerState

logger = logging.getLogger(__name__)
# Start-up work before the first training step, in order; a UI shows each with its own progress.
STARTUP_PHASES = (Text(N_("decoding images")), Text(N_("stem features")))
StartupProgress = Callable[[str, int, int], None]  # (phase, done, total)


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
        start = adopt_checkpoint(config)  # the config resolved once: a starting checkpoint adopted
        kept = start["class_names"] if start else ()
        data = data or prepare_data(
            config.data, phase(STARTUP_PHASES[0]), no_face=config.model.presence, kept_classes=kept
        )
        config = for_data(config, data)
        trainer = build_trainer(config, data, stop_event, phase(STARTUP_PHASES[1]), start)
        strip = strip_for(data)
        strip.save(run.path)
    except Exception as error:
        run.write_status("failed", failure_reason(error))
        logger.warning("run %s failed before training: %s", run.path, failure_reason(error))
        raise
    run.write_config(config)  # now with the number of classes the data has

    trainer.add_callback("on_eval_end", _recorder(run, config, data, strip))
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


def _recorder(run: RunFolder, config: RunConfig, data: PreparedData, strip: LiveStrip) -> Callback:
    """What a run keeps after each evaluation: its history, the strip's answers, the checkpoint
    when it is the best so far, and how far it got."""

    def record(trainer: Trainer) -> None:
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
        step, total = trainer.state.step, trainer.state.total_steps
        run.write_status("running", Text(N_("step {step}/{total}"), step=step, total=total))

    return record
