"""VOC / COCO / YOLO import and export: layouts people's tools write, zips, unsafe names, XML
entities, pictures with 0 or 2 boxes, class renames, non-JPEG images, and round trips."""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import make_dataset, picture_file, voc_xml
from PIL import Image

from maskloc.data.uploads import UploadError
from maskloc.formats import FormatError, export_dataset, import_dataset, parse_renames

COLUMNS = ["filename", "xmin", "ymin", "xmax", "ymax", "class"]


def _rows(dataset: Path) -> pd.DataFrame:
    frame = pd.read_csv(dataset / "train.csv")
    return frame.sort_values("filename").reset_index(drop=True)


def _refused(report) -> dict[str, str]:
    return {refusal.file: refusal.reason for refusal in report.refusals}


# --- round trips ----------------------------------------------------------------------------------


@pytest.mark.parametrize("format_name", ["voc", "coco", "yolo"])
def test_import_of_export_gives_the_dataset_back(tiny_dataset, tmp_path, format_name):
    exported = export_dataset(tiny_dataset, format_name, tmp_path / "exported")
    assert sum(exported.written.values()) == 24
    report = import_dataset(tmp_path / "exported", format_name, tmp_path / "back")
    assert report.refusals == []
    assert _rows(tmp_path / "back")[COLUMNS].equals(_rows(tiny_dataset)[COLUMNS])
    for name in _rows(tiny_dataset)["filename"]:  # PNGs stay PNGs, bytes unchanged
        original = (tiny_dataset / "images" / name).read_bytes()
        assert (tmp_path / "back" / "images" / name).read_bytes() == original


@pytest.mark.parametrize("format_name", ["voc", "coco", "yolo"])
def test_export_to_a_zip_imports_back_from_the_zip(tiny_dataset, tmp_path, format_name):
    export_dataset(tiny_dataset, format_name, tmp_path / "out.zip")
    assert zipfile.is_zipfile(tmp_path / "out.zip")
    import_dataset(tmp_path / "out.zip", format_name, tmp_path / "back")
    assert _rows(tmp_path / "back")[COLUMNS].equals(_rows(tiny_dataset)[COLUMNS])


def test_non_integer_boxes_survive_a_round_trip_to_a_hundredth(tmp_path):
    data = make_dataset(tmp_path / "d", n=6, n_test=0)
    frame = pd.read_csv(data / "train.csv")
    frame["xmin"] = frame["xmin"] + 0.25
    frame.to_csv(data / "train.csv", index=False)
    for format_name in ("voc", "coco", "yolo"):
        export_dataset(data, format_name, tmp_path / format_name)
        import_dataset(tmp_path / format_name, format_name, tmp_path / f"{format_name}-back")
        back = _rows(tmp_path / f"{format_name}-back")
        assert np.allclose(back["xmin"], _rows(data)["xmin"], atol=0.01), format_name


# --- VOC ------------------------------------------------------------------------------------------


def test_voc_labelimg_layout_is_one_based_and_refuses_0_and_2_boxes(tmp_path):
    src = tmp_path / "labelimg"
    for name in ("a", "none", "two"):
        picture_file(src / f"{name}.jpg")
    (src / "a.xml").write_text(voc_xml("a.jpg", ("with_mask", 11, 21, 40, 50)))
    (src / "none.xml").write_text(voc_xml("none.jpg"))
    (src / "two.xml").write_text(
        voc_xml("two.jpg", ("with_mask", 1, 1, 10, 10), ("without_mask", 20, 20, 60, 50))
    )
    report = import_dataset(src, "voc", tmp_path / "out", parse_renames(["with_mask=mask"]))
    rows = _rows(tmp_path / "out")
    assert rows[COLUMNS].values.tolist() == [["a.jpg", 10.0, 20.0, 40.0, 50.0, "mask"]]
    assert _refused(report) == {"none.jpg": "no box", "two.jpg": "several boxes"}
    assert "refused per reason: no box 1, several boxes 1" in report.summary()
    assert "per class: mask 1" in report.summary()


def test_voc_multi_box_largest_keeps_the_largest(tmp_path):
    src = tmp_path / "labelimg"
    picture_file(src / "two.jpg")
    (src / "two.xml").write_text(
        voc_xml("two.jpg", ("mask", 1, 1, 10, 10), ("no-mask", 21, 21, 60, 50))
    )
    report = import_dataset(src, "voc", tmp_path / "out", multi_box="largest")
    assert report.refusals == []
    assert _rows(tmp_path / "out")[COLUMNS].values.tolist() == [
        ["two.jpg", 20.0, 20.0, 60.0, 50.0, "no-mask"]
    ]


