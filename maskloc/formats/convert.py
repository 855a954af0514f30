"""Import VOC / COCO / YOLO (folder or zip) into the competition layout, and export back.

An import keeps exactly one box per picture: pictures with none or several are refused and named
in the report (`multi_box="largest"` keeps the largest instead). Each kept box is checked by the
same rules as a train.csv row (`maskloc.data.table.check_row`). The new dataset is built in a hidden
folder beside `out` and renamed into place at the end: a failed import leaves nothing half-made.
"""

from __future__ import annotations

import logging
import re
import shutil
import tempfile
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import ModuleType

import pandas as pd

from ..data.folder import load_dataset
from ..data.layout import IMAGES_DIR, LABELLED_WITH_SOURCE, TRAIN_CSV
from ..data.table import check_row
from ..data.uploads import unpack_zip
from ..utils.archives import zip_folder
from ..utils.atomic import atomic_write_bytes
from ..utils.messages import N_
from . import coco, voc, yolo
from .report import (
    BAD_BOX,
    DUPLICATE,
    IMAGE_MISSING,
    NO_BOX,
    SEVERAL_BOXES,
    ExportReport,
    FormatError,
    ImportReport,
    Refusal,
    SourceBox,
    SourcePicture,
)

log = logging.getLogger(__name__)

FORMATS: dict[str, ModuleType] = {"voc": voc, "coco": coco, "yolo": yolo}
MULTI_BOX = ("refuse", "largest")
DECIMALS = 2  # pixel coordinates are kept to 1/100 px (exact for integer boxes after a round trip)


def parse_renames(items: list[str] | None) -> dict[str, str]:
    """['old=new', ...] -> {'old': 'new'}; ValueError naming a malformed item."""
    renames = {}
    for item in items or []:
        old, sep, new = item.partition("=")
        if not sep or not old.strip() or not new.strip():
            raise ValueError(f"--rename-class {item!r}: expected OLD=NEW")
        renames[old.strip()] = new.strip()
    return renames


@contextmanager
def opened_source(source: Path) -> Iterator[Path]:
    """A folder as is; a zip unpacked safely (no `..`, absolute names, links, size bombs) into a
    temporary folder that is removed afterwards."""
    if source.is_dir():
        yield source
        return
    if not source.is_file():
        raise FormatError(N_("{source}: no such folder or zip file"), source=source)
    if not zipfile.is_zipfile(source):
        raise FormatError(N_("{source}: neither a folder nor a zip file"), source=source)
    with tempfile.TemporaryDirectory(prefix="maskloc-import-") as temp:
        yield unpack_zip(source.read_bytes(), Path(temp), source.name)


def _known_format(format_name: str) -> None:
    if format_name not in FORMATS:
        raise FormatError(
            N_("unknown format {format!r}; choose one of {formats}"),
            format=format_name,
            formats=", ".join(sorted(FORMATS)),
        )


def _fresh_target(out: Path) -> None:
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise FormatError(
            N_("{out}: already exists and is not empty; choose a new folder"), out=out
        )


@contextmanager
def _building(out: Path, doing: str) -> Iterator[Path]:
    """A hidden folder beside `out` to write into (readable like any folder), removed when
    anything fails before it is put in place: a half-written dataset is never left behind."""
    out.parent.mkdir(parents=True, exist_ok=True)
    build = Path(tempfile.mkdtemp(prefix=f".{out.name}.{doing}-", dir=out.parent))
    build.chmod(0o755)
    try:
        yield build
    except BaseException:
        shutil.rmtree(build, ignore_errors=True)
        raise


def _put_in_place(build: Path, out: Path) -> None:
    """Rename the finished folder onto `out` (which _fresh_target found absent or empty)."""
    if out.exists():
        out.rmdir()
    build.rename(out)


def _source_of(name: str) -> str:
    """The photo a picture came from: its stem, without Roboflow's `_jpg.rf.<hash>` suffix."""
    stem = Path(name).stem
    return re.sub(r"_(jpe?g|png|bmp|webp)\.rf\.[0-9a-f]+$", "", stem, flags=re.IGNORECASE)


def _unique_name(picture: SourcePicture, taken: set[str]) -> str:
    """The image's own file name, or with its folders joined in when another picture has it."""
    assert picture.image is not None
    name = picture.image.name
    if name.lower() in taken:
        name = "_".join(Path(picture.name).parts)
    counter = 1
    base = name
    while name.lower() in taken:
        counter += 1
        name = f"{Path(base).stem}_{counter}{Path(base).suffix}"
    taken.add(name.lower())
    return name


def _pixel(value: float) -> float | int:
    """A coordinate kept to 1/100 px, written as a whole number when it is one."""
    value = round(value, DECIMALS)
    return int(value) if value.is_integer() else value


