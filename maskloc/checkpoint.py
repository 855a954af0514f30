"""Checkpoints are plain dicts of tensors and primitives: loadable with weights_only=True, written
atomically so a crash mid-write never leaves a half file where a good one was."""

from __future__ import annotations

import io
import json
import os
import pickle
import tempfile
import zipfile
from dataclasses import asdict
from pathlib import Path
from typing import Any

import torch

from .config import ModelConfig
from .models import LocalizationModel

FORMAT = "maskloc-checkpoint/1"


class CheckpointError(ValueError):
    """A file that is not a usable maskloc checkpoint; the message says why."""


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write to a temp file in the same folder, fsync, then rename over the target."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        os.fchmod(handle, 0o644)  # mkstemp's 0600 would hide runs from other users of a server
        with os.fdopen(handle, "wb") as out:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
        os.replace(temp, path)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise


def atomic_write_json(path: Path, payload: Any) -> None:
    atomic_write_bytes(path, json.dumps(payload, indent=2, default=str).encode())


def save_checkpoint(
    path: str | Path,
    model: LocalizationModel,
    class_names: list[str],
    image_size: int,
    metrics: dict[str, Any] | None = None,
    run_config: dict[str, Any] | None = None,
    **extra: Any,
) -> None:
    """State dict plus everything needed to rebuild and use the model without the run folder."""
    payload = {
        "format": FORMAT,
        "state_dict": {k: v.detach().cpu() for k, v in model.state_dict().items()},
        "model_config": asdict(model.config),
        "class_names": list(class_names),
        "image_size": int(image_size),
        "mean": model.mean.flatten().tolist(),
        "std": model.std.flatten().tolist(),
        "metrics": _plain(metrics or {}),
        "run_config": _plain(run_config or {}),
        **_plain(extra),
    }
    buffer = io.BytesIO()
    torch.save(payload, buffer)
    atomic_write_bytes(Path(path), buffer.getvalue())


def _plain(value: Any) -> Any:
    """JSON round trip: only types weights_only loading accepts survive."""
    return json.loads(json.dumps(value, default=str))


def read_checkpoint(source: str | Path | bytes) -> dict[str, Any]:
    """The checkpoint dict, refusing anything that is not one (never runs pickled code)."""
    name = str(source) if not isinstance(source, bytes) else "uploaded checkpoint"
    try:
        handle = io.BytesIO(source) if isinstance(source, bytes) else source
        payload = torch.load(handle, map_location="cpu", weights_only=True)
    except FileNotFoundError as error:
        raise CheckpointError(f"{name}: file not found") from error
    except pickle.UnpicklingError as error:
        if "Unsupported global" in str(error):
            raise CheckpointError(
                f"{name}: refused, it holds code or objects other than weights"
            ) from error
        raise CheckpointError(f"{name}: not a readable PyTorch checkpoint") from error
    except (RuntimeError, EOFError, zipfile.BadZipFile, OSError, ValueError) as error:
        raise CheckpointError(f"{name}: not a readable PyTorch checkpoint ({error})") from error
    if not isinstance(payload, dict) or payload.get("format") != FORMAT:
        raise CheckpointError(f"{name}: not a maskloc checkpoint (no '{FORMAT}' marker)")
    return payload


def load_model(source: str | Path | bytes) -> tuple[LocalizationModel, dict[str, Any]]:
    """Rebuild the model from a checkpoint (eval mode, on CPU) and return it with its metadata."""
    payload = read_checkpoint(source)
    name = str(source) if not isinstance(source, bytes) else "uploaded checkpoint"
    try:
        config = ModelConfig(**{**payload["model_config"], "pretrained": False})
        if config.num_classes != len(payload["class_names"]):
            raise ValueError(
                f"{config.num_classes} class outputs but {len(payload['class_names'])} class names"
            )
        model = LocalizationModel(config, tuple(payload["mean"]), tuple(payload["std"]))
        model.load_state_dict(payload["state_dict"], strict=True)
    except (KeyError, TypeError, ValueError, RuntimeError) as error:
        raise CheckpointError(f"{name}: does not fit its architecture ({error})") from error
    return model.eval(), payload
