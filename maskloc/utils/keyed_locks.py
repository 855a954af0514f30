"""One lock per key: the first caller computes an answer, the others with the same key wait for
it instead of computing it again (thirty students asking at once cost one computation)."""

from __future__ import annotations

import threading
from collections.abc import Hashable


class KeyedLocks:
    def __init__(self) -> None:
        self._guard = threading.Lock()
        self._locks: dict[Hashable, threading.Lock] = {}

    def __call__(self, key: Hashable) -> threading.Lock:
        with self._guard:
            return self._locks.setdefault(key, threading.Lock())
