"""Tests for maskloc.data.build: a synthetic raw set built in tmp_path, and the committed data.

Synthetic faces are solid, distinctly coloured rectangles on a smooth gradient, so a crop can be
checked pixel-wise: the labelled box must cover that face's colour and nothing else.
"""

from __future__ import annotations

import csv
import hashlib
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import PIL
import pytest
from PIL import Image

from maskloc.data.build import builder as dataset_build
from maskloc.data.build.builder import _Face, _place_window, build_dataset
from maskloc.data.build.records import BuildReport, BuildSettings
from maskloc.data.build.window_review import SHOWS_A_FACE

SIZE = 64
SETTINGS = BuildSettings(size=SIZE, test_fraction=0.3, seed=3)
RAW_HEADER = "filename,width,height,xmin,ymin,xmax,ymax,class"
REPO = Path(__file__).resolve().parents[2]
COMMITTED = REPO / "data" / "mask-faces"
SAFE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]*_\d{3}\.jpg$")


@dataclass(frozen=True)
class FakeFace:
    box: tuple[int, int, int, int]
    label: str
    colour: tuple[int, int, int]


# Photo name -> (width, height, faces). Colours are far apart from each other and the background.
PHOTOS: dict[str, tuple[int, int, list[FakeFace]]] = {
    "-lead.jpg": (
        400,
        300,
        [
            FakeFace((20, 20, 90, 100), "mask", (220, 30, 30)),
            FakeFace((250, 40, 320, 110), "no-mask", (30, 200, 40)),
            FakeFace((150, 220, 170, 240), "mask", (30, 40, 220)),  # tiny: skipped
        ],
    ),
    "crowd.jpg": (
        400,
        300,
        [
            FakeFace((50, 50, 130, 140), "mask", (230, 220, 30)),  # D and E overlap heavily:
            FakeFace((70, 60, 150, 150), "mask", (200, 30, 200)),  # both must be rejected
            FakeFace((250, 150, 320, 230), "no-mask", (30, 210, 210)),
        ],
    ),
    "plain one.jpg": (300, 260, [FakeFace((100, 80, 170, 160), "mask", (240, 140, 20))]),
    "plain_one.jpg": (300, 260, [FakeFace((30, 30, 90, 110), "mask", (140, 20, 240))]),
    "nomask2.jpg": (
        360,
        240,
        [
            FakeFace((40, 60, 110, 130), "no-mask", (20, 120, 60)),
            FakeFace((230, 70, 300, 150), "mask", (250, 250, 250)),
        ],
    ),
    "nomask3.jpg": (320, 240, [FakeFace((200, 100, 270, 170), "no-mask", (120, 60, 20))]),
    "mask4.jpg": (320, 240, [FakeFace((10, 120, 70, 200), "mask", (255, 120, 180))]),
}
ROTATED = "rotated.jpg"  # stored sideways with EXIF orientation 6; boxes refer to upright pixels
ROTATED_SPEC = (400, 300, [FakeFace((280, 60, 350, 140), "mask", (0, 160, 255))])


def _gradient(width: int, height: int) -> np.ndarray:
    x = np.linspace(90, 140, width)[None, :]
    y = np.linspace(0, 30, height)[:, None]
    grey = (x + y).astype(np.uint8)
    return np.repeat(grey[:, :, None], 3, axis=2)


def _draw(width: int, height: int, faces: list[FakeFace]) -> Image.Image:
    pixels = _gradient(width, height)
    for face in faces:
        x0, y0, x1, y1 = face.box
        pixels[y0:y1, x0:x1] = face.colour
    return Image.fromarray(pixels)


def _write_raw(root: Path, extra_rows: list[str] | None = None) -> Path:
    images = root / "images"
    images.mkdir(parents=True)
    rows = [RAW_HEADER]
    for name, (width, height, faces) in PHOTOS.items():
        _draw(width, height, faces).save(images / name, quality=95)
        rows += [f"{name},{width},{height},{','.join(map(str, f.box))},{f.label}" for f in faces]
    width, height, faces = ROTATED_SPEC
    upright = _draw(width, height, faces)
    exif = Image.Exif()
    exif[0x0112] = 6  # display = stored rotated 90 degrees clockwise
    upright.transpose(Image.Transpose.ROTATE_90).save(images / ROTATED, quality=95, exif=exif)
    rows += [f"{ROTATED},{width},{height},{','.join(map(str, f.box))},{f.label}" for f in faces]
    rows += extra_rows or []
    (root / "boxes.csv").write_text("\n".join(rows) + "\n")
    return root


