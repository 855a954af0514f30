"""Annotation formats people already have (Pascal VOC, COCO, YOLO) in and out of the competition
layout. Hand-written with the standard library: no converter library fits the project's pins."""

from .convert import FORMATS, MULTI_BOX, export_dataset, import_dataset, parse_renames
from .report import ExportReport, FormatError, ImportReport, Refusal

__all__ = [
    "FORMATS",
    "MULTI_BOX",
    "ExportReport",
    "FormatError",
    "ImportReport",
    "Refusal",
    "export_dataset",
    "import_dataset",
    "parse_renames",
]
