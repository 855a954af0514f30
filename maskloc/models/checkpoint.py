"""Checkpoints are plain dicts of tensors and primitives: loadable with weights_only=True, written
atomically so a crash mid-write never leaves a half file where a good one was."""

from __future__ import annotations

import io
import json
import logging
import pickle
import zipfile
from collections.abc import Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any

import torch

from ..config.sections import ModelConfig
from ..utils.atomic import atomic_write_bytes
from ..utils.messages import N_, ExplainedError, Text
from .ensemble import EnsembleModel
from .localization import LocalizationModel

FORMAT = "maskloc-checkpoint/1"


logger = logging.getLogger(__name__)


UPLOADED = Text(N_("uploaded checkpoint"))  # the name of a checkpoint that came as bytes


class CheckpointError(ExplainedError, ValueError):
    """A file that is not a usable maskloc checkpoint; the message says why (`file` names it)."""


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
        **model_entry(model),
        "class_names": list(class_names),
        "image_size": int(image_size),
        "metrics": _plain(metrics or {}),
        "run_config": _plain(run_config or {}),
        **_plain(extra),
    }
    atomic_write_bytes(Path(path), checkpoint_bytes(payload))
    logger.debug("checkpoint written: %s", path)


def model_entry(model: LocalizationModel) -> dict[str, Any]:
    """What rebuilds one network: its config, normalisation and weights."""
    return {
        "state_dict": {k: v.detach().cpu() for k, v in model.state_dict().items()},
        "model_config": asdict(model.config),
        "mean": model.mean.flatten().tolist(),
        "std": model.std.flatten().tolist(),
    }


def checkpoint_bytes(payload: dict[str, Any]) -> bytes:
    buffer = io.BytesIO()
    torch.save({"format": FORMAT, **payload}, buffer)
    return buffer.getvalue()


def _plain(value: Any) -> Any:
    """JSON round trip: only types weights_only loading accepts survive."""
    return json.loads(json.dumps(value, default=str))


def read_checkpoint(source: str | Path | bytes) -> dict[str, Any]:
    """The checkpoint dict, refusing anything that is not one (never runs pickled code)."""
    name = str(source) if not isinstance(source, bytes) else UPLOADED
    try:
        handle = io.BytesIO(source) if isinstance(source, bytes) else source
        payload = torch.load(handle, map_location="cpu", weights_only=True)
    except FileNotFoundError as error:
        raise CheckpointError(N_("{file}: file not found"), file=name) from error
    except pickle.UnpicklingError as error:
        if "Unsupported global" in str(error):
            raise CheckpointError(
                N_("{file}: refused, it holds code or objects other than weights"), file=name
            ) from error
        raise CheckpointError(N_("{file}: not a readable PyTorch checkpoint"), file=name) from error
    except (RuntimeError, EOFError, zipfile.BadZipFile, OSError, ValueError) as error:
        raise CheckpointError(
            N_("{file}: not a readable PyTorch checkpoint ({detail})"), file=name, detail=error
        ) from error
    except Exception as error:  # torch's unpickler fails in many ways on foreign bytes
        raise CheckpointError(
            N_("{file}: not a readable PyTorch checkpoint ({detail})"),
            file=name,
            detail=f"{type(error).__name__}: {error}",
        ) from error
    if not isinstance(payload, dict) or payload.get("format") != FORMAT:
        raise CheckpointError(
            N_("{file}: not a maskloc checkpoint (no '{marker}' marker)"), file=name, marker=FORMAT
        )
    missing = sorted(REQUIRED_KEYS - payload.keys())
    if "members" not in payload and missing:
        raise CheckpointError(
            N_("{file}: not a complete maskloc checkpoint (no {missing})"),
            file=name,
            missing=", ".join(missing),
        )
    return payload


REQUIRED_KEYS = {"class_names", "image_size", "state_dict", "model_config", "mean", "std"}


SPLIT_SETTINGS = ("image_size", "val_fraction", "split_seed")


def ensemble_payload(sources: list[str | Path]) -> dict[str, Any]:
    """One ensemble checkpoint's content from member checkpoints that share classes, input size
    and validation split. Weights are stored as float16 (half the file, same answers to ~1e-3)."""
    if len(sources) < 2:
        raise CheckpointError(N_("an ensemble needs at least two checkpoints"))
    payloads = [read_checkpoint(source) for source in sources]
    first, first_data = payloads[0], payloads[0].get("run_config", {}).get("data", {})
    for source, payload in zip(sources, payloads, strict=True):
        if "members" in payload:
            raise CheckpointError(
                N_("{file}: is an ensemble already; list its members instead"), file=source
            )
        missing = REQUIRED_KEYS - payload.keys()
        if missing:
            raise CheckpointError(
                N_("{file}: not a complete checkpoint (no {missing})"),
                file=source,
                missing=sorted(missing),
            )
        data = payload.get("run_config", {}).get("data", {})
        for key, mine, theirs in (
            ("class_names", payload["class_names"], first["class_names"]),
            *((key, data.get(key), first_data.get(key)) for key in SPLIT_SETTINGS),
        ):
            if mine != theirs:
                raise CheckpointError(
                    N_(
                        "{file}: {key} {mine} differs from {first}'s {theirs}; members must "
                        "share classes, input size and validation split"
                    ),
                    file=source,
                    key=key,
                    mine=repr(mine),
                    first=sources[0],
                    theirs=repr(theirs),
                )
    members = [
        {
            "state_dict": {
                k: v.half() if v.is_floating_point() else v
                for k, v in payload["state_dict"].items()
            },
            **{key: payload[key] for key in ("model_config", "mean", "std")},
        }
        for payload in payloads
    ]
    return {
        "members": members,
        "model_config": {"name": " + ".join(m["model_config"]["name"] for m in members)},
        "class_names": first["class_names"],
        "image_size": first["image_size"],
        "metrics": {},
        "run_config": first.get("run_config", {}),
        "member_run_configs": [payload.get("run_config", {}) for payload in payloads],
        "member_files": [Path(source).name for source in sources],
    }


