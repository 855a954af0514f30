"""The setting machinery: a setting declared once, as a dataclass field (`option(...)`), and
everything derived from it.

`@section("name")` registers a settings dataclass: its fields become `SETTINGS` entries (the CLI's
flags, the Train page's controls, docs/settings.md's table) and `Section.__post_init__` checks every
value on construction, raising `SettingError` worded for the CLI (the flag) or the page (the
control). The sections themselves are declared in maskloc/config/sections.py.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from dataclasses import MISSING, dataclass, field, fields
from typing import Any

from ..utils.messages import N_, Text, Translate, explained, identity

Choices = tuple[Any, ...] | dict[str, str]  # allowed values, or value -> what it means


def option(
    default: Any,
    help: str,
    *,
    label: str = "",
    flag: str | None = None,
    choices: Choices | None = None,
    low: float | None = None,
    high: float | None = None,
    below: float | None = None,
    options: tuple[Any, ...] | None = None,
    step: float | None = None,
    group: str | None = None,
) -> Any:
    """A dataclass field that describes itself: `label` is its Train page control (none: not on
    the page), `flag` its CLI flag (default --field-name; "" for none), `low`/`high` inclusive
    limits, `below` an exclusive upper limit, `options` the values a page slider offers, `group`
    the page column (None: under "More settings")."""
    about = {
        "help": help,
        "label": label,
        "flag": flag,
        "choices": choices,
        "low": low,
        "high": high,
        "below": below,
        "options": options,
        "step": step,
        "group": group,
    }
    return field(default=default, metadata={"setting": about})


_KINDS = {"int": int, "float": float, "str": str, "bool": bool}


@dataclass(frozen=True)
class Setting:
    """One setting as every front end sees it, built from its field's `option(...)`."""

    path: str  # "section.field", the key of `override`
    kind: type
    default: Any
    help: str
    label: str
    flag: str
    choices: Choices | None
    low: float | None
    high: float | None
    below: float | None
    options: tuple[Any, ...] | None
    step: float | None
    group: str | None

    @property
    def section(self) -> str:
        return self.path.split(".")[0]

    @property
    def name(self) -> str:
        return self.path.split(".")[1]

    @property
    def key(self) -> str:
        """The Train page widget key, named after the CLI flag: --lr-box-head: train_lr_box_head."""
        return "train_" + (self.flag or "--" + self.name).lstrip("-").replace("-", "_")

    def choice_help(self) -> dict[Any, str]:
        """Allowed value -> what it means ("" where there is nothing to say)."""
        if self.choices is None:
            return {}
        if isinstance(self.choices, dict):
            return dict(self.choices)
        return dict.fromkeys(self.choices, "")

    def limits_phrase(self) -> Phrase | None:
        """The allowed values in words: "one of a, b", "at least 1", "within [0, 1]"."""
        if self.choices is not None:
            return Phrase(N_("one of {values}"), values=", ".join(map(str, self.choice_help())))
        low, high = _plain_number(self.low), _plain_number(self.high)
        if self.below is not None:
            return Phrase(N_("within [{low}, {below})"), low=low, below=_plain_number(self.below))
        if self.low is not None and self.high is not None:
            return Phrase(N_("within [{low}, {high}]"), low=low, high=high)
        if self.low is not None:
            return Phrase(N_("at least {low}"), low=low)
        if self.high is not None:
            return Phrase(N_("at most {high}"), high=high)
        return None

    def limits_text(self) -> str:
        phrase = self.limits_phrase()
        return "" if phrase is None else phrase.explain()

    def problem_phrase(self, value: Any) -> Phrase | None:
        """Why `value` is not allowed here, naming the setting as `{setting}`."""
        got = repr(value)
        if self.kind is bool:
            if isinstance(value, bool):
                return None
            return Phrase(N_("{setting} must be true or false, got {value}"), value=got)
        if self.kind in (int, float):
            if isinstance(value, bool) or not isinstance(value, int | float):
                return Phrase(N_("{setting} must be a number, got {value}"), value=got)
            if self.kind is int and value != int(value):
                return Phrase(N_("{setting} must be a whole number, got {value}"), value=got)
            if not math.isfinite(value):
                return Phrase(N_("{setting} must be a finite number, got {value}"), value=got)
        elif not isinstance(value, str):
            return Phrase(N_("{setting} must be text, got {value}"), value=got)
        allowed = self.choice_help()
        if allowed and value not in allowed:
            return Phrase(
                N_("{setting} must be {limits}; got {value}"),
                limits=self.limits_phrase(),
                value=got,
            )
        too_low = self.low is not None and value < self.low
        too_high = (self.high is not None and value > self.high) or (
            self.below is not None and value >= self.below
        )
        if too_low or too_high:
            return Phrase(
                N_("{setting} must be {limits}, got {value}"),
                limits=self.limits_phrase(),
                value=_plain_number(value),
            )
        return None

    def problem(self, value: Any) -> str | None:
        """Why `value` is not allowed here, in English words that fit after the setting's name."""
        phrase = self.problem_phrase(value)
        return None if phrase is None else phrase.explain().removeprefix("{setting} ")


def _plain_number(value: Any) -> str:
    return f"{value:g}" if isinstance(value, float) else str(value)


