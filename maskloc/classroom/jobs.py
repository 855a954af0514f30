"""Background training jobs for a UI: a thread per run, one run training at a time, state on disk.

A `TrainingJob` owns its thread and a stop event (the Trainer checks it every batch) and keeps a
lock-protected snapshot of its progress that any thread may read. The training thread never talks
to a UI: a UI polls `snapshot()`. A `JobRegistry` starts jobs under a runs folder, queues them
(first in, first out) so only one trains at a time on a CPU, and lists every run folder on disk,
so runs survive a page refresh or a server restart. A folder that says "running" or "queued" with
no live job in this process is reported as "interrupted".

Where a run trains is a `TrainingBackend`: none (the default) trains in this process, one run
at a time; `cluster.ClusterBackend` sends each run to a Dask cluster, where runs train in
parallel. A backend reports through the job's `report_*` methods, so snapshots look the same
either way.
"""

from __future__ import annotations

import logging
import re
import shutil
import threading
import time
import traceback
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from ..config.paths import DEFAULT_RUNS
from ..config.presets import override
from ..config.sections import RunConfig
from ..training.live_strip import LiveStrip
from ..training.run import train_run
from ..training.run_folder import CONFIG, PREPARING_DATA, RunFolder, failure_reason
from ..training.trainer import Trainer
from ..utils.atomic import atomic_write_json, read_json
from ..utils.messages import N_, Text

ACTIVE_FILE = "active_model.json"
LIVE_STATES = ("queued", "running")
# What a live job says it is doing (English in status.json and the CLI; the app translates it).
WAITING = Text(N_("waiting for its turn"))
STOPPING = Text(N_("stopping after this batch"))
CANCELLED = Text(N_("cancelled before it started"))
_SAFE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")

logger = logging.getLogger(__name__)


def run_name(config: RunConfig, when: float | None = None) -> str:
    """Folder name like 20261127-120501-mobilenet_v2-a0.70: sortable, says model and alpha."""
    stamp = time.strftime("%Y%m%d-%H%M%S", time.localtime(when))
    return f"{stamp}-{config.model.name}-a{config.train.alpha:.2f}"


def loss_shares(last_batch: dict[str, float], alpha: float) -> dict[str, float] | None:
    """What each part adds to the total loss: (1 - alpha) * class loss and alpha * box loss."""
    if "class_loss" not in last_batch or "box_loss" not in last_batch:
        return None
    return {
        "class": (1.0 - alpha) * last_batch["class_loss"],
        "box": alpha * last_batch["box_loss"],
    }


@dataclass
class RunSnapshot:
    """One run as a UI shows it: state, settings, curves and, while it trains, live progress."""

    name: str
    path: Path
    state: str
    message: str
    config: RunConfig
    history: list[dict[str, Any]]
    best: dict[str, Any]
    sweep: str | None = None
    created: float = 0.0
    live: bool = False
    step: int = 0
    total_steps: int = 0
    epoch: int = 0
    elapsed: float = 0.0
    eta: float | None = None
    last_batch: dict[str, float] = field(default_factory=dict)
    error: str | None = None
    queue_position: int | None = None
    phase: str = ""  # start-up work before the first step (runs.STARTUP_PHASES), "" after
    phase_done: int = 0
    phase_total: int = 0
    phase_eta: float | None = None

    @property
    def checkpoint(self) -> Path | None:
        path = RunFolder(self.path).checkpoint
        return path if path.is_file() else None

    @property
    def progress(self) -> float:
        if self.state == "finished":
            return 1.0
        return min(1.0, self.step / self.total_steps) if self.total_steps else 0.0

    @property
    def active(self) -> bool:
        return self.state in LIVE_STATES

    @property
    def phase_progress(self) -> float:
        return min(1.0, self.phase_done / self.phase_total) if self.phase_total else 0.0

    @property
    def strip(self) -> LiveStrip | None:
        """The run's strip of validation pictures and its predictions so far (from disk)."""
        return LiveStrip.load(self.path)

    @property
    def loss_shares(self) -> dict[str, float] | None:
        return loss_shares(self.last_batch, self.config.train.alpha)


