"""Predictor on ONNX Runtime: the same interface as `predictor.Predictor` (one image, a table, a
split), on an exported `.onnx` file, about three times faster on a laptop CPU.

Needs `onnxruntime` (requirements-onnx.txt); `runtime_available()` says whether it is installed.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from ..models.checkpoint import CheckpointError
from .onnx_export import INPUT, OUTPUTS
from .predictor import Predictor


def runtime_available() -> bool:
    try:
        import onnxruntime  # noqa: F401
    except ImportError:
        return False
    return True


class OrtModel(nn.Module):
    """An ONNX Runtime session behind the model interface: float images in [0, 1] -> a dict of
    outputs named as in OUTPUTS (so evaluation, TTA and drawing code need no change)."""

    def __init__(self, session: Any) -> None:
        super().__init__()
        self.session = session
        self.output_names = [output.name for output in session.get_outputs()]

    def forward(self, images: torch.Tensor) -> dict[str, torch.Tensor]:
        feed = {INPUT: np.ascontiguousarray(images.detach().float().cpu().numpy())}
        values = self.session.run(self.output_names, feed)
        return {
            name: torch.from_numpy(value)
            for name, value in zip(self.output_names, values, strict=True)
        }


def read_metadata(custom: dict[str, str], name: str) -> dict[str, Any]:
    """The checkpoint-like metadata of an exported file; CheckpointError when it has none."""
    try:
        meta = json.loads(custom.get("maskloc", "{}"))
        meta["class_names"] = list(json.loads(custom["class_names"]))
        meta["image_size"] = int(custom["image_size"])
    except (KeyError, ValueError, TypeError) as error:
        raise CheckpointError(
            f"{name}: not a maskloc ONNX file (metadata class_names/image_size missing)"
        ) from error
    return meta


class OnnxPredictor(Predictor):
    """`Predictor` running an exported ONNX file with ONNX Runtime on the CPU."""

    def __init__(self, model_file: str | Path | bytes, threads: int = 0) -> None:
        import onnxruntime as ort

        name = "uploaded ONNX file" if isinstance(model_file, bytes) else str(model_file)
        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        options.log_severity_level = 3
        source = model_file if isinstance(model_file, bytes) else str(model_file)
        try:
            session = ort.InferenceSession(source, options, providers=["CPUExecutionProvider"])
        except Exception as error:  # ORT raises its own exception types for bad files
            raise CheckpointError(
                f"{name}: not an ONNX file ONNX Runtime can run ({error})"
            ) from error
        missing = set(OUTPUTS) - {output.name for output in session.get_outputs()}
        if missing:
            raise CheckpointError(f"{name}: the ONNX graph has no output {sorted(missing)}")
        self.meta = read_metadata(session.get_modelmeta().custom_metadata_map, name)
        self.device = torch.device("cpu")
        self.model = OrtModel(session)
        self.class_names = list(self.meta["class_names"])
        self.image_size = int(self.meta["image_size"])
        threshold = self.meta.get("presence_threshold")
        presence = "presence" in self.model.output_names
        self.presence_threshold = float(threshold) if presence and threshold is not None else None
        self.runtime = "ONNX Runtime"

    def outputs(self, square: np.ndarray) -> dict[str, np.ndarray]:
        """Straight from numpy to the session: a torch round trip costs more than the network's
        run on a laptop CPU."""
        images = square.transpose(2, 0, 1)[None].astype(np.float32) / np.float32(255.0)
        session = self.model.session
        values = session.run(self.model.output_names, {INPUT: images})
        return dict(zip(self.model.output_names, values, strict=True))
