"""The plotly figures the app shows: loss and score curves, run overlays, alpha sweeps, dataset
plots and confusion matrices. Nothing here imports streamlit; figures work in a notebook as well.

Every word a figure shows is marked with `N_` and passed through `translate` (English by default;
the app passes its `t`), and numbers on the axes follow the reader's decimal mark."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from ..data.layout import KNOWN_CLASSES, TRAIN, VAL
from ..utils.messages import N_, Translate, identity
from ..utils.metrics import SCORE_LABELS

CLASS_COLORS = dict(zip(KNOWN_CLASSES, ("#1f9e5a", "#d6452f"), strict=True))

# --- training curves ------------------------------------------------------------------------------

LOSS_PARTS = (
    ("loss", N_("total loss")),
    ("class_loss", N_("class loss")),
    ("box_loss", N_("box loss")),
)
SCORES = tuple(SCORE_LABELS.items())
METRIC_LABELS = {
    "train_loss": N_("train total loss"),
    "train_class_loss": N_("train class loss"),
    "train_box_loss": N_("train box loss"),
    "val_loss": N_("val total loss"),
    "val_class_loss": N_("val class loss"),
    "val_box_loss": N_("val box loss"),
    **dict(SCORES),
}
SPLIT_NAMES = {TRAIN: N_("train"), VAL: N_("val")}
AXIS_NAMES = {"epoch": N_("epoch"), "step": N_("step")}
# Translators: one half as your language writes it (Spanish: 0,5); the charts' axes follow it.
HALF = N_("0.5")


def separators(translate: Translate = identity) -> str:
    """Plotly's decimal and thousands marks for the reader (",." for a decimal comma)."""
    return ",." if "," in translate(HALF) else ".,"


def decimal(value: float, translate: Translate = identity, spec: str = "g") -> str:
    """A number in a figure's text (a legend, a bar label) with the reader's decimal mark."""
    text = format(value, spec)
    return text.replace(".", ",") if separators(translate) == ",." else text


def _axis(x: str, translate: Translate) -> str:
    return translate(AXIS_NAMES.get(x, x))


def _column(history: Sequence[Mapping[str, Any]], key: str) -> list[Any]:
    return [row.get(key) for row in history]


def _layout(
    fig: go.Figure, title: str, height: int = 340, translate: Translate = identity
) -> go.Figure:
    """Title (already in the reader's language), size, legend below, the reader's decimal mark."""
    fig.update_layout(
        title=title,
        separators=separators(translate),
        height=height,
        margin={"l": 40, "r": 10, "t": 60, "b": 40},
        legend={"orientation": "h", "yanchor": "top", "y": -0.32, "x": 0},
        hovermode="x unified",
    )
    return fig


def _whole_epochs(fig: go.Figure, x: str, values: Sequence[Any], ticks: int = 10) -> None:
    """Epoch axes tick at whole numbers (no 'epoch 1.5'), at most about `ticks` of them so
    narrow panels (a projector at 1024 px) do not print labels over each other."""
    numbers = [v for v in values if isinstance(v, int | float)]
    if x == "epoch" and numbers:
        fig.update_xaxes(tick0=1, dtick=max(1, math.ceil(max(numbers) / ticks)))


def loss_figure(
    history: Sequence[Mapping[str, Any]],
    x: str = "epoch",
    title: str = "",
    translate: Translate = identity,
) -> go.Figure:
    """Train (solid) and val (dashed) loss, one panel each for total, class and box."""
    fig = make_subplots(
        rows=1, cols=3, subplot_titles=[translate(label) for _, label in LOSS_PARTS]
    )
    xs = _column(history, x)
    for col, (key, _) in enumerate(LOSS_PARTS, start=1):
        for split, dash, color in ((TRAIN, "solid", "#1f77b4"), (VAL, "dash", "#ff7f0e")):
            fig.add_trace(
                go.Scatter(
                    x=xs,
                    y=_column(history, f"{split}_{key}"),
                    name=translate(METRIC_LABELS[f"{split}_{key}"]),
                    mode="lines+markers",
                    line={"dash": dash, "color": color},
                    legendgroup=split,
                    showlegend=False,
                ),
                row=1,
                col=col,
            )
        fig.update_xaxes(title_text=_axis(x, translate), row=1, col=col)
    for split, dash, color in ((TRAIN, "solid", "#1f77b4"), (VAL, "dash", "#ff7f0e")):
        fig.add_trace(  # legend-only entries: one "train" and one "val" for all three panels
            go.Scatter(
                x=[None],
                y=[None],
                name=translate(SPLIT_NAMES[split]),
                mode="lines+markers",
                line={"dash": dash, "color": color},
                legendgroup=split,
            ),
            row=1,
            col=1,
        )
    _whole_epochs(fig, x, xs, ticks=4)  # three panels side by side: few labels each
    title = title or translate(N_("Loss (train solid, validation dashed)"))
    return _layout(fig, title, translate=translate)


