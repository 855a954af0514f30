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
from .messages import N_, Text, Translate, identity
from .weights import missing_weights_template, pretrained_available

FEW_VALIDATION_ROWS = 5  # fewer than this in validation: scores of that class are noise


def _rows(rows: list) -> str:
    return ", ".join(map(str, rows[:5]))


TOO_RARE = {  # by whether the class has a single row
    False: N_(
        "class {name} has {total} rows (train.csv rows {rows}): too few to be in both the "
        "training and the validation split; fix the class name if it is a typo, add rows of it, "
        "or remove them"
    ),
    True: N_(
        "class {name} has {total} row (train.csv row {rows}): too few to be in both the "
        "training and the validation split; fix the class name if it is a typo, add rows of it, "
        "or remove them"
    ),
}


@dataclass
class SplitCheck:
    """Rows per class in the whole table, the training and the validation split; warnings."""

    counts: dict[str, tuple[int, int, int]]  # class -> (rows, train rows, validation rows)
    warnings: list[Text] = field(default_factory=list)

    def classes_text(self, translate: Translate = identity) -> str:
        """ "mask 16 rows (12 train / 4 validation), no-mask 8 rows (6 / 2)"."""
        template = translate(N_("{name} {total} rows ({train} train / {val} validation)"))
        parts = [
            template.format(name=name, total=total, train=train, val=val)
            for name, (total, train, val) in self.counts.items()
        ]
        return ", ".join(parts)


@dataclass
class Preflight:
    """A run that may start: its dataset, the class counts of its split, what to warn about."""

    folder: DatasetFolder
    split: SplitCheck
    warnings: list[Text]


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
        if train == 0 or val == 0:
            raise DataError(TOO_RARE[total == 1], name=repr(name), total=total, rows=_rows(rows))
        if name not in KNOWN_CLASSES:  # at least two rows: one on each side of the split
            warnings.append(
                Text(
                    N_(
                        "class {name} ({total} rows, train.csv rows {rows}) is neither {first} "
                        "nor {second}: it trains as a class of its own; fix it if it is a typo"
                    ),
                    name=repr(name),
                    total=total,
                    rows=_rows(rows),
                    first=KNOWN_CLASSES[0],
                    second=KNOWN_CLASSES[1],
                )
            )
        elif val < FEW_VALIDATION_ROWS:
            warnings.append(
                Text(
                    N_(
                        "class {name} has only {val} validation rows: its validation scores are "
                        "noisy"
                    ),
                    name=repr(name),
                    val=val,
                )
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
        template, fields = missing_weights_template(config.model.name)
        raise SettingError(template, **fields)
    folder = (load or load_dataset)(config.data.root)
    warnings = []
    problems = folder.train.problems
    if problems and not skip_bad_rows:
        raise DataError(
            N_(
                "{count} bad row(s), first: {first}; fix them or pass --skip-bad-rows to use the "
                "good rows"
            ),
            count=len(problems),
            first=problems[0],
        )
    if problems:
        warnings.append(
            Text(
                N_(
                    "{count} row(s) of train.csv cannot be used (first: {first}); training uses "
                    "the other {used}"
                ),
                count=len(problems),
                first=problems[0],
                used=len(folder.train.frame),
            )
        )
    data = config.data
    split = check_split(folder, *train_val_positions(folder, data.val_fraction, data.split_seed))
    return Preflight(folder, split, warnings + split.warnings)
