"""Dataset folders: validation names file, row and field; splits, stats and the image cache."""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd
import pytest
from conftest import make_dataset
from PIL import Image

from maskloc.data.dataset import LocalizationDataset, channel_stats
from maskloc.data.folder import load_dataset
from maskloc.data.image_cache import ImageCache
from maskloc.data.layout import safe_image_path
from maskloc.data.split import split_indices
from maskloc.data.table import DataError, class_names_for, read_table
from maskloc.data.transforms import CATALOGUE, compose


def _write_train(root, text: str) -> None:
    (root / "train.csv").write_text(text, encoding="utf-8")


def test_loads_valid_folder_and_normalises_by_each_image_size(tiny_dataset):
    folder = load_dataset(tiny_dataset)
    assert folder.problems == []
    assert folder.class_names == ["mask", "no-mask"]
    frame = folder.train.frame
    boxes = folder.train.normalized_boxes()
    assert boxes.min() >= 0 and boxes.max() <= 1
    first = frame.iloc[0]
    assert boxes[0, 2] == pytest.approx(first.xmax / first.width)
    assert boxes[0, 3] == pytest.approx(first.ymax / first.height)
    assert folder.test is not None and len(folder.test.frame) == 6
    assert "source" in frame.columns  # extra columns survive


@pytest.mark.parametrize(
    ("row", "field", "reason"),
    [
        ("img_000.jpg,10,5,4,20,mask", "xmax", "below xmax"),
        ("img_000.jpg,1,30,4,20,mask", "ymax", "below ymax"),
        ("img_000.jpg,-1,5,4,20,mask", "xmin", "negative"),
        ("img_000.jpg,abc,5,4,20,mask", "xmin", "not a number"),
        ("img_000.jpg,,5,4,20,mask", "xmin", "not a number"),
        ("img_000.jpg,nan,5,4,20,mask", "xmin", "not finite"),
        ("img_000.jpg,1,5,4000,20,mask", "xmax/ymax", "outside"),
        ("img_000.jpg,1,5,4,20,", "class", "empty"),
        ("missing.jpg,1,5,4,20,mask", "filename", "not found"),
        ("../train.csv,1,5,4,20,mask", "filename", "plain name"),
        ("/etc/passwd,1,5,4,20,mask", "filename", "plain name"),
    ],
)
def test_bad_row_reported_with_line_field_and_reason(tiny_dataset, row, field, reason, caplog):
    caplog.set_level(logging.INFO, logger="maskloc.data.table")
    good = "img_001.png,1,2,10,12,mask"
    _write_train(tiny_dataset, f"filename,xmin,ymin,xmax,ymax,class\n{good}\n{row}\n")
    folder = load_dataset(tiny_dataset)
    assert [r.getMessage() for r in caplog.records] == [
        f"{tiny_dataset / 'train.csv'}: 1 row(s) refused, first: {folder.train.problems[0]}"
    ]
    assert len(folder.train.frame) == 1  # the good row is kept
    (problem,) = folder.train.problems
    assert (problem.file, problem.row, problem.field) == ("train.csv", 3, field)
    assert reason in problem.reason
    assert f"train.csv row 3, {field}" in str(problem)


def test_duplicates_unknown_test_classes_and_broken_images(tiny_dataset):
    (tiny_dataset / "images" / "broken.jpg").write_bytes(b"not really a jpeg")
    _write_train(
        tiny_dataset,
        "filename,xmin,ymin,xmax,ymax,class\n"
        "img_001.png,1,2,10,12,mask\nimg_001.png,1,2,10,12,mask\nbroken.jpg,1,2,3,4,mask\n",
    )
    (tiny_dataset / "test_labels.csv").write_text(
        "filename,xmin,ymin,xmax,ymax,class\nimg_025.png,1,2,10,12,cat\n"
    )
    folder = load_dataset(tiny_dataset)
    reasons = [str(p) for p in folder.problems]
    assert any("row 3, filename: duplicate of row 2" in r for r in reasons)
    assert any("row 4, filename" in r and "not an image" in r for r in reasons)
    assert any("test_labels.csv row 2, class: unknown class 'cat'" in r for r in reasons)


def test_bom_semicolons_header_case_and_spaces(tiny_dataset):
    text = "\ufeffFilename; XMIN ;ymin;xmax;ymax;Class\nimg_001.png; 1;2;10;12; mask\n"
    _write_train(tiny_dataset, text)
    table = read_table(tiny_dataset / "train.csv", tiny_dataset / "images")
    assert table.problems == []
    assert table.frame.loc[0, "class"] == "mask" and table.frame.loc[0, "xmin"] == 1.0


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "empty"),
        ("filename,xmin,ymin,xmx,ymax,class\na.jpg,1,2,3,4,mask\n", "missing column"),
        ("filename,xmin,ymin,xmax,ymax,class\n", "no usable rows"),
    ],
)
def test_unusable_train_csv_is_a_data_error(tiny_dataset, text, message):
    _write_train(tiny_dataset, text)
    with pytest.raises(DataError, match=message):
        load_dataset(tiny_dataset)


