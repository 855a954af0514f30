"""A CSV of the competition layout read and validated row by row: good rows in a frame (with
each image's path and upright size), refused rows with file, line, field and reason.

Columns: `train.csv` and `test_labels.csv` hold filename,xmin,ymin,xmax,ymax,class (extra columns
kept), `test.csv` filename, `no_face.csv` filename,split,source. Boxes are pixels of the upright
image; `Table.normalized_boxes` divides them by each image's own width and height.
"""

from __future__ import annotations

import csv
import io
import logging
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from ..utils.messages import N_, ExplainedError, Text
from .images import ImageError, upright_size
from .layout import (
    BOX_COLUMNS,
    KNOWN_CLASSES,
    LABELLED_COLUMNS,
    NO_FACE_COLUMNS,
    TEST,
    TRAIN,
    safe_image_path,
)

MAX_CSV_BYTES = 50 * 1024 * 1024

logger = logging.getLogger(__name__)

NO_FACE_SPLITS = (TRAIN, TEST)  # a no-face window belongs to its photo's split


class DataError(ExplainedError, ValueError):
    """A whole file is unusable (missing, empty, wrong columns); the message names it."""


@dataclass(frozen=True)
class RowProblem:
    """One rejected row: which file, which line (header is line 1), which field, why."""

    file: str
    row: int
    field: str
    reason: str  # a Text when the library wrote it: translatable where it is shown

    def __str__(self) -> str:
        return f"{self.file} row {self.row}, {self.field}: {self.reason}"


def bad_rows_error(problems: Sequence[RowProblem]) -> DataError:
    """The refusal of rows that cannot be used, for a caller that does not skip them."""
    return DataError(
        N_(
            "{count} bad row(s), first: {first}; fix them or pass --skip-bad-rows to use the "
            "good rows"
        ),
        count=len(problems),
        first=problems[0],
    )


@dataclass
class Table:
    """The valid rows of one CSV (with image path and upright size added) and the rejected ones."""

    frame: pd.DataFrame
    problems: list[RowProblem] = field(default_factory=list)

    @property
    def has_boxes(self) -> bool:
        return "xmin" in self.frame.columns

    def normalized_boxes(self) -> np.ndarray:
        """N x 4 float32 xyxy in [0, 1] of each image's own size."""
        f = self.frame
        scale = np.stack([f.width, f.height, f.width, f.height], axis=1).astype(np.float64)
        return (f[list(BOX_COLUMNS)].to_numpy(np.float64) / scale).astype(np.float32)


def read_csv_text(path: Path) -> pd.DataFrame:
    """Cells as stripped strings; BOM, delimiter and header case handled; DataError if unusable."""
    if not path.is_file():
        raise DataError(N_("{file}: file not found"), file=path)
    if path.stat().st_size > MAX_CSV_BYTES:
        raise DataError(
            N_("{file}: larger than {limit} MB"), file=path, limit=MAX_CSV_BYTES // 2**20
        )
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as error:
        raise DataError(
            N_("{file}: not UTF-8 text ({detail})"), file=path, detail=error.reason
        ) from error
    if not text.strip():
        raise DataError(N_("{file}: the file is empty"), file=path)
    first_line = text.splitlines()[0]
    try:
        delimiter = csv.Sniffer().sniff(first_line, delimiters=",;\t|").delimiter
    except csv.Error:
        delimiter = ","
    try:
        frame = pd.read_csv(
            io.StringIO(text),
            sep=delimiter,
            dtype=str,
            keep_default_na=False,
            skipinitialspace=True,
        )
    except (pd.errors.ParserError, ValueError) as error:
        raise DataError(
            N_("{file}: cannot parse as CSV ({detail})"), file=path, detail=error
        ) from error
    frame.columns = [str(c).strip().lower() for c in frame.columns]
    return frame.apply(lambda column: column.str.strip())


def _require_columns(frame: pd.DataFrame, columns: Sequence[str], path: Path) -> None:
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise DataError(
            N_("{file}: missing column(s) {missing}; expected {expected} (found: {found})"),
            file=path.name,
            missing=", ".join(missing),
            expected=", ".join(columns),
            found=", ".join(map(str, frame.columns)),
        )


