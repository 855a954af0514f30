"""COCO detection JSON, as Roboflow (images + `_annotations.coco.json` in one folder, with an
unused supercategory at id 0) and classic COCO (`annotations/*.json` + an image folder) write it.
`bbox` is `[x, y, width, height]` in 0-based pixels.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pandas as pd

from ..utils.atomic import atomic_write_json
from ..utils.messages import N_
from .locate import files_under, find_image, read_text
from .report import BAD_ANNOTATION, FormatError, SourceBox, SourcePicture

ANNOTATION_FILE = Path("annotations") / "instances_default.json"


def _load(path: Path) -> dict[str, Any] | None:
    """The JSON if it looks like COCO detection (images + annotations), else None."""
    try:
        payload = json.loads(read_text(path))
    except (ValueError, OSError):
        return None
    if not isinstance(payload, dict):
        return None
    if isinstance(payload.get("images"), list) and isinstance(payload.get("annotations"), list):
        return payload
    return None


def _image_bases(json_path: Path, root: Path) -> list[Path]:
    """Where a file_name may sit: beside the json (Roboflow), else in the folders next to
    `annotations/` (classic COCO: `images/`, `train2017/`, ...), else the source root."""
    bases = [json_path.parent]
    if json_path.parent.name.lower() == "annotations":
        parent = json_path.parent.parent
        bases += [parent / "images", parent]
        bases += sorted(p for p in parent.iterdir() if p.is_dir() and p != json_path.parent)
    return [*bases, root]


def _box(annotation: dict[str, Any], categories: dict[Any, str]) -> SourceBox:
    bbox, number = annotation.get("bbox"), annotation.get("id")
    if not isinstance(bbox, list) or len(bbox) != 4:
        raise FormatError(
            N_("annotation {id}: bbox {bbox!r} is not [x, y, w, h]"), id=number, bbox=bbox
        )
    try:
        x, y, w, h = (float(v) for v in bbox)
    except (TypeError, ValueError) as error:
        raise FormatError(
            N_("annotation {id}: bbox {bbox!r} not numbers"), id=number, bbox=bbox
        ) from error
    category = annotation.get("category_id")
    if category not in categories:
        raise FormatError(
            N_("annotation {id}: unknown category_id {category!r}"), id=number, category=category
        )
    return SourceBox(categories[category], x, y, x + w, y + h)


def read(root: Path) -> list[SourcePicture]:
    """Every COCO JSON under root; one picture per `images` entry."""
    pictures = []
    for json_path in files_under(root, ".json"):
        payload = _load(json_path)
        if payload is None:
            continue
        label = str(json_path.relative_to(root))
        categories = {
            c.get("id"): str(c.get("name", "")).strip()
            for c in payload.get("categories", [])
            if isinstance(c, dict)
        }
        boxes: dict[Any, list[SourceBox]] = {}
        broken: dict[Any, FormatError] = {}
        for annotation in payload["annotations"]:
            if not isinstance(annotation, dict):
                continue
            image_id = annotation.get("image_id")
            try:
                boxes.setdefault(image_id, []).append(_box(annotation, categories))
            except FormatError as error:
                broken.setdefault(image_id, error)
        bases = _image_bases(json_path, root)
        for entry in payload["images"]:
            name = str(entry.get("file_name", "")) if isinstance(entry, dict) else ""
            if not name:
                detail = FormatError(N_("{file}: an image entry without file_name"), file=label)
                problem = (BAD_ANNOTATION, detail)
                pictures.append(SourcePicture(label, None, problem=problem))
                continue
            image, problem = find_image(name, bases)
            image_id = entry.get("id")
            if image_id in broken:
                problem = (BAD_ANNOTATION, broken[image_id])
            pictures.append(SourcePicture(name, image, boxes.get(image_id, []), problem))
    return pictures


def write(frame: pd.DataFrame, out: Path) -> None:
    """Classic layout: `images/` and `annotations/instances_default.json` (CVAT's name)."""
    names = sorted(set(frame["class"]))
    categories = [{"id": i, "name": n, "supercategory": "face"} for i, n in enumerate(names, 1)]
    lookup = {n: i for i, n in enumerate(names, 1)}
    images, annotations = [], []
    for index, row in enumerate(frame.to_dict("records"), 1):
        target = out / "images" / row["filename"]
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(row["path"], target)
        images.append(
            {
                "id": index,
                "file_name": row["filename"],
                "width": int(row["width"]),
                "height": int(row["height"]),
            }
        )
        w, h = row["xmax"] - row["xmin"], row["ymax"] - row["ymin"]
        annotations.append(
            {
                "id": index,
                "image_id": index,
                "category_id": lookup[row["class"]],
                "bbox": [row["xmin"], row["ymin"], w, h],
                "area": w * h,
                "iscrowd": 0,
            }
        )
    payload = {"images": images, "annotations": annotations, "categories": categories}
    atomic_write_json(out / ANNOTATION_FILE, payload)