class _Turnstile:
    """First in, first out: one job at a time passes; a stopped job leaves the line."""

    def __init__(self) -> None:
        self._condition = threading.Condition()
        self._line: deque[TrainingJob] = deque()
        self._inside: TrainingJob | None = None

    def enter(self, job: TrainingJob) -> bool:
        """Block until it is `job`'s turn (True) or it was stopped while waiting (False)."""
        with self._condition:
            self._line.append(job)
            while True:
                if job.stop_event.is_set():
                    self._line.remove(job)
                    self._condition.notify_all()
                    return False
                if self._inside is None and self._line[0] is job:
                    self._line.popleft()
                    self._inside = job
                    return True
                self._condition.wait(timeout=0.2)

    def leave(self, job: TrainingJob) -> None:
        with self._condition:
            if self._inside is job:
                self._inside = None
            self._condition.notify_all()

    def position(self, job: TrainingJob) -> int | None:
        """1 for the next job to train, None when not waiting."""
        with self._condition:
            try:
                return self._line.index(job) + 1
            except ValueError:
                return None

    def wake(self) -> None:
        with self._condition:
            self._condition.notify_all()


class TrainingBackend(Protocol):
    """Trains a job somewhere else: fills `job.run`'s folder and reports through `job.report_*`;
    returns when the run has ended (its status.json says how), False when it was cancelled
    before it started, and raises when it cannot run it."""

    def train(self, job: TrainingJob) -> bool: ...


