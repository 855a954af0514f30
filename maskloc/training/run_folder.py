"""A run folder, the one home of its files: their names, how each is read and written (every
write atomic, so a crash or a restart loses nothing already reported), the states a run can be in
and the words its status says. Training, background jobs, the Dask cluster and access rules all
read and write runs through `RunFolder`.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import torch

from ..config.sections import RunConfig
from ..config.settings import SettingError
from ..data.images import ImageError
from ..data.table import DataError
from ..models.weights import WeightsUnavailable
from ..utils.atomic import atomic_write_bytes, atomic_write_json, read_json
from ..utils.messages import N_, Text, as_text

# Marked for the app's catalogue: pages show a state with t(state); status.json keeps English.
STATUSES = (
    N_("queued"), N_("running"), N_("finished"), N_("stopped"), N_("failed"), N_("interrupted")
)  # fmt: skip


# The files of a run folder.
CONFIG, HISTORY, STATUS, CHECKPOINT = "config.json", "history.json", "status.json", "best.pt"
JOB, OWNER = "job.json", "owner.json"  # the sweep it belongs to and when; who started it
STRIP_JSON, STRIP_PNG = "strip.json", "strip.png"  # the live strip's answers and its pictures
# What training leaves, in the order a copy writes them: a status never names a missing file.
RESULTS = (CHECKPOINT, HISTORY, CONFIG, STATUS)

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
    def exists(self) -> bool:
        """A run folder is one that holds its settings."""
        return (self.path / CONFIG).is_file()

    @property
    def checkpoint(self) -> Path:
        return self.path / CHECKPOINT

    def config(self) -> RunConfig:
        """The run's settings; SettingError if config.json holds values no longer allowed."""
        return RunConfig.from_dict(read_json(self.path / CONFIG, {}))

    def history(self) -> list[dict[str, Any]]:
        return read_json(self.path / HISTORY, [])

    def status(self) -> dict[str, Any]:
        return read_json(self.path / STATUS, {"state": "interrupted", **NO_STATUS_FILE.to_json()})

    def message(self) -> str:
        """The status's message: a Text (shown in the app's language) when it was written with
        its template, the plain English of an older run otherwise."""
        return Text.from_json(self.status())

    def job(self) -> dict[str, Any]:
        """The job's own facts: the sweep it belongs to and when it was created ({} if none)."""
        return read_json(self.path / JOB, {})

    def owner(self) -> str | None:
        """Who started the run (an access `Actor` id), None when nobody claimed it."""
        owner = read_json(self.path / OWNER, {}).get("owner")
        return owner if isinstance(owner, str) else None

    def results(self) -> dict[str, bytes]:
        """The RESULTS files that exist, as bytes (what a cluster worker sends back)."""
        found = [name for name in RESULTS if (self.path / name).is_file()]
        return {name: (self.path / name).read_bytes() for name in found}

    def write_config(self, config: RunConfig) -> None:
        self.path.mkdir(parents=True, exist_ok=True)
        atomic_write_json(self.path / CONFIG, config.to_dict())

    def write_history(self, history: list[dict[str, Any]]) -> None:
        atomic_write_json(self.path / HISTORY, history)

    def write_status(self, state: str, message: str = "", **extra: Any) -> None:
        """`message` in English for the CLI and older readers; a Text keeps its template and
        fields beside it, so the app can show it in its own language."""
        if state not in STATUSES:
            raise ValueError(f"unknown run state {state!r}")
        said = message.to_json() if isinstance(message, Text) else {"message": message}
        payload = {"state": state, **said, "updated": time.time(), **extra}
        atomic_write_json(self.path / STATUS, payload)

    def write_job(self, sweep: str | None, created: float) -> None:
        atomic_write_json(self.path / JOB, {"sweep": sweep, "created": created})

    def write_owner(self, owner: str) -> None:
        atomic_write_json(self.path / OWNER, {"owner": owner, "since": time.time()})

    def write_result(self, name: str, data: bytes) -> None:
        """One of the RESULTS files, as bytes that came from elsewhere (a cluster worker)."""
        if name not in RESULTS:
            raise ValueError(f"{name!r} is not a run result; one of {RESULTS}")
        atomic_write_bytes(self.path / name, data)


def failure_reason(error: BaseException) -> str:
    """One line a user can act on (a Text where the app can say it in its own language)."""
    if isinstance(error, torch.cuda.OutOfMemoryError | MemoryError):
        return OUT_OF_MEMORY
    if isinstance(error, SettingError):
        return error.for_page()  # English: the settings it names are not kept in status.json
    if isinstance(error, DataError | ImageError | WeightsUnavailable) and str(error):
        return as_text(error)  # already in the user's words: no Python class name in front
    return f"{type(error).__name__}: {error}" if str(error) else type(error).__name__