def _faces_of(source: str) -> list[FakeFace]:
    return ROTATED_SPEC[2] if source == ROTATED else PHOTOS[source][2]


def _read(path: Path) -> tuple[list[str], list[dict[str, str]]]:
    with path.open(newline="") as handle:
        reader = csv.DictReader(handle)
        return list(reader.fieldnames or []), list(reader)


def _hashes(folder: Path) -> dict[str, str]:
    return {
        p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


@pytest.fixture(scope="module")
def raw(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _write_raw(tmp_path_factory.mktemp("raw"))


@pytest.fixture(scope="module")
def built(raw: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, BuildReport]:
    out = tmp_path_factory.mktemp("built") / "faces"
    calls: list[tuple[int, int]] = []
    report = build_dataset(raw, out, SETTINGS, progress=lambda d, t: calls.append((d, t)))
    assert calls[-1] == (8, 8) and len(calls) == 8
    return out, report


def _read_split(out: Path, split: str) -> list[dict[str, str]]:
    return _read(out / ("train.csv" if split == "train" else "test_labels.csv"))[1]


def _labelled_rows(out: Path) -> list[dict[str, str]]:
    return _read(out / "train.csv")[1] + _read(out / "test_labels.csv")[1]


# ----------------------------------------------------------------------------- synthetic build


def test_rebuild_is_byte_identical(raw: Path, built: tuple[Path, BuildReport], tmp_path: Path):
    out, _ = built
    first = _hashes(out)
    other = tmp_path / "faces"
    build_dataset(raw, other, SETTINGS)
    second = _hashes(other)
    assert first.keys() == second.keys()
    # README names the output folder in its build command; everything else must match exactly.
    assert {k: v for k, v in first.items() if k != "README.md"} == {
        k: v for k, v in second.items() if k != "README.md"
    }
    build_dataset(raw, out, SETTINGS, overwrite=True)
    assert _hashes(out) == first


def test_seed_changes_the_crops(raw: Path, built: tuple[Path, BuildReport], tmp_path: Path):
    out, _ = built
    other = tmp_path / "faces"
    build_dataset(raw, other, BuildSettings(size=SIZE, test_fraction=0.3, seed=4))
    assert _read(out / "train.csv") != _read(other / "train.csv")


def test_counts_skip_tiny_and_reject_crowded(built: tuple[Path, BuildReport]):
    out, report = built
    assert report.skipped_small == 1
    assert report.rejected_crowded == 2
    assert report.skipped_degenerate == 0 and report.skipped_cap == 0
    assert report.faces_total == 13
    assert report.n_crops == 13 - 1 - 2
    rows = _labelled_rows(out)
    assert len(rows) == report.n_crops
    assert len({r["filename"] for r in rows}) == len(rows)
    for split, csv_name in (("train", "train.csv"), ("test", "test_labels.csv")):
        labels = [r["class"] for r in _read(out / csv_name)[1]]
        assert report.crops[split] == {c: labels.count(c) for c in ("mask", "no-mask")}
    taken = {(r["source"], int(r["filename"][-7:-4])) for r in rows}
    assert ("-lead.jpg", 2) not in taken  # the 20 px face
    assert ("crowd.jpg", 0) not in taken and ("crowd.jpg", 1) not in taken
    assert ("crowd.jpg", 2) in taken
    no_face = [r["filename"] for r in _read(out / "no_face.csv")[1]]
    assert sorted(p.name for p in (out / "images").iterdir()) == sorted(
        [r["filename"] for r in rows] + no_face
    )
    assert "rejected 2 crowded" in report.summary()


def test_no_face_windows_hold_no_face(built: tuple[Path, BuildReport]):
    """Every window shows only the grey gradient: no face colour, not even a grown face's edge."""
    out, report = built
    header, windows = _read(out / "no_face.csv")
    assert header == ["filename", "split", "source"]
    split_of = {r["source"]: split for split in ("train", "test") for r in _read_split(out, split)}
    assert windows and len(windows) == sum(report.no_face.values())
    assert report.no_face_missing == 3 * len(split_of) - len(windows)
    for row in windows:
        assert row["split"] == split_of[row["source"]], row  # the window follows its photo
        with Image.open(out / "images" / row["filename"]) as image:
            pixels = np.asarray(image.convert("RGB")).astype(int)
        assert pixels.shape == (SIZE, SIZE, 3)
        spread = pixels.max(axis=2) - pixels.min(axis=2)
        assert spread.max() < 30 and pixels.max() < 185, row["filename"]
    assert {r["split"] for r in windows} == {"train", "test"}


def test_no_face_windows_leave_the_face_crops_unchanged(
    raw: Path, built: tuple[Path, BuildReport], tmp_path: Path
):
    out, _ = built
    other = tmp_path / "faces"
    report = build_dataset(
        raw, other, BuildSettings(size=SIZE, test_fraction=0.3, seed=3, no_face_per_photo=0)
    )
    assert sum(report.no_face.values()) == 0 and _read(other / "no_face.csv")[1] == []
    faces = {k: v for k, v in _hashes(out).items() if "noface" not in k}
    for name in ("README.md", "no_face.csv"):
        faces.pop(name)
    assert {k: v for k, v in _hashes(other).items() if k in faces} == faces


def test_reviewed_window_is_left_out_and_the_rest_kept(
    raw: Path, built: tuple[Path, BuildReport], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    """A window reviewed as showing a face is not written; every other file keeps its name and
    bytes (the window is not replaced, so no later draw moves)."""
    out, before = built
    cut = []
    original = dataset_build._cut_no_face

    def recording(*args, **kwargs):
        windows = original(*args, **kwargs)
        cut.extend(windows)
        return windows

    monkeypatch.setattr(dataset_build, "_cut_no_face", recording)
    build_dataset(raw, tmp_path / "again", SETTINGS)
    dropped = cut[len(cut) // 2]
    key = (dropped.source, dropped.x, dropped.y, dropped.side)
    monkeypatch.setattr(dataset_build, "SHOWS_A_FACE", {key: "a face nobody annotated"})
    other = tmp_path / "reviewed"
    report = build_dataset(raw, other, SETTINGS)

    assert report.no_face_reviewed == 1 and before.no_face_reviewed == 0
    assert sum(report.no_face.values()) == sum(before.no_face.values()) - 1
    assert report.no_face_missing == before.no_face_missing
    kept = {k: v for k, v in _hashes(out).items() if k != f"images/{dropped.filename}"}
    for name in ("README.md", "no_face.csv"):
        kept.pop(name)
    assert {k: v for k, v in _hashes(other).items() if k in kept} == kept
    assert f"images/{dropped.filename}" not in _hashes(other)
    listed = [r["filename"] for r in _read(other / "no_face.csv")[1]]
    assert dropped.filename not in listed and len(listed) == sum(report.no_face.values())
    assert "1 left out after review" in (other / "README.md").read_text()
    assert "1 left out: they show a face" in report.summary()


def test_each_crop_holds_exactly_its_face(built: tuple[Path, BuildReport]):
    out, _ = built
    for row in _labelled_rows(out):
        face = _faces_of(row["source"])[int(row["filename"][-7:-4])]
        assert row["class"] == face.label
        x0, y0, x1, y1 = (int(row[c]) for c in ("xmin", "ymin", "xmax", "ymax"))
        assert 0 <= x0 < x1 <= SIZE and 0 <= y0 < y1 <= SIZE
        with Image.open(out / "images" / row["filename"]) as image:
            assert image.format == "JPEG" and image.mode == "RGB"
            assert image.size == (SIZE, SIZE)
            assert len(image.getexif()) == 0 and "icc_profile" not in image.info
            pixels = np.asarray(image, dtype=float)
        # Inside the box (margin for resampling/JPEG blur): the face's own colour.
        inner = pixels[y0 + 2 : y1 - 2, x0 + 2 : x1 - 2].reshape(-1, 3).mean(axis=0)
        assert np.abs(inner - face.colour).max() < 25, row
        # Just outside each side of the box, where the crop extends: not the face any more.
        # The face fills at most 1/context_min of the crop, so on each axis one side has room.
        sides = [
            (slice(y0 + 3, y1 - 3), x0 - 3),
            (slice(y0 + 3, y1 - 3), x1 + 2),
            (y0 - 3, slice(x0 + 3, x1 - 3)),
            (y1 + 2, slice(x0 + 3, x1 - 3)),
        ]
        inside = [(ys, xs) for ys, xs in sides if 0 <= (xs if isinstance(ys, slice) else ys) < SIZE]
        assert len(inside) >= 2, row
        for ys, xs in inside:
            outside = pixels[ys, xs].reshape(-1, 3).mean(axis=0)
            assert np.abs(outside - face.colour).max() > 40, row
        # The box keeps the face's aspect ratio (same scale on both axes).
        fw, fh = face.box[2] - face.box[0], face.box[3] - face.box[1]
        assert (x1 - x0) / (y1 - y0) == pytest.approx(fw / fh, rel=0.1)


def test_faces_are_not_always_centred(built: tuple[Path, BuildReport]):
    out, _ = built
    centres = [
        ((int(r["xmin"]) + int(r["xmax"])) / 2, (int(r["ymin"]) + int(r["ymax"])) / 2)
        for r in _labelled_rows(out)
    ]
    offsets = [max(abs(cx - SIZE / 2), abs(cy - SIZE / 2)) for cx, cy in centres]
    assert max(offsets) > SIZE * 0.08


def test_split_is_grouped_by_photo_and_files_match(built: tuple[Path, BuildReport]):
    out, report = built
    train_header, train = _read(out / "train.csv")
    test_header, test = _read(out / "test.csv")
    labels_header, labels = _read(out / "test_labels.csv")
    sub_header, submission = _read(out / "sample_submission.csv")
    assert train_header == ["filename", "xmin", "ymin", "xmax", "ymax", "class", "source"]
    assert test_header == ["filename"]
    assert labels_header == ["filename", "xmin", "ymin", "xmax", "ymax", "class", "source"]
    assert sub_header == ["filename", "class", "xmin", "ymin", "xmax", "ymax"]
    train_sources = {r["source"] for r in train}
    test_sources = {r["source"] for r in labels}
    assert train_sources and test_sources
    assert not train_sources & test_sources
    assert report.photos["train"] == len(train_sources)
    assert report.photos["test"] == len(test_sources)
    # 8 photos in two strata of 4 (with / without a no-mask crop): round(0.3 * 4) = 1 each.
    assert report.photos == {"train": 6, "test": 2, "unused": 0}
    with_no_mask = {r["source"] for r in labels if r["class"] == "no-mask"}
    assert len(with_no_mask) == 1 and len(test_sources - with_no_mask) == 1
    names = [r["filename"] for r in test]
    assert names == [r["filename"] for r in labels] == [r["filename"] for r in submission]
    assert names == sorted(names)
    for row in submission:
        assert row["class"] in ("mask", "no-mask")
        assert 0 <= int(row["xmin"]) < int(row["xmax"]) <= SIZE
        assert 0 <= int(row["ymin"]) < int(row["ymax"]) <= SIZE


def test_output_names_are_safe_and_unique(built: tuple[Path, BuildReport]):
    out, _ = built
    rows = _labelled_rows(out)
    for row in rows:
        assert SAFE_NAME.match(row["filename"]), row["filename"]
    lead = [r["filename"] for r in rows if r["source"] == "-lead.jpg"]
    assert lead and all(name.startswith("lead_") for name in lead)
    # "plain one.jpg" and "plain_one.jpg" sanitise to the same stem: both survive, distinctly.
    stems = {r["source"]: r["filename"][:-8] for r in rows if r["source"].startswith("plain")}
    assert len(stems) == 2 and len(set(stems.values())) == 2


def test_readme_matches_the_build(built: tuple[Path, BuildReport]):
    out, report = built
    text = (out / "README.md").read_text(encoding="utf-8")
    assert "License: Public Domain" in text and "Cheng Hsun Teng" in text
    assert f"--out {out.as_posix()}" in text and "--size 64" in text and "--seed 3" in text
    total = report.crops["train"]["mask"] + report.crops["test"]["mask"]
    assert re.search(rf"\| total \| \d+ \| {total} \|", text)
    assert f"Pillow {PIL.__version__}" in text


def test_refuses_non_empty_out_and_overwrite_keeps_foreign_files(raw: Path, tmp_path: Path):
    out = tmp_path / "faces"
    out.mkdir()
    (out / "notes.txt").write_text("mine")
    with pytest.raises(FileExistsError):
        build_dataset(raw, out, SETTINGS)
    assert sorted(p.name for p in out.iterdir()) == ["notes.txt"]
    (out / "images").mkdir()
    (out / "images" / "stale.jpg").write_bytes(b"old")
    build_dataset(raw, out, SETTINGS, overwrite=True)
    assert (out / "notes.txt").read_text(encoding="utf-8") == "mine"
    assert not (out / "images" / "stale.jpg").exists()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".faces.build-")]


def test_refuses_to_write_into_the_raw_folder(raw: Path):
    with pytest.raises(ValueError, match="raw folder"):
        build_dataset(raw, raw, SETTINGS, overwrite=True)
    assert (raw / "images" / "crowd.jpg").is_file()


def test_zero_area_box_is_dropped_and_reported(tmp_path: Path):
    raw = _write_raw(tmp_path / "raw", ["mask4.jpg,320,240,150,50,150,90,mask"])
    report = build_dataset(raw, tmp_path / "out", SETTINGS)
    assert report.skipped_degenerate == 1
    assert report.degenerate_lines == [15]
    assert report.n_crops == 10


# ----------------------------------------------------------------------------- bad raw input


@pytest.mark.parametrize(
    ("row", "message"),
    [
        ("mask4.jpg,320,240,80,10,70,60,mask", "inverted or outside"),
        ("mask4.jpg,320,240,280,10,330,60,mask", "inverted or outside"),
        ("mask4.jpg,320,240,10,10,x,60,mask", "'xmax' is not a number"),
        ("mask4.jpg,320,240,10,10,70,60,hat", "class 'hat'"),
        ("mask4.jpg,300,240,10,10,70,60,mask", "differ from line"),
        ("missing.jpg,320,240,10,10,70,60,mask", "not found"),
        ("../boxes.csv,320,240,10,10,70,60,mask", "plain name"),
        ("/etc/hostname,320,240,10,10,70,60,mask", "plain name"),
        ("C:\\evil.jpg,320,240,10,10,70,60,mask", "plain name"),
    ],
)
def test_bad_rows_name_file_and_line(tmp_path: Path, row: str, message: str):
    raw = _write_raw(tmp_path / "raw", [row])
    out = tmp_path / "out"
    with pytest.raises(ValueError, match=message) as caught:
        build_dataset(raw, out, SETTINGS)
    assert "boxes.csv line 15" in str(caught.value)
    assert not out.exists()


def test_image_size_mismatch_is_rejected(tmp_path: Path):
    raw = _write_raw(tmp_path / "raw")
    text = (
        (raw / "boxes.csv")
        .read_text(encoding="utf-8")
        .replace("mask4.jpg,320,240", "mask4.jpg,321,240")
    )
    (raw / "boxes.csv").write_text(text)
    with pytest.raises(ValueError, match=r"mask4\.jpg.*boxes.csv line 13.*321x240"):
        build_dataset(raw, tmp_path / "out", SETTINGS)


def test_missing_column_is_named(tmp_path: Path):
    raw = _write_raw(tmp_path / "raw")
    lines = (raw / "boxes.csv").read_text(encoding="utf-8").splitlines()
    lines[0] = lines[0].replace(",class", ",label")
    (raw / "boxes.csv").write_text("\n".join(lines) + "\n")
    with pytest.raises(ValueError, match=r"boxes\.csv: missing columns class"):
        build_dataset(raw, tmp_path / "out", SETTINGS)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"context_min": 0.9},
        {"context_min": 2.5, "context_max": 2.0},
        {"test_fraction": 1.0},
        {"max_other_overlap": 1.5},
        {"max_per_photo": 0},
        {"jpeg_quality": 100},
    ],
)
def test_settings_are_validated(kwargs: dict):
    with pytest.raises(ValueError):
        BuildSettings(**kwargs)