class TrainingJob:
    """One training run on its own thread; `snapshot()` is safe to call from any thread."""

    def __init__(
        self,
        config: RunConfig,
        run_dir: str | Path,
        sweep: str | None = None,
        turnstile: _Turnstile | None = None,
        backend: TrainingBackend | None = None,
    ) -> None:
        self.config = config
        self.run = RunFolder(run_dir)
        self.sweep = sweep
        self.backend = backend
        self.stop_event = threading.Event()
        self.error: BaseException | None = None
        self.traceback: str | None = None
        self.created = time.time()
        self._turnstile = turnstile
        self._lock = threading.Lock()
        self._state = "queued"
        self._message: str = WAITING
        self._history: list[dict[str, Any]] = []
        self._last_batch: dict[str, float] = {}
        self._step = self._total_steps = self._epoch = 0
        self._started: float | None = None  # monotonic, when it left the queue
        self._train_started: float | None = None  # monotonic, the Trainer's own start
        self._ended: float | None = None
        self._best: dict[str, Any] = {}
        self._phase, self._phase_done, self._phase_total = "", 0, 0
        self._phase_started: float | None = None
        self._where = ""  # which machine trains it, when not this process
        self._thread = threading.Thread(target=self._main, name=f"train-{self.name}", daemon=True)
        self.run.write_config(config)
        self.run.write_job(sweep, self.created)
        self.run.write_status("queued", WAITING)

    @property
    def name(self) -> str:
        return self.run.name

    def start(self) -> TrainingJob:
        self._thread.start()
        return self

    def stop(self) -> None:
        """Ask the job to end: a queued job leaves the line, a training one ends after its batch."""
        self.stop_event.set()
        with self._lock:
            if self._state == "running":
                self._message = STOPPING
        if self._turnstile is not None:
            self._turnstile.wake()

    def join(self, timeout: float | None = None) -> bool:
        """Wait for the thread; True when it has ended."""
        self._thread.join(timeout)
        return not self._thread.is_alive()

    @property
    def alive(self) -> bool:
        return self._thread.is_alive()

    @property
    def state(self) -> str:
        with self._lock:
            return self._state

    def _set(self, **values: Any) -> None:
        with self._lock:
            for key, value in values.items():
                setattr(self, f"_{key}", value)

    # --- progress reports: from the Trainer's callbacks or from a backend ----------------------

    def _placed(self, text: str) -> str:
        return Text(N_("on {where}: {text}"), where=self._where, text=text) if self._where else text

    def report_started(self, where: str = "", message: str = PREPARING_DATA) -> None:
        """The run left the queue and trains now (`where`: the machine, if not this process)."""
        with self._lock:
            self._where = where
            self._state, self._started = "running", time.monotonic()
            self._message = self._placed(message)

    def report_message(self, text: str) -> None:
        with self._lock:
            if not self.stop_event.is_set():
                self._message = self._placed(text)

    def report_batch(
        self,
        step: int,
        total_steps: int,
        epoch: int,
        last_batch: dict[str, float],
        train_started: float,
    ) -> None:
        """After each batch; `train_started` is the monotonic time the Trainer started."""
        with self._lock:
            if self._train_started is None:
                self._train_started = train_started
            self._step, self._total_steps, self._epoch = step, total_steps, epoch
            self._last_batch = dict(last_batch)
            self._phase = ""  # start-up is over
            if not self.stop_event.is_set():
                self._message = self._placed(
                    Text(
                        N_("epoch {epoch}, step {step}/{total}"),
                        epoch=epoch,
                        step=step,
                        total=total_steps,
                    )
                )

    def report_eval(self, history: list[dict[str, Any]], best: dict[str, Any]) -> None:
        history = [dict(row) for row in history]
        with self._lock:
            self._history = history
            self._best = dict(best)

    def _on_startup(self, phase: str, done: int, total: int) -> None:
        """Start-up work before the first step, with its own progress (runs.STARTUP_PHASES)."""
        with self._lock:
            if phase != self._phase:
                self._phase, self._phase_started = phase, time.monotonic()
            self._phase_done, self._phase_total = done, total
        self.report_message(Text(N_("{phase} {done}/{total}"), phase=phase, done=done, total=total))

    def _on_batch(self, trainer: Trainer) -> None:
        state = trainer.state
        self.report_batch(
            state.step, state.total_steps, state.epoch, state.last_batch, state.started
        )

    def _on_eval(self, trainer: Trainer) -> None:
        self.report_eval(trainer.state.history, trainer.state.best_metrics)

    # --- the thread -----------------------------------------------------------------------------

    def _main(self) -> None:
        try:
            if self._turnstile is not None and not self._turnstile.enter(self):
                self._end_stopped()
                return
            if self.stop_event.is_set():
                self._end_stopped()
                return
            if self.backend is not None:
                logger.info("job %s: sent to %r", self.name, self.backend)
                if not self.backend.train(self):
                    self._end_stopped()
                    return
            else:
                self.report_started()
                logger.info("job %s: its turn came, training starts", self.name)
                callbacks = {"on_batch_end": [self._on_batch], "on_eval_end": [self._on_eval]}
                train_run(
                    self.config, self.run.path, callbacks, self.stop_event, startup=self._on_startup
                )
            status = self.run.status()  # train_run wrote the final state and why
            self._set(state=status.get("state", "finished"), message=Text.from_json(status))
        except Exception as error:
            self.error = error
            self.traceback = traceback.format_exc()
            reason = failure_reason(error)
            # The thread has no caller to raise to: the server log is where the traceback goes.
            logger.error("job %s failed: %s", self.name, reason, exc_info=error)
            self._set(state="failed", message=reason)
            if self.run.status().get("state") != "failed":  # failed before train_run noted it
                self.run.write_status("failed", reason)
        finally:
            self._set(ended=time.monotonic())
            if self._turnstile is not None:
                self._turnstile.leave(self)

    def _end_stopped(self) -> None:
        """Cancelled while queued: it never started, so its folder goes (no row in run lists)."""
        logger.info("job %s: cancelled before it started", self.name)
        shutil.rmtree(self.run.path, ignore_errors=True)
        self._set(state="stopped", message=CANCELLED)

    def snapshot(self) -> RunSnapshot:
        """A consistent copy of everything a UI needs, taken under the lock."""
        now = time.monotonic()
        with self._lock:
            end = self._ended if self._ended is not None else now
            elapsed = end - self._started if self._started is not None else 0.0
            eta = None
            if self._state == "running" and self._step and self._train_started is not None:
                per_step = (now - self._train_started) / self._step
                eta = max(0.0, per_step * (self._total_steps - self._step))
            phase_eta = None
            if self._phase and self._phase_done and self._phase_started is not None:
                per_item = (now - self._phase_started) / self._phase_done
                phase_eta = max(0.0, per_item * (self._phase_total - self._phase_done))
            best = dict(self._best)
            if not best:
                best = dict(self.run.status().get("best") or {}) if self._ended else {}
            snapshot = RunSnapshot(
                name=self.name,
                path=self.run.path,
                state=self._state,
                message=self._message,
                config=self.config,
                history=list(self._history),
                best=best,
                sweep=self.sweep,
                created=self.created,
                live=True,
                step=self._step,
                total_steps=self._total_steps,
                epoch=self._epoch,
                elapsed=elapsed,
                eta=eta,
                last_batch=dict(self._last_batch),
                error=self._message if self._state == "failed" else None,
                phase=self._phase if self._state == "running" else "",
                phase_done=self._phase_done,
                phase_total=self._phase_total,
                phase_eta=phase_eta,
            )
        if snapshot.state == "queued" and self._turnstile is not None:
            snapshot.queue_position = self._turnstile.position(self)
        return snapshot


