"""Words the library hands to the app, marked for its translation catalogue.

The library, its CLI and its logs speak English. A text the app shows as it is (a setting's label,
a chart title, an error) is marked with `N_` where it is declared, so `pybabel extract` finds it;
the app translates it where it shows it. A sentence made of a template and fields keeps them apart
(`Text`, or `ExplainedError` for an error), so the app can fill the translated template with the
same file, row and field names; a field that explains itself is said in the same language.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any


def N_(message: str) -> str:
    """Marks a message for the catalogue; it stays English here."""
    return message


def identity(message: str) -> str:
    """The translation of a library that speaks only English."""
    return message


Translate = Callable[[str], str]


def explained(value: Any, translate: Translate = identity) -> Any:
    """A value in `translate`'s language: anything that explains itself (a `Text`, an error, a
    report) is explained, so fields inside fields are too; anything else stays as it is."""
    explain = getattr(value, "explain", None)
    return explain(translate) if callable(explain) else value


def fill(template: str, fields: Mapping[str, Any], translate: Translate = identity) -> str:
    """`template` in `translate`'s language, filled with its fields explained in that language
    (a template without fields is taken as it is: its braces are words, not fields)."""
    text = translate(template)
    if not fields:
        return text
    return text.format(**{key: explained(value, translate) for key, value in fields.items()})


class Text(str):
    """A sentence the library writes and the app may show: the English sentence itself (a plain
    str for the CLI, the logs, CSV and JSON) that keeps its template and fields, so
    `explain(translate)` says it in the app's language. A marked name with no fields
    (`Text(N_("uploaded image"))`) is translated wherever it is a field. Pickles with both
    (the app caches dataset folders holding row reasons)."""

    template: str
    fields: dict[str, Any]

    def __new__(cls, template: str, **fields: Any) -> Text:
        text = super().__new__(cls, cls.english(template, fields))
        text.template, text.fields = template, fields
        return text

    @classmethod
    def english(cls, template: str, fields: dict[str, Any]) -> str:
        """The English sentence: the template filled with the fields as they print."""
        return template.format(**fields) if fields else template

    def explain(self, translate: Translate = identity) -> str:
        return fill(self.template, self.fields, translate)

    def __reduce__(self) -> tuple:
        return _rebuild, (type(self), self.template, self.fields)

    def to_json(self) -> dict[str, Any]:
        """The sentence for a JSON file (a run's status.json): the English `message` that old
        readers and the CLI use, plus its template and fields (texts inside nest; other fields
        that JSON cannot hold as they are are kept as they print)."""
        return {
            "message": str(self),
            "template": self.template,
            "fields": {key: _json_field(value) for key, value in self.fields.items()},
        }

    @classmethod
    def from_json(cls, stored: Mapping[str, Any]) -> str:
        """A stored `message` back as a Text, or as the plain English it is where it was written
        without its template (an older file) or no longer reads the same."""
        message = str(stored.get("message", ""))
        template, fields = stored.get("template"), stored.get("fields") or {}
        if not isinstance(template, str) or not isinstance(fields, dict):
            return message
        fields = {
            key: cls.from_json(value) if isinstance(value, dict) and "template" in value else value
            for key, value in fields.items()
        }
        try:
            text = cls(template, **fields)
        except (KeyError, IndexError, ValueError, AttributeError):
            return message
        return text if str(text) == message else message


def _rebuild(cls: type[Text], template: str, fields: dict[str, Any]) -> Text:
    return cls(template, **fields)


def _json_field(value: Any) -> Any:
    if isinstance(value, Text):
        return value.to_json()
    if value is None or isinstance(value, bool | int | float | str):
        return value
    return str(value)


def as_text(value: Any) -> Any:
    """An ExplainedError's sentence as a Text with the same template and fields (to keep, or to
    write to a file); a Text or anything else as it is."""
    if isinstance(value, ExplainedError) and not isinstance(value, Text):
        return Text(value.template, **value.fields)
    return value


class ExplainedError(Exception):
    """An error with an English template and named fields: `str()` is the English sentence,
    `explain(translate)` the same sentence in the app's language.

    Subclasses keep their usual bases (`class DataError(ExplainedError, ValueError)`); a plain
    one-argument raise still works and is shown untranslated. Fields that explain themselves
    (a `Text`, another error, an import report) are said in the same language.
    """

    def __init__(self, template: str, **fields: Any) -> None:
        self.template = template
        self.fields = fields
        super().__init__(Text.english(template, fields))

    def explain(self, translate: Translate = identity) -> str:
        return fill(self.template, self.fields, translate)