class Phrase(Text):
    """A `Text` about settings: its template may name a setting (`{section.field}`, or
    `{section.field:on}` / `:off` for "switch it on/off") and a field may be a Setting, worded by
    the caller (a CLI flag or a page control) down through phrases inside it; without a wording
    the setting's placeholder stays as it is."""

    @classmethod
    def english(cls, template: str, fields: dict[str, Any]) -> str:
        return _worded(template, fields, identity, None)

    def explain(
        self, translate: Translate = identity, name: Callable[[Setting, str], str] | None = None
    ) -> str:
        return _worded(self.template, self.fields, translate, name)


def _worded(
    template: str,
    fields: dict[str, Any],
    translate: Translate,
    name: Callable[[Setting, str], str] | None,
) -> str:
    def replace(match: re.Match) -> str:
        key, switch = match.group(1), match.group(2) or ""
        if "." in key:  # {section.field}: a setting named in the template itself
            value: Any = SETTINGS.get(key, match.group(0))
        else:
            value = fields.get(key, match.group(0))
        if isinstance(value, Setting):
            return name(value, switch) if name else match.group(0)
        if isinstance(value, Phrase):
            return value.explain(translate, name)
        return str(explained(value, translate))

    return _FIELD.sub(replace, translate(template))


_FIELD = re.compile(r"\{([a-z_]+(?:\.[a-z_]+)?)(?::(on|off))?\}")


class SettingError(ValueError):
    """A setting (or a combination) that cannot run. The template names settings as
    `{section.field}`, or `{section.field:on}` / `{section.field:off}` for "switch it on/off", and
    other facts as named fields; `for_cli()` words settings as flags, `for_page(translate)` as
    the Train page's controls in the page's language, `str()` as both in English."""

    def __init__(self, template: str, **fields: Any) -> None:
        self.phrase = Phrase(template, **fields)
        self.template, self.fields = template, fields
        super().__init__(self.phrase.explain(identity, _both_words))

    def for_cli(self) -> str:
        return self.phrase.explain(identity, _cli_words)

    def for_page(self, translate: Translate = identity) -> str:
        def page_words(setting: Setting, switch: str) -> str:
            return _page_words(setting, switch, translate)

        return self.phrase.explain(translate, page_words)

    def explain(self, translate: Translate = identity) -> str:
        """As ExplainedError does: the app's `error_text` shows the page's wording."""
        return self.for_page(translate)


def _cli_words(setting: Setting, switch: str) -> str:
    flag = setting.flag or setting.path
    if switch == "off":
        return "use --no-" + flag.removeprefix("--")
    return f"use {flag}" if switch == "on" else flag


def _page_words(setting: Setting, switch: str, translate: Translate = identity) -> str:
    if not setting.label:
        flag = setting.flag or setting.path
        if switch == "off":
            flag = "--no-" + flag.removeprefix("--")
        return translate(N_("use {flag}")).format(flag=flag) if switch else flag
    template = {"on": N_("tick '{label}'"), "off": N_("untick '{label}'")}.get(switch, "'{label}'")
    return translate(template).format(label=translate(setting.label))


def _both_words(setting: Setting, switch: str) -> str:
    cli = _cli_words(setting, switch)
    return f"{cli} ({_page_words(setting, switch)} on the Train page)" if setting.label else cli


SETTINGS: dict[str, Setting] = {}
"""Every setting by "section.field", in declaration order (filled by `section`)."""
SECTIONS: dict[str, type] = {}
"""Every settings section by name, in declaration order (filled by `section`)."""


def section(name: str) -> Callable[[type], type]:
    """Class decorator, outside `@dataclass`: registers the section and its settings."""

    def register(kind: type) -> type:
        SECTIONS[name] = kind
        kind.section_name = name
        for f in fields(kind):
            about = f.metadata.get("setting")
            if about is None:
                continue
            flag = about["flag"]
            SETTINGS[f"{name}.{f.name}"] = Setting(
                path=f"{name}.{f.name}",
                kind=_KINDS[str(f.type)],
                default=f.default if f.default is not MISSING else None,
                help=about["help"],
                label=about["label"],
                flag="--" + f.name.replace("_", "-") if flag is None else flag,
                **{k: about[k] for k in ("choices", "low", "high", "below", "options", "step")},
                group=about["group"],
            )
        return kind

    return register


class Section:
    """Dataclass base: every field declared with `option(...)` is checked on construction, ints
    given as floats that are whole (JSON, widgets) become ints, ints given for floats floats."""

    section_name = ""  # set by `section`

    def __post_init__(self) -> None:
        for f in fields(self):  # type: ignore[arg-type]
            setting = SETTINGS.get(f"{self.section_name}.{f.name}")
            if setting is None:
                continue
            value = getattr(self, f.name)
            if setting.kind is float and isinstance(value, int) and not isinstance(value, bool):
                value = float(value)
            if setting.kind is int and isinstance(value, float) and value.is_integer():
                value = int(value)
            problem = setting.problem_phrase(value)
            if problem is not None:
                raise SettingError(problem.template, setting=setting, **problem.fields)
            setattr(self, f.name, value)
        self.check()

    def check(self) -> None:
        """Combinations of this section's fields; override to add some."""
