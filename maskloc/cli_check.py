"""CLI `check IMAGE...`: is there a face, and if so mask or no-mask and where, one line per image.

Its own module so the command stays out of the way of the other commands' options; __main__
registers it with `add_command`. A picture that cannot be read gets the usual one-line error on
stderr and the others go on; the exit status is 2 when any picture failed.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .config import DEFAULT_CHECKPOINT

if TYPE_CHECKING:  # predict imports torch: the CLI loads it only when it runs a command
    from .predict import Prediction

CHECK_KEYS = ("file", "face", "face_score", "class", "confidence", "box")


def add_command(commands: argparse._SubParsersAction) -> None:
    """Register `check` on the CLI's subparsers."""
    p = commands.add_parser(
        "check",
        help="say for each image whether it shows a face, and mask / no-mask with its box",
        description="One line per image; with --json one JSON object per line with the keys "
        f"{', '.join(CHECK_KEYS)} (box in pixels; class and box null when no face is found). "
        "Models trained before face presence existed always find a face (face_score null).",
    )
    p.add_argument("images", nargs="+", help="image files")
    p.add_argument("--checkpoint", default=str(DEFAULT_CHECKPOINT))
    p.add_argument("--json", action="store_true", help="one JSON object per image")
    p.set_defaults(handler=run_check)


def check_record(file: str, prediction: Prediction) -> dict[str, Any]:
    """The JSON answer for one image: verdict fields only when a face was found."""
    found = bool(prediction.face)
    return {
        "file": file,
        "face": found,
        "face_score": None if prediction.face_score is None else round(prediction.face_score, 4),
        "class": prediction.class_name if found else None,
        "confidence": round(prediction.confidence, 4) if found else None,
        "box": list(prediction.box) if found else None,
    }


def check_line(file: str, prediction: Prediction) -> str:
    """The same answer as a sentence."""
    score = "" if prediction.face_score is None else f" (face score {prediction.face_score:.2f})"
    if not prediction.face:
        return f"{file}: no face found{score}"
    box = ",".join(map(str, prediction.box))
    line = f"{file}: {prediction.class_name} {prediction.confidence:.0%}{score}, box {box}"
    if prediction.too_small:
        line += "; the face is small in the picture: come closer"
    return line


def run_check(args: argparse.Namespace) -> int:
    from .images import ImageError
    from .messages import N_
    from .predict import Predictor

    predictor = Predictor(args.checkpoint)
    failed = 0
    for file in args.images:
        try:
            if not Path(file).is_file():
                raise ImageError(N_("{file}: file not found"), file=file)
            prediction = predictor.predict(file)
        except ImageError as error:
            failed += 1
            print(f"error: {error}", file=sys.stderr)
            continue
        if args.json:
            print(json.dumps(check_record(file, prediction)), flush=True)
        else:
            print(check_line(file, prediction), flush=True)
    return 2 if failed else 0