def _one_box(boxes: list[SourceBox], multi_box: str) -> SourceBox | Refusal:
    if not boxes:
        return Refusal("", NO_BOX)
    if len(boxes) > 1:
        if multi_box == "largest":
            return max(boxes, key=lambda box: box.area)
        detail = FormatError(
            N_("{n} boxes; 'largest' (--multi-box largest) keeps one"), n=len(boxes)
        )
        return Refusal("", SEVERAL_BOXES, detail)
    return boxes[0]


def import_dataset(
    source: str | Path,
    format_name: str,
    out: str | Path,
    renames: dict[str, str] | None = None,
    multi_box: str = "refuse",
) -> ImportReport:
    """Read `source` (folder or zip) as `format_name` and write a competition-layout dataset to
    `out` (new or empty). FormatError when nothing at all can be imported."""
    _known_format(format_name)
    if multi_box not in MULTI_BOX:
        raise FormatError(
            N_("multi_box must be one of {choices}, got {choice!r}"),
            choice=multi_box,
            choices=", ".join(MULTI_BOX),
        )
    source, out, renames = Path(source), Path(out), renames or {}
    _fresh_target(out)
    report = ImportReport(out, format_name, renamed=dict(renames))
    with opened_source(source) as root:
        pictures = FORMATS[format_name].read(root)
        if not pictures:
            raise FormatError(
                N_("{source}: no {format} annotations found"), source=source, format=format_name
            )
        with _building(out, "importing") as build:
            rows = _copy_pictures(pictures, build, renames, multi_box, report)
            if not rows:
                raise FormatError(
                    N_("nothing to import from {source}:\n{report}"), source=source, report=report
                )
            frame = pd.DataFrame(rows, columns=list(LABELLED_WITH_SOURCE))
            atomic_write_bytes(build / TRAIN_CSV, frame.to_csv(index=False).encode())
            _put_in_place(build, out)
    log.info("import %s -> %s: %d pictures", source, out, report.total)
    return report


def _copy_pictures(
    pictures: list[SourcePicture],
    build: Path,
    renames: dict[str, str],
    multi_box: str,
    report: ImportReport,
) -> list[dict]:
    images = build / IMAGES_DIR
    images.mkdir()
    rows: list[dict] = []
    taken: set[str] = set()
    seen: dict[Path, str] = {}
    for picture in pictures:
        if picture.problem is not None or picture.image is None:
            reason, detail = picture.problem or (IMAGE_MISSING, "")
            report.refusals.append(Refusal(picture.name, reason, detail))
            continue
        chosen = _one_box(picture.boxes, multi_box)
        if isinstance(chosen, Refusal):
            report.refusals.append(Refusal(picture.name, chosen.reason, chosen.detail))
            continue
        resolved = picture.image.resolve()
        if resolved in seen:
            detail = FormatError(N_("also named {name}"), name=seen[resolved])
            report.refusals.append(Refusal(picture.name, DUPLICATE, detail))
            continue
        seen[resolved] = picture.name
        name = _unique_name(picture, taken)
        shutil.copyfile(picture.image, images / name)
        row = {
            "filename": name,
            "xmin": _pixel(chosen.xmin),
            "ymin": _pixel(chosen.ymin),
            "xmax": _pixel(chosen.xmax),
            "ymax": _pixel(chosen.ymax),
            "class": renames.get(chosen.class_name, chosen.class_name),
            "source": _source_of(picture.name),
        }
        _, problem = check_row(row, images, True, None)
        if problem is not None:
            (images / name).unlink()
            taken.discard(name.lower())
            detail = FormatError(N_("{field}: {problem}"), field=problem[0], problem=problem[1])
            report.refusals.append(Refusal(picture.name, BAD_BOX, detail))
            continue
        rows.append(row)
        report.imported[row["class"]] += 1
    return rows


def export_dataset(data: str | Path, format_name: str, out: str | Path) -> ExportReport:
    """Write the valid train.csv rows of a competition-layout dataset as VOC / COCO / YOLO, into
    a new folder or (when `out` ends in .zip) a zip file."""
    _known_format(format_name)
    folder, out = load_dataset(data), Path(out)
    report = ExportReport(out, format_name, skipped=[str(p) for p in folder.train.problems])
    as_zip = out.suffix.lower() == ".zip"
    if as_zip and out.exists():
        raise FormatError(N_("{out}: already exists; choose a new file name"), out=out)
    if not as_zip:
        _fresh_target(out)
    with _building(out, "exporting") as build:
        FORMATS[format_name].write(folder.train.frame, build)
        if as_zip:
            atomic_write_bytes(out, zip_folder(build, out.stem))
            shutil.rmtree(build)
        else:
            _put_in_place(build, out)
    report.written.update(folder.train.frame["class"])
    return report
