"""Predict, Webcam and the dataset and model pickers in Spanish and in English: their words, their
metrics with the locale's decimal mark, and the library's errors and refused rows explained with
the real Spanish catalogue (the library itself, its CLI and its logs stay English)."""

from __future__ import annotations

import pickle
import shutil

import pytest
from app_steps import jpeg, texts
from conftest import ROOT
from streamlit.testing.v1 import AppTest

from app_parts.i18n import catalogue
from maskloc.data.folder import load_dataset
from maskloc.data.images import ImageError, read_rgb
from maskloc.data.table import DataError
from maskloc.utils.messages import Text, explained

APP = str(ROOT / "app.py")
SPANISH = catalogue("es").gettext
NBSP = "\xa0"


@pytest.fixture(autouse=True)
def no_server_language(monkeypatch):
    monkeypatch.delenv("MASKLOC_LANG", raising=False)


def open_in(lang: str, page: str) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=90)
    at.query_params["lang"] = lang
    at.run()
    at.switch_page(page).run()
    assert not at.exception, at.exception
    return at


def test_predict_scores_a_split_in_spanish_with_decimal_commas(env):
    at = open_in("es", "app_pages/predict.py")
    assert at.title[0].value == "Predecir"
    metrics = {m.label: m.value for m in at.metric}
    assert {"imágenes", "IoU media", "IoU ≥ 0,5", "exactitud", "exactitud balanceada"} <= set(
        metrics
    )
    assert "," in metrics["IoU media"] and "." not in metrics["IoU media"]
    assert metrics["IoU ≥ 0,5"].endswith(f"{NBSP}%")
    assert at.radio(key="predict_split").options == ["validación", "prueba", "todo"]
    assert at.radio(key="predict_split").value == "val"  # the value stays English
    assert at.session_state["predict_split"] == "val"
    assert at.selectbox(key="predict_sort").value == "worst IoU first"
    assert "peor IoU primero" in at.selectbox(key="predict_sort").options
    captions = at.image[0].captions
    assert captions and all(" real " in c and "," in c.rsplit("IoU ", 1)[1] for c in captions)
    headers = [e.value.columns.tolist() for e in at.dataframe]
    assert headers[0][:3] == ["archivo", "clase", "confianza"]
    assert {"clase real", "xmin real", "acierto"} <= set(headers[0])
    assert [tab.label for tab in at.tabs] == ["Evaluar", "Envío", "Una imagen"]


def test_predict_stays_english_for_an_english_browser(env):
    at = open_in("en", "app_pages/predict.py")
    assert at.title[0].value == "Predict"
    metrics = {m.label: m.value for m in at.metric}
    assert "." in metrics["mean IoU"] and "," not in metrics["mean IoU"]
    assert metrics["IoU ≥ 0.5"].endswith("%") and NBSP not in metrics["IoU ≥ 0.5"]
    assert at.radio(key="predict_split").options == ["val", "test", "all"]
    assert "filename" in at.dataframe[0].value.columns


def test_the_model_picker_keeps_its_english_value_and_shows_spanish_words(env):
    at = open_in("es", "app_pages/predict.py")
    picker = at.selectbox(key="predict_model")
    assert picker.value == f"Bundled model ({env.checkpoint.name})"
    assert picker.options == [f"Modelo incluido ({env.checkpoint.name})", "Subir un checkpoint…"]
    assert "· clases: mask, no-mask" in at.caption[0].value
    at.query_params["lang"] = "en"
    at.run()
    assert not at.exception
    assert at.selectbox(key="predict_model").value == f"Bundled model ({env.checkpoint.name})"
    assert at.selectbox(key="predict_model").options[0] == f"Bundled model ({env.checkpoint.name})"


def test_a_bad_checkpoint_and_a_bad_picture_are_explained_in_spanish(env, tmp_path, monkeypatch):
    monkeypatch.setenv("MASKLOC_CHECKPOINT", str(tmp_path / "missing.pt"))
    at = open_in("es", "app_pages/predict.py")
    assert any("Todavía no hay ningún modelo entrenado" in w for w in texts(at.warning))
    uploader = at.file_uploader(key="predict_model_upload_file")
    uploader.set_value(("broken.pt", b"nope", "application/octet-stream")).run()
    assert not at.exception
    (error,) = texts(at.error)
    assert error.startswith("No se puede cargar este modelo: ")
    assert error.endswith(": no es un checkpoint de PyTorch legible")


