"""Answers shared between users: split evaluations and whole-table predictions, kept per
(checkpoint content, dataset content, split, TTA) in memory and on disk.

Thirty students scoring the bundled model on the same split cost one evaluation: the first one
computes it, those who ask meanwhile wait for that answer (one lock per key), the rest read it
from memory, and after a server restart from disk. Any change to the checkpoint's or the
dataset's bytes gives another key, so an old answer is never served for new files. A disk entry
that cannot be read, or that was written for another key, is ignored and recomputed.
"""

from __future__ import annotations

import hashlib
import io
import json
import logging
import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from ..data.layout import dataset_digest
from ..inference.evaluate import evaluate, predict_submission
from ..inference.predictor import Predictor
from ..utils.atomic import atomic_write_bytes
from ..utils.fingerprints import file_digest
from ..utils.keyed_locks import KeyedLocks
from ..utils.progress import Progress

log = logging.getLogger(__name__)

FORMAT = "maskloc-answer/1"


@dataclass(frozen=True)
class AnswerKey:
    """What an answer depends on; `kind` is "evaluate" or "submission"."""

    kind: str
    checkpoint_sha256: str
    dataset_sha256: str
    split: str = ""
    flip_tta: bool = False

    @property
    def file_name(self) -> str:
        text = json.dumps(asdict(self), sort_keys=True)
        return f"{self.kind}-{hashlib.sha256(text.encode()).hexdigest()[:32]}.json"


@dataclass
class CacheStats:
    memory_hits: int = 0
    disk_hits: int = 0
    computed: int = 0
    ignored_files: int = 0


def _encode(key: AnswerKey, metrics: dict[str, Any], frame: pd.DataFrame) -> bytes:
    return json.dumps(
        {
            "format": FORMAT,
            "key": asdict(key),
            "metrics": metrics,
            "frame": json.loads(frame.to_json(orient="table", index=False, double_precision=15)),
            "dtypes": {str(column): str(dtype) for column, dtype in frame.dtypes.items()},
        }
    ).encode()


def _decode(key: AnswerKey, data: bytes) -> tuple[dict[str, Any], pd.DataFrame]:
    payload = json.loads(data)
    if payload.get("format") != FORMAT or payload.get("key") != asdict(key):
        raise ValueError("written for another key or format")
    frame = pd.read_json(io.StringIO(json.dumps(payload["frame"])), orient="table")
    frame = frame.astype(payload["dtypes"])  # JSON keeps values, not widths (float32 stays 32)
    return dict(payload["metrics"]), frame.reset_index(drop=True)


class AnswerCache:
    """Evaluations and submissions by content key; thread-safe, one computation per key."""

    def __init__(self, folder: str | Path, memory_entries: int = 32, disk_entries: int = 256):
        self.folder = Path(folder)
        self.memory_entries = memory_entries
        self.disk_entries = disk_entries
        self.stats = CacheStats()
        self._memory: OrderedDict[AnswerKey, tuple[dict[str, Any], pd.DataFrame]] = OrderedDict()
        self._guard = threading.Lock()
        self._locks = KeyedLocks()

    # --- the two kinds of answer ----------------------------------------------------------------

    def evaluate(
        self,
        checkpoint: str | Path,
        data_root: str | Path,
        split: str,
        flip_tta: bool,
        load: Callable[[], Predictor],
        progress: Progress | None = None,
    ) -> tuple[dict[str, Any], pd.DataFrame]:
        """`inference.evaluate.evaluate` of the checkpoint on a split, computed at most once."""
        key = AnswerKey(
            "evaluate", file_digest(checkpoint), dataset_digest(data_root), split, flip_tta
        )
        return self._answer(key, lambda: evaluate(load(), data_root, split, flip_tta, progress))

    def submission(
        self,
        checkpoint: str | Path,
        data_root: str | Path,
        load: Callable[[], Predictor],
        progress: Progress | None = None,
    ) -> pd.DataFrame:
        """`inference.evaluate.predict_submission` (all rows of test.csv), computed at most once."""
        key = AnswerKey("submission", file_digest(checkpoint), dataset_digest(data_root))
        _, frame = self._answer(key, lambda: ({}, predict_submission(load(), data_root, progress)))
        return frame

    # --- memory, then disk, then compute --------------------------------------------------------

    def _answer(
        self, key: AnswerKey, compute: Callable[[], tuple[dict[str, Any], pd.DataFrame]]
    ) -> tuple[dict[str, Any], pd.DataFrame]:
        with self._locks(key):
            found = self._from_memory(key)
            if found is not None:
                return found
            found = self._from_disk(key)
            if found is None:
                metrics, frame = compute()
                found = (dict(metrics), frame.reset_index(drop=True))
                self._to_disk(key, *found)
                with self._guard:
                    self.stats.computed += 1
            self._remember(key, found)
            return self._copy(found)

    @staticmethod
    def _copy(
        answer: tuple[dict[str, Any], pd.DataFrame],
    ) -> tuple[dict[str, Any], pd.DataFrame]:
        """Callers may change what they get; the cached answer stays as it was."""
        return json.loads(json.dumps(answer[0])), answer[1].copy()

    def _from_memory(self, key: AnswerKey) -> tuple[dict[str, Any], pd.DataFrame] | None:
        with self._guard:
            found = self._memory.get(key)
            if found is None:
                return None
            self._memory.move_to_end(key)
            self.stats.memory_hits += 1
        return self._copy(found)

    def _remember(self, key: AnswerKey, answer: tuple[dict[str, Any], pd.DataFrame]) -> None:
        with self._guard:
            self._memory[key] = answer
            self._memory.move_to_end(key)
            while len(self._memory) > self.memory_entries:
                self._memory.popitem(last=False)

    def _from_disk(self, key: AnswerKey) -> tuple[dict[str, Any], pd.DataFrame] | None:
        path = self.folder / key.file_name
        try:
            data = path.read_bytes()
        except FileNotFoundError:
            return None
        except OSError as error:
            log.warning("answer cache: cannot read %s (%s); recomputing", path, error)
            return None
        try:
            answer = _decode(key, data)
        except (ValueError, KeyError, TypeError) as error:
            log.warning("answer cache: ignoring %s (%s); recomputing", path, error)
            with self._guard:
                self.stats.ignored_files += 1
            return None
        with self._guard:
            self.stats.disk_hits += 1
        return answer

    def _to_disk(self, key: AnswerKey, metrics: dict[str, Any], frame: pd.DataFrame) -> None:
        try:
            atomic_write_bytes(self.folder / key.file_name, _encode(key, metrics, frame))
            self._prune()
        except OSError as error:  # a full or read-only disk costs speed, not the answer
            log.warning("answer cache: cannot write to %s (%s)", self.folder, error)

    def _prune(self) -> None:
        files = sorted(self.folder.glob("*.json"), key=lambda p: p.stat().st_mtime)
        for path in files[: max(0, len(files) - self.disk_entries)]:
            path.unlink(missing_ok=True)
