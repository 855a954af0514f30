"""Which rows are trained on and which are held out: the grouped, stratified train/validation
split every run, preflight check and evaluation uses, the labelled rows of a named split, and the
check that every class is on both sides of it."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from sklearn.model_selection import StratifiedGroupKFold, train_test_split

from ..config.sections import DataConfig
from ..utils.messages import N_, Text, Translate, identity
from .folder import DatasetFolder
from .layout import (
    ALL,
    EVAL_SPLITS,
    KNOWN_CLASSES,
    TEST,
    TRAIN,
    VAL,
)
from .table import DataError, Table


def split_indices(
    labels: np.ndarray, groups: np.ndarray | None, val_fraction: float, seed: int
) -> tuple[np.ndarray, np.ndarray]:
    """Stratified train/val positions; grouped when `groups` is given (no group on both sides)."""
    positions = np.arange(len(labels))
    if not 0.0 < val_fraction < 1.0:
        raise ValueError(f"val_fraction must be between 0 and 1, got {val_fraction}")
    counts = np.bincount(labels)
    stratify = labels if counts[counts > 0].min() >= 2 else None
    if groups is not None:
        n_splits = max(2, round(1.0 / val_fraction))
        unique = len(np.unique(groups))
        # Every picture its own group (collected snapshots): the stratified split below is the
        # same thing and works with a few pictures per class.
        if n_splits <= unique < len(groups):
            splitter = StratifiedGroupKFold(n_splits=n_splits, shuffle=True, random_state=seed)
            # Stratify only when every class can fill each fold (small collected sets cannot).
            enough = stratify is not None and counts[counts > 0].min() >= n_splits
            y = labels if enough else np.zeros_like(labels)
            train, val = next(splitter.split(positions, y, groups))
            return train, val
    train, val = train_test_split(
        positions, test_size=val_fraction, random_state=seed, stratify=stratify
    )
    return np.sort(train), np.sort(val)


def train_val_positions(
    folder: DatasetFolder, val_fraction: float, seed: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(labels, train positions, validation positions) of train.csv's usable rows, the one split
    training, preflight checks and evaluation all use: grouped by `source` where there is one."""
    frame = folder.train.frame
    labels = folder.labels(folder.train)
    groups = frame["source"].to_numpy() if "source" in frame.columns else None
    train_idx, val_idx = split_indices(labels, groups, val_fraction, seed)
    return labels, train_idx, val_idx


def split_table(folder: DatasetFolder, split: str, data_config: DataConfig) -> Table:
    """The labelled rows of a split: the run's own validation split, the test answers, or all."""
    if split == ALL:
        return folder.train
    if split == TEST:
        if folder.test is None or folder.test_labels is None:
            raise DataError(
                N_("{folder}: --split test needs test.csv and test_labels.csv"), folder=folder.root
            )
        wanted = set(folder.test.frame["filename"])
        labels = folder.test_labels
        return Table(labels.frame[labels.frame["filename"].isin(wanted)].reset_index(drop=True))
    if split == VAL:
        _, _, val_idx = train_val_positions(
            folder, data_config.val_fraction, data_config.split_seed
        )
        return Table(folder.train.frame.iloc[val_idx].reset_index(drop=True))
    raise ValueError(f"unknown split {split!r}; choose one of {EVAL_SPLITS}")


def no_face_table(folder: DatasetFolder, split: str, faces: Table) -> Table:
    """The no-face windows that belong with a split: test windows for `test`; for `val`, the
    train windows cut from the validation faces' photos; for `all`, every train window."""
    if split == TEST:
        return Table(folder.no_face_frame(TEST))
    sources = set(faces.frame["source"]) if split == VAL and "source" in faces.frame else None
    if split == VAL and sources is None:
        sources = set()  # without sources no window can be placed on the validation side
    return Table(folder.no_face_frame(TRAIN, sources))


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
