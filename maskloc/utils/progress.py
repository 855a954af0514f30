"""How long operations report how far they got, declared once.

A `Progress` callback receives (done, total) after each item; the CLI feeds a tqdm bar with it,
the app a progress bar, and the library never needs to know which.
"""

from __future__ import annotations

from collections.abc import Callable

Progress = Callable[[int, int], None]
