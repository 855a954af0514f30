"""Build the default single-face dataset (`data/mask-faces`) from the raw Mask Wearing photos.

The raw photos hold many faces each, but the model localises exactly one object per image. So
every usable face becomes one square crop with some random context around it, placed so the
face is not always centred, and rejected when another annotated face intrudes too much (the
crop would then have two plausible answers). Photos, not crops, are split into train and test,
because crops of one photo share people, light and background.

Everything is seeded and iterated in sorted order, so a rebuild gives byte-identical files
(with the same Pillow/libjpeg); the datasheet `README.md` is generated from the build itself.
"""

from __future__ import annotations

import csv
import hashlib
import io
import math
import os
import re
import shlex
import shutil
import tempfile
from dataclasses import dataclass, field, fields
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps

from ...utils.progress import Progress
from ..boxes import clamp_pixel_boxes
from ..images import upright_dimensions
from ..layout import (
    IMAGES_DIR,
    LABELLED_WITH_SOURCE,
    NO_FACE_COLUMNS,
    NO_FACE_CSV,
    SUBMISSION_COLUMNS,
    TEST_CSV,
    TEST_LABELS_CSV,
    TRAIN_CSV,
    safe_image_path,
)
from ..layout import KNOWN_CLASSES as CLASSES
from .datasheet import datasheet_text
from .records import SPLITS, BuildReport, BuildSettings, Crop, NoFaceWindow
from .window_review import SHOWS_A_FACE

RAW_COLUMNS = ("filename", "width", "height", "xmin", "ymin", "xmax", "ymax", "class")
SAMPLE_SUBMISSION_CSV, DATASHEET = "sample_submission.csv", "README.md"
OWNED_FILES = (TRAIN_CSV, TEST_CSV, TEST_LABELS_CSV, SAMPLE_SUBMISSION_CSV, NO_FACE_CSV, DATASHEET)
OWNED_DIRS = (IMAGES_DIR,)

_UNSAFE = re.compile(r"[^A-Za-z0-9_-]+")


@dataclass(frozen=True)
class _Face:
    index: int
    line: int
    box: tuple[float, float, float, float]
    label: str

    @property
    def width(self) -> float:
        return self.box[2] - self.box[0]

    @property
    def height(self) -> float:
        return self.box[3] - self.box[1]


@dataclass
class _Photo:
    filename: str
    path: Path
    size: tuple[int, int]
    first_line: int
    faces: list[_Face] = field(default_factory=list)
    transpose: bool = True
    stem: str = ""


# ----------------------------------------------------------------------------- raw input


def _safe_raw_path(images_dir: Path, filename: str, where: str) -> Path:
    """Resolve a boxes.csv filename directly inside images/ (raw photos sit in no sub-folder),
    refusing anything that could escape it."""
    try:
        path = safe_image_path(images_dir, filename)
    except ValueError as error:
        raise ValueError(f"{where}: filename {error}") from error
    if path.parent != images_dir.resolve():
        raise ValueError(f"{where}: filename {filename!r} must be a plain name inside images/")
    if not path.is_file():
        raise ValueError(f"{where}: image {filename!r} not found in {images_dir}")
    return path


def _number(value: str | None, column: str, where: str) -> float:
    try:
        number = float(value) if value is not None else math.nan
    except ValueError:
        number = math.nan
    if not math.isfinite(number):
        raise ValueError(f"{where}: column {column!r} is not a number: {value!r}")
    return number