def metrics_figure(
    history: Sequence[Mapping[str, Any]],
    x: str = "epoch",
    title: str = "",
    translate: Translate = identity,
) -> go.Figure:
    """Validation mean IoU, IoU ≥ 0.5, accuracy and balanced accuracy; the best model marked."""
    fig = go.Figure()
    xs = _column(history, x)
    for key, label in SCORES:
        fig.add_trace(
            go.Scatter(x=xs, y=_column(history, key), name=translate(label), mode="lines+markers")
        )
    best = [row.get(x) for row in history if row.get("best")]
    if best:
        fig.add_vline(
            x=best[-1], line_dash="dot", line_color="gray", annotation_text=translate(N_("best"))
        )
    fig.update_yaxes(range=[0, 1.02], title_text=translate(N_("validation")))
    fig.update_xaxes(title_text=_axis(x, translate))
    _whole_epochs(fig, x, xs)
    return _layout(fig, title or translate(N_("Validation scores")), translate=translate)


def overlay_figure(
    histories: Mapping[str, Sequence[Mapping[str, Any]]],
    metric: str = "val_loss",
    x: str = "epoch",
    translate: Translate = identity,
) -> go.Figure:
    """One curve per run for one metric: compare runs side by side."""
    fig = go.Figure()
    for name, history in histories.items():
        fig.add_trace(
            go.Scatter(
                x=_column(history, x), y=_column(history, metric), name=name, mode="lines+markers"
            )
        )
    label = translate(METRIC_LABELS.get(metric, metric))
    fig.update_xaxes(title_text=_axis(x, translate))
    fig.update_yaxes(title_text=label)
    if metric in dict(SCORES):
        fig.update_yaxes(range=[0, 1.02])
    _whole_epochs(fig, x, [v for h in histories.values() for v in _column(h, x)])
    title = translate(N_("{metric} by run")).format(metric=label)
    return _layout(fig, title, height=380, translate=translate)


def fitted_range(values: Sequence[Any], pad: float = 0.05) -> list[float] | None:
    """A y-range fitted to the data (scores stay within [0, 1.02]): small differences show."""
    numbers = [float(v) for v in values if isinstance(v, int | float) and np.isfinite(v)]
    if not numbers:
        return None
    low, high = min(numbers), max(numbers)
    spread = max(high - low, 0.05)
    return [max(0.0, low - pad * spread * 4), min(1.02, high + pad * spread * 4)]


def alpha_label(alpha: float, translate: Translate = identity) -> str:
    return f"α = {decimal(alpha, translate)}"


ALPHA_COLORS = ("#440154", "#3b528b", "#21918c", "#5ec962", "#e0b400", "#c2410c", "#7f1d1d")


def alpha_color(alpha: float) -> str:
    """Alpha 0 dark purple through teal and green to alpha 1 orange: one colour per alpha."""
    return ALPHA_COLORS[round(min(max(alpha, 0.0), 1.0) * (len(ALPHA_COLORS) - 2))]