# ----------------------------------------------------------------------------- window placement


@pytest.mark.parametrize(
    ("photo", "box", "centre_varies"),
    [
        ((400, 300), (150.0, 100.0, 210.0, 180.0), True),  # room on all sides
        ((400, 300), (0.0, 0.0, 60.0, 50.0), False),  # corner: the window sits in the corner
        ((500, 100), (200.0, 10.0, 260.0, 90.0), True),  # window shrinks to the short side
    ],
)
def test_window_holds_face_and_stays_inside(
    photo: tuple[int, int], box: tuple, centre_varies: bool
):
    face = _Face(index=0, line=2, box=box, label="mask")
    rng = np.random.default_rng(0)
    settings = BuildSettings()
    longer = max(box[2] - box[0], box[3] - box[1])
    offsets = []
    for _ in range(200):
        window = _place_window(face, photo, [face], settings, rng)
        assert window is not None
        wx, wy, side = window
        assert wx >= 0 and wy >= 0 and wx + side <= photo[0] and wy + side <= photo[1]
        assert wx <= box[0] and wy <= box[1] and box[2] <= wx + side and box[3] <= wy + side
        assert longer <= side <= min(max(2.0 * longer, longer), min(photo)) + 1
        offsets.append((box[0] + box[2]) / 2 - (wx + side / 2))
    # the face lands left and right of the window's centre, unless a corner pins the window
    assert (min(offsets) < -10 < 10 < max(offsets)) == centre_varies


