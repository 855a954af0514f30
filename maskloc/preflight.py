"""What a training run is checked for before any work starts (before an image is decoded or a
run folder exists), so the CLI and the Train page refuse a run that cannot train, naming why:
pretrained weights that are not on this machine, a dataset folder that cannot be read, rows that
cannot be used, a class too rare to be on both sides of the train/validation split."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from .config import RunConfig, SettingError
from .data import KNOWN_CLASSES, DataError, DatasetFolder, load_dataset, train_val_positions
from .weights import missing_weights_template, pretrained_available

FEW_VALIDATION_ROWS = 5  # fewer than this in validation: scores of that class are noise


@dataclass
class SplitCheck:
    """Rows per class in the whole table, the training and the validation split; warnings."""

    counts: dict[str, tuple[int, int, int]]  # class -> (rows, train rows, validation rows)
    warnings: list[str] = field(default_factory=list)

    def classes_text(self) -> str:
        """ "mask 16 rows (12 train / 4 validation), no-mask 8 rows (6 / 2)"."""
        parts = [
            f"{name} {total} rows ({train} train / {val} validation)"
            for name, (total, train, val) in self.counts.items()
        ]
        return ", ".join(parts)


@dataclass
class Preflight:
    """A run that may start: its dataset, the class counts of its split, what to warn about."""

    folder: DatasetFolder
    split: SplitCheck
    warnings: list[str]


def check_split(
    folder: DatasetFolder, labels: np.ndarray, train_idx: np.ndarray, val_idx: np.ndarray
) -> SplitCheck:
    """DataError naming a class that is missing from training or validation (a typo such as
    'maks' on one row must never become a silent class); warnings where training can go on."""
    frame = folder.train.frame
    counts, warnings = {}, []
    for index, name in enumerate(folder.class_names):
        total = int((labels == index).sum())
        if total == 0:  # mask / no-mask are always listed; a dataset may lack one
            continue
        train, val = int((labels[train_idx] == index).sum()), int((labels[val_idx] == index).sum())
        counts[name] = (total, train, val)
        rows = frame.loc[labels == index, "row"].tolist()
        where = f"train.csv row{'s' if len(rows) > 1 else ''} {', '.join(map(str, rows[:5]))}"
        if train == 0 or val == 0:
            raise DataError(
                f"class {name!r} has {total} row{'s' if total > 1 else ''} ({where}): too few to "
                "be in both the training and the validation split; fix the class name if it is "
                "a typo, add rows of it, or remove them"
            )
        if name not in KNOWN_CLASSES:
            warnings.append(
                f"class {name!r} ({total} rows, {where}) is neither {' nor '.join(KNOWN_CLASSES)}"
                ": it trains as a class of its own; fix it if it is a typo"
            )
        elif val < FEW_VALIDATION_ROWS:
            warnings.append(
                f"class {name!r} has only {val} validation rows: its validation scores are noisy"
            )
    return SplitCheck(counts, warnings)


def preflight(
    config: RunConfig,
    skip_bad_rows: bool = True,
    load: Callable[[str], DatasetFolder] | None = None,
) -> Preflight:
    """Everything that can be checked without decoding an image or creating a run folder.

    Raises SettingError (weights missing), DataError (folder, bad rows unless `skip_bad_rows`,
    a class too rare to split). The bad rows skipped are in the warnings. `load` reads the
    dataset folder (a UI passes its cached reader)."""
    if config.model.pretrained and not pretrained_available(config.model.name):
        raise SettingError(missing_weights_template(config.model.name))
    folder = (load or load_dataset)(config.data.root)
    warnings = []
    problems = folder.train.problems
    if problems and not skip_bad_rows:
        raise DataError(
            f"{len(problems)} bad row(s), first: {problems[0]}; "
            "fix them or pass --skip-bad-rows to use the good rows"
        )
    if problems:
        warnings.append(
            f"{len(problems)} row(s) of train.csv cannot be used (first: {problems[0]}); "
            f"training uses the other {len(folder.train.frame)}"
        )
    data = config.data
    split = check_split(folder, *train_val_positions(folder, data.val_fraction, data.split_seed))
    return Preflight(folder, split, warnings + split.warnings)
