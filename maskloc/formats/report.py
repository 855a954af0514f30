"""What every format reader hands over, and what an import tells the user afterwards.

Readers only parse; the shared import step (`maskloc.formats.convert`) picks the one box, checks
it like a train.csv row and copies the picture. Every picture that is not imported is named with
its reason in the report: nothing is dropped silently.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from ..messages import ExplainedError

# Reasons a picture is refused, as counted at the end of the report.
NO_BOX = "no box"
SEVERAL_BOXES = "several boxes"
IMAGE_MISSING = "image missing"
UNSAFE_NAME = "unsafe file name"
BAD_BOX = "bad box"
BAD_ANNOTATION = "unreadable annotation"
DUPLICATE = "duplicate picture"


class FormatError(ExplainedError, ValueError):
    """A source that cannot be read as the format at all (nothing to import); says why."""


@dataclass(frozen=True)
class SourceBox:
    """One box as a format stores it, already turned into 0-based pixel xyxy."""

    class_name: str
    xmin: float
    ymin: float
    xmax: float
    ymax: float

    @property
    def area(self) -> float:
        return max(0.0, self.xmax - self.xmin) * max(0.0, self.ymax - self.ymin)


@dataclass
class SourcePicture:
    """One picture named by an annotation file: where its image is and the boxes it holds."""

    name: str  # as the annotation names it (for the report)
    image: Path | None  # None when the image cannot be found or its name is unsafe
    boxes: list[SourceBox] = field(default_factory=list)
    problem: tuple[str, str] | None = None  # (reason, detail) found while reading


@dataclass(frozen=True)
class Refusal:
    """A picture that was not imported: which file, the reason (counted) and the detail."""

    file: str
    reason: str
    detail: str = ""

    def __str__(self) -> str:
        return f"{self.file}: {self.reason}" + (f" ({self.detail})" if self.detail else "")


@dataclass
class ImportReport:
    """Counts per class and per reason, and each refused picture by name."""

    out: Path
    format: str
    imported: Counter = field(default_factory=Counter)  # class -> pictures
    refusals: list[Refusal] = field(default_factory=list)
    renamed: dict[str, str] = field(default_factory=dict)

    @property
    def total(self) -> int:
        return sum(self.imported.values())

    def per_reason(self) -> Counter:
        return Counter(refusal.reason for refusal in self.refusals)

    def summary(self) -> str:
        lines = [f"imported {self.total} picture(s) from {self.format} into {self.out}"]
        lines += [f"refused: {refusal}" for refusal in self.refusals]
        per_class = ", ".join(f"{name} {n}" for name, n in sorted(self.imported.items()))
        lines.append(f"per class: {per_class or 'none'}")
        reasons = ", ".join(f"{name} {n}" for name, n in sorted(self.per_reason().items()))
        lines.append(f"refused per reason: {reasons or 'none'}")
        return "\n".join(lines)


@dataclass
class ExportReport:
    """How many pictures were written, and which rows of the dataset were not (with reasons)."""

    out: Path
    format: str
    written: Counter = field(default_factory=Counter)
    skipped: list[str] = field(default_factory=list)

    def summary(self) -> str:
        per_class = ", ".join(f"{name} {n}" for name, n in sorted(self.written.items()))
        lines = [f"exported {sum(self.written.values())} picture(s) as {self.format} to {self.out}"]
        lines.append(f"per class: {per_class or 'none'}")
        lines += [f"skipped: {problem}" for problem in self.skipped]
        return "\n".join(lines)
