"""The torch Dataset training and evaluation read: decoded pictures in memory, normalised boxes
and labels, an augmentation that moves box and picture together; and the per-channel statistics
a model normalises with. No-face pictures carry NO_FACE_LABEL and a placeholder box."""

from __future__ import annotations

import albumentations as A
import numpy as np
import torch

NO_FACE_LABEL = -1


PLACEHOLDER_BOX = (0.0, 0.0, 1.0, 1.0)  # a no-face image's "box": never learned or scored


def channel_stats(images: np.ndarray) -> tuple[tuple[float, ...], tuple[float, ...]]:
    """Per-channel mean and std of uint8 N x H x W x 3 images, in [0, 1] units."""
    total = np.zeros(3)
    squares = np.zeros(3)
    for chunk in np.array_split(images, max(1, len(images) // 64)):
        pixels = chunk.reshape(-1, 3).astype(np.float64) / 255.0
        total += pixels.sum(axis=0)
        squares += (pixels**2).sum(axis=0)
    count = images.shape[0] * images.shape[1] * images.shape[2]
    mean = total / count
    std = np.sqrt(np.maximum(squares / count - mean**2, 1e-12))
    return tuple(mean.tolist()), tuple(std.tolist())


class LocalizationDataset(torch.utils.data.Dataset):
    """Cached uint8 images, normalised boxes, labels; augmentation moves box and image together."""

    def __init__(
        self,
        images: np.ndarray,
        boxes: np.ndarray,
        labels: np.ndarray,
        transform: A.Compose | None = None,
    ) -> None:
        if not len(images) == len(boxes) == len(labels):
            raise ValueError("images, boxes and labels must have the same length")
        self.images, self.boxes, self.labels, self.transform = (
            images,
            boxes,
            labels,
            transform,
        )

    def __len__(self) -> int:
        return len(self.images)

    def __getitem__(self, index: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        image, box = self.images[index], self.boxes[index]
        if self.transform is not None:
            out = self.transform(image=image, bboxes=box[None], labels=[0])
            if len(out["bboxes"]) == 1:  # a box pushed out of the frame keeps the original
                image, box = (
                    out["image"],
                    np.asarray(out["bboxes"][0], dtype=np.float32),
                )
        tensor = torch.from_numpy(np.ascontiguousarray(image)).permute(2, 0, 1)
        return (
            tensor,
            torch.as_tensor(box, dtype=torch.float32),
            torch.tensor(self.labels[index]),
        )