def _read_raw(raw_dir: Path) -> tuple[list[_Photo], int, list[int]]:
    """Parse and validate boxes.csv and image headers before anything is written.

    Returns the photos (sorted by filename), the annotated face count and the boxes.csv line
    numbers of zero-area boxes (annotation slips: dropped, reported, never a crop or obstacle).
    """
    csv_path = raw_dir / "boxes.csv"
    images_dir = raw_dir / "images"
    if not csv_path.is_file():
        raise ValueError(f"{csv_path}: not found")
    if not images_dir.is_dir():
        raise ValueError(f"{images_dir}: not a directory")
    photos: dict[str, _Photo] = {}
    degenerate: list[int] = []
    n_faces = 0
    with csv_path.open(newline="", encoding="utf-8-sig") as handle:
        reader = csv.DictReader(handle)
        header = [name.strip() for name in reader.fieldnames or []]
        missing = [c for c in RAW_COLUMNS if c not in header]
        if missing:
            raise ValueError(f"{csv_path}: missing columns {', '.join(missing)} (found {header})")
        reader.fieldnames = header
        for row in reader:
            line = reader.line_num
            where = f"{csv_path} line {line}"
            filename = (row.get("filename") or "").strip()
            photo = photos.get(filename)
            if photo is None:
                path = _safe_raw_path(images_dir, filename, where)
                size = (
                    _number(row.get("width"), "width", where),
                    _number(row.get("height"), "height", where),
                )
                if size[0] != int(size[0]) or size[1] != int(size[1]) or min(size) < 1:
                    raise ValueError(f"{where}: width/height must be positive integers: {size}")
                photo = _Photo(filename, path, (int(size[0]), int(size[1])), line)
                photos[filename] = photo
            else:
                size = (
                    _number(row.get("width"), "width", where),
                    _number(row.get("height"), "height", where),
                )
                if size != photo.size:
                    raise ValueError(
                        f"{where}: width/height {size} differ from line {photo.first_line} "
                        f"{photo.size} for {filename!r}"
                    )
            x0, y0, x1, y1 = (
                _number(row.get(c), c, where) for c in ("xmin", "ymin", "xmax", "ymax")
            )
            box = (x0, y0, x1, y1)
            width, height = photo.size
            if not (0 <= x0 <= x1 <= width and 0 <= y0 <= y1 <= height):
                raise ValueError(
                    f"{where}: box {box} is inverted or outside the {width}x{height} image"
                )
            label = (row.get("class") or "").strip()
            if label not in CLASSES:
                raise ValueError(f"{where}: class {label!r} is not one of {CLASSES}")
            n_faces += 1
            # index = position among this photo's rows; it names the crop, so it stays stable.
            photo.faces.append(_Face(index=len(photo.faces), line=line, box=box, label=label))
            if x0 == x1 or y0 == y1:
                degenerate.append(line)
    for photo in photos.values():
        _check_image(photo)
    _assign_stems(list(photos.values()))
    return [photos[name] for name in sorted(photos)], n_faces, degenerate


def _check_image(photo: _Photo) -> None:
    """Open the header and decide whether boxes refer to the EXIF-upright or the stored image."""
    where = f"{photo.path} (boxes.csv line {photo.first_line})"
    try:
        with Image.open(photo.path) as image:
            stored, upright = image.size, upright_dimensions(image)
    except (OSError, Image.DecompressionBombError) as error:
        raise ValueError(f"{where}: cannot open image: {error}") from error
    if photo.size == upright:
        photo.transpose = True
    elif photo.size == stored:
        photo.transpose = False
    else:
        raise ValueError(
            f"{where}: boxes.csv says {photo.size[0]}x{photo.size[1]} but the image is "
            f"{upright[0]}x{upright[1]} upright"
        )


def _assign_stems(photos: list[_Photo]) -> None:
    """Safe output stems: [A-Za-z0-9_-] only, never starting with '-', unique per photo."""
    for photo in photos:
        stem = _UNSAFE.sub("_", Path(photo.filename).stem).lstrip("-_") or "photo"
        photo.stem = stem
    counts: dict[str, int] = {}
    for photo in photos:
        counts[photo.stem] = counts.get(photo.stem, 0) + 1
    for photo in photos:
        if counts[photo.stem] > 1:
            digest = hashlib.sha256(photo.filename.encode()).hexdigest()[:8]
            photo.stem = f"{photo.stem}_{digest}"


# ----------------------------------------------------------------------------- cropping


def _photo_rng(seed: int, filename: str, stream: int = 1) -> np.random.Generator:
    """One stream per photo, keyed by its name, so adding a photo leaves the others unchanged.

    Face crops use stream 1 and no-face windows stream 2, so adding or changing no-face windows
    leaves every face crop byte-identical.
    """
    key = int.from_bytes(hashlib.sha256(filename.encode()).digest()[:4], "big")
    return np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(stream, key)))


