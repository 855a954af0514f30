"""What a dataset build is told (its settings) and what it hands back (its report, the crops and
windows it cut): shared by the builder, which fills them, and the datasheet, which describes
them."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from ..layout import KNOWN_CLASSES as CLASSES
from ..layout import TEST, TRAIN

SPLITS = (TRAIN, TEST)


@dataclass(frozen=True)
class BuildSettings:
    """How crops are cut; the defaults reproduce the committed `data/mask-faces`.

    `max_per_photo` caps the crops taken from one photo (no-mask faces are taken first): one
    crowd photo holds 94 usable faces, which would dominate the data and bloat the folder.
    `None` means no cap. `placement_tries` is how many random windows a face gets before it is
    counted as too crowded.

    `no_face_per_photo` no-face windows (negatives for the model's face-presence output) are cut
    from every photo that gave a face crop; each touches no annotated face grown by
    `no_face_margin` of its size on every side. 0 writes none.
    """

    size: int = 320
    context_min: float = 1.3
    context_max: float = 2.0
    min_face: int = 48
    max_other_overlap: float = 0.4
    test_fraction: float = 0.2
    jpeg_quality: int = 92
    seed: int = 0
    max_per_photo: int | None = 20
    placement_tries: int = 10
    no_face_per_photo: int = 3
    no_face_margin: float = 0.25

    def __post_init__(self) -> None:
        if self.size < 8:
            raise ValueError(f"size must be >= 8, got {self.size}")
        if not 1.0 <= self.context_min <= self.context_max:
            raise ValueError(
                f"need 1 <= context_min <= context_max, got {self.context_min}, {self.context_max}"
            )
        if self.min_face < 1:
            raise ValueError(f"min_face must be >= 1, got {self.min_face}")
        if not 0.0 <= self.max_other_overlap <= 1.0:
            raise ValueError(f"max_other_overlap must be in [0, 1], got {self.max_other_overlap}")
        if not 0.0 <= self.test_fraction < 1.0:
            raise ValueError(f"test_fraction must be in [0, 1), got {self.test_fraction}")
        if not 1 <= self.jpeg_quality <= 95:
            raise ValueError(f"jpeg_quality must be in [1, 95], got {self.jpeg_quality}")
        if self.max_per_photo is not None and self.max_per_photo < 1:
            raise ValueError(f"max_per_photo must be >= 1 or None, got {self.max_per_photo}")
        if self.placement_tries < 1:
            raise ValueError(f"placement_tries must be >= 1, got {self.placement_tries}")
        if self.no_face_per_photo < 0:
            raise ValueError(f"no_face_per_photo must be >= 0, got {self.no_face_per_photo}")
        if self.no_face_margin < 0:
            raise ValueError(f"no_face_margin must be >= 0, got {self.no_face_margin}")


@dataclass
class BuildReport:
    """What a build produced and dropped, in a form a CLI can print and a datasheet can cite."""

    out_dir: Path
    crops: dict[str, dict[str, int]]
    photos: dict[str, int]
    faces_total: int
    skipped_small: int
    skipped_degenerate: int
    skipped_too_large: int
    skipped_cap: int
    rejected_crowded: int
    bytes_images: int
    most_usable_per_photo: int = 0
    degenerate_lines: list[int] = field(default_factory=list)
    no_face: dict[str, int] = field(default_factory=dict)
    no_face_missing: int = 0
    no_face_reviewed: int = 0

    @property
    def n_crops(self) -> int:
        return sum(sum(per_class.values()) for per_class in self.crops.values())

    def summary(self) -> str:
        """A few human-readable lines: counts per split and class, and what was dropped."""
        lines = [f"dataset written to {self.out_dir}"]
        for split in SPLITS:
            per_class = ", ".join(f"{c} {self.crops[split][c]}" for c in CLASSES)
            lines.append(f"  {split}: {self.photos[split]} photos -> {per_class}")
        lines.append(f"  crops: {self.n_crops}, images {self.bytes_images / 1e6:.1f} MB")
        lines.append(
            f"  faces: {self.faces_total} annotated; skipped {self.skipped_small} small, "
            f"{self.skipped_degenerate} zero-area, {self.skipped_too_large} larger than the "
            f"photo's shorter side, {self.skipped_cap} over the per-photo cap; "
            f"rejected {self.rejected_crowded} crowded"
        )
        if self.no_face:
            per_split = ", ".join(f"{split} {count}" for split, count in self.no_face.items())
            lines.append(
                f"  no-face windows: {per_split} ({self.no_face_missing} could not be placed, "
                f"{self.no_face_reviewed} left out: they show a face nobody annotated)"
            )
        if self.photos.get("unused"):
            lines.append(f"  photos without any crop: {self.photos['unused']}")
        return "\n".join(lines)


@dataclass(frozen=True)
class Crop:
    filename: str
    source: str
    label: str
    box: tuple[int, int, int, int]


@dataclass(frozen=True)
class NoFaceWindow:
    """A square cut that holds no annotated face: a negative for face presence."""

    filename: str
    source: str
    x: int
    y: int
    side: int
