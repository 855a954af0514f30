"""Where training and answers run, declared once: the device, the seed, how a uint8 batch
becomes the model's float input there, and mixed precision (bfloat16, GPU only)."""

from __future__ import annotations

import random

import numpy as np
import torch


def set_seed(seed: int) -> None:
    """One seed for random, numpy and torch: a CPU run with the same seed repeats exactly."""
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


def resolve_device(name: str = "auto") -> torch.device:
    """'auto' takes the GPU when there is one."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    device = torch.device(name)
    if device.type == "cuda" and not torch.cuda.is_available():
        raise ValueError("device 'cuda' was asked for but no GPU is available")
    return device


def to_float_images(images: torch.Tensor, device: torch.device) -> torch.Tensor:
    """uint8 NCHW batch -> float [0, 1] on `device`; transfer stays uint8 (4x less traffic).

    Float inputs (cached stem features) pass through unchanged.
    """
    images = images.to(device, non_blocking=True)
    if images.dtype == torch.uint8:
        images = images.float().div_(255.0)
    return images.contiguous(memory_format=torch.channels_last)


def autocast(device: torch.device, enabled: bool):
    return torch.autocast(
        device.type, dtype=torch.bfloat16, enabled=enabled and device.type == "cuda"
    )
