"""Collect, the box editor and Explore's importer in Spanish and English, and the library messages
they show (import errors and reports, user-dataset and fine-tune errors) explained in Spanish from
the real catalogue while `str()` stays English for the CLI and the logs."""

from __future__ import annotations

import pytest
from app_steps import APP, jpeg, texts
from conftest import picture_file, voc_xml
from streamlit.testing.v1 import AppTest

from app_parts.i18n import catalogue
from maskloc.data.user_datasets import UserDatasetError, check_name, create_dataset
from maskloc.formats import FormatError, import_dataset

SPANISH = catalogue("es").gettext


@pytest.fixture
def user_data(env, tmp_path, monkeypatch):
    monkeypatch.setenv("MASKLOC_USER_DATA", str(tmp_path / "user"))
    monkeypatch.delenv("MASKLOC_LANG", raising=False)
    return tmp_path / "user"


def page(path: str, lang: str, state: dict | None = None) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=90)
    at.query_params["lang"] = lang
    for key, value in (state or {}).items():
        at.session_state[key] = value
    at.run()
    at.switch_page(path).run()
    assert not at.exception, at.exception
    return at


@pytest.mark.parametrize(
    ("lang", "words"),
    [
        (
            "es",
            {
                "title": "Recolectar",
                "start": "Haz una foto o sube fotos para empezar.",
                "camera": "Foto",
                "proposed": "Propuesta: **",
                "added": "Se añadió shot-",
                "pictures": "imágenes",
                "more": "Para un ajuste fino útil, añade ",
                "fix": "Corregir o borrar una imagen",
                "add": "Añadir",
            },
        ),
        (
            "en",
            {
                "title": "Collect",
                "start": "Take a snapshot or upload photos to start.",
                "camera": "Snapshot",
                "proposed": "Proposed: **",
                "added": "Added shot-",
                "pictures": "pictures",
                "more": "For a useful fine-tune add ",
                "fix": "Fix or delete a picture",
                "add": "Add",
            },
        ),
    ],
)
def test_collect_speaks_the_language_of_the_url(lang, words, user_data):
    at = page("app_pages/collect.py", lang)
    assert at.title[0].value == words["title"]
    assert words["start"] in texts(at.info)
    assert at.camera_input(key="collect_camera").label == words["camera"]
    at.camera_input(key="collect_camera").set_value(("shot.jpg", jpeg(160, 120), "image/jpeg"))
    at.run()
    assert any(m.startswith(words["proposed"]) for m in texts(at.markdown))
    assert at.button(key="collect_add").label == words["add"]
    at.radio(key="collect_class").set_value("mask").run()
    at.button(key="collect_add").click().run()
    assert not at.exception and not at.error, texts(at.error)
    assert any(s.startswith(words["added"]) for s in texts(at.success)), texts(at.success)
    assert at.metric[0].label == words["pictures"]
    (advice,) = [i for i in texts(at.info) if i.startswith(words["more"])]
    assert ("9 más de mask" if lang == "es" else "9 more mask") in advice
    assert words["fix"] in [e.label for e in at.expander]
    assert (user_data / "my-faces" / "train.csv").is_file()


def test_collect_says_why_a_dataset_name_is_refused_in_spanish(user_data):
    at = page("app_pages/collect.py", "es", {"maskloc_user_dataset": "no/good"})
    at.camera_input(key="collect_camera").set_value(("shot.jpg", jpeg(160, 120), "image/jpeg"))
    at.run()
    at.button(key="collect_add").click().run()
    assert not at.exception
    (error,) = texts(at.error)
    assert error.startswith("No se añadió: nombre del conjunto de datos 'no/good': usa de 1 a 64")


def test_the_importer_reports_in_spanish(user_data, tmp_path):
    source = tmp_path / "voc"
    picture_file(source / "a.jpg")
    picture_file(source / "b.jpg")
    (source / "a.xml").write_text(voc_xml("a.jpg", ("mask", 1, 1, 40, 30)))
    (source / "b.xml").write_text(voc_xml("b.jpg"))
    at = page("app_pages/explore.py", "es")
    assert at.sidebar.expander[0].label == "Importar VOC / COCO / YOLO"
    assert at.selectbox(key="import_multi").options == ["rechazar", "la más grande"]
    at.selectbox(key="import_format").set_value("voc")
    at.text_input(key="import_folder").set_value(str(source))
    at.text_input(key="import_name").set_value("from-voc")
    at.button(key="import_go").click().run()
    assert not at.exception
    assert texts(at.sidebar.success) == [
        f"se importaron 1 imagen(es) de voc en {user_data / 'from-voc'}"
    ]
    report = at.sidebar.code[0].value
    assert "rechazada: b.jpg: sin caja" in report
    assert "por clase: mask 1" in report and "rechazadas por motivo: sin caja 1" in report
    at.text_input(key="import_name").set_value("second")
    at.text_input(key="import_folder").set_value(str(tmp_path / "nowhere"))
    at.button(key="import_go").click().run()
    assert texts(at.sidebar.error) == [
        f"{tmp_path / 'nowhere'}: no existe esa carpeta ni ese archivo zip"
    ]


