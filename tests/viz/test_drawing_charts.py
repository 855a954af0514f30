"""Drawing and figures: boxes land where they should, figures carry the expected traces."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from maskloc.viz import charts, drawing

GRAY = (128, 128, 128)


def gray_image(width: int = 120, height: int = 100) -> np.ndarray:
    return np.full((height, width, 3), GRAY, dtype=np.uint8)


def pixel(image: Image.Image, x: int, y: int) -> tuple[int, int, int]:
    return image.getpixel((x, y))[:3]


def test_truth_green_prediction_red_at_the_box_edges():
    image = gray_image()
    drawn = drawing.draw_boxes(
        image,
        [
            drawing.truth_box((10, 40, 50, 90)),
            drawing.predicted_box((60, 30, 110, 80), "mask", 0.87),
        ],
    )
    assert drawn.size == (120, 100)
    for x, y in ((10, 60), (50, 60), (30, 40), (30, 90)):  # the four green edges
        assert pixel(drawn, x, y) == drawing.GREEN
    for x, y in ((60, 55), (110, 55), (85, 80)):  # red edges (top edge carries the label tag)
        assert pixel(drawn, x, y) == drawing.RED
    assert pixel(drawn, 30, 65) == GRAY and pixel(drawn, 85, 55) == GRAY  # insides untouched
    tag = np.asarray(drawn)[:30, 60:110]  # the label sits on a red tag above the red box
    assert (tag == drawing.RED).all(axis=2).sum() > 50
    assert (image == GRAY).all(), "drawing must not modify the input"


def test_boxes_outside_the_image_are_clipped_not_fatal():
    drawn = drawing.draw_boxes(gray_image(), [drawing.truth_box((-20, -5, 300, 400), "mask")])
    assert pixel(drawn, 0, 50) == drawing.GREEN and pixel(drawn, 119, 50) == drawing.GREEN


def test_label_text_and_thumbnail_scaling():
    assert drawing.label_text("no-mask", 0.934) == "no-mask 93%"
    assert drawing.label_text("mask") == "mask"
    big = gray_image(400, 400)
    small = drawing.annotated_thumbnail(
        big, [drawing.truth_box((100, 100, 300, 300))], max_side=100
    )
    assert small.size == (100, 100)
    assert pixel(small, 25, 50) == drawing.GREEN and pixel(small, 50, 50) == GRAY
    region = np.array([[200, 40], [360, 200], [200, 360], [40, 200]], float)
    with_region = drawing.annotated_thumbnail(big, [], max_side=100, regions=[region])
    assert pixel(with_region, 70, 30) == drawing.YELLOW  # midpoint of an edge of the turned square


def test_image_grid_layout():
    images = [gray_image(60 + 10 * i, 50) for i in range(5)]
    grid = drawing.image_grid(images, columns=2, cell=80, pad=4)
    assert grid.size == (2 * 84 + 4, 3 * 84 + 4)
    captioned = drawing.image_grid(images, columns=3, cell=80, captions=[str(i) for i in range(5)])
    assert captioned.height > 2 * 86
    assert drawing.image_grid([]).size == (200, 200)


HISTORY = [
    {
        "epoch": e,
        "step": 4 * e,
        **{
            f"{s}_{k}": 1.0 / e
            for s in ("train", "val")
            for k in ("loss", "class_loss", "box_loss")
        },
        "mean_iou": 0.2 * e,
        "iou50": 0.1 * e,
        "accuracy": 0.3 * e,
        "balanced_accuracy": 0.25 * e,
        **({"best": True} if e == 2 else {}),
    }
    for e in (1, 2, 3)
]


def test_loss_figure_has_train_and_val_for_each_part():
    fig = charts.loss_figure(HISTORY)
    curves = [trace for trace in fig.data if trace.x[0] is not None]
    assert [trace.name for trace in curves] == [
        f"{split} {part}"
        for part in ("total loss", "class loss", "box loss")
        for split in ("train", "val")
    ]
    assert [trace.xaxis for trace in curves] == ["x", "x", "x2", "x2", "x3", "x3"]
    assert list(curves[0].x) == [1, 2, 3] and curves[1].y[2] == pytest.approx(1 / 3)
    assert curves[3].line.dash == "dash"  # validation dashed
    legend = [trace.name for trace in fig.data if trace.showlegend is not False]
    assert legend == ["train", "val"]
    assert list(charts.loss_figure(HISTORY, x="step").data[0].x) == [4, 8, 12]


def test_metrics_figure_marks_the_best_evaluation():
    fig = charts.metrics_figure(HISTORY)
    assert [t.name for t in fig.data] == [
        "mean IoU",
        "IoU ≥ 0.5",
        "accuracy",
        "balanced accuracy",
    ]
    assert list(fig.data[0].y) == pytest.approx([0.2, 0.4, 0.6])
    assert [shape.x0 for shape in fig.layout.shapes] == [2]


def test_overlay_and_alpha_figures():
    fig = charts.overlay_figure({"run-a": HISTORY, "run-b": HISTORY[:2]}, "val_loss")
    assert [t.name for t in fig.data] == ["run-a", "run-b"] and len(fig.data[1].y) == 2
    table = pd.DataFrame(
        {
            "alpha": [1.0, 0.0, 0.5],
            "mean_iou": [0.7, 0.2, 0.6],
            "balanced_accuracy": [0.5, 0.9, 0.85],
            "accuracy": [0.8, 0.9, 0.85],
            "class_share": [0.0, 1.0, 0.4],
            "box_share": [1.0, 0.0, 0.6],
        }
    )
    fig = charts.alpha_figure(table)
    names = [t.name for t in fig.data]
    assert names[:2] == ["mean IoU (boxes)", "balanced accuracy"]
    assert names[3:] == ["class part", "box part"]
    assert list(fig.data[0].x) == [0.0, 0.5, 1.0] and list(fig.data[0].y) == [0.2, 0.6, 0.7]
    assert list(fig.data[1].y) == [0.9, 0.85, 0.5]  # the trade-off: classes fall as boxes rise
    assert list(fig.data[3].x) == ["α = 0", "α = 0.5", "α = 1"]
    assert list(fig.data[4].y) == [0.0, 0.6, 1.0] and fig.layout.barmode == "stack"
    low, high = fig.layout.yaxis.range
    assert 0.0 <= low < 0.2 and 0.9 < high <= 1.02  # fitted to the scores, not a fixed 0..1


def test_alpha_overlay_labels_runs_by_alpha_on_a_fitted_axis():
    histories = {
        0.75: [{"epoch": 1, "mean_iou": 0.64}, {"epoch": 2, "mean_iou": 0.70}],
        0.25: [{"epoch": 1, "mean_iou": 0.66}, {"epoch": 2, "mean_iou": 0.74}],
    }
    fig = charts.alpha_overlay_figure(histories, "mean_iou")
    assert [t.name for t in fig.data] == ["α = 0.25", "α = 0.75"]
    assert list(fig.data[1].y) == [0.64, 0.70]
    assert fig.data[0].line.color != fig.data[1].line.color
    low, high = fig.layout.yaxis.range
    assert 0.5 < low < 0.64 and 0.74 < high < 0.9  # 0.64 -> 0.74 is not flattened by 0..1
    assert charts.fitted_range([None, float("nan")]) is None


def test_dataset_figures(tiny_dataset):
    from maskloc.data.folder import load_dataset

    folder = load_dataset(tiny_dataset)
    frame = folder.train.frame
    counts = charts.class_counts_figure({"train": frame, "test": folder.test_labels.frame})
    assert [t.name for t in counts.data] == ["train", "test"]
    assert dict(zip(counts.data[0].x, counts.data[0].y, strict=True)) == {"mask": 16, "no-mask": 8}
    sizes = charts.image_size_figure(frame)
    assert sorted(sizes.data[0].x) == ["64×80", "72×72", "96×64"]
    boxes = charts.box_figure(frame)
    assert [t.name for t in boxes.data] == ["mask", "mask", "no-mask", "no-mask"]
    geometry = charts.box_geometry(frame)
    first = frame.iloc[0]
    assert geometry["cx"][0] == pytest.approx((first.xmin + first.xmax) / 2 / first.width)
    assert geometry["h"][0] == pytest.approx((first.ymax - first.ymin) / first.height)
    assert len(boxes.data[0].x) == 16


def test_confusion_figure():
    fig = charts.confusion_figure([[5, 1], [2, 7]], ["mask", "no-mask"])
    heatmap = fig.data[0]
    assert heatmap.z.tolist() == [[5, 1], [2, 7]]
    assert list(heatmap.x) == ["pred mask", "pred no-mask"]
    assert list(heatmap.y) == ["true mask", "true no-mask"]