def _pixel_extent(face: _Face) -> tuple[int, int, int, int]:
    """Whole pixels covering the (possibly fractional) face box."""
    x0, y0, x1, y1 = face.box
    return math.floor(x0), math.floor(y0), math.ceil(x1), math.ceil(y1)


def _longer_side(face: _Face) -> int:
    x0, y0, x1, y1 = _pixel_extent(face)
    return max(x1 - x0, y1 - y0)


def _other_overlap(
    window: tuple[int, int, int], face: _Face, others: list[_Face], limit: float
) -> bool:
    """True when some other face has more than `limit` of its area inside the window."""
    wx, wy, side = window
    for other in others:
        if other is face:
            continue
        ox0, oy0, ox1, oy1 = other.box
        area = (ox1 - ox0) * (oy1 - oy0)
        if area <= 0:
            continue
        inter_w = max(0.0, min(ox1, wx + side) - max(ox0, wx))
        inter_h = max(0.0, min(oy1, wy + side) - max(oy0, wy))
        if inter_w * inter_h / area > limit:
            return True
    return False


def _place_window(
    face: _Face,
    photo_size: tuple[int, int],
    others: list[_Face],
    settings: BuildSettings,
    rng: np.random.Generator,
) -> tuple[int, int, int] | None:
    """A square window (x, y, side) in photo pixels holding the face, or None if too crowded.

    The side is a random multiple of the face's longer side (shrunk to the photo's shorter side
    if needed); the position is uniform over all placements that keep both the face and the
    window inside the photo, so the face lands anywhere in the crop, not only in the middle.
    """
    width, height = photo_size
    fx0, fy0, fx1, fy1 = _pixel_extent(face)
    longer = _longer_side(face)
    limit = min(width, height)
    for _ in range(settings.placement_tries):
        factor = rng.uniform(settings.context_min, settings.context_max)
        side = min(max(round(factor * longer), longer), limit)
        x_lo, x_hi = max(0, fx1 - side), min(fx0, width - side)
        y_lo, y_hi = max(0, fy1 - side), min(fy0, height - side)
        wx = int(rng.integers(x_lo, x_hi + 1))
        wy = int(rng.integers(y_lo, y_hi + 1))
        window = (wx, wy, side)
        if not _other_overlap(window, face, others, settings.max_other_overlap):
            return window
    return None


def _output_box(face: _Face, window: tuple[int, int, int], size: int) -> tuple[int, int, int, int]:
    """Face box in output pixels: rounded, clamped to [0, size], never empty."""
    wx, wy, side = window
    scale = size / side
    x0, y0, x1, y1 = (
        round((face.box[0] - wx) * scale),
        round((face.box[1] - wy) * scale),
        round((face.box[2] - wx) * scale),
        round((face.box[3] - wy) * scale),
    )
    return tuple(clamp_pixel_boxes((x0, y0, x1, y1), size, size).tolist())


def _jpeg_bytes(image: Image.Image, quality: int) -> bytes:
    """Deterministic JPEG: fixed quality and subsampling, no EXIF/ICC/comment, not optimised."""
    buffer = io.BytesIO()
    image.save(
        buffer,
        "JPEG",
        quality=quality,
        subsampling="4:2:0",
        optimize=False,
        progressive=False,
    )
    return buffer.getvalue()


@dataclass
class _Tally:
    skipped_small: int = 0
    skipped_too_large: int = 0
    skipped_cap: int = 0
    rejected_crowded: int = 0
    most_usable: int = 0
    no_face_missing: int = 0
    no_face_reviewed: int = 0


