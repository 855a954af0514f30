"""The Train page in Spanish and in English: its form, its refusals next to Start, the settings'
errors and the preflight's warnings from the library, and the charts' words and decimal mark."""

from __future__ import annotations

import pytest
import streamlit as st
from conftest import ROOT, make_dataset
from streamlit.testing.v1 import AppTest

from app_parts.i18n import catalogue
from maskloc.config.presets import override, preset
from maskloc.config.settings import SettingError
from maskloc.training.preflight import preflight
from maskloc.viz import charts

SPANISH = catalogue("es").gettext
HISTORY = [
    {"epoch": 1, "train_loss": 1.5, "val_loss": 1.2, "mean_iou": 0.41, "accuracy": 0.8},
    {"epoch": 2, "train_loss": 0.9, "val_loss": 1.0, "mean_iou": 0.55, "accuracy": 0.9},
]


@pytest.fixture
def page_env(tmp_path, monkeypatch):
    monkeypatch.setenv("MASKLOC_DATA", str(make_dataset(tmp_path / "data")))
    monkeypatch.setenv("MASKLOC_RUNS", str(tmp_path / "runs"))
    monkeypatch.delenv("MASKLOC_LANG", raising=False)
    st.cache_data.clear()
    return tmp_path


def train_page(lang: str) -> AppTest:
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=90)
    at.query_params["lang"] = lang
    at.run()
    at.switch_page("app_pages/train.py").run()
    assert not at.exception, at.exception
    return at


@pytest.mark.parametrize(
    ("lang", "title", "pretrained", "start", "heading", "idle"),
    [
        ("es", "Entrenar", "Pesos de ImageNet", "▶ Empezar a entrenar", "**Modelo**", "No se está"),
        ("en", "Train", "ImageNet weights", "▶ Start training", "**Model**", "Nothing is"),
    ],
)
def test_the_train_page_speaks_the_chosen_language(
    page_env, lang, title, pretrained, start, heading, idle
):
    at = train_page(lang)
    assert at.title[0].value == title
    assert at.checkbox(key="train_pretrained").label == pretrained
    assert at.button(key="train_start").label == start
    assert heading in [m.value for m in at.markdown]
    assert any(i.value.startswith(idle) for i in at.info)
    # the classroom preset's description under the preset choice, in the same language
    english = preset_description = "seconds per run on a laptop CPU"
    captions = [c.value for c in at.caption]
    if lang == "es":
        assert any(c.startswith("segundos por ejecución") for c in captions)
        assert not any(c.startswith(preset_description) for c in captions)
    else:
        assert any(c.startswith(english) for c in captions)
    # option values stay the English keys whatever the language
    assert at.selectbox(key="train_preset").value == "classroom"


def test_a_refusal_next_to_start_is_in_spanish_and_names_the_spanish_checkbox(page_env):
    at = train_page("es")
    at.selectbox(key="train_model").set_value("own_cnn").run()
    at.checkbox(key="train_pretrained").set_value(True)
    at.button(key="train_start").click().run()
    assert not at.exception
    assert [e.value for e in at.error] == [
        "No se ha iniciado: own_cnn no tiene pesos de ImageNet: desmarca 'Pesos de ImageNet'."
    ]


def test_a_bad_number_is_refused_in_spanish_with_its_value(page_env):
    at = train_page("es")
    at.number_input(key="train_epochs").set_value(0).run()
    at.button(key="train_start").click().run()
    assert [e.value for e in at.error] == [
        "No se ha iniciado: 'Épocas' debe ser 1 o más, pero es 0."
    ]


def test_setting_errors_keep_english_for_the_cli_and_explain_in_spanish():
    with pytest.raises(SettingError) as error:
        override(preset("classroom"), {"train.alpha": 1.5})
    assert error.value.for_cli() == "--alpha must be within [0, 1], got 1.5"
    assert error.value.for_page() == "'alpha: box weight' must be within [0, 1], got 1.5"
    assert (
        error.value.for_page(SPANISH)
        == "'alfa: peso de caja' debe ser un valor de [0, 1], pero es 1.5"
    )
    assert error.value.explain(SPANISH) == error.value.for_page(SPANISH)  # as error_text shows it
    with pytest.raises(SettingError) as error:
        override(preset("classroom"), {"train.class_weighting": "sampler"})
    assert error.value.for_page(SPANISH).startswith(
        "'Caché de congelados' no funciona con 'Balance de clases' 'sampler'"
    )


def test_frozen_blocks_error_fills_the_nested_phrase_in_spanish():
    with pytest.raises(SettingError) as error:
        override(preset("notebook"), {"model.frozen_blocks": 14})
    assert str(error.value).startswith("--frozen-blocks ('Frozen blocks' on the Train page) is 14")
    assert error.value.for_page(SPANISH) == (
        "'Bloques congelados' es 14, pero own_cnn tiene 4 bloques: puede congelar como mucho 3"
    )


def test_preflight_warnings_and_class_counts_are_english_strings_explained_in_spanish(tmp_path):
    root = make_dataset(tmp_path / "ds")
    check = preflight(override(preset("notebook"), {"data.root": str(root)}))
    warning = check.warnings[0]
    assert warning.startswith("class 'mask' has only")  # what the CLI prints
    assert warning.explain(SPANISH).startswith("la clase 'mask' solo tiene")
    assert "filas (" in check.split.classes_text(SPANISH)
    assert "rows (" in check.split.classes_text()


def test_charts_speak_spanish_with_a_decimal_comma_and_english_by_default():
    english = charts.metrics_figure(HISTORY)
    assert english.layout.title.text == "Validation scores"
    assert english.layout.separators == ".,"
    assert english.layout.xaxis.title.text == "epoch"
    spanish = charts.metrics_figure(HISTORY, translate=SPANISH)
    assert spanish.layout.title.text == "Métricas de validación"
    assert spanish.layout.separators == ",."
    assert spanish.layout.xaxis.title.text == "época"
    assert [trace.name for trace in spanish.data][:2] == ["IoU media", "IoU ≥ 0,5"]
    loss = charts.loss_figure(HISTORY, translate=SPANISH)
    assert {trace.name for trace in loss.data} >= {"entrenamiento", "validación"}
    overlay = charts.alpha_overlay_figure({0.25: HISTORY}, translate=SPANISH)
    assert overlay.data[0].name == "α = 0,25"
    confusion = charts.confusion_figure([[3, 1], [0, 2]], ["mask", "no-mask"], translate=SPANISH)
    assert list(confusion.data[0].y) == ["real: mask", "real: no-mask"]


def test_the_start_point_choice_shows_its_words_in_spanish_and_keeps_its_key(page_env):
    at = train_page("es")
    picker = at.selectbox(key="train_start_from")
    imagenet = "ImageNet (or random, as the form says)"
    assert picker.value == imagenet  # the session keeps the English key
    assert picker.options[0] == SPANISH(imagenet) != imagenet
