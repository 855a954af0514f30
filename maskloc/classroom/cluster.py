"""Training runs on a Dask cluster: each run is one Dask task that carries its dataset as a zip.

No shared filesystem is assumed. The app packs the dataset (train.csv + images/) into a zip that
travels with the task; the worker unpacks it once per content hash, trains with `train_run` in a
temporary folder and reports through Dask's own messaging: a `distributed.Queue` per run carries
progress, evaluations and each new best checkpoint back, a `distributed.Event` per run carries Stop
to the worker. The app writes what arrives into the run folder (atomically), so the Train page
shows a cluster run like a local one. A worker that dies marks its run failed with the reason;
the other runs go on. Runs ask for one unit of the `GPU` worker resource when some worker
declares it (`dask worker ... --resources GPU=1`): one run per GPU.

`distributed` is optional (requirements-cluster.txt): this module imports it only when a
cluster is used, so the app and the CLI work without it.
"""

from __future__ import annotations

import asyncio
import hashlib
import io
import json
import logging
import os
import shutil
import tempfile
import threading
import time
import uuid
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..config.presets import override
from ..config.sections import RunConfig
from ..data.layout import IMAGES_DIR, TRAIN_CSV, dataset_signature
from ..data.table import DataError
from ..data.uploads import MAX_ENTRIES, MAX_UNPACKED_BYTES, unpack_dataset_zip
from ..training.run_folder import CHECKPOINT, CONFIG, STATUS, RunFolder
from ..utils.messages import N_, ExplainedError, Text

if TYPE_CHECKING:
    from distributed import Client

    from .jobs import TrainingJob

logger = logging.getLogger(__name__)

GPU_RESOURCE = "GPU"
INSTALL_HINT = "install the cluster extra: pip install -r requirements-cluster.txt"
POLL_SECONDS = 0.2  # how often the app reads a run's progress queue
WORKER_CHECK_SECONDS = 1.0  # how often the app checks that the training worker still exists
REPORT_SECONDS = 0.25  # a worker sends at most this many batch reports per second (inverse)
STOP_CHECK_SECONDS = 0.5  # a worker asks the scheduler for Stop at most this often
RETRY_SECONDS = 15.0  # after a failed connection, fail fast (pages render) for this long


class ClusterError(ExplainedError, OSError):
    """The cluster cannot be used (not installed, unreachable, no maskloc on workers); says why."""


# --- the dataset travels as a zip ----------------------------------------------------------------


def pack_dataset(root: str | Path) -> bytes:
    """train.csv and every regular file under images/ as a zip (stored: JPEGs do not shrink).

    Refuses what the worker would refuse to unpack (size, entry count), naming the folder.
    """
    root = Path(root)
    if not (root / TRAIN_CSV).is_file():
        raise DataError(N_("{folder}: no train.csv to send to the cluster"), folder=root)
    if not (root / IMAGES_DIR).is_dir():
        raise DataError(N_("{folder}: no images/ folder to send to the cluster"), folder=root)
    files = [root / TRAIN_CSV]
    for folder, _, names in os.walk(root / IMAGES_DIR):  # does not follow links
        files.extend(Path(folder) / name for name in sorted(names))
    files = [path for path in files if path.is_file() and not path.is_symlink()]
    if len(files) > MAX_ENTRIES:
        raise DataError(
            N_("{folder}: more than {limit} files, too many to send"),
            folder=root,
            limit=f"{MAX_ENTRIES:,}",
        )
    size = sum(path.stat().st_size for path in files)
    if size > MAX_UNPACKED_BYTES:
        raise DataError(
            N_("{folder}: {size} MB is more than the {limit} MB a cluster run may carry"),
            folder=root,
            size=f"{size / 2**20:.0f}",
            limit=MAX_UNPACKED_BYTES // 2**20,
        )
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_STORED) as archive:
        for path in files:
            archive.write(path, path.relative_to(root).as_posix())
    return buffer.getvalue()


_unpack_lock = threading.Lock()