def _build(entry: dict[str, Any], class_count: int) -> LocalizationModel:
    # Checkpoints written before the presence output existed have no "presence" key: build them
    # without it, so they load strictly and answer exactly as they always did.
    config = ModelConfig(**{"presence": False, **entry["model_config"], "pretrained": False})
    if config.num_classes != class_count:
        raise ValueError(f"{config.num_classes} class outputs but {class_count} class names")
    model = LocalizationModel(config, tuple(entry["mean"]), tuple(entry["std"]))
    missing, unexpected = model.load_state_dict(entry["state_dict"], strict=False)
    if missing or unexpected:
        raise ValueError(
            f"its weights do not fit {config.name}: {len(missing)} missing "
            f"(first: {missing[:1]}), {len(unexpected)} unexpected (first: {unexpected[:1]})"
        )
    return model


def load_model(
    source: str | Path | bytes,
) -> tuple[LocalizationModel | EnsembleModel, dict[str, Any]]:
    """Rebuild the model (or ensemble) from a checkpoint, in eval mode on CPU, with its metadata."""
    payload = read_checkpoint(source)
    name = str(source) if not isinstance(source, bytes) else UPLOADED
    try:
        classes = len(payload["class_names"])
        if "members" in payload:
            model = EnsembleModel([_build(entry, classes) for entry in payload["members"]])
        else:
            model = _build(payload, classes)
    except (KeyError, TypeError, ValueError, RuntimeError) as error:
        lines = [line.strip() for line in str(error).splitlines() if line.strip()]
        reason = lines[-1] if lines else type(error).__name__  # torch's last line names a tensor
        more = f" and {len(lines) - 2} more" if len(lines) > 2 else ""
        raise CheckpointError(
            N_("{file}: does not fit its architecture ({detail})"),
            file=name,
            detail=f"{reason}{more}",
        ) from error
    logger.info(
        "loaded %s: %s, classes %s, %s px",
        name,
        payload.get("model_config", {}).get("name", "?"),
        payload["class_names"],
        payload.get("image_size"),
    )
    return model.eval(), payload


def starting_checkpoint(path: str | Path) -> dict[str, Any]:
    """The checkpoint to start from; CheckpointError when it is an ensemble or incomplete."""
    payload = read_checkpoint(Path(path))
    if "members" in payload:
        raise CheckpointError(
            N_("{path}: an ensemble cannot be fine-tuned; start from one member"), path=path
        )
    missing = {"state_dict", "model_config", "class_names", "image_size", "mean", "std"}
    missing -= payload.keys()
    if missing:
        raise CheckpointError(
            N_("{path}: not a complete checkpoint (no {missing})"),
            path=path,
            missing=", ".join(sorted(missing)),
        )
    return payload


def model_from_checkpoint(
    config: ModelConfig, payload: dict[str, Any], class_names: Sequence[str]
) -> LocalizationModel:
    """The checkpoint's network with `config`'s freezing, one class output per name; rows of new
    classes start from zero weights (the old classes' answers are unchanged at the start)."""
    old_names = list(payload["class_names"])
    new_names = [name for name in class_names if name not in old_names]
    if list(class_names[: len(old_names)]) != old_names:
        raise ValueError(f"class order {list(class_names)} does not start with {old_names}")
    config.num_classes = len(class_names)
    model = LocalizationModel(config, tuple(payload["mean"]), tuple(payload["std"]))
    state = dict(payload["state_dict"])
    target = model.state_dict()
    for key, tensor in state.items():
        wanted = target.get(key)
        if wanted is not None and wanted.shape != tensor.shape and key.startswith("class_head"):
            grown = torch.zeros_like(wanted)
            grown[: tensor.shape[0]] = tensor
            state[key] = grown
    if model.presence_head is not None and not any(k.startswith("presence_head.") for k in state):
        state.update({k: v for k, v in target.items() if k.startswith("presence_head.")})
        logger.info("the checkpoint has no face-presence head: it starts fresh")
    try:
        model.load_state_dict(state, strict=True)
    except RuntimeError as error:
        raise CheckpointError(
            N_("checkpoint does not fit its own architecture ({error})"), error=error
        ) from error
    if new_names:
        logger.warning(
            "new class(es) %s: added %d output row(s) to the class head (checkpoint had %s)",
            ", ".join(new_names),
            len(new_names),
            ", ".join(old_names),
        )
    return model