def _crop_photo(
    photo: _Photo, settings: BuildSettings, images_out: Path, tally: _Tally
) -> tuple[list[Crop], list[NoFaceWindow]]:
    """Cut, resize and write every usable face of one photo, then its no-face windows (only for
    a photo that gave a face crop, so every window's photo has a split); both in name order."""
    rng = _photo_rng(settings.seed, photo.filename)
    annotated = [f for f in photo.faces if f.width > 0 and f.height > 0]
    candidates = []
    for face in annotated:
        if min(face.width, face.height) < settings.min_face:
            tally.skipped_small += 1
        elif _longer_side(face) > min(photo.size):
            tally.skipped_too_large += 1
        else:
            candidates.append(face)
    tally.most_usable = max(tally.most_usable, len(candidates))
    # Minority class first, random order within a class: the cap then drops mask faces first.
    order = rng.permutation(len(candidates))
    candidates = [candidates[i] for i in order]
    candidates.sort(key=lambda f: f.label != "no-mask")
    if not candidates:
        return [], []
    with Image.open(photo.path) as opened:
        image = ImageOps.exif_transpose(opened) if photo.transpose else opened.copy()
        image = image.convert("RGB")
    crops: list[Crop] = []
    cap = settings.max_per_photo
    for face in candidates:
        if cap is not None and len(crops) >= cap:
            tally.skipped_cap += 1
            continue
        window = _place_window(face, photo.size, annotated, settings, rng)
        if window is None:
            tally.rejected_crowded += 1
            continue
        wx, wy, side = window
        patch = image.crop((wx, wy, wx + side, wy + side))
        if side != settings.size:
            patch = patch.resize((settings.size, settings.size), Image.Resampling.LANCZOS)
        name = f"{photo.stem}_{face.index:03d}.jpg"
        (images_out / name).write_bytes(_jpeg_bytes(patch, settings.jpeg_quality))
        box = _output_box(face, window, settings.size)
        crops.append(Crop(name, photo.filename, face.label, box))
    windows = _cut_no_face(photo, image, settings, images_out, tally) if crops else []
    return sorted(crops, key=lambda c: c.filename), windows


def _touches_faces(window: tuple[int, int, int], faces: list[_Face], margin: float) -> bool:
    """True when the window overlaps any face box grown by `margin` of its size on each side."""
    wx, wy, side = window
    for face in faces:
        grow_x, grow_y = margin * face.width, margin * face.height
        x0, y0 = face.box[0] - grow_x, face.box[1] - grow_y
        x1, y1 = face.box[2] + grow_x, face.box[3] + grow_y
        if min(x1, wx + side) > max(x0, wx) and min(y1, wy + side) > max(y0, wy):
            return True
    return False


def _cut_no_face(
    photo: _Photo, image: Image.Image, settings: BuildSettings, images_out: Path, tally: _Tally
) -> list[NoFaceWindow]:
    """Square windows that touch no annotated face (of any size), at the face crops' sizes.

    A window's side is drawn like a face crop's (uniform(context_min, context_max) x a random
    usable face's longer side), so negatives look like positives in scale and resampling; only
    the content differs. A window reviewed as showing an unannotated face is left out and not
    replaced, so every other window (and its name) stays as it was.
    """
    count = settings.no_face_per_photo
    annotated = [f for f in photo.faces if f.width > 0 and f.height > 0]
    limit = min(photo.size)
    usable = [f for f in annotated if settings.min_face <= min(f.width, f.height)]
    usable = [f for f in usable if _longer_side(f) <= limit]
    if not count or not usable:
        return []
    rng = _photo_rng(settings.seed, photo.filename, stream=2)
    width, height = photo.size
    windows: list[NoFaceWindow] = []
    cut = 0
    for _ in range(count * settings.placement_tries * 5):
        if cut == count:
            break
        face = usable[int(rng.integers(len(usable)))]
        factor = rng.uniform(settings.context_min, settings.context_max)
        side = min(max(round(factor * _longer_side(face)), 1), limit)
        wx = int(rng.integers(0, width - side + 1))
        wy = int(rng.integers(0, height - side + 1))
        if _touches_faces((wx, wy, side), annotated, settings.no_face_margin):
            continue
        cut += 1
        if (photo.filename, wx, wy, side) in SHOWS_A_FACE:
            tally.no_face_reviewed += 1
            continue
        patch = image.crop((wx, wy, wx + side, wy + side))
        if side != settings.size:
            patch = patch.resize((settings.size, settings.size), Image.Resampling.LANCZOS)
        name = f"{photo.stem}_noface{cut - 1}.jpg"
        (images_out / name).write_bytes(_jpeg_bytes(patch, settings.jpeg_quality))
        windows.append(NoFaceWindow(name, photo.filename, wx, wy, side))
    tally.no_face_missing += count - cut
    return windows