def test_window_rejected_when_other_face_intrudes():
    face = _Face(index=0, line=2, box=(100.0, 100.0, 160.0, 160.0), label="mask")
    near = _Face(index=1, line=3, box=(150.0, 100.0, 210.0, 160.0), label="mask")
    far = _Face(index=2, line=4, box=(350.0, 250.0, 360.0, 260.0), label="mask")
    rng = np.random.default_rng(0)
    strict = BuildSettings(max_other_overlap=0.1)
    assert _place_window(face, (400, 300), [face, near], strict, rng) is None
    assert _place_window(face, (400, 300), [face, far], strict, rng) is not None
    lenient = BuildSettings(max_other_overlap=1.0)
    assert _place_window(face, (400, 300), [face, near], lenient, rng) is not None


# ----------------------------------------------------------------------------- committed data


def _committed_rows() -> tuple[list[dict[str, str]], list[dict[str, str]]]:
    if not (COMMITTED / "train.csv").is_file():
        pytest.fail(f"committed dataset missing at {COMMITTED}")
    return _read(COMMITTED / "train.csv")[1], _read(COMMITTED / "test_labels.csv")[1]


def test_committed_headers_are_exact():
    assert _read(COMMITTED / "train.csv")[0] == [
        "filename",
        "xmin",
        "ymin",
        "xmax",
        "ymax",
        "class",
        "source",
    ]
    assert _read(COMMITTED / "test.csv")[0] == ["filename"]
    assert _read(COMMITTED / "test_labels.csv")[0][:6] == [
        "filename",
        "xmin",
        "ymin",
        "xmax",
        "ymax",
        "class",
    ]
    assert _read(COMMITTED / "sample_submission.csv")[0] == [
        "filename",
        "class",
        "xmin",
        "ymin",
        "xmax",
        "ymax",
    ]