def alpha_overlay_figure(
    histories: Mapping[float, Sequence[Mapping[str, Any]]],
    metric: str = "mean_iou",
    x: str = "epoch",
    height: int = 380,
    translate: Translate = identity,
) -> go.Figure:
    """The runs of a sweep on one chart, labelled by alpha, on a y-axis fitted to the data."""
    fig = go.Figure()
    for alpha in sorted(histories):
        history = histories[alpha]
        fig.add_trace(
            go.Scatter(
                x=_column(history, x),
                y=_column(history, metric),
                name=alpha_label(alpha, translate),
                mode="lines+markers",
                line={"color": alpha_color(alpha), "width": 3},
            )
        )
    fig.update_xaxes(title_text=_axis(x, translate))
    label = translate(METRIC_LABELS.get(metric, metric))
    fig.update_yaxes(title_text=label)
    if metric in dict(SCORES):
        fig.update_yaxes(
            range=fitted_range([v for h in histories.values() for v in _column(h, metric)])
        )
    _whole_epochs(fig, x, [v for h in histories.values() for v in _column(h, x)])
    title = translate(N_("{metric} while the sweep trains")).format(metric=label)
    fig = _layout(fig, title, height=height, translate=translate)
    fig.update_layout(legend={"orientation": "v", "y": 1, "x": 1.02, "yanchor": "top"})
    return fig


SWEEP_SCORES = (
    ("mean_iou", N_("mean IoU (boxes)")),
    ("balanced_accuracy", N_("balanced accuracy")),
)


def alpha_figure(
    table: pd.DataFrame, height: int = 380, translate: Translate = identity
) -> go.Figure:
    """The trade-off of a sweep: box IoU and balanced accuracy (which exposes a class head that
    never trained: it falls to 0.5) against alpha, and each run's final class/box loss shares."""
    table = table.sort_values("alpha")
    fig = make_subplots(
        rows=1,
        cols=2,
        column_widths=[0.62, 0.38],
        subplot_titles=[
            translate(N_("best scores")),
            translate(N_("loss mix")),
        ],
        horizontal_spacing=0.12,
    )
    shown = []
    for (key, label), color in zip(SWEEP_SCORES, ("#d6452f", "#1f77b4"), strict=True):
        if key in table and table[key].notna().any():
            fig.add_trace(
                go.Scatter(
                    x=table["alpha"],
                    y=table[key],
                    name=translate(label),
                    mode="lines+markers",
                    line={"color": color, "width": 3},
                    marker={"size": 10},
                ),
                row=1,
                col=1,
            )
            shown += table[key].tolist()
    if "accuracy" in table and table["accuracy"].notna().any():
        fig.add_trace(
            go.Scatter(
                x=table["alpha"],
                y=table["accuracy"],
                name=translate(N_("accuracy (fooled by the common class)")),
                mode="lines+markers",
                line={"color": "#9ca3af", "dash": "dot"},
            ),
            row=1,
            col=1,
        )
        shown += table["accuracy"].tolist()
    for key, label, color in (
        ("class_share", N_("class part"), "#1f77b4"),
        ("box_share", N_("box part"), "#d6452f"),
    ):
        if key in table and table[key].notna().any():
            fig.add_trace(
                go.Bar(
                    x=[alpha_label(a, translate) for a in table["alpha"]],
                    y=table[key],
                    name=translate(label),
                    marker_color=color,
                    text=[f"{v:.0%}" if pd.notna(v) else "" for v in table[key]],
                    textposition="inside",
                ),
                row=1,
                col=2,
            )
    fig.update_layout(barmode="stack")
    fig.update_xaxes(title_text=translate(N_("alpha (0: class only, 1: box only)")), row=1, col=1)
    fig.update_xaxes(range=[-0.05, 1.05], dtick=0.25, row=1, col=1)
    fig.update_yaxes(range=fitted_range(shown), row=1, col=1)
    fig.update_yaxes(range=[0, 1], tickformat=".0%", row=1, col=2)
    title = translate(N_("Alpha sweep: boxes against classes"))
    fig = _layout(fig, title, height=height, translate=translate)
    fig.update_layout(hovermode="closest", legend={"y": -0.25})
    return fig


# --- dataset plots -------------------------------------------------------------------------------


def class_counts_figure(
    frames: Mapping[str, pd.DataFrame], translate: Translate = identity
) -> go.Figure:
    """Images per class, one bar group per table (e.g. train and test labels)."""
    fig = go.Figure()
    for split, frame in frames.items():
        counts = frame["class"].value_counts().sort_index()
        fig.add_trace(
            go.Bar(x=counts.index.tolist(), y=counts.to_numpy(), name=split, text=counts.to_numpy())
        )
    fig.update_layout(barmode="group")
    fig.update_yaxes(title_text=translate(N_("images")))
    return _layout(fig, translate(N_("Class counts")), height=320, translate=translate)


