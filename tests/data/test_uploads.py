"""Uploaded dataset zips: used when sound, refused (with nothing written) when not."""

from __future__ import annotations

import io
import zipfile

import pytest

from maskloc.data.folder import load_dataset
from maskloc.data.uploads import UploadError, unpack_dataset_zip


def _zip(entries: dict[str, bytes], symlink: str | None = None) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data in entries.items():
            archive.writestr(name, data)
        if symlink:
            info = zipfile.ZipInfo(symlink)
            info.external_attr = 0o120777 << 16
            archive.writestr(info, "/etc/passwd")
    return buffer.getvalue()


def _folder_entries(root, prefix: str = "") -> dict[str, bytes]:
    return {
        prefix + str(path.relative_to(root)): path.read_bytes()
        for path in root.rglob("*")
        if path.is_file()
    }


@pytest.mark.parametrize("prefix", ["", "my-data/"])
def test_a_sound_zip_becomes_a_dataset(tiny_dataset, tmp_path, prefix):
    root = unpack_dataset_zip(_zip(_folder_entries(tiny_dataset, prefix)), tmp_path / "uploads")
    folder = load_dataset(root)
    assert len(folder.train.frame) == 24 and folder.problems == []
    assert root.is_relative_to(tmp_path / "uploads")


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        (b"PK but not really a zip", "not a zip file"),
        (_zip({"../evil.txt": b"x", "train.csv": b""}), "outside"),
        (_zip({"/abs/evil.txt": b"x"}), "outside"),
        (_zip({"a/../../evil.txt": b"x"}), "outside"),
        (_zip({"train.csv": b""}, symlink="images/link"), "symbolic link"),
        (_zip({"readme.txt": b"hello"}), "no train.csv"),
    ],
)
def test_bad_zips_are_refused_and_leave_nothing(tmp_path, payload, message):
    target = tmp_path / "uploads"
    with pytest.raises(UploadError, match=message):
        unpack_dataset_zip(payload, target)
    assert not (tmp_path / "evil.txt").exists()
    assert not target.exists() or not any(target.iterdir())


def test_zip_bomb_refused_by_declared_size(tmp_path, monkeypatch):
    monkeypatch.setattr("maskloc.data.uploads.MAX_UNPACKED_BYTES", 1000)
    bomb = io.BytesIO()
    with zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("train.csv", b"0" * 100_000)  # compresses to a few hundred bytes
    with pytest.raises(UploadError, match="unpacks to more than"):
        unpack_dataset_zip(bomb.getvalue(), tmp_path / "uploads")