def test_missing_folder_and_images_dir(tmp_path):
    with pytest.raises(DataError, match="not found"):
        load_dataset(tmp_path / "nothing")
    (tmp_path / "empty").mkdir()
    with pytest.raises(DataError, match="images/"):
        load_dataset(tmp_path / "empty")


def test_safe_image_path_refuses_escapes(tmp_path):
    assert safe_image_path(tmp_path, "a.jpg") == (tmp_path / "a.jpg").resolve()
    for bad in ("../a.jpg", "sub/../../a.jpg", "/abs.jpg", "C:\\x.jpg", "..\\a.jpg", ""):
        with pytest.raises(ValueError):
            safe_image_path(tmp_path, bad)
    (tmp_path / "link").symlink_to("/etc")
    with pytest.raises(ValueError, match="outside"):
        safe_image_path(tmp_path, "link/passwd")


def test_exif_rotated_image_box_checked_against_upright_size(tmp_path):
    root = make_dataset(tmp_path / "d", n=6, n_test=0)
    exif = Image.Exif()
    exif[0x0112] = 6
    Image.new("RGB", (80, 40)).save(root / "images" / "rot.jpg", exif=exif)  # upright 40 x 80
    _write_train(root, "filename,xmin,ymin,xmax,ymax,class\nrot.jpg,0,0,30,70,mask\n")
    table = load_dataset(root).train
    assert table.problems == []
    assert (table.frame.loc[0, "width"], table.frame.loc[0, "height"]) == (40, 80)


def test_class_names_fixed_ids_then_sorted_extras():
    frame = pd.DataFrame({"class": ["zebra", "no-mask", "ant"]})
    assert class_names_for(frame) == ["mask", "no-mask", "ant", "zebra"]


def test_grouped_split_keeps_groups_apart_and_is_seeded():
    rng = np.random.default_rng(1)
    labels = rng.integers(0, 2, 200)
    groups = np.repeat(np.arange(40), 5)
    train, val = split_indices(labels, groups, 0.25, seed=7)
    assert set(groups[train]).isdisjoint(groups[val])
    assert 0.15 < len(val) / 200 < 0.35
    assert set(labels[val]) == {0, 1}
    again = split_indices(labels, groups, 0.25, seed=7)
    assert np.array_equal(train, again[0]) and np.array_equal(val, again[1])


def test_stratified_split_without_groups_keeps_class_ratio():
    labels = np.array([0] * 80 + [1] * 20)
    train, val = split_indices(labels, None, 0.25, seed=0)
    assert len(val) == 25 and labels[val].sum() == 5
    assert set(train).isdisjoint(val)


def test_channel_stats_match_numpy():
    images = np.random.default_rng(0).integers(0, 256, (10, 8, 8, 3), dtype=np.uint8)
    mean, std = channel_stats(images)
    pixels = images.reshape(-1, 3) / 255.0
    assert np.allclose(mean, pixels.mean(0)) and np.allclose(std, pixels.std(0))


def test_image_cache_decodes_once_and_sees_changes(tiny_dataset, monkeypatch):
    import maskloc.data.image_cache as data

    calls = []
    real = data.read_rgb
    monkeypatch.setattr(data, "read_rgb", lambda *a, **k: calls.append(a) or real(*a, **k))
    cache = ImageCache()
    paths = [str(p) for p in sorted((tiny_dataset / "images").iterdir())[:4]]
    first = cache.load(paths, 32)
    second = cache.load(paths, 32)
    assert first.shape == (4, 32, 32, 3) and np.array_equal(first, second)
    assert len(calls) == 4
    cache.load(paths, 48)  # another size is another entry
    assert len(calls) == 8


def test_dataset_augmentation_moves_box_with_image():
    image = np.zeros((32, 32, 3), np.uint8)
    image[4:12, 2:10] = 255
    box = np.array([[2 / 32, 4 / 32, 10 / 32, 12 / 32]], np.float32)
    flip = compose([CATALOGUE["HorizontalFlip"].create(p=1.0)])
    tensor, moved, label = LocalizationDataset(image[None], box, np.array([1]), flip)[0]
    assert tensor.shape == (3, 32, 32) and tensor.dtype.is_floating_point is False
    assert moved.tolist() == pytest.approx([22 / 32, 4 / 32, 30 / 32, 12 / 32])
    assert tensor[0, 4:12, 22:30].float().mean() == 255 and int(label) == 1


def test_safe_image_path_refuses_a_nul_byte_by_name(tmp_path):
    with pytest.raises(ValueError, match="NUL byte"):
        safe_image_path(tmp_path, "a\x00.jpg")
