"""CLI: `import-dataset` (VOC / COCO / YOLO, folder or zip -> competition layout) and
`export-dataset` (competition layout -> VOC / COCO / YOLO, folder or .zip)."""

from __future__ import annotations

import argparse
import sys


def add_commands(commands: argparse._SubParsersAction) -> None:
    from .formats import FORMATS, MULTI_BOX

    p = commands.add_parser(
        "import-dataset",
        help="import VOC / COCO / YOLO annotations (folder or zip) as a competition-layout folder",
        description="Keeps one box per picture: pictures with none or several are refused and "
        "named in the report, which ends with counts per class and per reason.",
    )
    p.add_argument("source", help="folder or .zip holding the annotations and images")
    p.add_argument("--format", required=True, choices=sorted(FORMATS))
    p.add_argument("--out", required=True, help="new (or empty) dataset folder to write")
    p.add_argument(
        "--rename-class",
        action="append",
        default=[],
        metavar="OLD=NEW",
        help="rename a class while importing (repeatable), e.g. with_mask=mask",
    )
    p.add_argument(
        "--multi-box",
        choices=MULTI_BOX,
        default="refuse",
        help="pictures with several boxes: refuse them (default) or keep the largest box",
    )
    p.set_defaults(handler=_import)

    p = commands.add_parser(
        "export-dataset", help="write a competition-layout dataset as VOC / COCO / YOLO"
    )
    p.add_argument("--data", required=True, help="dataset folder (competition layout)")
    p.add_argument("--format", required=True, choices=sorted(FORMATS))
    p.add_argument("--out", required=True, help="new folder, or a file name ending in .zip")
    p.set_defaults(handler=_export)


def _import(args: argparse.Namespace) -> int:
    from .formats import import_dataset, parse_renames

    report = import_dataset(
        args.source, args.format, args.out, parse_renames(args.rename_class), args.multi_box
    )
    print(report.summary())
    return 0


def _export(args: argparse.Namespace) -> int:
    from .formats import export_dataset

    print(export_dataset(args.data, args.format, args.out).summary(), file=sys.stdout)
    return 0
