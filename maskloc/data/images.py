"""Decode any image a user may have into upright 8-bit RGB, or refuse it with a clear reason."""

from __future__ import annotations

import io
from pathlib import Path
from typing import BinaryIO

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from ..utils.messages import N_, ExplainedError, Text

# Far above any photo a classroom uploads, far below a decompression bomb (20000 x 20000).
# Checked by `_open` on the header, for our reads only: PIL's global MAX_IMAGE_PIXELS is left
# alone, so importing maskloc never changes how other code in the process opens images.
MAX_PIXELS = 50_000_000
MIN_SIDE = 8
ORIENTATION_TAG = 0x0112  # EXIF orientation; 5-8 are rotations by 90 degrees (sides swap)
_SWAPPING_ORIENTATIONS = (5, 6, 7, 8)

ImageSource = str | Path | bytes | BinaryIO | Image.Image | np.ndarray


UPLOADED = Text(N_("uploaded image"))  # the name of an image that came as bytes


class ImageError(ExplainedError, ValueError):
    """An image that cannot be used; the message says why (`file` names it)."""


def _open(
    source: str | Path | bytes | BinaryIO,
    *,
    decode: bool = True,
    draft: int | None = None,
) -> Image.Image:
    """Open (and by default decode) an image, turning every failure into one ImageError.

    `draft` lets libjpeg decode at a reduced scale when only a small image is wanted (much faster).
    """
    name = str(source) if isinstance(source, str | Path) else UPLOADED
    try:
        if isinstance(source, bytes):
            source = io.BytesIO(source)
        elif isinstance(source, str | Path) and Path(source).stat().st_size == 0:
            raise ImageError(N_("{file}: the file is empty"), file=name)
        if isinstance(source, io.BytesIO) and not source.getbuffer().nbytes:
            raise ImageError(N_("{file}: the file is empty"), file=name)
        image = Image.open(source)
        if image.width * image.height > MAX_PIXELS:
            raise ImageError(
                N_("{file}: {width}x{height} pixels exceeds the limit of {limit}"),
                file=name,
                width=image.width,
                height=image.height,
                limit=f"{MAX_PIXELS:,}",
            )
        if decode:
            if draft and image.format == "JPEG":
                image.draft("RGB", (draft, draft))
            image.load()
    except ImageError:
        raise
    except FileNotFoundError as error:
        raise ImageError(N_("{file}: file not found"), file=name) from error
    except Image.DecompressionBombError as error:
        raise ImageError(
            N_("{file}: too many pixels (limit {limit})"), file=name, limit=f"{MAX_PIXELS:,}"
        ) from error
    except UnidentifiedImageError as error:
        raise ImageError(N_("{file}: not an image file PIL can read"), file=name) from error
    except (OSError, SyntaxError, ValueError) as error:
        raise ImageError(N_("{file}: cannot decode ({detail})"), file=name, detail=error) from error
    return image


def to_rgb(image: Image.Image) -> Image.Image:
    """Upright RGB whatever the mode: EXIF rotation, 16-bit, alpha (on white), CMYK, palette."""
    image = ImageOps.exif_transpose(image)
    if image.mode in ("I;16", "I;16B", "I;16L", "I"):
        array = np.asarray(image, dtype=np.float64)
        top = 65535.0 if array.max() > 255 else 255.0
        image = Image.fromarray(np.clip(array / top * 255.0, 0, 255).astype(np.uint8), "L")
    elif image.mode == "F":
        array = np.asarray(image, dtype=np.float64)
        image = Image.fromarray(np.clip(array * 255.0, 0, 255).astype(np.uint8), "L")
    if image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and "transparency" in image.info):
        rgba = image.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        image = Image.alpha_composite(background, rgba)
    return image.convert("RGB")


def read_rgb(source: ImageSource, draft: int | None = None) -> np.ndarray:
    """HxWx3 uint8 RGB array; raises ImageError naming the file and the problem."""
    if isinstance(source, np.ndarray):
        array = source
        if array.ndim == 2:
            array = np.repeat(array[..., None], 3, axis=2)
        if array.ndim != 3 or array.shape[2] not in (3, 4):
            raise ImageError(
                N_("array image must be HxW, HxWx3 or HxWx4, got shape {shape}"),
                shape=array.shape,
            )
        if array.dtype != np.uint8:
            raise ImageError(N_("array image must be uint8, got {dtype}"), dtype=array.dtype)
        array = np.ascontiguousarray(array[..., :3])
    else:
        image = source if isinstance(source, Image.Image) else _open(source, draft=draft)
        array = np.asarray(to_rgb(image))
    if min(array.shape[:2]) < MIN_SIDE:
        raise ImageError(
            N_("image is {width}x{height}: smaller than {limit} px"),
            width=array.shape[1],
            height=array.shape[0],
            limit=MIN_SIDE,
        )
    return array


def upright_dimensions(image: Image.Image) -> tuple[int, int]:
    """(width, height) of an opened image as displayed, after its EXIF rotation (header only)."""
    width, height = image.size
    if image.getexif().get(ORIENTATION_TAG, 1) in _SWAPPING_ORIENTATIONS:
        width, height = height, width
    return width, height


def upright_size(path: str | Path) -> tuple[int, int]:
    """(width, height) as displayed, i.e. after EXIF rotation, read from the header only."""
    return upright_dimensions(_open(path, decode=False))
