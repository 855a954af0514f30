"""Pictures decoded and resized once, kept in memory, so an epoch never re-reads a JPEG."""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import cv2
import numpy as np

from ..utils.progress import Progress
from .images import read_rgb


def resize_square(image: np.ndarray, size: int) -> np.ndarray:
    """Stretch to size x size; normalised boxes stay valid because both axes scale independently."""
    shrinking = image.shape[0] > size or image.shape[1] > size
    interpolation = cv2.INTER_AREA if shrinking else cv2.INTER_LINEAR
    return cv2.resize(image, (size, size), interpolation=interpolation)


class ImageCache:
    """Decoded, resized uint8 images kept in memory so an epoch never re-reads a JPEG.

    Keyed by (path, modification time, size); evicts least recently used beyond `max_bytes`.
    """

    def __init__(self, max_bytes: int = 2 * 1024**3) -> None:
        self.max_bytes = max_bytes
        self._items: OrderedDict[tuple, np.ndarray] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()

    def clear(self) -> None:
        with self._lock:
            self._items.clear()
            self._bytes = 0

    def _load_one(self, path: str, size: int) -> np.ndarray:
        key = (path, Path(path).stat().st_mtime_ns, size)
        with self._lock:
            if key in self._items:
                self._items.move_to_end(key)
                return self._items[key]
        image = resize_square(read_rgb(path, draft=size), size)
        with self._lock:
            self._items[key] = image
            self._bytes += image.nbytes
            while self._bytes > self.max_bytes and len(self._items) > 1:
                _, old = self._items.popitem(last=False)
                self._bytes -= old.nbytes
        return image

    def load(self, paths: Sequence[str], size: int, progress: Progress | None = None) -> np.ndarray:
        """N x size x size x 3 uint8, decoding what is not cached yet on two threads."""
        out = np.empty((len(paths), size, size, 3), dtype=np.uint8)
        with ThreadPoolExecutor(max_workers=2) as pool:
            for done, image in enumerate(pool.map(lambda p: self._load_one(p, size), paths), 1):
                out[done - 1] = image
                if progress is not None:
                    progress(done, len(paths))
        return out


IMAGE_CACHE = ImageCache()
