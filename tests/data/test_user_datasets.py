"""User datasets: created under MASKLOC_USER_DATA, changed atomically, readable as any dataset."""

from __future__ import annotations

import io
import zipfile

import numpy as np
import pytest
from PIL import Image

from maskloc.config.paths import user_data_root
from maskloc.data.folder import load_dataset
from maskloc.data.images import ImageError
from maskloc.data.user_datasets import (
    RECOMMENDED_PER_CLASS,
    check_name,
    create_dataset,
    list_datasets,
)


def _png(width: int = 64, height: int = 48) -> bytes:
    buffer = io.BytesIO()
    array = np.random.default_rng(0).integers(0, 255, (height, width, 3), np.uint8)
    Image.fromarray(array).save(buffer, "PNG")
    return buffer.getvalue()


@pytest.fixture
def root(tmp_path, monkeypatch):
    monkeypatch.setenv("MASKLOC_USER_DATA", str(tmp_path / "user"))
    return tmp_path / "user"


def test_the_environment_variable_sets_the_root_and_names_are_plain(root):
    assert user_data_root() == root
    dataset = create_dataset("class-3b")
    assert dataset.root == root / "class-3b" and dataset.rows().empty
    assert [d.name for d in list_datasets()] == ["class-3b"]
    for bad in ("../up", "a/b", ".hidden", "", "x" * 65):
        with pytest.raises(ValueError, match="dataset name"):
            check_name(bad)


def test_add_fix_delete_keep_csv_and_images_in_step(root):
    dataset = create_dataset("mine")
    first = dataset.add(_png(), (4, 5, 40, 30), "mask")
    second = dataset.add(_png(), (0, 0, 64, 48), "no-mask")
    assert (dataset.images / first).is_file() and first.endswith(".jpg")
    folder = load_dataset(dataset.root)  # a user dataset is an ordinary dataset folder
    assert folder.problems == []
    assert folder.train.frame[
        ["filename", "xmin", "ymin", "xmax", "ymax", "class"]
    ].values.tolist() == [
        [first, 4.0, 5.0, 40.0, 30.0, "mask"],
        [second, 0.0, 0.0, 64.0, 48.0, "no-mask"],
    ]
    assert dataset.counts() == {"mask": 1, "no-mask": 1}
    assert dataset.still_needed() == {
        "mask": RECOMMENDED_PER_CLASS - 1,
        "no-mask": RECOMMENDED_PER_CLASS - 1,
    }
    dataset.fix(first, (1, 2, 30, 20), "no-mask")
    assert dataset.rows().loc[0, ["xmin", "ymax", "class"]].tolist() == ["1.0", "20.0", "no-mask"]
    dataset.delete(second)
    assert dataset.rows()["filename"].tolist() == [first]
    assert not (dataset.images / second).exists()


def test_bad_input_changes_nothing(root):
    dataset = create_dataset("mine")
    kept = dataset.add(_png(), (4, 5, 40, 30), "mask")
    before = dataset.csv.read_bytes()
    with pytest.raises(ValueError, match="box reaches outside the 64x48 image"):
        dataset.add(_png(), (4, 5, 400, 30), "mask")
    with pytest.raises(ValueError, match="xmin 40 must be below xmax 4"):
        dataset.fix(kept, (40, 5, 4, 30), "mask")
    with pytest.raises(ValueError, match="empty class name"):
        dataset.add(_png(), (4, 5, 40, 30), " ")
    with pytest.raises(ImageError):
        dataset.add(b"not an image", (4, 5, 40, 30), "mask")
    with pytest.raises(ValueError, match="no picture named"):
        dataset.delete("other.jpg")
    assert dataset.csv.read_bytes() == before
    assert [p.name for p in dataset.images.iterdir()] == [kept]  # no stray image either


def test_the_zip_holds_the_dataset_in_the_competition_layout(root, tmp_path):
    dataset = create_dataset("mine")
    name = dataset.add(_png(), (4, 5, 40, 30), "mask")
    with zipfile.ZipFile(io.BytesIO(dataset.zip_bytes())) as archive:
        assert sorted(archive.namelist()) == ["mine/images/" + name, "mine/train.csv"]
        archive.extractall(tmp_path / "unzipped")
    assert len(load_dataset(tmp_path / "unzipped" / "mine").train.frame) == 1
