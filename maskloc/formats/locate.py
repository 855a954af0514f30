"""Finding a picture an annotation file names, without ever leaving the source folder."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from ..data.layout import safe_image_path
from ..utils.messages import N_, ExplainedError
from .report import IMAGE_MISSING, UNSAFE_NAME, Detail, FormatError

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".webp", ".bmp", ".tif", ".tiff")
MAX_ANNOTATION_BYTES = 200 * 1024**2


def find_image(name: str, bases: Iterable[Path]) -> tuple[Path | None, tuple[str, Detail] | None]:
    """The first existing `base/name`; (None, (reason, detail)) when the name is unsafe (absolute,
    `..`, a drive) or no base holds it. Names may hold sub-folders that stay inside a base."""
    bases = [base for base in bases if base.is_dir()]
    for base in bases:
        try:
            path = safe_image_path(base, name)
        except ValueError as error:
            if isinstance(error, ExplainedError):  # kept whole: the app says it in its language
                return None, (UNSAFE_NAME, error)
            return None, (UNSAFE_NAME, str(error).replace("images/", "its folder"))
        if path.is_file():
            return path, None
    return None, (IMAGE_MISSING, FormatError(N_("{name!r} not found"), name=name))


def is_image(path: Path) -> bool:
    return path.is_file() and path.suffix.lower() in IMAGE_SUFFIXES


def files_under(root: Path, suffix: str) -> list[Path]:
    """Files with this suffix anywhere under root, sorted, skipping hidden and macOS folders."""
    return sorted(
        path
        for path in root.rglob(f"*{suffix}")
        if path.is_file()
        and not any(part.startswith((".", "__MACOSX")) for part in path.relative_to(root).parts)
    )


def read_text(path: Path) -> str:
    """An annotation file's text; FormatError (a ValueError) when it is too large or not text."""
    if path.stat().st_size > MAX_ANNOTATION_BYTES:
        raise FormatError(N_("larger than {size} MB"), size=MAX_ANNOTATION_BYTES // 2**20)
    try:
        return path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as error:
        raise FormatError(N_("not UTF-8 text ({reason})"), reason=error.reason) from error
