"""What a training run is checked for before any work starts (before an image is decoded or a
run folder exists), so the CLI and the Train page refuse a run that cannot train, naming why:
pretrained weights that are not on this machine, a dataset folder that cannot be read, rows that
cannot be used, a class too rare to be on both sides of the train/validation split."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from ..config.sections import RunConfig
from ..config.settings import SettingError
from ..data.folder import DatasetFolder, load_dataset
from ..data.split import SplitCheck, check_split, train_val_positions
from ..data.table import bad_rows_error
from ..models.weights import missing_weights_template, pretrained_available
from ..utils.messages import N_, Text


@dataclass
class Preflight:
    """A run that may start: its dataset, the class counts of its split, what to warn about."""

    folder: DatasetFolder
    split: SplitCheck
    warnings: list[Text]


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
        raise bad_rows_error(problems)
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
