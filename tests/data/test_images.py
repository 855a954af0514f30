"""Decoding: every image mode a user may have becomes upright RGB, or a clear ImageError."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from maskloc.data.images import MAX_PIXELS, ImageError, read_rgb, upright_size


def _encoded(image: Image.Image, fmt: str, **kwargs) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, fmt, **kwargs)
    return buffer.getvalue()


def test_grayscale_becomes_three_equal_channels():
    gray = Image.fromarray(np.full((20, 30), 77, np.uint8), "L")
    rgb = read_rgb(_encoded(gray, "PNG"))
    assert rgb.shape == (20, 30, 3)
    assert (rgb == 77).all()


def test_sixteen_bit_png_is_scaled_not_clipped():
    array = np.full((16, 16), 65535 // 2, np.uint16)
    rgb = read_rgb(_encoded(Image.fromarray(array), "PNG"))
    assert 120 <= rgb[0, 0, 0] <= 135  # half of full scale, not 255 (clipped) or 0


def test_alpha_is_composited_on_white():
    rgba = np.zeros((10, 10, 4), np.uint8)  # fully transparent black
    rgb = read_rgb(_encoded(Image.fromarray(rgba, "RGBA"), "PNG"))
    assert (rgb == 255).all()


def test_cmyk_jpeg_decodes_to_rgb():
    cmyk = Image.new("CMYK", (12, 12), (0, 255, 255, 0))  # red in CMYK
    rgb = read_rgb(_encoded(cmyk, "JPEG"))
    assert rgb.shape == (12, 12, 3)
    assert rgb[..., 0].mean() > 200 and rgb[..., 1].mean() < 60


def test_exif_rotation_is_applied_to_pixels_and_size(tmp_path):
    array = np.zeros((20, 40, 3), np.uint8)
    array[:, :20] = 255  # left half white
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90 degrees clockwise for display
    path = tmp_path / "rotated.jpg"
    Image.fromarray(array).save(path, exif=exif, quality=95)
    assert upright_size(path) == (20, 40)
    rgb = read_rgb(path)
    assert rgb.shape == (40, 20, 3)
    assert rgb[:20].mean() > 200 and rgb[20:].mean() < 50  # the white half is now on top


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        (b"", "empty"),
        (b"this is text, not a jpeg", "not an image"),
        (_encoded(Image.new("RGB", (64, 64)), "JPEG")[:200], "decode"),
        (_encoded(Image.new("RGB", (4, 4)), "PNG"), "smaller than"),
    ],
)
def test_bad_bytes_are_refused_with_reason(payload, message):
    with pytest.raises(ImageError, match=message):
        read_rgb(payload)


def test_decompression_bomb_refused_before_decoding(tmp_path):
    side = int(MAX_PIXELS**0.5) + 100
    path = tmp_path / "bomb.png"
    Image.new("1", (side, side)).save(path)  # 1-bit: small file, huge image
    with pytest.raises(ImageError, match="exceeds"):
        read_rgb(path)
    with pytest.raises(ImageError, match="exceeds"):
        upright_size(path)


def test_missing_file_named(tmp_path):
    with pytest.raises(ImageError, match="not found"):
        read_rgb(tmp_path / "nope.jpg")


def test_array_input_checked():
    assert read_rgb(np.zeros((10, 10, 4), np.uint8)).shape == (10, 10, 3)
    with pytest.raises(ImageError, match="uint8"):
        read_rgb(np.zeros((10, 10, 3), np.float32))


def test_importing_maskloc_leaves_pils_global_pixel_limit_alone():
    """Our limit applies to our reads only (checked on the header); other code in the same
    process keeps PIL's own MAX_IMAGE_PIXELS."""
    import subprocess
    import sys

    from conftest import ROOT

    code = (
        "from PIL import Image; before = Image.MAX_IMAGE_PIXELS; "
        "import maskloc.data.images, maskloc.data.table, maskloc.inference.predictor; "
        "import maskloc.data.build.builder; "
        "print(before, Image.MAX_IMAGE_PIXELS)"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True
    )
    before, after = done.stdout.split()
    assert after == before != str(MAX_PIXELS)
