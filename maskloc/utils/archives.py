"""Zips this project writes (datasets for download, exports): built in memory from a folder."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path


def zip_folder(folder: Path, top: str) -> bytes:
    """Every file under `folder` as `top/<relative path>` (JPEGs are stored, the rest deflated)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for path in sorted(p for p in folder.rglob("*") if p.is_file()):
            if path.name.startswith(".") or path.name.endswith(".tmp"):
                continue
            stored = path.suffix.lower() in (".jpg", ".jpeg", ".png", ".webp")
            archive.write(
                path,
                f"{top}/{path.relative_to(folder).as_posix()}",
                compress_type=zipfile.ZIP_STORED if stored else zipfile.ZIP_DEFLATED,
            )
    return buffer.getvalue()
