"""Pascal VOC XML, as LabelImg (xml beside the images) and CVAT (`Annotations/` + `JPEGImages/`)
write it. VOC pixel coordinates are 1-based and inclusive: our 0-based xmin is VOC's xmin - 1,
our exclusive xmax is VOC's xmax.

XML with a DOCTYPE or entity declarations is refused (entity expansion is the classic XML attack);
the five predefined entities (`&amp;` ...) and character references are decoded as usual.
"""

from __future__ import annotations

import shutil
import xml.etree.ElementTree as ET
from pathlib import Path
from xml.sax.saxutils import escape

import pandas as pd

from ..utils.messages import N_
from .locate import IMAGE_SUFFIXES, files_under, find_image, read_text
from .report import BAD_ANNOTATION, IMAGE_MISSING, FormatError, SourceBox, SourcePicture

ANNOTATIONS, IMAGES = "Annotations", "JPEGImages"


def _number(element: ET.Element, tag: str, index: int) -> float:
    text = element.findtext(tag)
    if text is None or not text.strip():
        raise FormatError(N_("object {index}: <{tag}> missing"), index=index, tag=tag)
    try:
        return float(text)
    except ValueError as error:
        raise FormatError(
            N_("object {index}: <{tag}> {value!r} is not a number"),
            index=index,
            tag=tag,
            value=text.strip(),
        ) from error


def _parse(xml_path: Path) -> tuple[str, list[SourceBox]]:
    """The file name and boxes of one VOC file; FormatError naming what is wrong."""
    text = read_text(xml_path)
    if "<!DOCTYPE" in text or "<!ENTITY" in text:
        raise FormatError(N_("declares a DOCTYPE or entities (refused for safety)"))
    try:
        root = ET.fromstring(text)
    except ET.ParseError as error:
        raise FormatError(N_("not well-formed XML ({error})"), error=error) from error
    if root.tag != "annotation":
        raise FormatError(N_("root element is <{tag}>, not <annotation>"), tag=root.tag)
    boxes = []
    for index, obj in enumerate(root.findall("object"), 1):
        name = (obj.findtext("name") or "").strip()
        found = obj.find("bndbox")
        if found is None:
            if not name:
                raise FormatError(N_("object {index} (no name) has no <bndbox>"), index=index)
            raise FormatError(N_("object {index} ({name}) has no <bndbox>"), index=index, name=name)
        xmin, ymin, xmax, ymax = (
            _number(found, tag, index) for tag in ("xmin", "ymin", "xmax", "ymax")
        )
        boxes.append(SourceBox(name, xmin - 1.0, ymin - 1.0, xmax, ymax))
    return (root.findtext("filename") or "").strip(), boxes


def read(root: Path) -> list[SourcePicture]:
    """Every `*.xml` under root with `<annotation>`; the image is looked up beside the xml, then
    in a sibling `JPEGImages/`; without `<filename>`, by the xml's own name."""
    pictures = []
    for xml_path in files_under(root, ".xml"):
        label = str(xml_path.relative_to(root))
        try:
            filename, boxes = _parse(xml_path)
        except (ValueError, OSError) as error:
            detail = error if isinstance(error, FormatError) else str(error)
            pictures.append(SourcePicture(label, None, problem=(BAD_ANNOTATION, detail)))
            continue
        bases = [xml_path.parent, xml_path.parent.parent / IMAGES, root / IMAGES]
        if filename:
            image, problem = find_image(filename, bases)
        else:
            missing = FormatError(N_("no <filename> and no image named like the xml"))
            image, problem = None, (IMAGE_MISSING, missing)
            for suffix in IMAGE_SUFFIXES:
                image, _ = find_image(xml_path.stem + suffix, bases)
                if image is not None:
                    filename, problem = image.name, None
                    break
        pictures.append(SourcePicture(filename or label, image, boxes, problem))
    return pictures


def _coordinate(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else repr(float(value))


def annotation_xml(filename: str, width: int, height: int, class_name: str, box) -> str:
    """One picture's VOC XML (1-based inclusive pixel coordinates)."""
    xmin, ymin, xmax, ymax = box
    return (
        "<annotation>\n"
        f"  <folder>{IMAGES}</folder>\n"
        f"  <filename>{escape(filename)}</filename>\n"
        f"  <size><width>{width}</width><height>{height}</height><depth>3</depth></size>\n"
        "  <segmented>0</segmented>\n"
        "  <object>\n"
        f"    <name>{escape(class_name)}</name>\n"
        "    <pose>Unspecified</pose><truncated>0</truncated><difficult>0</difficult>\n"
        "    <bndbox>"
        f"<xmin>{_coordinate(xmin + 1)}</xmin><ymin>{_coordinate(ymin + 1)}</ymin>"
        f"<xmax>{_coordinate(xmax)}</xmax><ymax>{_coordinate(ymax)}</ymax>"
        "</bndbox>\n"
        "  </object>\n"
        "</annotation>\n"
    )


def write(frame: pd.DataFrame, out: Path) -> None:
    """CVAT's layout: `Annotations/NAME.xml` and `JPEGImages/NAME` (whatever the image type)."""
    for row in frame.to_dict("records"):
        image = out / IMAGES / row["filename"]
        image.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(row["path"], image)
        xml = out / ANNOTATIONS / Path(row["filename"]).with_suffix(".xml")
        if xml.exists():  # a.jpg and a.png in one dataset
            xml = xml.with_name(Path(row["filename"]).name + ".xml")
        xml.parent.mkdir(parents=True, exist_ok=True)
        box = (row["xmin"], row["ymin"], row["xmax"], row["ymax"])
        text = annotation_xml(row["filename"], row["width"], row["height"], row["class"], box)
        xml.write_text(text, encoding="utf-8")
