"""The zoomed-out evaluation copy: same face, moved box, edges stretched (no mirrored face)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from maskloc.data.images import read_rgb
from maskloc.data.zoom_out import write_zoomed_out, zoom_out_image


@pytest.mark.parametrize("seed", [0, 1, 2, 3])
def test_canvas_is_larger_and_box_follows_the_content(seed):
    rng = np.random.default_rng(0)
    image = rng.integers(0, 255, (40, 60, 3), dtype=np.uint8)
    box = np.array([10.0, 5.0, 30.0, 25.0])
    canvas, moved = zoom_out_image(image, box, 2.0, np.random.default_rng(seed))
    assert canvas.shape == (80, 120, 3)
    x0, y0 = int(moved[0] - box[0]), int(moved[1] - box[1])  # where the original landed
    assert moved.tolist() == (box + [x0, y0, x0, y0]).tolist()
    # the whole canvas is the original with its edge pixels repeated outward (stretch, not
    # mirror), with the original exactly where the box says it went
    stretched = np.pad(image, ((y0, 40 - y0), (x0, 60 - x0), (0, 0)), mode="edge")
    assert np.array_equal(canvas, stretched)


def test_written_split_scores_every_image(tiny_dataset, tmp_path):
    count = write_zoomed_out(tiny_dataset, tmp_path / "zoomed", "test", 2.0, seed=0)
    assert count == 6
    frame = pd.read_csv(tmp_path / "zoomed" / "test_labels.csv")
    original = pd.read_csv(tiny_dataset / "test_labels.csv")
    assert list(frame["class"]) == list(original["class"])
    for row, before in zip(frame.itertuples(), original.itertuples(), strict=True):
        image = read_rgb(tmp_path / "zoomed" / "images" / row.filename)
        assert (row.xmax - row.xmin, row.ymax - row.ymin) == (
            before.xmax - before.xmin,
            before.ymax - before.ymin,
        )
        assert row.xmax <= image.shape[1] and row.ymax <= image.shape[0]
    with pytest.raises(FileExistsError):
        write_zoomed_out(tiny_dataset, tmp_path / "zoomed")
