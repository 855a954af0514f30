"""What several command groups share: a progress bar, the bad-rows rule, argument types."""

from __future__ import annotations

import argparse
import sys

from ..utils.progress import Progress


def progress_bar(description: str) -> Progress:
    """A tqdm bar fed by the library's (done, total) progress callbacks."""
    from tqdm import tqdm

    bar = None

    def update(done: int, total: int) -> None:
        nonlocal bar
        if bar is None or done < bar.n or total != bar.total:  # a new phase starts a new bar
            bar = tqdm(total=total, desc=description, unit="img", leave=False, file=sys.stderr)
        bar.update(done - bar.n)
        if done >= total:
            bar.close()

    return update


def refuse_bad_rows(data: str, skip: bool) -> None:
    """Bad rows stop the CLI unless --skip-bad-rows; skipped ones are listed on stderr."""
    from ..data.folder import load_dataset
    from ..data.table import bad_rows_error

    problems = load_dataset(data).problems
    if problems and not skip:
        raise bad_rows_error(problems)
    for problem in problems:
        print(f"skipped: {problem}", file=sys.stderr)


def add_skip_bad_rows(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--skip-bad-rows", action="store_true", help="use the valid rows, list the others"
    )


def fraction(text: str) -> float:
    value = float(text)
    if not 0.0 <= value <= 1.0:
        raise argparse.ArgumentTypeError(f"{text} is not within [0, 1]")
    return value


def positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text} must be at least 1")
    return value
