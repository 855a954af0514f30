"""The command line: `maskloc <command>` (installed) or `python -m maskloc <command>`.

  train, settings                                        (cli/train.py)
  evaluate, predict, check                               (cli/answers.py)
  ensemble, summary, export, fit-presence                (cli/models.py)
  build-dataset, zoom-out, import-dataset, export-dataset  (cli/datasets.py)

Arguments are wired to library calls and nothing else; every expected failure ends with one line
on stderr and exit status 2. Commands come in groups, one module each (`train`, `answers`,
`models`, `datasets`); a module's `add_commands(commands)` registers its parsers and handlers, and
`GROUPS` lists the modules, so a new command is one function in its group's module.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Callable

from ..config.settings import SettingError
from ..utils.messages import ExplainedError
from . import answers, datasets, models, train

GROUPS = (train, answers, models, datasets)  # in the order `--help` lists their commands
VERBOSE_HELP = "say more on stderr: -v what the library does, -vv every step and refused row"


def build_parser() -> argparse.ArgumentParser:
    """The parser with every command; defaults that come from the environment are read now."""
    parser = argparse.ArgumentParser(
        prog="maskloc",
        description="Single-object localization: one class (mask / no-mask) and one box per image.",
    )
    parser.add_argument("-v", "--verbose", action="count", default=0, help=VERBOSE_HELP)
    commands = parser.add_subparsers(dest="command", required=True)
    for group in GROUPS:
        group.add_commands(commands)
    for command in commands.choices.values():
        command.add_argument(
            "-v", "--verbose", action="count", default=argparse.SUPPRESS, help=VERBOSE_HELP
        )
    return parser


def _show_library_logs(verbosity: int) -> Callable[[], None]:
    """Send the library's log records to stderr: warnings always, -v info, -vv debug.

    Returns the function that undoes it, so calling main() in a process (tests, a notebook)
    leaves the `maskloc` logger as it was.
    """
    library = logging.getLogger("maskloc")
    level = (logging.WARNING, logging.INFO)[verbosity] if verbosity < 2 else logging.DEBUG
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
    previous = library.level
    library.addHandler(handler)
    library.setLevel(level)

    def undo() -> None:
        library.removeHandler(handler)
        library.setLevel(previous)

    return undo


def main(argv: list[str] | None = None) -> int:
    """Run one command; the exit status (0, 2 for an explained failure, 130 when interrupted)."""
    args = build_parser().parse_args(argv)
    undo_logging = _show_library_logs(args.verbose)
    try:
        return args.handler(args)
    except SettingError as error:
        print(f"error: {error.for_cli()}", file=sys.stderr)
        return 2
    except (ExplainedError, ValueError, OSError) as error:  # every library error is explained
        print(f"error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    finally:
        undo_logging()