def check_row(
    row: pd.Series | dict, images_dir: Path, with_boxes: bool, classes: Sequence[str] | None
) -> tuple[dict, tuple[str, str] | None]:
    """Parsed fields of one row (a Series or dict), or (field, reason) for the first thing wrong
    with it. Imports reuse it so every box is held to the same rules as a train.csv row."""
    try:
        path = safe_image_path(images_dir, row["filename"])
    except ValueError as error:
        return {}, ("filename", _explained(error))
    if not path.is_file():
        return {}, (
            "filename",
            Text(
                N_("{file} not found in {folder}/"),
                file=repr(row["filename"]),
                folder=images_dir.name,
            ),
        )
    try:
        width, height = upright_size(path)
    except ImageError as error:
        return {}, ("filename", _explained(error, {str(path): repr(row["filename"])}))
    parsed = {"path": str(path), "width": width, "height": height}
    if not with_boxes:
        return parsed, None
    for column in BOX_COLUMNS:
        try:
            value = float(row[column])
        except ValueError:
            return {}, (column, Text(N_("{value} is not a number"), value=repr(row[column])))
        if not math.isfinite(value):
            return {}, (column, Text(N_("missing or not finite")))
        if value < 0:
            return {}, (column, Text(N_("{value} is negative"), value=f"{value:g}"))
        parsed[column] = value
    if parsed["xmin"] >= parsed["xmax"]:
        return {}, (
            "xmax",
            Text(
                N_("xmin {low} must be below xmax {high}"),
                low=f"{parsed['xmin']:g}",
                high=f"{parsed['xmax']:g}",
            ),
        )
    if parsed["ymin"] >= parsed["ymax"]:
        return {}, (
            "ymax",
            Text(
                N_("ymin {low} must be below ymax {high}"),
                low=f"{parsed['ymin']:g}",
                high=f"{parsed['ymax']:g}",
            ),
        )
    if parsed["xmax"] > width or parsed["ymax"] > height:
        return {}, (
            "xmax/ymax",
            Text(N_("box reaches outside the {width}x{height} image"), width=width, height=height),
        )
    name = row["class"]
    if not name:
        return {}, ("class", Text(N_("empty class name")))
    if classes is not None and name not in classes:
        return {}, (
            "class",
            Text(
                N_("unknown class {name}; known: {known}"),
                name=repr(name),
                known=", ".join(classes),
            ),
        )
    return parsed, None


def _explained(error: Exception, renames: dict[str, str] | None = None) -> str:
    """An error as a row's reason: an ExplainedError keeps its template and fields (a field that
    holds a full path is renamed to the CSV's own file name); any other stays plain English."""
    renames = renames or {}
    if not isinstance(error, ExplainedError):
        return str(error)
    fields = {
        key: renames.get(str(value), value) if isinstance(value, str | Path) else value
        for key, value in error.fields.items()
    }
    return Text(error.template, **fields)


def read_table(
    csv_path: Path,
    images_dir: Path,
    with_boxes: bool = True,
    classes: Sequence[str] | None = None,
) -> Table:
    """Validate every row; good rows go to `frame`, bad ones to `problems` with line and reason."""
    raw = read_csv_text(csv_path)
    _require_columns(raw, LABELLED_COLUMNS if with_boxes else ("filename",), csv_path)
    rows, problems, first_seen = [], [], {}
    for index, row in raw.iterrows():
        line = int(index) + 2
        name = row["filename"]
        if name in first_seen:
            problems.append(
                RowProblem(
                    csv_path.name,
                    line,
                    "filename",
                    Text(N_("duplicate of row {row}"), row=first_seen[name]),
                )
            )
            continue
        parsed, problem = check_row(row, images_dir, with_boxes, classes)
        if problem is not None:
            problems.append(RowProblem(csv_path.name, line, *problem))
            continue
        first_seen[name] = line
        rows.append({**row.to_dict(), **parsed, "row": line})
    if problems:
        logger.info("%s: %d row(s) refused, first: %s", csv_path, len(problems), problems[0])
        for problem in problems:
            logger.debug("refused: %s", problem)
    columns = [*raw.columns, "path", "width", "height", "row"]
    frame = pd.DataFrame(rows, columns=list(dict.fromkeys(columns)))
    if with_boxes:
        frame = frame.astype({c: "float64" for c in BOX_COLUMNS})
    return Table(frame.reset_index(drop=True), problems)


def class_names_for(*frames: pd.DataFrame, kept: Sequence[str] = ()) -> list[str]:
    """Class ids: the `kept` classes (a starting checkpoint's) keep theirs; otherwise the two
    known classes are ids 0 and 1; any other class names follow in sorted order."""
    seen = {name for frame in frames for name in frame["class"]}
    found = [*KNOWN_CLASSES, *sorted(seen - set(KNOWN_CLASSES))]
    return [*kept, *(name for name in found if name not in kept)]


def read_no_face(csv_path: Path, images_dir: Path) -> Table:
    """`no_face.csv`: every row's image checked like any other, its split named and known."""
    table = read_table(csv_path, images_dir, with_boxes=False)
    raw_columns = set(table.frame.columns)
    missing = [c for c in NO_FACE_COLUMNS if c not in raw_columns]
    if missing:
        raise DataError(
            N_("{file}: missing column(s) {missing}; expected {expected}"),
            file=csv_path.name,
            missing=", ".join(missing),
            expected=", ".join(NO_FACE_COLUMNS),
        )
    frame = table.frame
    bad = ~frame["split"].isin(NO_FACE_SPLITS)
    problems = list(table.problems)
    for row, split in zip(frame.loc[bad, "row"], frame.loc[bad, "split"], strict=True):
        problems.append(
            RowProblem(
                csv_path.name,
                int(row),
                "split",
                Text(N_("{value} is not one of {known}"), value=repr(split), known=NO_FACE_SPLITS),
            )
        )
    return Table(frame[~bad].reset_index(drop=True), problems)
