"""YOLO text labels as Ultralytics writes them: `images/` beside `labels/` (also per split, e.g.
`train/images` + `train/labels` or `images/train` + `labels/train`), one `class cx cy w h` line per
box with coordinates in 0–1 of the upright image, class names from `data.yaml` (`names:` as a list
or an id -> name mapping) or `classes.txt` (one name per line).
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pandas as pd
import yaml

from ..data.images import ImageError, upright_size
from ..utils.atomic import atomic_write_bytes
from ..utils.messages import N_
from .locate import files_under, is_image, read_text
from .report import BAD_ANNOTATION, FormatError, SourceBox, SourcePicture

PRECISION = 8  # decimals written; 1e-8 of a side is far below a pixel at any image size


def class_names(root: Path) -> dict[int, str]:
    """Class id -> name from data.yaml/data.yml (first found), else classes.txt."""
    for pattern in ("data.yaml", "data.yml", "*.yaml"):
        for path in sorted(root.rglob(pattern)):
            try:
                payload = yaml.safe_load(read_text(path))
            except (yaml.YAMLError, ValueError, OSError) as error:
                raise FormatError(
                    N_("{file}: cannot read ({error})"), file=path.name, error=error
                ) from error
            names = payload.get("names") if isinstance(payload, dict) else None
            if isinstance(names, list):
                return {i: str(n) for i, n in enumerate(names)}
            if isinstance(names, dict):
                try:
                    return {int(k): str(v) for k, v in names.items()}
                except (TypeError, ValueError) as error:
                    raise FormatError(
                        N_("{file}: names: ids must be integers"), file=path.name
                    ) from error
    for path in sorted(root.rglob("classes.txt")):
        lines = [line.strip() for line in read_text(path).splitlines()]
        return dict(enumerate(line for line in lines if line))
    raise FormatError(N_("{root}: no data.yaml with names: and no classes.txt"), root=root)


def _label_path(image: Path) -> Path | None:
    """images/.../x.jpg -> labels/.../x.txt (the last `images` folder becomes `labels`)."""
    parts = list(image.parts)
    for i in range(len(parts) - 2, -1, -1):
        if parts[i] == "images":
            parts[i] = "labels"
            return Path(*parts).with_suffix(".txt")
    return None


def _boxes(text: str, names: dict[int, str], width: int, height: int) -> list[SourceBox]:
    boxes = []
    for number, line in enumerate(text.splitlines(), 1):
        fields = line.split()
        if not fields:
            continue
        if len(fields) != 5:
            raise FormatError(
                N_("line {line}: {n} fields, expected class cx cy w h"),
                line=number,
                n=len(fields),
            )
        try:
            class_id, cx, cy, w, h = int(fields[0]), *(float(f) for f in fields[1:])
        except ValueError as error:
            raise FormatError(
                N_("line {line}: not numbers ({text!r})"),
                line=number,
                text=line.strip(),
            ) from error
        if class_id not in names:
            raise FormatError(
                N_("line {line}: class id {id} has no name"),
                line=number,
                id=class_id,
            )
        boxes.append(
            SourceBox(
                names[class_id],
                (cx - w / 2) * width,
                (cy - h / 2) * height,
                (cx + w / 2) * width,
                (cy + h / 2) * height,
            )
        )
    return boxes


def read(root: Path) -> list[SourcePicture]:
    """Every image under an `images` folder; a missing label file means no box."""
    names = class_names(root)
    pictures = []
    for image in files_under(root, ""):
        relative = image.relative_to(root)
        if "images" not in relative.parts[:-1] or not is_image(image):
            continue
        label = _label_path(image)
        name = str(relative)
        if label is None or not label.is_file():
            pictures.append(SourcePicture(name, image))
            continue
        where = str(label.relative_to(root))
        try:
            width, height = upright_size(image)
            boxes = _boxes(read_text(label), names, width, height)
        except (ValueError, OSError, ImageError) as error:
            detail = FormatError(N_("{file}: {error}"), file=where, error=error)
            pictures.append(SourcePicture(name, image, problem=(BAD_ANNOTATION, detail)))
            continue
        pictures.append(SourcePicture(name, image, boxes))
    return pictures


def write(frame: pd.DataFrame, out: Path) -> None:
    """`images/`, `labels/` and `data.yaml` with `names:` as a list."""
    names = sorted(set(frame["class"]))
    lookup = {n: i for i, n in enumerate(names)}
    for row in frame.to_dict("records"):
        target = out / "images" / row["filename"]
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(row["path"], target)
        width, height = row["width"], row["height"]
        values = (
            (row["xmin"] + row["xmax"]) / 2 / width,
            (row["ymin"] + row["ymax"]) / 2 / height,
            (row["xmax"] - row["xmin"]) / width,
            (row["ymax"] - row["ymin"]) / height,
        )
        line = " ".join([str(lookup[row["class"]]), *(f"{v:.{PRECISION}f}" for v in values)])
        label = out / "labels" / Path(row["filename"]).with_suffix(".txt")
        label.parent.mkdir(parents=True, exist_ok=True)
        label.write_text(line + "\n", encoding="utf-8")
    data_yaml = {"path": ".", "train": "images", "val": "images", "names": names}
    atomic_write_bytes(out / "data.yaml", yaml.safe_dump(data_yaml, sort_keys=False).encode())