def read_run(path: Path) -> RunSnapshot:
    """A run folder as stored on disk; "running"/"queued" become "interrupted" (no live job)."""
    run = RunFolder(path)
    status = run.status()
    history = run.history()
    job_file = run.job()
    state = status.get("state", "interrupted")
    message = Text.from_json(status)
    if state in LIVE_STATES:
        last = message or Text(state)  # the state's own word, translated where shown
        state, message = "interrupted", Text(N_("no live job (last seen: {last})"), last=last)
    try:
        config = run.config()
    except ValueError as error:  # settings this version no longer accepts: list it, say why
        config, state = RunConfig(), "failed"
        message = Text(N_("config.json: {error}"), error=error)
    best = status.get("best") or next((row for row in reversed(history) if row.get("best")), {})
    created = job_file.get("created")
    if created is None:
        created = (path / CONFIG).stat().st_mtime if run.exists else path.stat().st_mtime
    last = history[-1] if history else {}
    return RunSnapshot(
        name=run.name,
        path=path,
        state=state,
        message=message,
        config=config,
        history=history,
        best=dict(best),
        sweep=job_file.get("sweep"),
        created=float(created),
        step=int(last.get("step", 0)),
        epoch=int(last.get("epoch", 0)),
        elapsed=float(last.get("seconds", 0.0)),
        error=message if state == "failed" else None,
    )


