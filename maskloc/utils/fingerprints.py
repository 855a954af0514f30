"""Content fingerprints: what a file or a set of files *holds*, not where it lies.

Answers shared between users are keyed by these, so two copies of one model (or one dataset)
share answers, and a changed file never gets an old answer. Hashing is memoised on the files'
(size, mtime) so a page rerun costs a few stat calls, not a re-read.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Sequence
from pathlib import Path

_CHUNK = 1 << 20
_memo: dict[tuple, str] = {}
_memo_lock = threading.Lock()


def _memoised(key: tuple, compute) -> str:
    with _memo_lock:
        if key in _memo:
            return _memo[key]
    value = compute()
    with _memo_lock:
        if len(_memo) > 256:
            _memo.clear()
        _memo[key] = value
    return value


def _file_digest(path: Path, digest: hashlib._Hash | None = None) -> hashlib._Hash:
    digest = digest or hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(_CHUNK):
            digest.update(chunk)
    return digest


def file_digest(path: str | Path) -> str:
    """sha256 of a file's bytes (hex), e.g. a checkpoint's."""
    path = Path(path)
    stat = path.stat()
    key = ("file", str(path.resolve()), stat.st_size, stat.st_mtime_ns)
    return _memoised(key, lambda: _file_digest(path).hexdigest())


def files_digest(root: str | Path, files: Sequence[Path]) -> str:
    """sha256 over `files` under `root` (their names relative to it, and their bytes)."""
    root = Path(root)
    stats = tuple((str(p.relative_to(root)), *_size_mtime(p)) for p in files)
    key = ("files", str(root.resolve()), stats)

    def compute() -> str:
        digest = hashlib.sha256()
        for path in files:
            digest.update(str(path.relative_to(root)).encode() + b"\0")
            _file_digest(path, digest)
            digest.update(b"\0")
        return digest.hexdigest()

    return _memoised(key, compute)


def _size_mtime(path: Path) -> tuple[int, int]:
    stat = path.stat()
    return stat.st_size, stat.st_mtime_ns
