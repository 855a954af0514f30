"""`ensemble`, `summary`, `export` (ONNX) and `fit-presence`: commands that make or show a model."""

from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path

from ..config.paths import bundled_checkpoint, default_data_root
from ..config.sections import DataConfig, ModelConfig
from ..data.layout import VAL
from ._shared import positive

EXPORT_FORMATS = ("onnx",)


def add_commands(commands: argparse._SubParsersAction) -> None:
    """Register `ensemble`, `summary`, `export` and `fit-presence`."""
    checkpoint, data = str(bundled_checkpoint()), str(default_data_root())
    p = commands.add_parser(
        "ensemble",
        help="combine trained checkpoints into one that averages their answers",
        description="Members must share classes, input size and validation split; the result "
        "stores float16 weights and its own validation metrics.",
    )
    p.add_argument("members", nargs="+", help="member checkpoints (two or more)")
    p.add_argument("--out", required=True, help="ensemble checkpoint to write")
    p.add_argument("--data", default=data, help="dataset for the validation score")
    p.set_defaults(handler=_ensemble)

    p = commands.add_parser("summary", help="layer table of a model (or a checkpoint's model)")
    p.add_argument("--model", default=ModelConfig().name)
    p.add_argument("--checkpoint", help="summarise this checkpoint's model instead")
    p.add_argument("--image-size", type=positive, default=DataConfig().image_size)
    p.set_defaults(handler=_summary)

    p = commands.add_parser(
        "export",
        help="export a checkpoint for other runtimes (ONNX)",
        description="ONNX: input 'images' float32 Nx3xSxS in [0, 1] (normalisation inside), "
        "outputs 'logits' (NxC) and 'boxes' (Nx4 xyxy in [0, 1]), metadata class_names and "
        "image_size. Needs requirements-onnx.txt.",
    )
    p.add_argument("--checkpoint", default=checkpoint)
    p.add_argument("--format", default="onnx", choices=EXPORT_FORMATS)
    p.add_argument("--out", required=True, help="file to write, e.g. model.onnx")
    p.add_argument(
        "--check", action="store_true", help="run it with ONNX Runtime and compare with PyTorch"
    )
    p.set_defaults(handler=_export)

    p = commands.add_parser(
        "fit-presence",
        help="fit a face-presence head on a trained model (the rest stays unchanged)",
        description="Pools the frozen model's features on the dataset's faces and no_face.csv "
        "windows, trains the presence head, chooses its threshold on the model's own "
        "validation split and writes a new checkpoint.",
    )
    p.add_argument("--checkpoint", default=checkpoint, help="trained model")
    p.add_argument("--data", default=data, help="dataset folder with no_face.csv")
    p.add_argument("--out", required=True, help="checkpoint to write")
    p.add_argument("--variants", type=int, help="pictures per image (default: 4)")
    p.add_argument("--epochs", type=int, help="passes over the pooled features (default: 300)")
    p.add_argument("--seed", type=int, help="default: 0")
    p.set_defaults(handler=_fit_presence)


def _ensemble(args: argparse.Namespace) -> int:
    from ..inference.evaluate import evaluate
    from ..inference.predictor import Predictor
    from ..models.checkpoint import checkpoint_bytes, ensemble_payload
    from ..utils.atomic import atomic_write_bytes

    payload = ensemble_payload(args.members)
    metrics, _ = evaluate(Predictor(checkpoint_bytes(payload)), args.data, VAL)
    payload["metrics"] = metrics
    atomic_write_bytes(Path(args.out), checkpoint_bytes(payload))
    print(f"wrote {args.out}: {payload['model_config']['name']}, validation {json.dumps(metrics)}")
    return 0


def _summary(args: argparse.Namespace) -> int:
    from ..models.checkpoint import load_model
    from ..models.localization import LocalizationModel, model_summary

    if args.checkpoint:
        model, meta = load_model(args.checkpoint)
        size = meta["image_size"]
    else:
        model, size = LocalizationModel(ModelConfig(args.model, pretrained=False)), args.image_size
    print(model_summary(model, size))
    return 0


def _export(args: argparse.Namespace) -> int:
    from ..inference.onnx_export import export_onnx

    path = export_onnx(args.checkpoint, args.out)
    print(f"wrote {path} ({path.stat().st_size / 1e6:.1f} MB)", file=sys.stderr)
    if args.check:
        from ..inference.onnx_parity import parity

        print(parity(args.checkpoint, path).summary())
    return 0


def _fit_presence(args: argparse.Namespace) -> int:
    from ..training.presence_fit import PresenceFitSettings, fit_presence

    logging.basicConfig(level=logging.INFO, format="%(message)s")
    given = {"variants": args.variants, "epochs": args.epochs, "seed": args.seed}
    settings = PresenceFitSettings(**{k: v for k, v in given.items() if v is not None})
    scores = fit_presence(args.checkpoint, args.data, args.out, settings)
    print(json.dumps({"out": args.out, **scores}))
    return 0