def test_webcam_answers_in_spanish(env):
    at = open_in("es", "app_pages/webcam.py")
    assert at.title[0].value == "Cámara"
    assert "Haz una foto o sube una." in texts(at.info)
    at.camera_input(key="webcam_camera").set_value(("shot.jpg", jpeg(160, 120), "image/jpeg"))
    at.run()
    assert not at.exception
    assert at.image[0].captions == ["la foto de la cámara, predicción en rojo"]
    verdict = [m for m in texts(at.markdown) if m.startswith("## ")]
    assert verdict and verdict[0].endswith(f"{NBSP}%")
    bars = [e.proto.text for e in at.get("progress")]
    assert bars and all(text.endswith(f"{NBSP}%") and "," in text for text in bars)
    assert at.radio(key="webcam_saliency").options == [
        "no mostrar",
        "para la clase (con mascarilla / sin mascarilla)",
        "para la caja",
    ]
    at.radio(key="webcam_saliency").set_value("box").run()
    assert not at.exception
    assert at.image[0].captions == [
        "la foto de la cámara, predicción en rojo · qué miró para la caja"
    ]
    at.camera_input(key="webcam_camera").set_value(("shot.jpg", b"garbage", "image/jpeg"))
    at.run()
    assert not at.exception
    assert texts(at.error) == [
        "No se puede usar esta imagen: imagen subida: no es un archivo de imagen que PIL pueda leer"
    ]


def test_the_dataset_sidebar_and_refused_rows_in_spanish(env):
    with (env.data / "train.csv").open("a") as handle:
        handle.write("missing.jpg,1,1,5,5,mask,y\n")
    at = open_in("es", "app_pages/explore.py")
    assert at.sidebar.text_input(key="data_root").label == "Carpeta del conjunto de datos"
    (problems,) = [e.value for e in at.dataframe if "motivo" in e.value.columns]
    assert problems.columns.tolist() == ["archivo", "fila", "campo", "motivo"]
    assert problems["motivo"].tolist() == ["'missing.jpg' no está en images/"]
    at.file_uploader(key="data_zip").set_value(("evil.zip", b"not a zip", "application/zip"))
    at.run()
    assert not at.exception
    assert "No se puede usar este zip: evil.zip: no es un archivo zip" in texts(at.error)


def test_a_refused_rows_reason_is_english_and_explained_in_spanish(tmp_path):
    from conftest import make_dataset

    root = make_dataset(tmp_path / "data")
    with (root / "train.csv").open("a") as handle:
        handle.write("copy.jpg,-3,1,5,5,mask,y\n")
    shutil.copyfile(root / "images" / "img_000.jpg", root / "images" / "copy.jpg")
    folder = load_dataset(root)
    (problem,) = [p for p in folder.problems if p.field == "xmin"]
    assert problem.reason == "-3 is negative"  # a plain English str for the CLI and the logs
    assert str(problem).endswith("xmin: -3 is negative")
    assert explained(problem.reason, SPANISH) == "-3 es negativo"
    cached = pickle.loads(pickle.dumps(problem))  # st.cache_data pickles dataset folders
    assert cached == problem and explained(cached.reason, SPANISH) == "-3 es negativo"
    assert explained("a plain reason", SPANISH) == "a plain reason"
    assert Text("empty class name").explain(SPANISH) == "nombre de clase vacío"


def test_library_errors_keep_english_and_explain_themselves_in_spanish(tmp_path):
    with pytest.raises(ImageError) as caught:
        read_rgb(b"not an image")
    assert str(caught.value) == "uploaded image: not an image file PIL can read"
    assert caught.value.explain(SPANISH) == (
        "imagen subida: no es un archivo de imagen que PIL pueda leer"
    )
    with pytest.raises(DataError) as missing:
        load_dataset(tmp_path / "nowhere")
    assert str(missing.value) == f"{tmp_path / 'nowhere'}: dataset folder not found"
    assert missing.value.explain(SPANISH) == (
        f"{tmp_path / 'nowhere'}: no se encontró la carpeta del conjunto de datos"
    )