# ----------------------------------------------------------------------------- split


def _split_photos(crops_by_photo: dict[str, list[Crop]], settings: BuildSettings) -> dict[str, str]:
    """Photo -> split; photos stratified by whether they give any no-mask crop."""
    rng = np.random.default_rng(np.random.SeedSequence(settings.seed, spawn_key=(0,)))
    strata: dict[bool, list[str]] = {False: [], True: []}
    for name in sorted(crops_by_photo):
        if crops_by_photo[name]:
            strata[any(c.label == "no-mask" for c in crops_by_photo[name])].append(name)
    assignment: dict[str, str] = {}
    for key in (True, False):
        names = strata[key]
        n_test = round(settings.test_fraction * len(names))
        if settings.test_fraction > 0 and len(names) >= 2:
            n_test = min(max(n_test, 1), len(names) - 1)
        shuffled = [names[i] for i in rng.permutation(len(names))]
        for position, name in enumerate(shuffled):
            assignment[name] = "test" if position < n_test else "train"
    return assignment


# ----------------------------------------------------------------------------- writing


def _write_csv(path: Path, columns: tuple[str, ...], rows: list[tuple]) -> None:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(columns)
        writer.writerows(rows)


def _box_row(crop: Crop) -> tuple:
    return (crop.filename, *crop.box, crop.label, crop.source)


def _baseline(train: list[Crop], size: int) -> tuple[str, tuple[int, int, int, int]]:
    """Trivial submission: majority class and the per-coordinate median train box."""
    if not train:
        quarter = size // 4
        return "mask", (quarter, quarter, size - quarter, size - quarter)
    labels = [c.label for c in train]
    majority = max(CLASSES, key=labels.count)
    boxes = np.array([c.box for c in train], dtype=float)
    x0, y0, x1, y1 = np.rint(np.median(boxes, axis=0)).astype(int).tolist()
    return majority, (x0, y0, max(x1, x0 + 1), max(y1, y0 + 1))


def _command(raw_dir: Path, out_dir: Path, settings: BuildSettings) -> str:
    """The CLI line that reproduces this build: non-default settings become --kebab-case flags."""
    parts = ["python", "-m", "maskloc", "build-dataset"]
    parts += ["--raw", raw_dir.as_posix(), "--out", out_dir.as_posix()]
    defaults = BuildSettings()
    for item in fields(BuildSettings):
        value = getattr(settings, item.name)
        if value != getattr(defaults, item.name):
            flag = "--" + item.name.replace("_", "-")
            parts += [flag, "none" if value is None else str(value)]
    return " ".join(shlex.quote(p) for p in parts)


def _clear_owned(out_dir: Path) -> None:
    for name in OWNED_DIRS:
        target = out_dir / name
        if target.is_dir() and not target.is_symlink():
            shutil.rmtree(target)
        elif target.exists() or target.is_symlink():
            target.unlink()
    for name in OWNED_FILES:
        target = out_dir / name
        if target.exists() or target.is_symlink():
            target.unlink()


