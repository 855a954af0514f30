"""The app's language (Spanish or English) and the one function that translates its words.

The course is taught in Spanish, so the app speaks it to a Spanish browser. Messages are the
English texts themselves (gettext style), translated by `locales/<lang>/LC_MESSAGES/maskloc.po`,
read at run time with Babel (no compiled files in the repository). The choice, strongest first:
`?lang=es|en` in the URL (a projector bookmark), the sidebar selector, `MASKLOC_LANG` (the
server's default), the browser's language (`st.context.locale`), English.
"""

from __future__ import annotations

import functools
import gettext
import io
import re
from pathlib import Path

import streamlit as st
from babel import Locale
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.numbers import format_decimal, format_percent
from babel.support import Translations

from maskloc.config.paths import server_language
from maskloc.utils.messages import explained

LANGUAGES = {"en": "English", "es": "Español"}
DEFAULT_LANGUAGE = "en"
LOCALES = Path(__file__).resolve().parents[1] / "locales"
DOMAIN = "maskloc"
_STATE_KEY = "maskloc_lang"  # survives page switches (widget state does not)


def resolve_language(
    query: str | None, chosen: str | None, server_default: str | None, browser: str | None
) -> str:
    """The first known language among URL, selector, server default and browser locale."""
    for candidate in (query, chosen, server_default, browser):
        code = (candidate or "").strip().lower().replace("_", "-").split("-")[0]
        if code in LANGUAGES:
            return code
    return DEFAULT_LANGUAGE


@functools.cache
def catalogue(language: str) -> gettext.NullTranslations:
    """The language's translations, read once per process from its .po file."""
    path = LOCALES / language / "LC_MESSAGES" / f"{DOMAIN}.po"
    if not path.is_file():
        return gettext.NullTranslations()
    with path.open("rb") as handle:
        messages = read_po(handle, locale=language)
    compiled = io.BytesIO()
    write_mo(compiled, messages)
    compiled.seek(0)
    return Translations(compiled, domain=DOMAIN)


def current_language() -> str:
    """This session's language; the URL's `?lang=` wins and is remembered for the session."""
    query = st.query_params.get("lang")
    if query in LANGUAGES:
        st.session_state[_STATE_KEY] = query
    return resolve_language(
        query,
        st.session_state.get(_STATE_KEY),
        server_language(),
        st.context.locale,
    )


def t(message: str) -> str:
    """The message in this session's language (English when a translation is missing)."""
    return catalogue(current_language()).gettext(message)


def number(value: float, digits: int = 3) -> str:
    """A metric for display: a decimal comma in Spanish. Never for CSV or JSON output."""
    return format_decimal(value, format="0." + "0" * digits, locale=current_language())


def percent(share: float, digits: int = 0) -> str:
    """A share (0.46) for display as a percentage in the locale's way: "46%", "46 %"."""
    language = current_language()
    pattern = Locale.parse(language).percent_formats[None].pattern  # "#,##0%", "#,##0\xa0%"
    if digits:
        pattern = re.sub(r"0(?=[^0-9#]*$)", "0." + "0" * digits, pattern, count=1)
    return format_percent(share, format=pattern, locale=language)


def library_text(value: object) -> str:
    """A text the library wrote, in this session's language: a `Text`, an error or a report
    that explains itself has its template translated and filled with its fields (file, row,
    field..., themselves explained); anything else (an old run's plain message) as it prints."""
    return str(explained(value, t))


error_text = library_text  # what went wrong, in this session's language


def N_(message: str) -> str:
    """Marks a message for the catalogue where it is declared; `t` translates it where shown."""
    return message


def _remember_choice() -> None:
    picked = st.session_state["maskloc_lang_selector"]
    st.session_state[_STATE_KEY] = picked
    if "lang" in st.query_params:  # keep a bookmarked URL from overruling the new choice
        st.query_params["lang"] = picked


def language_selector() -> None:
    """The sidebar's language choice; it wins over the browser's and the server's default."""
    st.session_state["maskloc_lang_selector"] = current_language()  # follow URL and other pages
    st.sidebar.selectbox(
        ":material/language: Idioma / Language",
        list(LANGUAGES),
        format_func=LANGUAGES.__getitem__,
        key="maskloc_lang_selector",
        on_change=_remember_choice,
    )