def unpacked_dataset(data: bytes, digest: str, into: Path) -> Path:
    """The dataset root of a packed dataset, unpacked once per content hash on this machine
    (later runs reuse the folder and, in the same worker, its decoded images)."""
    target = into / digest
    with _unpack_lock:
        if not (target / TRAIN_CSV).is_file():
            if hashlib.sha256(data).hexdigest() != digest:
                raise DataError(N_("the dataset zip arrived damaged (hash mismatch)"))
            fresh = unpack_dataset_zip(data, into, f"dataset {digest[:12]}")
            shutil.rmtree(target, ignore_errors=True)
            fresh.rename(target)
            if fresh.parent != into:  # unpack_dataset_zip made a temp folder around it
                shutil.rmtree(fresh.parent, ignore_errors=True)
    return target


# --- the worker side: one task per run -----------------------------------------------------------


@dataclass(frozen=True)
class Channels:
    """Names of one run's Dask queue (worker -> app) and stop event (app -> worker)."""

    progress: str
    stop: str

    @classmethod
    def fresh(cls, run_name: str) -> Channels:
        tag = f"maskloc-{run_name}-{uuid.uuid4().hex[:8]}"
        return cls(f"{tag}-progress", f"{tag}-stop")


def _torch_threads(requested: int) -> int:
    """`requested`, or this machine's cores shared by the worker threads on it (Dask's nanny
    sets OMP_NUM_THREADS=1 by default, which would leave a lone GPU-box worker one core)."""
    if requested:
        return requested
    try:
        from distributed import get_client, get_worker

        host = get_worker().address.rsplit(":", 1)[0]
        workers = get_client().scheduler_info()["workers"]
        threads = sum(w["nthreads"] for a, w in workers.items() if a.rsplit(":", 1)[0] == host)
    except Exception:  # not in a worker, or the scheduler is busy: be modest
        threads = 1
    return max(1, (os.cpu_count() or 1) // max(1, threads))


def _throttled(seconds: float) -> Callable[[], bool]:
    """A clock that says True at most once per `seconds`."""
    last = [0.0]

    def due() -> bool:
        now = time.monotonic()
        if now - last[0] >= seconds:
            last[0] = now
            return True
        return False

    return due


def train_on_worker(
    config: dict[str, Any], dataset: bytes, digest: str, channels: Channels
) -> dict[str, Any]:
    """Runs inside a Dask worker: unpack the dataset, train, report, return the run's files.

    Never raises for a training failure: the reason comes back in "error" with the files so far.
    """
    import torch
    from distributed import Event, Queue, get_worker

    from ..training.run import train_run
    from ..training.run_folder import failure_reason
    from ..training.trainer import Trainer

    stop_remote, progress = Event(channels.stop), Queue(channels.progress)
    if stop_remote.is_set():  # stopped while queued, or a retry after its worker died
        return {"files": {}, "error": None, "stopped_before_start": True}
    worker = get_worker()
    key = worker.get_current_task()
    progress.put({"kind": "started", "worker": worker.address, "name": str(worker.name)})
    stop_local = threading.Event()
    stop_due, report_due = _throttled(STOP_CHECK_SECONDS), _throttled(REPORT_SECONDS)
    scratch = Path(tempfile.mkdtemp(prefix="maskloc-run-"))
    run = RunFolder(scratch / "run")
    error = None

    def abandoned() -> bool:
        """The scheduler let the task go (its app went away or cancelled it): stop training."""
        task = worker.state.tasks.get(key)
        return task is None or task.state == "cancelled"

    def check_stop() -> None:
        if not stop_local.is_set() and stop_due() and (abandoned() or stop_remote.is_set()):
            stop_local.set()

    def on_progress(done: int, total: int) -> None:
        if report_due() or done >= total:
            text = Text(N_("preparing images {done}/{total}"), done=done, total=total)
            progress.put({"kind": "message", "text": text.to_json()})

    def on_batch(trainer: Trainer) -> None:
        check_stop()
        state = trainer.state
        if report_due() or state.step >= state.total_steps:
            progress.put(
                {
                    "kind": "batch",
                    "step": state.step,
                    "total_steps": state.total_steps,
                    "epoch": state.epoch,
                    "last_batch": dict(state.last_batch),
                    "elapsed": state.elapsed,
                }
            )

    def on_eval(trainer: Trainer) -> None:
        history = trainer.state.history
        message: dict[str, Any] = {"kind": "eval", "history": json.dumps(history, default=str)}
        if history[-1].get("best") and run.checkpoint.is_file():
            message["checkpoint"] = run.checkpoint.read_bytes()  # saved just now
        progress.put(message)

    try:
        here = unpacked_dataset(dataset, digest, Path(tempfile.gettempdir()) / "maskloc-datasets")
        threads = _torch_threads(int(config["train"].get("num_threads") or 0))
        run_config = override(
            RunConfig.from_dict(config), {"data.root": str(here), "train.num_threads": threads}
        )
        torch.set_num_threads(threads)  # the worker's process: one run per worker thread
        callbacks = {"on_batch_end": [on_batch], "on_eval_end": [on_eval]}
        train_run(run_config, run.path, callbacks, stop_local, None, on_progress)
    except Exception as failure:
        logger.exception("cluster run %s failed", channels.progress)
        error = failure_reason(failure)
    try:
        files = run.results()
        reason = error.to_json() if isinstance(error, Text) else error  # plain data to send
        return {"files": files, "error": reason, "stopped_before_start": False}
    finally:
        progress.close()
        shutil.rmtree(scratch, ignore_errors=True)


def worker_facts() -> dict[str, Any]:
    """What a worker has: maskloc's and torch's versions, the GPU it sees (run on each worker)."""
    import torch

    return {
        "torch": torch.__version__,
        "gpu": torch.cuda.get_device_name(0) if torch.cuda.is_available() else None,
        "cores": os.cpu_count(),
    }


# --- the app side ------------------------------------------------------------------------------


@dataclass(frozen=True)
class WorkerInfo:
    address: str
    name: str
    threads: int
    resources: dict[str, float]


class ClusterBackend:
    """A `TrainingBackend` that sends each run to the Dask scheduler at `address`.

    Connects on first use (so a missing scheduler fails the run with the reason, not the app)
    and keeps one client for every run of this process.
    """

    def __init__(self, address: str, connect_timeout: float = 10.0) -> None:
        self.address = address.strip()
        if not self.address:
            raise ClusterError(N_("no scheduler address given"))
        self.connect_timeout = connect_timeout
        self._client: Client | None = None
        self._refused: tuple[float, ClusterError] | None = None  # last failed connection
        self._lock = threading.Lock()
        self._packed: dict[tuple, tuple[bytes, str]] = {}

    def __repr__(self) -> str:
        return f"ClusterBackend({self.address!r})"

    # --- connection --------------------------------------------------------------------------

    def client(self) -> Client:
        """The Dask client, connecting on first use; ClusterError says why it cannot."""
        with self._lock:
            if self._client is not None and self._client.status == "running":
                return self._client
            if self._refused and time.monotonic() - self._refused[0] < RETRY_SECONDS:
                raise self._refused[1]
            try:
                from distributed import Client
            except ImportError as error:
                raise ClusterError(
                    N_("Dask distributed is not installed: {hint}"), hint=INSTALL_HINT
                ) from error
            try:
                self._client = Client(
                    self.address, timeout=self.connect_timeout, set_as_default=False
                )
            except (OSError, TimeoutError, ValueError) as error:
                refusal = ClusterError(
                    N_("cannot reach the Dask scheduler at {address}: {error}"),
                    address=self.address,
                    error=error,
                )
                self._refused = (time.monotonic(), refusal)
                raise refusal from error
            self._refused = None
            logger.info("connected to the Dask scheduler at %s", self.address)
            return self._client

    def close(self) -> None:
        with self._lock:
            if self._client is not None:
                self._client.close()
                self._client = None

    def workers(self) -> list[WorkerInfo]:
        """The workers the scheduler knows now."""
        info = self.client().scheduler_info()["workers"]
        return [
            WorkerInfo(
                address,
                str(worker.get("name", address)),
                int(worker.get("nthreads", 1)),
                dict(worker.get("resources") or {}),
            )
            for address, worker in sorted(info.items())
        ]

    def check_workers(self) -> dict[str, dict[str, Any]]:
        """worker address -> facts; ClusterError naming a worker that cannot run maskloc."""
        client = self.client()
        try:
            facts = client.run(worker_facts, on_error="return")
        except Exception as error:  # the function itself could not be sent
            raise ClusterError(
                N_("cannot run maskloc on the workers: {error}"), error=error
            ) from error
        for address, answer in sorted(facts.items()):
            if isinstance(answer, BaseException):
                raise ClusterError(
                    N_(
                        "worker {address} cannot run maskloc ({answer}): start each worker from "
                        "a maskloc checkout with PYTHONPATH set to it and the same requirements"
                    ),
                    address=address,
                    answer=answer,
                )
        return facts

    def resources(self) -> dict[str, float] | None:
        """One GPU per run when some worker declares GPUs; otherwise one worker thread per run."""
        if any(GPU_RESOURCE in worker.resources for worker in self.workers()):
            return {GPU_RESOURCE: 1}
        return None

    def describe(self) -> str:
        """One line for a UI: where runs go and what is there."""
        workers = self.workers()
        gpus = sum(w.resources.get(GPU_RESOURCE, 0) for w in workers)
        if gpus:
            return Text(
                N_(
                    "Dask cluster at {address}: {workers} worker(s), {gpus} GPU(s); runs train in "
                    "parallel, one per GPU"
                ),
                address=self.address,
                workers=len(workers),
                gpus=f"{gpus:g}",
            )
        return Text(
            N_(
                "Dask cluster at {address}: {workers} worker(s), {threads} thread(s); runs train "
                "in parallel, one per worker thread"
            ),
            address=self.address,
            workers=len(workers),
            threads=sum(w.threads for w in workers),
        )

    # --- one run ------------------------------------------------------------------------------

    def _dataset(self, root: str) -> tuple[bytes, str]:
        """The packed dataset and its hash, packed once per folder version (a sweep packs once)."""
        path = Path(root)
        key = (str(path.resolve()), dataset_signature(path))
        with self._lock:
            if key not in self._packed:
                data = pack_dataset(path)
                self._packed = {key: (data, hashlib.sha256(data).hexdigest())}  # keep one
            return self._packed[key]

    def train(self, job: TrainingJob) -> bool:
        """Submit `job` to the cluster and mirror its progress until it ends; False when it was
        cancelled before a worker started it."""
        from distributed import Event, Queue

        client = self.client()
        dataset, digest = self._dataset(job.config.data.root)
        channels = Channels.fresh(job.name)
        stop_remote = Event(channels.stop, client=client)
        progress = Queue(channels.progress, client=client)
        future = client.submit(
            train_on_worker,
            job.config.to_dict(),
            dataset,
            digest,
            channels,
            key=f"maskloc-train-{job.name}-{uuid.uuid4().hex[:8]}",
            resources=self.resources(),
            pure=False,
        )
        job.report_message(Text(N_("waiting for a free worker on the Dask cluster")))
        job.run.write_status(
            "queued", Text(N_("waiting for a free worker at {address}"), address=self.address)
        )
        try:
            return _Mirror(job, client, future, progress, stop_remote).follow()
        except (Exception, asyncio.CancelledError) as error:
            if isinstance(error, ClusterError) or client.status == "running":
                raise
            raise ClusterError(  # the app closed its client, or the scheduler went away
                N_("lost the connection to the Dask scheduler at {address}: {error}"),
                address=self.address,
                error=f"{type(error).__name__} {error}".strip(),
            ) from error
        finally:
            if client.status == "running":
                progress.close()  # a set stop event stays: a late retry of the task sees it


def _said(sent: str | dict[str, Any]) -> str:
    """A worker's sentence as it came (a Text sent as plain data, or plain English) back."""
    return Text.from_json(sent) if isinstance(sent, dict) else sent


class _Mirror:
    """The app's half of one cluster run: progress into the job, files into the run folder,
    Stop out to the worker, and a watch on the worker that trains it."""

    def __init__(self, job: TrainingJob, client: Client, future, progress, stop_remote) -> None:
        self.job, self.client, self.future = job, client, future
        self.progress, self.stop_remote = progress, stop_remote
        self.worker: str | None = None
        self.stop_sent = False
        self.history: list[dict[str, Any]] = []

    def follow(self) -> bool:
        """Until the run ends; False when it was cancelled before it started."""
        check_worker = _throttled(WORKER_CHECK_SECONDS)
        while not self.future.done():
            self._read_messages()
            if self.job.stop_event.is_set() and not self.stop_sent:
                self.stop_remote.set()
                self.stop_sent = True
                if self.worker is None:  # not started: it leaves the line now
                    self.future.cancel()
                    return False
            if self.worker is not None and check_worker() and self._worker_lost():
                return True
            time.sleep(POLL_SECONDS)
        self._read_messages()
        return self._finish()

    def _read_messages(self) -> None:
        for message in self.progress.get(batch=True):
            self._apply(message)

    def _apply(self, message: dict[str, Any]) -> None:
        job, kind = self.job, message.get("kind")
        if kind == "started":
            self.worker = message["worker"]
            name = message.get("name") or self.worker
            where = self.worker if name == self.worker else f"{name} ({self.worker})"
            job.report_started(where)
            job.run.write_status("running", Text(N_("training on worker {where}"), where=where))
        elif kind == "message":
            job.report_message(_said(message["text"]))
        elif kind == "batch":
            started = time.monotonic() - float(message["elapsed"])
            job.report_batch(
                message["step"],
                message["total_steps"],
                message["epoch"],
                message["last_batch"],
                started,
            )
        elif kind == "eval":
            self.history = json.loads(message["history"])
            if "checkpoint" in message:
                job.run.write_result(CHECKPOINT, message["checkpoint"])
            job.run.write_history(self.history)
            best = next((row for row in reversed(self.history) if row.get("best")), {})
            job.report_eval(self.history, best)

    def _worker_lost(self) -> bool:
        """True (and the run marked failed, the task told to stop) when its worker is gone."""
        try:
            alive = self.worker in self.client.nthreads()
        except Exception as error:  # the scheduler itself is unreachable
            return self._fail(Text(N_("lost the Dask scheduler: {error}"), error=error))
        if alive or self.future.done():
            return False
        return self._fail(
            Text(
                N_(
                    "worker {worker} died or lost contact (at step {step}); the history and best "
                    "checkpoint up to then are kept"
                ),
                worker=self.worker,
                step=self.job.snapshot().step,
            )
        )

    def _fail(self, reason: str) -> bool:
        logger.warning("cluster run %s failed: %s", self.job.name, reason)
        try:
            self.stop_remote.set()  # a retry elsewhere ends at its first check
            self.future.cancel()
        except Exception:
            logger.debug("could not cancel %s", self.future.key, exc_info=True)
        self.job.run.write_status("failed", reason)
        return True

    def _finish(self) -> bool:
        if self.future.cancelled():
            return self._fail(Text(N_("the Dask scheduler cancelled the run")))
        error = self.future.exception()
        if error is not None:
            from ..training.run_folder import failure_reason

            return self._fail(Text(N_("on the cluster: {reason}"), reason=failure_reason(error)))
        result = self.future.result()
        if result.get("stopped_before_start"):
            return False
        files: dict[str, bytes] = result["files"]
        run = self.job.run
        for name, data in files.items():  # in RESULTS order
            if name == CONFIG:  # the worker's copy names its own folder and threads
                mine = self.job.config
                remote = RunConfig.from_dict(json.loads(data))
                here = {"data.root": mine.data.root, "train.num_threads": mine.train.num_threads}
                run.write_config(override(remote, here))
            else:
                run.write_result(name, data)
        if result.get("error"):
            if run.status().get("state") != "failed":
                run.write_status("failed", _said(result["error"]))
        elif STATUS not in files:
            run.write_status("failed", Text(N_("the worker sent no status")))
        history = run.history()
        best = next((row for row in reversed(history) if row.get("best")), {})
        self.job.report_eval(history, best)
        return True
