"""Words the library hands to the app, marked for its translation catalogue.

The library, its CLI and its logs speak English. A text the app shows as it is (a setting's label,
a chart title, an error) is marked with `N_` where it is declared, so `pybabel extract` finds it;
the app translates it where it shows it. An error a person meets keeps its English template and
its fields apart (`ExplainedError`), so the app can fill the translated template with the same
file, row and field names.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any


def N_(message: str) -> str:
    """Marks a message for the catalogue; it stays English here."""
    return message


def identity(message: str) -> str:
    """The translation of a library that speaks only English."""
    return message


Translate = Callable[[str], str]


class ExplainedError(Exception):
    """An error with an English template and named fields: `str()` is the English sentence,
    `explain(translate)` the same sentence in the app's language.

    Subclasses keep their usual bases (`class DataError(ExplainedError, ValueError)`); a plain
    one-argument raise still works and is shown untranslated.
    """

    def __init__(self, template: str, **fields: Any) -> None:
        self.template = template
        self.fields = fields
        super().__init__(template.format(**fields) if fields else template)

    def explain(self, translate: Translate = identity) -> str:
        text = translate(self.template)
        return text.format(**self.fields) if self.fields else text