def test_voc_cvat_layout_with_png_and_xml_entities(tmp_path):
    src = tmp_path / "cvat"
    picture_file(src / "JPEGImages" / "r&d.png")
    (src / "Annotations").mkdir(parents=True)
    (src / "Annotations" / "r&d.xml").write_text(
        voc_xml("r&amp;d.png", ("no&#45;mask", 1, 1, 30, 40)), encoding="utf-8"
    )
    import_dataset(src, "voc", tmp_path / "out")
    assert _rows(tmp_path / "out")[COLUMNS].values.tolist() == [
        ["r&d.png", 0.0, 0.0, 30.0, 40.0, "no-mask"]
    ]
    assert Image.open(tmp_path / "out" / "images" / "r&d.png").format == "PNG"


def test_voc_refuses_entity_declarations_unsafe_names_and_bad_boxes(tmp_path):
    src = tmp_path / "voc"
    picture_file(src / "ok.jpg")
    picture_file(tmp_path / "secret.jpg")
    bomb = '<?xml version="1.0"?><!DOCTYPE a [<!ENTITY x "xxxxxxxx">]>'
    (src / "bomb.xml").write_text(voc_xml("ok.jpg", ("&x;", 1, 1, 9, 9), extra=bomb))
    (src / "climb.xml").write_text(voc_xml("../secret.jpg", ("mask", 1, 1, 9, 9)))
    (src / "abs.xml").write_text(voc_xml(str(tmp_path / "secret.jpg"), ("mask", 1, 1, 9, 9)))
    (src / "flipped.xml").write_text(voc_xml("ok.jpg", ("mask", 30, 1, 9, 9)))
    with pytest.raises(FormatError, match="nothing to import") as caught:
        import_dataset(src, "voc", tmp_path / "out")
    message = str(caught.value)
    assert "bomb.xml: unreadable annotation (declares a DOCTYPE or entities" in message
    assert "../secret.jpg: unsafe file name" in message
    assert f"{tmp_path / 'secret.jpg'}: unsafe file name" in message
    assert "ok.jpg: bad box (xmax: xmin 29 must be below xmax 9)" in message
    assert not (tmp_path / "out").exists()  # a failed import leaves nothing behind
    assert not list(tmp_path.glob(".out.*"))


# --- COCO -----------------------------------------------------------------------------------------


def _coco(images, annotations, categories) -> str:
    return json.dumps({"images": images, "annotations": annotations, "categories": categories})


def test_coco_roboflow_layout_with_supercategory_zero_and_renames(tmp_path):
    src = tmp_path / "train"
    picture_file(src / "a_jpg.rf.0123abcd.jpg")
    picture_file(src / "b.webp")
    picture_file(src / "c.jpg")
    (src / "_annotations.coco.json").write_text(
        _coco(
            [
                {"id": 0, "file_name": "a_jpg.rf.0123abcd.jpg", "width": 80, "height": 60},
                {"id": 1, "file_name": "b.webp", "width": 80, "height": 60},
                {"id": 2, "file_name": "c.jpg", "width": 80, "height": 60},
            ],
            [
                {"id": 0, "image_id": 0, "category_id": 1, "bbox": [5, 6, 20, 30]},
                {"id": 1, "image_id": 1, "category_id": 2, "bbox": [0, 0, 80, 60]},
                {"id": 2, "image_id": 2, "category_id": 1, "bbox": [1, 1, 5, 5]},
                {"id": 3, "image_id": 2, "category_id": 2, "bbox": [10, 10, 5, 5]},
            ],
            [
                {"id": 0, "name": "faces", "supercategory": "none"},
                {"id": 1, "name": "with-mask", "supercategory": "faces"},
                {"id": 2, "name": "no-mask", "supercategory": "faces"},
            ],
        )
    )
    report = import_dataset(src, "coco", tmp_path / "out", {"with-mask": "mask"})
    rows = _rows(tmp_path / "out")
    assert rows[COLUMNS].values.tolist() == [
        ["a_jpg.rf.0123abcd.jpg", 5.0, 6.0, 25.0, 36.0, "mask"],
        ["b.webp", 0.0, 0.0, 80.0, 60.0, "no-mask"],
    ]
    assert rows["source"].tolist() == ["a", "b"]  # Roboflow's augmented copies group by photo
    assert _refused(report) == {"c.jpg": "several boxes"}
    assert dict(report.imported) == {"mask": 1, "no-mask": 1}