def test_the_importer_stays_english_for_an_english_browser(user_data, tmp_path):
    at = page("app_pages/explore.py", "en")
    assert at.sidebar.expander[0].label == "Import VOC / COCO / YOLO"
    at.text_input(key="import_folder").set_value("")
    at.button(key="import_go").click().run()
    assert texts(at.sidebar.error) == ["give a folder path or upload a zip"]


def test_a_failed_import_explains_its_report_and_each_refusal_in_spanish(tmp_path):
    source = tmp_path / "voc"
    picture_file(source / "ok.jpg")
    bomb = '<?xml version="1.0"?><!DOCTYPE a [<!ENTITY x "xxxxxxxx">]>'
    (source / "bomb.xml").write_text(voc_xml("ok.jpg", ("&x;", 1, 1, 9, 9), extra=bomb))
    (source / "flipped.xml").write_text(voc_xml("ok.jpg", ("mask", 30, 1, 9, 9)))
    (source / "lost.xml").write_text(voc_xml("gone.jpg", ("mask", 1, 1, 9, 9)))
    with pytest.raises(FormatError) as caught:
        import_dataset(source, "voc", tmp_path / "out")
    english, spanish = str(caught.value), caught.value.explain(SPANISH)
    assert english.startswith(f"nothing to import from {source}:\nimported 0 picture(s)")
    assert "bomb.xml: unreadable annotation (declares a DOCTYPE or entities" in english
    assert spanish.startswith(f"nada que importar de {source}:\nse importaron 0 imagen(es)")
    assert "bomb.xml: anotación ilegible (declara un DOCTYPE o entidades" in spanish
    assert "gone.jpg: falta la imagen (no se encontró 'gone.jpg')" in spanish
    assert "ok.jpg: caja no válida (xmax: " in spanish
    assert "rechazadas por motivo: anotación ilegible 1, caja no válida 1, falta la imagen 1" in (
        spanish
    )


def test_a_bad_yolo_label_line_is_explained_in_spanish_inside_its_file(tmp_path):
    source = tmp_path / "yolo"
    picture_file(source / "images" / "a.jpg")
    (source / "labels").mkdir()
    (source / "labels" / "a.txt").write_text("0 0.5 0.5\n")
    (source / "classes.txt").write_text("mask\n")
    with pytest.raises(FormatError) as caught:
        import_dataset(source, "yolo", tmp_path / "out")
    assert "a.jpg: unreadable annotation (labels/a.txt: line 1: 3 fields" in str(caught.value)
    assert "a.jpg: anotación ilegible (labels/a.txt: línea 1: 3 campos, se esperaba" in (
        caught.value.explain(SPANISH)
    )


def test_user_dataset_errors_are_value_errors_explained_in_spanish(tmp_path):
    with pytest.raises(ValueError, match=r"dataset name '\.\.'") as caught:
        check_name("..")
    assert isinstance(caught.value, UserDatasetError)
    assert caught.value.explain(SPANISH).startswith("nombre del conjunto de datos '..': usa")
    dataset = create_dataset("mine", tmp_path)
    with pytest.raises(UserDatasetError) as caught:
        dataset.delete("nope.jpg")
    assert str(caught.value) == "mine: no picture named 'nope.jpg'"
    assert caught.value.explain(SPANISH) == "mine: no hay ninguna imagen llamada 'nope.jpg'"


def test_an_ensemble_cannot_be_fine_tuned_says_so_in_spanish(checkpoint, tmp_path):
    from maskloc.models.checkpoint import (
        CheckpointError,
        checkpoint_bytes,
        ensemble_payload,
        starting_checkpoint,
    )
    from maskloc.utils.atomic import atomic_write_bytes

    path = tmp_path / "e.pt"
    atomic_write_bytes(path, checkpoint_bytes(ensemble_payload([checkpoint, checkpoint])))
    with pytest.raises(CheckpointError) as caught:
        starting_checkpoint(path)
    assert str(caught.value) == f"{path}: an ensemble cannot be fine-tuned; start from one member"
    assert caught.value.explain(SPANISH) == (
        f"{path}: un conjunto de modelos (ensemble) no se puede ajustar; parte de uno de sus "
        "miembros"
    )