def build_dataset(
    raw_dir: Path,
    out_dir: Path,
    settings: BuildSettings | None = None,
    progress: Progress | None = None,
    overwrite: bool = False,
) -> BuildReport:
    """Cut one square crop per usable face and write the competition layout into `out_dir`.

    The raw folder is validated first (ValueError naming the file and boxes.csv line); the
    output is built in a sibling staging folder and moved in only when complete, so a failed
    build leaves `out_dir` as it was. A non-empty `out_dir` is refused unless `overwrite`, which
    replaces only what the builder owns (`images/`, the CSVs and `README.md`).
    """
    settings = settings or BuildSettings()
    raw_dir, out_dir = Path(raw_dir), Path(out_dir)
    if out_dir.resolve() == raw_dir.resolve() or raw_dir.resolve() in out_dir.resolve().parents:
        raise ValueError(f"out_dir {out_dir} must not be the raw folder or inside it")
    if out_dir.exists() and not out_dir.is_dir():
        raise ValueError(f"out_dir {out_dir} exists and is not a directory")
    if out_dir.is_dir() and any(out_dir.iterdir()) and not overwrite:
        raise FileExistsError(f"{out_dir} is not empty; pass overwrite=True to rebuild it")
    photos, n_faces, degenerate = _read_raw(raw_dir)
    raw_digest = hashlib.sha256((raw_dir / "boxes.csv").read_bytes()).hexdigest()

    out_dir.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.build-", dir=out_dir.parent))
    try:
        images_out = staging / IMAGES_DIR
        images_out.mkdir()
        tally = _Tally()
        crops_by_photo: dict[str, list[Crop]] = {}
        windows_by_photo: dict[str, list[NoFaceWindow]] = {}
        for done, photo in enumerate(photos, start=1):
            crops_by_photo[photo.filename], windows_by_photo[photo.filename] = _crop_photo(
                photo, settings, images_out, tally
            )
            if progress is not None:
                progress(done, len(photos))
        assignment = _split_photos(crops_by_photo, settings)
        crops: dict[str, list[Crop]] = {split: [] for split in SPLITS}
        photo_counts = {split: 0 for split in SPLITS}
        for name in sorted(assignment):
            crops[assignment[name]].extend(crops_by_photo[name])
            photo_counts[assignment[name]] += 1
        photo_counts["unused"] = len(photos) - len(assignment)
        for split in SPLITS:
            crops[split].sort(key=lambda c: c.filename)
        no_face_rows = sorted(
            (window.filename, assignment[name], window.source)
            for name, windows in windows_by_photo.items()
            for window in windows
        )

        report = BuildReport(
            out_dir=out_dir,
            crops={sp: {c: sum(x.label == c for x in crops[sp]) for c in CLASSES} for sp in SPLITS},
            photos=photo_counts,
            faces_total=n_faces,
            skipped_small=tally.skipped_small,
            skipped_degenerate=len(degenerate),
            skipped_too_large=tally.skipped_too_large,
            skipped_cap=tally.skipped_cap,
            rejected_crowded=tally.rejected_crowded,
            bytes_images=sum(p.stat().st_size for p in images_out.iterdir()),
            most_usable_per_photo=tally.most_usable,
            degenerate_lines=degenerate,
            no_face={sp: sum(row[1] == sp for row in no_face_rows) for sp in SPLITS},
            no_face_missing=tally.no_face_missing,
            no_face_reviewed=tally.no_face_reviewed,
        )
        baseline = _baseline(crops["train"], settings.size)
        _write_csv(staging / TRAIN_CSV, LABELLED_WITH_SOURCE, [_box_row(c) for c in crops["train"]])
        _write_csv(staging / TEST_CSV, ("filename",), [(c.filename,) for c in crops["test"]])
        _write_csv(
            staging / TEST_LABELS_CSV,
            LABELLED_WITH_SOURCE,
            [_box_row(c) for c in crops["test"]],
        )
        _write_csv(
            staging / SAMPLE_SUBMISSION_CSV,
            SUBMISSION_COLUMNS,
            [(c.filename, baseline[0], *baseline[1]) for c in crops["test"]],
        )
        readme = datasheet_text(
            report,
            settings,
            _command(raw_dir, out_dir, settings),
            crops,
            raw_digest,
            baseline,
        )
        _write_csv(staging / NO_FACE_CSV, NO_FACE_COLUMNS, no_face_rows)
        (staging / DATASHEET).write_text(readme, encoding="utf-8")

        out_dir.mkdir(exist_ok=True)
        _clear_owned(out_dir)
        for name in (*OWNED_DIRS, *OWNED_FILES):
            os.replace(staging / name, out_dir / name)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return report
