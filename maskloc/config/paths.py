"""Where things are, and every MASKLOC_* environment variable: read here and nowhere else, at call
time (a test or a server sets them before it asks), so the CLI and the app honour them alike.

In a checkout the defaults are the checkout's own folders; an installed package carries the
bundled model inside it (`maskloc/bundled/`, a link to `checkpoints/` in the checkout) and writes
runs and user datasets under the working folder.
"""

from __future__ import annotations

import os
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1]
_CHECKOUT = PACKAGE.parent
PROJECT_ROOT = _CHECKOUT if (_CHECKOUT / "pyproject.toml").is_file() else Path.cwd()
"""The checkout maskloc runs from; an installed package uses the working folder instead."""

DEFAULT_DATA = PROJECT_ROOT / "data" / "mask-faces"
DEFAULT_CHECKPOINT = PACKAGE / "bundled" / "maskloc-mobilenet_v2.pt"
DEFAULT_RUNS = PROJECT_ROOT / "runs"
DEFAULT_USER_DATA = PROJECT_ROOT / "user_data"

ENVIRONMENT = {  # every variable maskloc reads, and what it sets
    "MASKLOC_DATA": "the default dataset folder (competition layout); default data/mask-faces",
    "MASKLOC_CHECKPOINT": "the bundled model; default checkpoints/maskloc-mobilenet_v2.pt",
    "MASKLOC_RUNS": "the runs folder the Train page writes and lists; default runs/",
    "MASKLOC_USER_DATA": "where collected and imported datasets live; default user_data/",
    "MASKLOC_SCHEDULER": "a Dask scheduler (tcp://host:8786) to train on; unset: train here",
    "MASKLOC_TEACHER_PASSWORD": "turns a server into a classroom server (teacher passcode)",
    "MASKLOC_LANG": "the app's language for every browser (es or en); ?lang= and the sidebar win",
}


def _read(name: str) -> str:
    assert name in ENVIRONMENT, name  # declared above, or it is not maskloc's
    return os.environ.get(name, "").strip()


def default_data_root() -> Path:
    return Path(_read("MASKLOC_DATA") or DEFAULT_DATA)


def bundled_checkpoint() -> Path:
    return Path(_read("MASKLOC_CHECKPOINT") or DEFAULT_CHECKPOINT)


def runs_root() -> Path:
    return Path(_read("MASKLOC_RUNS") or DEFAULT_RUNS)


def user_data_root() -> Path:
    return Path(_read("MASKLOC_USER_DATA") or DEFAULT_USER_DATA)


def scheduler_address() -> str | None:
    """A Dask scheduler to train on (e.g. tcp://10.0.0.5:8786), or None: train in this process."""
    return _read("MASKLOC_SCHEDULER") or None


def teacher_passcode() -> str | None:
    """The classroom server's teacher passcode, or None: a single-user laptop app."""
    return _read("MASKLOC_TEACHER_PASSWORD") or None


def server_language() -> str | None:
    return _read("MASKLOC_LANG") or None