def test_coco_classic_layout_in_a_zip_and_unsafe_file_names(tmp_path):
    buffer = io.BytesIO()
    image = io.BytesIO()
    Image.new("RGB", (50, 40), "white").save(image, "PNG")
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("set/train2017/0001.png", image.getvalue())
        archive.writestr(
            "set/annotations/instances_train.json",
            _coco(
                [
                    {"id": 7, "file_name": "0001.png"},
                    {"id": 8, "file_name": "../../etc/passwd"},
                    {"id": 9, "file_name": "/etc/passwd"},
                    {"id": 10, "file_name": "missing.jpg"},
                ],
                [
                    {"image_id": 7, "category_id": 3, "bbox": [10, 5, 30, 30]},
                    {"image_id": 8, "category_id": 3, "bbox": [1, 1, 5, 5]},
                    {"image_id": 9, "category_id": 3, "bbox": [1, 1, 5, 5]},
                    {"image_id": 10, "category_id": 3, "bbox": [1, 1, 5, 5]},
                ],
                [{"id": 3, "name": "mask"}],
            ),
        )
    (tmp_path / "coco.zip").write_bytes(buffer.getvalue())
    report = import_dataset(tmp_path / "coco.zip", "coco", tmp_path / "out")
    assert _rows(tmp_path / "out")[COLUMNS].values.tolist() == [
        ["0001.png", 10.0, 5.0, 40.0, 35.0, "mask"]
    ]
    assert _refused(report) == {
        "../../etc/passwd": "unsafe file name",
        "/etc/passwd": "unsafe file name",
        "missing.jpg": "image missing",
    }


def test_a_zip_with_a_climbing_entry_is_refused_before_anything_is_written(tmp_path):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("../evil.xml", "<annotation/>")
    (tmp_path / "evil.zip").write_bytes(buffer.getvalue())
    with pytest.raises(UploadError, match="would land outside"):
        import_dataset(tmp_path / "evil.zip", "voc", tmp_path / "out")
    assert not (tmp_path / "evil.xml").exists() and not (tmp_path / "out").exists()


# --- YOLO -----------------------------------------------------------------------------------------


def test_yolo_ultralytics_layout_names_as_dict_and_missing_labels(tmp_path):
    src = tmp_path / "yolo"
    picture_file(src / "train" / "images" / "a.png", size=(100, 50))
    picture_file(src / "train" / "images" / "nolabel.jpg")
    picture_file(src / "valid" / "images" / "two.bmp")
    (src / "train" / "labels").mkdir(parents=True)
    (src / "valid" / "labels").mkdir(parents=True)
    (src / "train" / "labels" / "a.txt").write_text("1 0.5 0.5 0.2 0.4\n")
    (src / "valid" / "labels" / "two.txt").write_text("0 0.5 0.5 0.2 0.4\n1 0.2 0.2 0.1 0.1\n")
    (src / "data.yaml").write_text("path: .\nnames:\n  0: with_mask\n  1: without_mask\n")
    report = import_dataset(src, "yolo", tmp_path / "out", parse_renames(["without_mask=no-mask"]))
    assert _rows(tmp_path / "out")[COLUMNS].values.tolist() == [
        ["a.png", 40.0, 15.0, 60.0, 35.0, "no-mask"]
    ]
    assert _refused(report) == {
        "train/images/nolabel.jpg": "no box",
        "valid/images/two.bmp": "several boxes",
    }


def test_yolo_classes_txt_and_names_as_a_list(tmp_path):
    for how, write in (
        ("txt", lambda src: (src / "classes.txt").write_text("mask\nno-mask\n")),
        ("yaml", lambda src: (src / "data.yaml").write_text("names: ['mask', 'no-mask']\n")),
    ):
        src = tmp_path / how
        picture_file(src / "images" / "a.jpg", size=(100, 100))
        (src / "labels").mkdir()
        (src / "labels" / "a.txt").write_text("1 0.5 0.5 0.5 0.5\n")
        write(src)
        import_dataset(src, "yolo", tmp_path / f"out-{how}")
        assert _rows(tmp_path / f"out-{how}")[COLUMNS].values.tolist() == [
            ["a.jpg", 25.0, 25.0, 75.0, 75.0, "no-mask"]
        ]


def test_yolo_without_class_names_and_bad_label_lines_say_so(tmp_path):
    src = tmp_path / "yolo"
    picture_file(src / "images" / "a.jpg")
    (src / "labels").mkdir()
    (src / "labels" / "a.txt").write_text("0 0.5 0.5\n")
    with pytest.raises(FormatError, match=r"no data\.yaml with names: and no classes\.txt"):
        import_dataset(src, "yolo", tmp_path / "out")
    (src / "classes.txt").write_text("mask\n")
    with pytest.raises(FormatError, match=r"labels/a.txt: line 1: 3 fields"):
        import_dataset(src, "yolo", tmp_path / "out")


# --- refusals of the whole source -----------------------------------------------------------------


def test_import_refuses_a_non_empty_target_and_an_unknown_source(tiny_dataset, tmp_path):
    with pytest.raises(FormatError, match="already exists and is not empty"):
        import_dataset(tmp_path, "voc", tiny_dataset)
    with pytest.raises(FormatError, match="no such folder or zip file"):
        import_dataset(tmp_path / "nope", "voc", tmp_path / "out")
    (tmp_path / "empty").mkdir()
    with pytest.raises(FormatError, match="no coco annotations found"):
        import_dataset(tmp_path / "empty", "coco", tmp_path / "out")
    with pytest.raises(ValueError, match="expected OLD=NEW"):
        parse_renames(["mask"])
