"""Small words the pages share: the device in one line, a picker's translated option words,
durations as m:ss."""

from __future__ import annotations

from collections.abc import Callable

import torch

from app_parts.i18n import t


def device_text() -> str:
    if torch.cuda.is_available():
        return t("GPU: {name}").format(name=torch.cuda.get_device_name(0))
    return t("CPU ({n} threads, no GPU found)").format(n=torch.get_num_threads())


def shown_words(words: dict[str, str]) -> Callable[[str], str]:
    """A picker's format_func: each English value's words translated now, in this run (the
    values themselves, kept in session state, never change with the language)."""
    return {value: t(message) for value, message in words.items()}.__getitem__


def fmt_seconds(seconds: float | None) -> str:
    if seconds is None:
        return "–"
    seconds = round(seconds)
    hours, rest = divmod(seconds, 3600)
    return f"{hours}:{rest // 60:02d}:{rest % 60:02d}" if hours else f"{rest // 60}:{rest % 60:02d}"
