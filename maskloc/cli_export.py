"""CLI: `python -m maskloc export --checkpoint CK --format onnx --out model.onnx`."""

from __future__ import annotations

import argparse
import sys

from .config import DEFAULT_CHECKPOINT

FORMATS = ("onnx",)


def add_command(commands: argparse._SubParsersAction) -> None:
    p = commands.add_parser(
        "export",
        help="export a checkpoint for other runtimes (ONNX)",
        description="ONNX: input 'images' float32 Nx3xSxS in [0, 1] (normalisation inside), "
        "outputs 'logits' (NxC) and 'boxes' (Nx4 xyxy in [0, 1]), metadata class_names and "
        "image_size. Needs requirements-onnx.txt.",
    )
    p.add_argument("--checkpoint", default=str(DEFAULT_CHECKPOINT))
    p.add_argument("--format", default="onnx", choices=FORMATS)
    p.add_argument("--out", required=True, help="file to write, e.g. model.onnx")
    p.add_argument(
        "--check", action="store_true", help="run it with ONNX Runtime and compare with PyTorch"
    )
    p.set_defaults(handler=_export)


def _export(args: argparse.Namespace) -> int:
    from .onnx_export import export_onnx

    path = export_onnx(args.checkpoint, args.out)
    print(f"wrote {path} ({path.stat().st_size / 1e6:.1f} MB)", file=sys.stderr)
    if args.check:
        from .onnx_check import parity

        print(parity(args.checkpoint, path).summary())
    return 0
