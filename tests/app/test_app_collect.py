"""Collect, "wrong? fix it", the user-dataset chooser, Explore's importer and Train's "start
from", through AppTest (the canvas returns its initial drawing there: the proposed box)."""

from __future__ import annotations

import pandas as pd
import pytest
from app_steps import jpeg, open_page, poll, texts

from maskloc.data.user_datasets import create_dataset
from maskloc.formats import export_dataset
from maskloc.inference.predictor import Predictor


@pytest.fixture
def user_data(env, tmp_path, monkeypatch):
    monkeypatch.setenv("MASKLOC_USER_DATA", str(tmp_path / "user"))
    return tmp_path / "user"


def _rows(root) -> pd.DataFrame:
    return pd.read_csv(root / "train.csv")


def test_snapshot_is_proposed_added_and_listed(env, user_data):
    at = open_page("app_pages/collect.py")
    assert any("Take a snapshot" in i for i in texts(at.info))
    at.camera_input(key="collect_camera").set_value(("shot.jpg", jpeg(160, 120), "image/jpeg"))
    at.run()
    assert not at.exception
    assert any(m.startswith("Proposed: **") for m in texts(at.markdown))
    predicted = Predictor(env.checkpoint).predict(jpeg(160, 120))
    at.button(key="collect_add").click().run()
    assert not at.exception and not at.error
    rows = _rows(user_data / "my-faces")
    assert len(rows) == 1
    row = rows.iloc[0]
    # the proposal went through the canvas (canvas pixels and back) unchanged to 0.1 px
    assert [row.xmin, row.ymin, row.xmax, row.ymax] == pytest.approx(predicted.box, abs=0.11)
    assert row["class"] == predicted.class_name
    assert (user_data / "my-faces" / "images" / row.filename).is_file()
    assert any("Added" in s for s in texts(at.success))
    assert [m.label for m in at.metric][:1] == ["pictures"] and at.metric[0].value == "1"
    assert len(at.image) >= 1  # the thumbnail


def test_uploads_fix_delete_and_the_dataset_is_selectable_on_explore(env, user_data):
    create_dataset("class-3b")  # AppTest cannot type a new option; the page can
    at = open_page("app_pages/collect.py")
    at.selectbox(key="collect_dataset").set_value("class-3b").run()
    at.file_uploader(key="collect_uploads").set_value(
        [("a.jpg", jpeg(96, 80), "image/jpeg"), ("b.jpg", jpeg(120, 90), "image/jpeg")]
    ).run()
    assert not at.exception
    at.radio(key="collect_class").set_value("no-mask").run()
    at.button(key="collect_add").click().run()
    at.selectbox(key="collect_pick").set_value(1).run()  # the second picture
    at.radio(key="collect_class").set_value("mask").run()
    at.button(key="collect_add").click().run()
    assert not at.exception and not at.error
    rows = _rows(user_data / "class-3b")
    assert rows["class"].tolist() == ["no-mask", "mask"]
    first = rows.filename[0]
    at.selectbox(key="collect_fix_pick").set_value(first).run()
    at.radio(key=f"collect_fix_class_{first}").set_value("mask").run()
    at.button(key="collect_fix_save").click().run()
    assert _rows(user_data / "class-3b")["class"].tolist() == ["mask", "mask"]
    at.selectbox(key="collect_fix_pick").set_value(first).run()
    at.button(key="collect_delete").click().run()
    assert not at.exception
    assert _rows(user_data / "class-3b")["filename"].tolist() == [rows.filename[1]]
    assert not (user_data / "class-3b" / "images" / first).exists()

    explore = open_page("app_pages/explore.py")
    explore.selectbox(key="data_user").set_value("class-3b").run()
    assert not explore.exception
    assert explore.text_input(key="data_root").value == str(user_data / "class-3b")
    assert explore.metric[0].value == "1"


def test_finetune_from_collect_offers_the_result_to_webcam(env, user_data):
    at = open_page("app_pages/collect.py")
    at.file_uploader(key="collect_uploads").set_value(
        [(f"{i}.jpg", jpeg(96 + 8 * i, 80), "image/jpeg") for i in range(6)]
    ).run()
    for i in range(6):
        at.selectbox(key="collect_pick").set_value(i).run()
        at.radio(key="collect_class").set_value("mask" if i % 2 else "no-mask").run()
        at.button(key="collect_add").click().run()
    assert len(_rows(user_data / "my-faces")) == 6
    at.button(key="collect_finetune").click().run()
    assert not at.exception
    poll(at, lambda a: any(b.key == "collect_use" for b in a.button) or a.error)
    assert not at.error, texts(at.error)
    at.button(key="collect_use").click().run()
    from app_parts.jobs import registry

    active = registry().active_checkpoint()
    assert active is not None and active.name == "best.pt"
    tuned = Predictor(active)
    assert tuned.run_config.train.init_from == str(env.checkpoint)
    assert tuned.run_config.data.root == str(user_data / "my-faces")


def test_webcam_wrong_fix_it_adds_the_corrected_picture(env, user_data):
    at = open_page("app_pages/webcam.py")
    at.camera_input(key="webcam_camera").set_value(("shot.jpg", jpeg(160, 120), "image/jpeg"))
    at.run()
    at.toggle(key="webcam_fix_open").set_value(True).run()
    at.radio(key="webcam_fix_class").set_value("no-mask").run()
    at.button(key="webcam_fix_add").click().run()
    assert not at.exception and not at.error
    assert _rows(user_data / "my-faces")["class"].tolist() == ["no-mask"]


def test_explore_imports_a_coco_folder_and_shows_it(env, user_data, tmp_path):
    export_dataset(env.data, "coco", tmp_path / "coco")
    at = open_page("app_pages/explore.py")
    at.selectbox(key="import_format").set_value("coco")
    at.text_input(key="import_folder").set_value(str(tmp_path / "coco"))
    at.text_input(key="import_name").set_value("from-coco")
    at.button(key="import_go").click().run()
    assert not at.exception
    assert any("imported 24 picture(s) from coco" in s for s in texts(at.success)), texts(
        at.error
    ) + texts(at.success)
    assert at.text_input(key="data_root").value == str(user_data / "from-coco")
    assert at.metric[0].value == "24"
    at.text_input(key="import_folder").set_value(str(tmp_path / "nothing"))
    at.button(key="import_go").click().run()
    assert any("already exists and is not empty" in e for e in texts(at.error))
    at.text_input(key="import_name").set_value("second")
    at.button(key="import_go").click().run()
    assert any("no such folder or zip file" in e for e in texts(at.error))


def test_train_offers_to_start_from_the_bundled_model(env):
    at = open_page("app_pages/train.py")
    options = at.selectbox(key="train_start_from").options
    assert options[0].startswith("ImageNet") and any("bundled model" in o for o in options)
