"""The app's two languages: how one is chosen, that the Spanish catalogue covers every message
the app marks for translation, and that a page really renders in the chosen language."""

from __future__ import annotations

import re

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po
from conftest import ROOT
from streamlit.testing.v1 import AppTest

from app_parts.i18n import LOCALES, catalogue, resolve_language

PLACEHOLDER = re.compile(r"\{[a-z_]*\}")


def source_messages() -> set[str]:
    """Every message the app marks with t(...) or N_(...), extracted as `pybabel extract` does."""
    found = extract_from_dir(
        str(ROOT),
        method_map=[
            ("app.py", "python"),
            ("app_pages/**.py", "python"),
            ("app_parts/**.py", "python"),
            ("maskloc/**.py", "python"),
        ],
        keywords={"t": None, "N_": None},
    )
    return {message for _, _, message, _, _ in found}


def spanish() -> dict[str, str]:
    with (LOCALES / "es" / "LC_MESSAGES" / "maskloc.po").open("rb") as handle:
        return {m.id: m.string for m in read_po(handle) if m.id}


@pytest.mark.parametrize(
    ("query", "chosen", "server", "browser", "expected"),
    [
        (None, None, None, "es-ES", "es"),
        (None, None, None, "es-419", "es"),
        (None, None, None, "de-DE", "en"),
        (None, None, None, None, "en"),
        (None, None, "es", "en-US", "es"),
        (None, "en", "es", "es-ES", "en"),
        ("es", "en", None, "en-US", "es"),
        ("fr", None, None, "es_MX", "es"),
    ],
)
def test_language_is_chosen_url_first_then_selector_server_browser(
    query, chosen, server, browser, expected
):
    assert resolve_language(query, chosen, server, browser) == expected


def test_every_marked_message_has_a_spanish_translation_with_the_same_placeholders():
    messages, translated = source_messages(), spanish()
    assert len(messages) > 20  # the extraction really found the app's messages
    missing = sorted(m for m in messages if not translated.get(m))
    assert not missing, f"untranslated: {missing}"
    for message in messages:
        assert sorted(PLACEHOLDER.findall(translated[message])) == sorted(
            PLACEHOLDER.findall(message)
        ), message


def test_the_catalogue_holds_no_message_the_app_no_longer_uses():
    stale = sorted(set(spanish()) - source_messages())
    assert not stale, f"remove from the .po: {stale}"


def test_catalogue_translates_and_falls_back_to_english():
    assert catalogue("es").gettext("Home") == "Inicio"
    assert catalogue("en").gettext("Home") == "Home"
    assert catalogue("es").gettext("a message nobody wrote") == "a message nobody wrote"


@pytest.mark.parametrize(
    ("lang", "title"),
    [("es", "maskloc: ¿mascarilla o no, y dónde está la cara?"), ("en", "maskloc: mask or no")],
)
def test_home_renders_in_the_language_of_the_url(lang, title, monkeypatch):
    monkeypatch.delenv("MASKLOC_LANG", raising=False)
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60)
    at.query_params["lang"] = lang
    at.run()
    assert not at.exception
    assert at.title[0].value.startswith(title)
    assert at.sidebar.selectbox(key="maskloc_lang_selector").value == lang


def test_the_selector_switches_language_and_a_server_default_applies(monkeypatch):
    monkeypatch.setenv("MASKLOC_LANG", "es")
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60).run()
    assert at.subheader[0].value == "Conjunto de datos"
    at.sidebar.selectbox(key="maskloc_lang_selector").set_value("en").run()
    assert not at.exception
    assert at.subheader[0].value == "Dataset"


@pytest.mark.parametrize(
    ("page", "spanish_title", "english_title"),
    [
        ("app_pages/explore.py", "Explorar el conjunto de datos", "Explore the dataset"),
        ("app_pages/augment.py", "Laboratorio de aumentación de datos", "Augmentation playground"),
    ],
)
def test_translated_pages_render_in_both_languages(
    page, spanish_title, english_title, tmp_path, monkeypatch
):
    import streamlit as st
    from conftest import make_dataset

    monkeypatch.setenv("MASKLOC_DATA", str(make_dataset(tmp_path / "data")))
    monkeypatch.delenv("MASKLOC_LANG", raising=False)
    st.cache_data.clear()
    for lang, title in (("es", spanish_title), ("en", english_title)):
        at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60)
        at.query_params["lang"] = lang
        at.run()
        at.switch_page(page).run()
        assert not at.exception
        assert at.title[0].value == title