class JobRegistry:
    """Every run under `root`: live jobs of this process and the folders of earlier ones."""

    def __init__(
        self, root: str | Path = DEFAULT_RUNS, backend: TrainingBackend | None = None
    ) -> None:
        self.root = Path(root)
        self.backend = backend  # None: train here, one at a time; may be changed between starts
        self._jobs: dict[str, TrainingJob] = {}
        self._lock = threading.Lock()
        self._turnstile = _Turnstile()

    # --- starting and stopping ------------------------------------------------------------------

    def _new_dir(self, config: RunConfig) -> Path:
        base = run_name(config)
        path, n = self.root / base, 2
        while path.exists() or path.name in self._jobs:
            path, n = self.root / f"{base}-{n}", n + 1
        path.mkdir(parents=True)
        return path

    def start(self, config: RunConfig, sweep: str | None = None) -> TrainingJob:
        """Queue a run; it trains as soon as the runs before it have ended."""
        with self._lock:
            backend = self.backend  # a backend schedules its own runs: no turnstile here
            turnstile = self._turnstile if backend is None else None
            job = TrainingJob(config, self._new_dir(config), sweep, turnstile, backend)
            self._jobs[job.name] = job
        logger.info("job %s queued (%s, alpha %g)", job.name, config.model.name, config.train.alpha)
        return job.start()

    def sweep(self, config: RunConfig, alphas: Iterable[float]) -> list[TrainingJob]:
        """One queued run per alpha, otherwise identical settings, sharing a sweep id."""
        alphas = sorted({round(float(a), 4) for a in alphas})
        if not alphas:
            raise ValueError("an alpha sweep needs at least one alpha")
        sweep_id = time.strftime("sweep-%Y%m%d-%H%M%S")
        taken = {s.sweep for s in self.runs()}
        n = 2
        base = sweep_id
        while sweep_id in taken:
            sweep_id, n = f"{base}-{n}", n + 1
        jobs = []
        for alpha in alphas:
            jobs.append(self.start(override(config, {"train.alpha": alpha}), sweep=sweep_id))
        return jobs

    def job(self, name: str) -> TrainingJob | None:
        with self._lock:
            return self._jobs.get(name)

    def stop(self, name: str) -> bool:
        """Stop a live job by run name; False when there is none."""
        job = self.job(name)
        if job is None or not job.alive:
            return False
        job.stop()
        return True

    def stop_all(self) -> None:
        for job in self.live_jobs():
            job.stop()

    def live_jobs(self) -> list[TrainingJob]:
        """Jobs of this process that are queued or training, oldest first."""
        with self._lock:
            jobs = list(self._jobs.values())
        return [job for job in jobs if job.alive]

    @property
    def busy(self) -> bool:
        return bool(self.live_jobs())

    def join(self, timeout: float | None = None) -> bool:
        """Wait for every live job; True when all have ended."""
        deadline = None if timeout is None else time.monotonic() + timeout
        for job in self.live_jobs():
            left = None if deadline is None else max(0.0, deadline - time.monotonic())
            if not job.join(left):
                return False
        return True

    # --- reading --------------------------------------------------------------------------------

    def _run_path(self, name: str) -> Path:
        if not _SAFE_NAME.match(name):
            raise ValueError(f"{name!r} is not a run name")
        return self.root / name

    def snapshot(self, name: str) -> RunSnapshot | None:
        job = self.job(name)
        if job is not None:
            return job.snapshot()
        path = self._run_path(name)
        return read_run(path) if RunFolder(path).exists else None

    def runs(self) -> list[RunSnapshot]:
        """Every run folder under root (newest first), live jobs with their live snapshot."""
        found: dict[str, RunSnapshot] = {}
        if self.root.is_dir():
            for path in self.root.iterdir():
                if RunFolder(path).exists:
                    found[path.name] = read_run(path)
        with self._lock:
            jobs = dict(self._jobs)
        for name, job in jobs.items():
            if job.run.path.is_dir():
                found[name] = job.snapshot()
        return sorted(found.values(), key=lambda s: (s.created, s.name), reverse=True)

    def sweeps(self) -> dict[str, list[RunSnapshot]]:
        """Sweep id -> its runs, newest sweep first, runs ordered by alpha."""
        groups: dict[str, list[RunSnapshot]] = {}
        for snapshot in self.runs():
            if snapshot.sweep:
                groups.setdefault(snapshot.sweep, []).append(snapshot)
        for runs in groups.values():
            runs.sort(key=lambda s: s.config.train.alpha)
        return groups

    def delete(self, name: str) -> None:
        """Remove a run folder that is not training; clears it as active model if it was."""
        job = self.job(name)
        if job is not None and job.alive:
            raise ValueError(f"run {name} is still {job.state}: stop it first")
        path = self._run_path(name)
        if not RunFolder(path).exists:
            raise ValueError(f"no run named {name}")
        active = self.active_checkpoint()
        if active is not None and active.parent == path:
            self.set_active(None)
        shutil.rmtree(path)
        with self._lock:
            self._jobs.pop(name, None)

    # --- the active model (shared by every session, kept across restarts) ----------------------

    def set_active(self, checkpoint: str | Path | None) -> None:
        """Make a checkpoint the model Predict and Webcam use; None goes back to the default."""
        path = self.root / ACTIVE_FILE
        if checkpoint is None:
            path.unlink(missing_ok=True)
            return
        checkpoint = Path(checkpoint).resolve()
        if not checkpoint.is_file():
            raise ValueError(f"{checkpoint}: no such checkpoint")
        self.root.mkdir(parents=True, exist_ok=True)
        atomic_write_json(path, {"checkpoint": str(checkpoint), "set": time.time()})

    def active_checkpoint(self) -> Path | None:
        """The checkpoint chosen with set_active, while it still exists."""
        raw = read_json(self.root / ACTIVE_FILE, {})
        path = Path(raw["checkpoint"]) if raw.get("checkpoint") else None
        return path if path is not None and path.is_file() else None
