"""A trained checkpoint as an ONNX file any runtime can run, without maskloc or PyTorch.

The contract (also in docs/classroom-server.md):
- input `images`: float32 N x 3 x S x S, RGB in [0, 1], any N; normalisation is inside the graph;
- outputs, in OUTPUTS order: `logits` (N x C) and `boxes` (N x 4, x0 y0 x1 y1 in [0, 1] of the
  input); then, for models that have it, `presence` (N face-presence logits; sigmoid >=
  metadata `presence_threshold` means "a face is there");
- metadata: `class_names` (a JSON list), `image_size` (S), and `maskloc` (JSON: model settings,
  metrics, run settings and the source checkpoint's sha256, so a predictor can score splits).

Needs `onnx` and `onnxscript` (requirements-onnx.txt): torch's default (dynamo) exporter. The
legacy one (`dynamo=False`) cannot export the spatial box head's adaptive pooling.
"""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import torch
from torch import nn

from ..config.paths import PACKAGE
from ..models.checkpoint import load_model
from ..utils.atomic import atomic_write_bytes
from ..utils.fingerprints import file_digest
from ..utils.keyed_locks import KeyedLocks
from ..utils.messages import ExplainedError

log = logging.getLogger(__name__)

INPUT = "images"
# The model's output keys that the ONNX graph exposes, in order. A new output is one more name.
OUTPUTS = ("logits", "boxes")
OPTIONAL_OUTPUTS = ("presence",)  # exported when the model has them
META_KEYS = ("model_config", "metrics", "run_config", "presence_threshold")


class ExportUnavailable(ExplainedError, RuntimeError):
    """The export dependencies (onnx, onnxscript) are not installed."""


def export_available() -> bool:
    try:
        import onnx  # noqa: F401
        import onnxscript  # noqa: F401
    except ImportError:
        return False
    return True


class _Outputs(nn.Module):
    """The model's dict of outputs as a tuple in `names` order (ONNX graphs return tuples)."""

    def __init__(self, model: nn.Module, names: tuple[str, ...]) -> None:
        super().__init__()
        self.model, self.names = model, names

    def forward(self, images: torch.Tensor) -> tuple[torch.Tensor, ...]:
        out = self.model(images)
        return tuple(out[name].float() for name in self.names)


def output_names(model: nn.Module, image_size: int) -> tuple[str, ...]:
    """OUTPUTS, then the OPTIONAL_OUTPUTS this model produces (one dry run)."""
    with torch.no_grad():
        produced = model(torch.zeros(1, 3, image_size, image_size)).keys()
    return OUTPUTS + tuple(name for name in OPTIONAL_OUTPUTS if name in produced)


def onnx_metadata(meta: dict[str, Any], digest: str) -> dict[str, str]:
    """The metadata strings an exported file carries."""
    extra = {key: meta[key] for key in META_KEYS if key in meta}
    extra["checkpoint_sha256"] = digest
    strings = {
        "class_names": json.dumps(list(meta["class_names"])),
        "image_size": str(int(meta["image_size"])),
        "maskloc": json.dumps(extra, default=str),
    }
    if meta.get("presence_threshold") is not None:
        strings["presence_threshold"] = str(float(meta["presence_threshold"]))
    return strings


def onnx_model_bytes(checkpoint: str | Path) -> bytes:
    """Export a checkpoint to ONNX bytes (float32, CPU, dynamic batch, metadata set)."""
    if not export_available():
        raise ExportUnavailable(
            "ONNX export needs onnx and onnxscript: pip install -r requirements-onnx.txt"
        )
    model, meta = load_model(checkpoint)
    model = model.float().cpu().eval()
    size = int(meta["image_size"])
    names = output_names(model, size)
    wrapper = _Outputs(model, names).eval()
    started = time.monotonic()
    program = torch.onnx.export(
        wrapper,
        (torch.rand(2, 3, size, size),),
        dynamo=True,
        input_names=[INPUT],
        output_names=list(names),
        dynamic_shapes={"images": {0: torch.export.Dim("batch")}},
        verbose=False,
    )
    proto = program.model_proto
    for key, value in onnx_metadata(meta, file_digest(checkpoint)).items():
        entry = proto.metadata_props.add()
        entry.key, entry.value = key, value
    data = proto.SerializeToString()
    log.info("exported %s to ONNX in %.1f s", checkpoint, time.monotonic() - started)
    return data


