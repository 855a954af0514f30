"""`evaluate` (scores on a split), `predict` (test.csv -> submission.csv) and `check` (is there a
face in each image, and if so mask or no-mask and where: one line per image).

A picture `check` cannot read gets the usual one-line error on stderr and the others go on; the
exit status is 2 when any picture failed.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..config.paths import bundled_checkpoint, default_data_root
from ..data.layout import EVAL_SPLITS, VAL
from ._shared import add_skip_bad_rows, progress_bar, refuse_bad_rows

if TYPE_CHECKING:  # the predictor imports torch: the CLI loads it only when it runs a command
    from ..inference.predictor import Prediction

CHECK_KEYS = ("file", "face", "face_score", "class", "confidence", "box")


def add_commands(commands: argparse._SubParsersAction) -> None:
    """Register `evaluate`, `predict` and `check`."""
    checkpoint, data = str(bundled_checkpoint()), str(default_data_root())
    p = commands.add_parser("evaluate", help="score a checkpoint on a split of a dataset folder")
    p.add_argument("--checkpoint", default=checkpoint)
    p.add_argument("--data", default=data)
    p.add_argument(
        "--split",
        default=VAL,
        choices=EVAL_SPLITS,
        help="val: the model's validation split of train.csv; test: test.csv scored against "
        "test_labels.csv; all: every labelled row of train.csv",
    )
    p.add_argument("--tta", action="store_true", help="average with the mirrored image")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.add_argument("--per-image", help="also write per-image results to this CSV")
    add_skip_bad_rows(p)
    p.set_defaults(handler=_evaluate)

    p = commands.add_parser("predict", help="predict test.csv and write a submission CSV")
    p.add_argument("--checkpoint", default=checkpoint)
    p.add_argument("--data", default=data)
    p.add_argument("--out", default="submission.csv")
    add_skip_bad_rows(p)
    p.set_defaults(handler=_predict)

    p = commands.add_parser(
        "check",
        help="say for each image whether it shows a face, and mask / no-mask with its box",
        description="One line per image; with --json one JSON object per line with the keys "
        f"{', '.join(CHECK_KEYS)} (box in pixels; class and box null when no face is found). "
        "Models trained before face presence existed always find a face (face_score null).",
    )
    p.add_argument("images", nargs="+", help="image files")
    p.add_argument("--checkpoint", default=checkpoint)
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
    from ..data.images import ImageError
    from ..inference.predictor import Predictor
    from ..utils.messages import N_

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


def _evaluate(args: argparse.Namespace) -> int:
    from ..inference.evaluate import evaluate
    from ..inference.predictor import Predictor

    refuse_bad_rows(args.data, args.skip_bad_rows)
    predictor = Predictor(args.checkpoint)
    metrics, per_image = evaluate(
        predictor, args.data, args.split, args.tta, progress_bar("decode images")
    )
    if args.per_image:
        per_image.to_csv(args.per_image, index=False)
    if args.json:
        print(json.dumps(metrics))
    else:
        for key, value in metrics.items():
            print(f"{key:>18}: {value:.4f}" if isinstance(value, float) else f"{key:>18}: {value}")
    return 0


def _predict(args: argparse.Namespace) -> int:
    from ..inference.evaluate import predict_submission, write_submission
    from ..inference.predictor import Predictor

    refuse_bad_rows(args.data, args.skip_bad_rows)
    submission = predict_submission(
        Predictor(args.checkpoint), args.data, progress_bar("decode images")
    )
    write_submission(submission, args.out)
    print(f"wrote {len(submission)} rows to {args.out}", file=sys.stderr)
    return 0