BILINGUAL = {"i18n.py"}  # the language selector's label is in both languages on purpose
SHOWN_ARGUMENTS = {"label", "help", "caption", "text", "placeholder", "body", "title", "value"}
STREAMLIT_TEXT = {
    "title", "header", "subheader", "markdown", "caption", "text", "info", "warning", "error",
    "success", "toast", "button", "checkbox", "toggle", "radio", "selectbox", "multiselect",
    "slider", "select_slider", "number_input", "text_input", "text_area", "file_uploader",
    "camera_input", "download_button", "expander", "tabs", "metric", "progress", "spinner",
    "page_link", "form_submit_button", "status", "popover",
}  # fmt: skip


def untranslated_literals(source: str) -> list[tuple[int, str]]:
    """Literal words handed to a Streamlit element without passing through t()."""
    import ast

    found = []

    def words(node: ast.AST) -> bool:
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            return bool(re.search(r"[A-Za-z]{2}", re.sub(r"\{[^}]*\}|:\w+/\w+:", "", node.value)))
        if isinstance(node, ast.JoinedStr):
            return any(words(v) for v in node.values)
        if isinstance(node, ast.BinOp):
            return words(node.left) or words(node.right)
        if isinstance(node, ast.List | ast.Tuple):
            return any(words(e) for e in node.elts)
        return False

    for node in ast.walk(ast.parse(source)):
        if not isinstance(node, ast.Call) or not isinstance(node.func, ast.Attribute):
            continue
        if node.func.attr not in STREAMLIT_TEXT:
            continue
        shown = list(node.args) + [k.value for k in node.keywords if k.arg in SHOWN_ARGUMENTS]
        found += [(node.lineno, ast.unparse(arg)[:60]) for arg in shown if words(arg)]
    return found


def test_the_untranslated_literal_check_finds_literals():
    assert untranslated_literals('st.title("Hello there")\nst.button(t("Go"))') == [
        (1, "'Hello there'")
    ]
    assert untranslated_literals('st.caption(f"{n} images")') == [(1, "f'{n} images'")]
    assert untranslated_literals('st.markdown("## 😷 " + t("mask"))\nst.metric("IoU", 1)') == [
        (2, "'IoU'")
    ]


def test_no_untranslated_literal_in_any_page():
    pages = [ROOT / "app.py", *sorted((ROOT / "app_pages").glob("*.py"))]
    pages += sorted((ROOT / "app_parts").glob("*.py"))
    checked = [p for p in pages if p.name not in BILINGUAL]
    assert len(checked) >= 15
    leftovers = {p.name: found for p in checked if (found := untranslated_literals(p.read_text()))}
    assert not leftovers, f"wrap these in t(...): {leftovers}"


def test_a_library_error_is_shown_in_spanish_with_its_fields_and_stays_english_elsewhere(
    tmp_path,
):
    from maskloc.data.folder import load_dataset
    from maskloc.data.table import DataError

    (tmp_path / "images").mkdir()
    (tmp_path / "train.csv").write_text("filename,xmin,ymin,xmax,ymax\nface.jpg,1,2,3,4\n")
    with pytest.raises(DataError) as caught:
        load_dataset(tmp_path)
    error = caught.value
    assert str(error) == (  # the CLI and the logs
        "train.csv: missing column(s) class; expected filename, xmin, ymin, xmax, ymax, class "
        "(found: filename, xmin, ymin, xmax, ymax)"
    )
    assert error.explain(catalogue("es").gettext) == (
        "train.csv: falta(n) la(s) columna(s) class; se esperaban filename, xmin, ymin, xmax, "
        "ymax, class (encontradas: filename, xmin, ymin, xmax, ymax)"
    )
    assert error.explain(catalogue("en").gettext) == str(error)
