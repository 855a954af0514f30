"""CLI `fit-presence`: add the face-presence output to a trained checkpoint (see presence_fit)."""

from __future__ import annotations

import argparse
import json
import logging

from .config import DEFAULT_CHECKPOINT, DEFAULT_DATA
from .presence_fit import PresenceFitSettings


def add_command(commands: argparse._SubParsersAction) -> None:
    """Register `fit-presence` on the CLI's subparsers."""
    s = PresenceFitSettings()
    p = commands.add_parser(
        "fit-presence",
        help="fit a face-presence head on a trained model (the rest stays unchanged)",
        description="Pools the frozen model's features on the dataset's faces and no_face.csv "
        "windows, trains the presence head, chooses its threshold on the model's own "
        "validation split and writes a new checkpoint.",
    )
    p.add_argument("--checkpoint", default=str(DEFAULT_CHECKPOINT), help="trained model")
    p.add_argument("--data", default=str(DEFAULT_DATA), help="dataset folder with no_face.csv")
    p.add_argument("--out", required=True, help="checkpoint to write")
    p.add_argument("--variants", type=int, default=s.variants, help="pictures per image")
    p.add_argument("--epochs", type=int, default=s.epochs)
    p.add_argument("--seed", type=int, default=s.seed)
    p.set_defaults(handler=run_fit_presence)


def run_fit_presence(args: argparse.Namespace) -> int:
    from .presence_fit import fit_presence

    logging.basicConfig(level=logging.INFO, format="%(message)s")
    settings = PresenceFitSettings(variants=args.variants, epochs=args.epochs, seed=args.seed)
    scores = fit_presence(args.checkpoint, args.data, args.out, settings)
    print(json.dumps({"out": args.out, **scores}))
    return 0
