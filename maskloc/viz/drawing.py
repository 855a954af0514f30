"""Boxes drawn on images (ground truth green, prediction red) and image grids: what the app and
the README pictures show of a single image. Plotly figures live in maskloc/viz/charts.py."""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageDraw, ImageFont

GREEN = (0, 200, 70)
RED = (235, 30, 30)
YELLOW = (255, 210, 0)
TRUTH_COLOR, PREDICTION_COLOR = GREEN, RED

Color = tuple[int, int, int]
ImageLike = Image.Image | np.ndarray


@dataclass(frozen=True)
class LabeledBox:
    """A pixel xyxy box to draw, its colour and an optional label."""

    box: tuple[float, float, float, float]
    color: Color
    label: str = ""


def label_text(class_name: str, confidence: float | None = None) -> str:
    return class_name if confidence is None else f"{class_name} {confidence:.0%}"


def truth_box(box: Sequence[float], class_name: str = "") -> LabeledBox:
    """Ground truth: green."""
    return LabeledBox(tuple(float(v) for v in box), TRUTH_COLOR, class_name)


def predicted_box(
    box: Sequence[float], class_name: str = "", confidence: float | None = None
) -> LabeledBox:
    """A prediction: red, labelled with class and confidence."""
    text = label_text(class_name, confidence) if class_name else ""
    return LabeledBox(tuple(float(v) for v in box), PREDICTION_COLOR, text)


@functools.cache
def _font(size: int) -> ImageFont.ImageFont | ImageFont.FreeTypeFont:
    try:
        return ImageFont.load_default(size=size)
    except (TypeError, OSError):  # Pillow without FreeType: the fixed bitmap font
        return ImageFont.load_default()


def to_pil(image: ImageLike) -> Image.Image:
    if isinstance(image, Image.Image):
        return image.convert("RGB")
    array = np.asarray(image)
    if array.ndim == 2:
        array = np.repeat(array[..., None], 3, axis=2)
    return Image.fromarray(np.ascontiguousarray(array[..., :3]).astype(np.uint8), "RGB")


def draw_boxes(
    image: ImageLike,
    boxes: Sequence[LabeledBox],
    line_width: int | None = None,
    regions: Sequence[np.ndarray] = (),
) -> Image.Image:
    """A copy of `image` with each box outlined (inside its edges) and its label on a tag.

    `regions` are polygons (N x 2 pixel points) drawn thin in yellow, e.g. where a box's
    corners went under a rotation, to show how loose the axis-aligned box has become.
    """
    canvas = to_pil(image).copy()
    draw = ImageDraw.Draw(canvas)
    side = min(canvas.size)
    width = line_width or max(2, round(side / 110))
    font = _font(max(11, round(side / 20)))
    for points in regions:
        outline = [tuple(map(float, p)) for p in np.asarray(points)]
        if len(outline) >= 3:
            draw.line([*outline, outline[0]], fill=YELLOW, width=width)
    for item in boxes:
        x0, y0, x1, y1 = item.box
        x0, x1 = sorted((x0, x1))
        y0, y1 = sorted((y0, y1))
        x0, y0 = max(0.0, x0), max(0.0, y0)
        x1, y1 = min(canvas.width - 1.0, x1), min(canvas.height - 1.0, y1)
        draw.rectangle((x0, y0, x1, y1), outline=item.color, width=width)
        if item.label:
            left, top, right, bottom = draw.textbbox((0, 0), item.label, font=font)
            tag_w, tag_h = right - left + 6, bottom - top + 6
            tag_y = y0 - tag_h if y0 - tag_h >= 0 else y0 + width  # above, else just inside
            tag_x = min(max(0.0, x0), max(0.0, canvas.width - tag_w))
            draw.rectangle((tag_x, tag_y, tag_x + tag_w, tag_y + tag_h), fill=item.color)
            draw.text((tag_x + 3 - left, tag_y + 3 - top), item.label, fill="white", font=font)
    return canvas


def annotated_thumbnail(
    image: ImageLike,
    boxes: Sequence[LabeledBox],
    max_side: int = 256,
    regions: Sequence[np.ndarray] = (),
) -> Image.Image:
    """Shrink first, then draw (boxes scaled along), so lines and labels stay crisp."""
    picture = to_pil(image)
    scale = min(1.0, max_side / max(picture.size))
    if scale < 1.0:
        size = (max(1, round(picture.width * scale)), max(1, round(picture.height * scale)))
        picture = picture.resize(size, Image.Resampling.LANCZOS)
    scaled = [
        LabeledBox(tuple(v * scale for v in b.box), b.color, b.label)  # type: ignore[arg-type]
        for b in boxes
    ]
    return draw_boxes(picture, scaled, regions=[np.asarray(r) * scale for r in regions])


def image_grid(
    images: Sequence[ImageLike],
    columns: int = 4,
    cell: int = 200,
    captions: Sequence[str] | None = None,
    pad: int = 6,
    background: Color = (255, 255, 255),
) -> Image.Image:
    """Images fitted into equal cells, row by row, each with an optional caption below."""
    if not images:
        return Image.new("RGB", (cell, cell), background)
    columns = max(1, min(columns, len(images)))
    rows = -(-len(images) // columns)
    font = _font(max(10, cell // 16))
    caption_h = (font.getbbox("Ag")[3] + 6) if captions else 0
    grid = Image.new(
        "RGB",
        (columns * (cell + pad) + pad, rows * (cell + caption_h + pad) + pad),
        background,
    )
    draw = ImageDraw.Draw(grid)
    for i, image in enumerate(images):
        picture = to_pil(image)
        picture.thumbnail((cell, cell), Image.Resampling.LANCZOS)
        row, col = divmod(i, columns)
        x = pad + col * (cell + pad)
        y = pad + row * (cell + caption_h + pad)
        grid.paste(picture, (x + (cell - picture.width) // 2, y + (cell - picture.height) // 2))
        if captions is not None and i < len(captions):
            draw.text((x, y + cell + 3), captions[i], fill=(30, 30, 30), font=font)
    return grid