def export_onnx(checkpoint: str | Path, out: str | Path) -> Path:
    """Write the checkpoint's ONNX file to `out` atomically."""
    out = Path(out)
    atomic_write_bytes(out, onnx_model_bytes(checkpoint))
    return out


def export_onnx_isolated(checkpoint: str | Path, out: str | Path, timeout: float = 600.0) -> Path:
    """`export_onnx` in a child process (`python -m maskloc export`).

    Why: the exporter compiles Python code while it traces; in a server whose other threads
    compile page scripts at the same time, CPython 3.11 can fail one of them with "AST
    constructor recursion depth mismatch". A child process shares no interpreter with the app.
    """
    out = Path(out).resolve()
    package_root = PACKAGE.parent  # the folder that holds maskloc: a checkout or site-packages
    command = [sys.executable, "-m", "maskloc", "export", "--checkpoint"]
    command += [str(Path(checkpoint).resolve()), "--out", str(out)]
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(
            filter(None, [str(package_root), os.environ.get("PYTHONPATH")])
        ),
    }
    try:
        done = subprocess.run(
            command, cwd=package_root, env=env, capture_output=True, text=True, timeout=timeout
        )
    except subprocess.TimeoutExpired as error:
        raise RuntimeError(f"ONNX export of {checkpoint} took over {timeout:.0f} s") from error
    if done.returncode != 0:
        lines = [line for line in done.stderr.splitlines() if line.strip()]
        reason = lines[-1] if lines else f"exit status {done.returncode}"
        raise RuntimeError(f"ONNX export of {checkpoint} failed: {reason.removeprefix('error: ')}")
    return out


class OnnxFiles:
    """ONNX copies of checkpoints kept under one folder by the checkpoint's content hash, each
    exported once (even when many sessions ask together), optionally in the background.
    `isolated=True` (the app's choice) exports in a child process (see export_onnx_isolated)."""

    def __init__(self, folder: str | Path, isolated: bool = False) -> None:
        self.folder = Path(folder)
        self._export = export_onnx_isolated if isolated else export_onnx
        self._locks = KeyedLocks()
        self._guard = threading.Lock()
        self._threads: dict[str, threading.Thread] = {}
        self._errors: dict[str, str] = {}

    def path_for(self, checkpoint: str | Path) -> Path:
        return self.folder / f"{file_digest(checkpoint)[:32]}.onnx"

    def ready(self, checkpoint: str | Path) -> Path | None:
        """The ONNX copy if it exists already; never exports."""
        path = self.path_for(checkpoint)
        return path if path.is_file() else None

    def get(self, checkpoint: str | Path) -> Path:
        """The ONNX copy, exporting it now if needed (one export per file, others wait)."""
        path = self.path_for(checkpoint)
        with self._locks(path.name):
            if not path.is_file():
                self._export(checkpoint, path)
        return path

    def build_in_background(self, checkpoint: str | Path) -> None:
        """Export on a thread unless the copy exists, is being built, or failed before."""
        path = self.path_for(checkpoint)
        with self._guard:
            if path.is_file() or path.name in self._threads or path.name in self._errors:
                return
            # Not a daemon: an interpreter exiting mid-export (in-process) would abort inside
            # torch's exporter; exiting waits for the export instead, and the file is whole.
            thread = threading.Thread(
                target=self._build, args=(checkpoint, path.name), name="onnx-export"
            )
            self._threads[path.name] = thread
        thread.start()

    def _build(self, checkpoint: str | Path, name: str) -> None:
        try:
            self.get(checkpoint)
        except Exception as error:  # the app keeps PyTorch and says why
            log.warning("ONNX export of %s failed: %s", checkpoint, error)
            with self._guard:
                self._errors[name] = f"{type(error).__name__}: {error}"

    def error(self, checkpoint: str | Path) -> str | None:
        """Why the background export of this checkpoint failed, if it did."""
        with self._guard:
            return self._errors.get(self.path_for(checkpoint).name)

    def wait(self, checkpoint: str | Path, timeout: float | None = None) -> Path | None:
        """Wait for a background export; the file, or None if it is not there."""
        with self._guard:
            thread = self._threads.get(self.path_for(checkpoint).name)
        if thread is not None:
            thread.join(timeout)
        return self.ready(checkpoint)