def test_committed_counts_and_size():
    train, test = _committed_rows()
    rows = train + test
    assert len(rows) >= 300
    assert sum(r["class"] == "no-mask" for r in rows) >= 50
    assert {r["class"] for r in rows} == {"mask", "no-mask"}
    assert len({r["filename"] for r in rows}) == len(rows)
    no_face = _read(COMMITTED / "no_face.csv")[1]
    assert len(no_face) >= 200
    files = sorted(p.name for p in (COMMITTED / "images").iterdir())
    assert files == sorted([r["filename"] for r in rows] + [r["filename"] for r in no_face])
    total = sum(p.stat().st_size for p in COMMITTED.rglob("*") if p.is_file())
    assert total < 18 * 1024 * 1024  # 475 face crops + 251 no-face windows


def test_committed_images_decode_and_boxes_inside():
    train, test = _committed_rows()
    size = BuildSettings().size
    for row in train + test:
        with Image.open(COMMITTED / "images" / row["filename"]) as image:
            image.load()
            assert image.size == (size, size) and image.mode == "RGB", row["filename"]
        x0, y0, x1, y1 = (int(row[c]) for c in ("xmin", "ymin", "xmax", "ymax"))
        assert 0 <= x0 < x1 <= size and 0 <= y0 < y1 <= size, row


