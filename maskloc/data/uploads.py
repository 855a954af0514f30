"""Uploaded dataset zips, unpacked only if every entry stays inside the target folder and the
whole stays within size limits (zip bombs declare small files that unpack huge)."""

from __future__ import annotations

import io
import logging
import shutil
import tempfile
import zipfile
from pathlib import Path, PurePosixPath

from ..utils.messages import N_, ExplainedError
from .layout import TRAIN_CSV

MAX_UNPACKED_BYTES = 500 * 1024**2
MAX_ENTRIES = 20_000

logger = logging.getLogger(__name__)


class UploadError(ExplainedError, ValueError):
    """An upload that cannot be used; the message says why."""


def _dataset_root(folder: Path) -> Path:
    """The folder holding train.csv: the zip's top level or its single top folder."""
    if (folder / TRAIN_CSV).is_file():
        return folder
    children = [child for child in folder.iterdir() if not child.name.startswith(("__", "."))]
    if len(children) == 1 and (children[0] / TRAIN_CSV).is_file():
        return children[0]
    raise UploadError(N_("the zip holds no train.csv at its top level or in one top folder"))


def unpack_dataset_zip(data: bytes, into: Path, name: str = "upload.zip") -> Path:
    """Unpack a dataset zip into a new folder under `into`; returns the dataset root inside it."""
    target = unpack_zip(data, into, name)
    try:
        return _dataset_root(target)
    except BaseException:
        shutil.rmtree(target, ignore_errors=True)
        raise


def unpack_zip(data: bytes, into: Path, name: str = "upload.zip") -> Path:
    """Unpack any zip into a new folder under `into` (returned), refusing entries that would
    land outside it, symbolic links and archives over the size caps."""
    if not zipfile.is_zipfile(io.BytesIO(data)):
        raise UploadError(N_("{file}: not a zip file"), file=name)
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        entries = archive.infolist()
        if len(entries) > MAX_ENTRIES:
            raise UploadError(
                N_("{file}: more than {limit} entries"), file=name, limit=f"{MAX_ENTRIES:,}"
            )
        if sum(entry.file_size for entry in entries) > MAX_UNPACKED_BYTES:
            raise UploadError(
                N_("{file}: unpacks to more than {limit} MB"),
                file=name,
                limit=MAX_UNPACKED_BYTES // 2**20,
            )
        for entry in entries:
            path = PurePosixPath(entry.filename.replace("\\", "/"))
            if path.is_absolute() or ".." in path.parts or ":" in entry.filename:
                raise UploadError(
                    N_("{file}: entry {entry} would land outside its folder"),
                    file=name,
                    entry=repr(entry.filename),
                )
            if entry.external_attr >> 28 == 0o12:  # a symlink entry
                raise UploadError(
                    N_("{file}: entry {entry} is a symbolic link"),
                    file=name,
                    entry=repr(entry.filename),
                )
        into.mkdir(parents=True, exist_ok=True)
        target = Path(tempfile.mkdtemp(prefix="dataset-", dir=into))
        try:
            for entry in entries:
                destination = (target / entry.filename).resolve()
                if not destination.is_relative_to(target.resolve()):
                    raise UploadError(
                        N_("{file}: entry {entry} would land outside its folder"),
                        file=name,
                        entry=repr(entry.filename),
                    )
                if entry.is_dir():
                    destination.mkdir(parents=True, exist_ok=True)
                    continue
                destination.parent.mkdir(parents=True, exist_ok=True)
                with archive.open(entry) as source, destination.open("wb") as out:
                    shutil.copyfileobj(source, out)
            logger.info("unpacked %s (%d entries) into %s", name, len(entries), target)
            return target
        except BaseException:
            shutil.rmtree(target, ignore_errors=True)
            raise
