"""What every format reader hands over, and what an import tells the user afterwards.

Readers only parse; the shared import step (`maskloc.formats.convert`) picks the one box, checks
it like a train.csv row and copies the picture. Every picture that is not imported is named with
its reason in the report: nothing is dropped silently.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from ..utils.messages import N_, ExplainedError, Translate, explained, identity

# Reasons a picture is refused, as counted at the end of the report (English keys; the app
# translates them where it shows the report).
NO_BOX = N_("no box")
SEVERAL_BOXES = N_("several boxes")
IMAGE_MISSING = N_("image missing")
UNSAFE_NAME = N_("unsafe file name")
BAD_BOX = N_("bad box")
BAD_ANNOTATION = N_("unreadable annotation")
DUPLICATE = N_("duplicate picture")
NONE = N_("none")  # an empty count list


class FormatError(ExplainedError, ValueError):
    """A source that cannot be read as the format at all (nothing to import), or what is wrong
    with one annotation (kept as a refusal's detail); says why. Fields that are errors or reports
    themselves are explained in the same language (as every ExplainedError's are)."""


Detail = ExplainedError | str  # what is wrong with a refused picture; "" when the reason says all


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
    problem: tuple[str, Detail] | None = None  # (reason, detail) found while reading


@dataclass(frozen=True)
class Refusal:
    """A picture that was not imported: which file, the reason (counted) and the detail."""

    file: str
    reason: str
    detail: Detail = ""

    def __str__(self) -> str:
        return self.explain()

    def explain(self, translate: Translate = identity) -> str:
        """`file: reason (detail)` with the reason and the detail in `translate`'s language."""
        fields = {"file": self.file, "reason": translate(self.reason)}
        if not str(self.detail):
            return translate(N_("{file}: {reason}")).format(**fields)
        detail = explained(self.detail, translate)
        return translate(N_("{file}: {reason} ({detail})")).format(**fields, detail=detail)


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

    def summary(self, translate: Translate = identity) -> str:
        """The report, one line per refused picture, in `translate`'s language (class names and
        file names stay as they are: they are data)."""
        lines = [
            translate(N_("imported {n} picture(s) from {format} into {out}")).format(
                n=self.total, format=self.format, out=self.out
            )
        ]
        lines += [
            translate(N_("refused: {refusal}")).format(refusal=refusal.explain(translate))
            for refusal in self.refusals
        ]
        per_class = ", ".join(f"{name} {n}" for name, n in sorted(self.imported.items()))
        lines.append(
            translate(N_("per class: {counts}")).format(counts=per_class or translate(NONE))
        )
        reasons = ", ".join(
            f"{name} {n}"
            for name, n in sorted((translate(reason), n) for reason, n in self.per_reason().items())
        )
        lines.append(
            translate(N_("refused per reason: {counts}")).format(counts=reasons or translate(NONE))
        )
        return "\n".join(lines)

    explain = summary  # a report inside a FormatError is shown in the error's language

    def __str__(self) -> str:
        return self.summary()


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