def test_committed_split_is_grouped_and_consistent():
    train, test = _committed_rows()
    test_names = [r["filename"] for r in _read(COMMITTED / "test.csv")[1]]
    assert test_names == [r["filename"] for r in test]
    submission = [r["filename"] for r in _read(COMMITTED / "sample_submission.csv")[1]]
    assert submission == test_names
    train_sources = {r["source"] for r in train}
    test_sources = {r["source"] for r in test}
    assert train_sources and test_sources and not train_sources & test_sources
    assert all(r["source"] for r in train + test)
    assert {r["class"] for r in test} == {"mask", "no-mask"}
    for row in _read(COMMITTED / "no_face.csv")[1]:
        assert row["source"] in (train_sources if row["split"] == "train" else test_sources), row


def test_committed_readme_has_provenance_and_counts():
    text = (COMMITTED / "README.md").read_text(encoding="utf-8")
    assert "License: Public Domain" in text and "Cheng Hsun Teng" in text and "Roboflow" in text
    assert "python -m maskloc build-dataset --raw ../shared/datasets/mask-wearing" in text
    train, test = _committed_rows()
    assert f"| {len(train + test)} |" in text
    # Every reviewed window of the committed build was left out (and the build found them all).
    assert f"; {len(SHOWS_A_FACE)} left out after review" in text
