"""`build-dataset` (the bundled dataset from raw photos), `zoom-out` (a webcam-like copy of a
split), `import-dataset` (VOC / COCO / YOLO, folder or zip -> competition layout) and
`export-dataset` (competition layout -> VOC / COCO / YOLO, folder or .zip)."""

from __future__ import annotations

import argparse
import sys
from dataclasses import fields
from pathlib import Path

from ..config.paths import default_data_root
from ..data.build.records import BuildSettings
from ..data.layout import EVAL_SPLITS, TEST
from ._shared import fraction, positive, progress_bar


def _cap(text: str) -> int | None:
    return None if text.lower() == "none" else positive(text)


def add_commands(commands: argparse._SubParsersAction) -> None:
    """Register `build-dataset`, `zoom-out`, `import-dataset` and `export-dataset`."""
    from ..formats import FORMATS, MULTI_BOX

    s = BuildSettings()
    p = commands.add_parser("build-dataset", help="crop one face per image from a raw photo set")
    p.add_argument("--raw", required=True, help="folder with boxes.csv and images/")
    p.add_argument("--out", required=True, help="dataset folder to write")
    p.add_argument("--size", type=positive, default=s.size, help="output side in pixels")
    p.add_argument("--min-face", type=positive, default=s.min_face, help="skip smaller faces")
    p.add_argument("--context-min", type=float, default=s.context_min)
    p.add_argument("--context-max", type=float, default=s.context_max)
    p.add_argument("--max-other-overlap", type=fraction, default=s.max_other_overlap)
    p.add_argument("--test-fraction", type=fraction, default=s.test_fraction)
    p.add_argument(
        "--max-per-photo",
        type=_cap,
        default=s.max_per_photo,
        help="cap on crops from one photo ('none': no cap)",
    )
    p.add_argument("--jpeg-quality", type=positive, default=s.jpeg_quality)
    p.add_argument(
        "--no-face-per-photo",
        type=int,
        default=s.no_face_per_photo,
        help="no-face windows (presence negatives) per photo; 0: none",
    )
    p.add_argument("--no-face-margin", type=float, default=s.no_face_margin)
    p.add_argument("--seed", type=int, default=s.seed)
    p.add_argument("--overwrite", action="store_true", help="replace a previous build in OUT")
    p.set_defaults(handler=_build_dataset)

    p = commands.add_parser(
        "zoom-out", help="copy a split with each image on a 2x edge-stretched canvas (webcam-like)"
    )
    p.add_argument("--data", default=str(default_data_root()))
    p.add_argument("--split", default=TEST, choices=EVAL_SPLITS)
    p.add_argument("--out", required=True, help="dataset folder to write")
    p.add_argument("--factor", type=float, default=2.0, help="canvas side / image side")
    p.add_argument("--seed", type=int, default=0)
    p.set_defaults(handler=_zoom_out)

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


def _build_dataset(args: argparse.Namespace) -> int:
    from ..data.build.builder import build_dataset

    flags = {f.name for f in fields(BuildSettings)} & vars(args).keys()  # all but placement_tries
    settings = BuildSettings(**{name: getattr(args, name) for name in flags})
    report = build_dataset(
        Path(args.raw), Path(args.out), settings, progress_bar("crop faces"), args.overwrite
    )
    print(report.summary())
    return 0


def _zoom_out(args: argparse.Namespace) -> int:
    from ..data.zoom_out import write_zoomed_out

    count = write_zoomed_out(args.data, args.out, args.split, args.factor, args.seed)
    print(f"wrote {count} zoomed-out images to {args.out}", file=sys.stderr)
    return 0


def _import(args: argparse.Namespace) -> int:
    from ..formats import import_dataset, parse_renames

    report = import_dataset(
        args.source, args.format, args.out, parse_renames(args.rename_class), args.multi_box
    )
    print(report.summary())
    return 0


def _export(args: argparse.Namespace) -> int:
    from ..formats import export_dataset

    print(export_dataset(args.data, args.format, args.out).summary(), file=sys.stdout)
    return 0