def image_size_figure(frame: pd.DataFrame, translate: Translate = identity) -> go.Figure:
    """How many images have each width x height."""
    sizes = frame["width"].astype(int).astype(str) + "×" + frame["height"].astype(int).astype(str)
    counts = sizes.value_counts().head(20)
    images = translate(N_("images"))
    fig = go.Figure(go.Bar(x=counts.index.tolist(), y=counts.to_numpy(), name=images))
    fig.update_xaxes(title_text=translate(N_("width × height (px)")), type="category")
    fig.update_yaxes(title_text=images)
    return _layout(fig, translate(N_("Image sizes")), height=320, translate=translate)


def box_geometry(frame: pd.DataFrame) -> pd.DataFrame:
    """Normalised centre, size, area and aspect of each row's box."""
    w, h = frame["width"].astype(float), frame["height"].astype(float)
    out = pd.DataFrame(
        {
            "class": frame["class"].to_numpy(),
            "cx": ((frame["xmin"] + frame["xmax"]) / 2 / w).to_numpy(),
            "cy": ((frame["ymin"] + frame["ymax"]) / 2 / h).to_numpy(),
            "w": ((frame["xmax"] - frame["xmin"]) / w).to_numpy(),
            "h": ((frame["ymax"] - frame["ymin"]) / h).to_numpy(),
        }
    )
    out["area"] = out["w"] * out["h"]
    out["aspect"] = (frame["xmax"] - frame["xmin"]).to_numpy() / np.maximum(
        (frame["ymax"] - frame["ymin"]).to_numpy(), 1e-9
    )
    return out


def box_figure(frame: pd.DataFrame, translate: Translate = identity) -> go.Figure:
    """Where boxes sit (centres, image coordinates with y down) and how big they are."""
    geometry = box_geometry(frame)
    fig = make_subplots(
        rows=1,
        cols=2,
        subplot_titles=[
            translate(N_("box centres (fraction of image)")),
            translate(N_("box sizes (fraction)")),
        ],
    )
    for name in sorted(geometry["class"].unique()):
        part = geometry[geometry["class"] == name]
        color = CLASS_COLORS.get(name)
        marker = {"color": color, "opacity": 0.6, "size": 6}
        for col, (x, y) in enumerate((("cx", "cy"), ("w", "h")), start=1):
            fig.add_trace(
                go.Scatter(
                    x=part[x],
                    y=part[y],
                    mode="markers",
                    name=name,
                    marker=marker,
                    legendgroup=name,
                    showlegend=col == 1,
                ),
                row=1,
                col=col,
            )
    fig.update_xaxes(range=[0, 1], title_text=translate(N_("centre x")), row=1, col=1)
    fig.update_yaxes(range=[1, 0], title_text=translate(N_("centre y")), row=1, col=1)
    fig.update_xaxes(range=[0, 1], title_text=translate(N_("width")), row=1, col=2)
    fig.update_yaxes(range=[0, 1], title_text=translate(N_("height")), row=1, col=2)
    return _layout(fig, translate(N_("Where the boxes are")), height=380, translate=translate)


def confusion_figure(
    matrix: Sequence[Sequence[int]], class_names: Sequence[str], translate: Translate = identity
) -> go.Figure:
    """Rows: true class; columns: predicted class; counts written in the cells."""
    z = np.asarray(matrix, dtype=int)
    predicted, true = translate(N_("pred {name}")), translate(N_("true {name}"))
    fig = go.Figure(
        go.Heatmap(
            z=z,
            x=[predicted.format(name=n) for n in class_names],
            y=[true.format(name=n) for n in class_names],
            colorscale="Blues",
            text=z,
            texttemplate="%{text}",
            showscale=False,
        )
    )
    fig.update_yaxes(autorange="reversed")
    fig.update_xaxes(tickangle=0, side="bottom")
    return _layout(fig, translate(N_("Confusion matrix")), height=320, translate=translate)
