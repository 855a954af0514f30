"""The Train page's classroom parts: start-up progress, the strip of pictures whose boxes move
while a run trains, an alpha sweep on one screen (its runs overlaid by alpha next to the
trade-off chart, the pictures side by side per alpha) and the projector's "present" mode.

Pure drawing of job snapshots: nothing here starts or stops a run.
"""

from __future__ import annotations

from collections.abc import Sequence

import streamlit as st

from app_pages._common import fmt_seconds
from maskloc import charts
from maskloc.jobs import RunSnapshot
from maskloc.live_strip import LiveStrip
from maskloc.run_tables import sweep_table

PRESENT_KEY = "train_present"
PRESENT_CSS = """
<style>
[data-testid="stMainBlockContainer"] { max-width: 100%; padding-top: 2rem; }
[data-testid="stMainBlockContainer"] p, [data-testid="stCaptionContainer"] { font-size: 1.35rem; }
[data-testid="stMetricValue"] { font-size: 2.6rem; }
[data-testid="stMetricLabel"] p { font-size: 1.2rem; }
</style>
"""


def present_toggle() -> bool:
    """The projector switch: when on, the page hides the form and tables and shows the live
    charts, the moving boxes and the sweep's result in large type."""
    on = st.toggle(
        "Present (projector)",
        key=PRESENT_KEY,
        help="Hide the settings and tables; large type for a projector. Switch off to edit.",
    )
    if on:
        st.markdown(PRESENT_CSS, unsafe_allow_html=True)
    return on


def presenting() -> bool:
    return bool(st.session_state.get(PRESENT_KEY))


def chart_font(fig, size: int | None = None):
    """Larger chart text in present mode."""
    if size or presenting():
        fig.update_layout(font={"size": size or 18})
    return fig


def short_label(snapshot: RunSnapshot) -> str:
    """'12:05:01 · mobilenet_v2 · α 0.7' instead of a 35-character folder name."""
    name = snapshot.name
    clock = f"{name[9:11]}:{name[11:13]}:{name[13:15]}" if name[8:9] == "-" else name
    return f"{clock} · {snapshot.config.model.name} · α {snapshot.config.train.alpha:g}"


def startup_progress(snapshot: RunSnapshot) -> None:
    """Before the first step: what is being prepared, how far, how long it will still take."""
    left = f" · about {fmt_seconds(snapshot.phase_eta)} left" if snapshot.phase_eta else ""
    st.progress(
        snapshot.phase_progress,
        text=f"Preparing: {snapshot.phase} {snapshot.phase_done}/{snapshot.phase_total}{left} "
        f"· {fmt_seconds(snapshot.elapsed)} elapsed (once per dataset and settings: a sweep's "
        "runs and a new seed reuse it)",
    )


def strip_captions(strip: LiveStrip, frame) -> list[str]:
    names = [strip.class_names[int(t)] for t in strip.truth_labels]
    if frame is None:
        return [f"true {n}" for n in names]
    marks = ["✓" if ok else "✗" for ok in strip.correct(frame)]
    return [f"{m} true {n}" for m, n in zip(marks, names, strict=True)]


def live_strip(snapshot: RunSnapshot, side: int | None = None) -> None:
    """The run's fixed validation pictures, truth green and the latest prediction red."""
    strip = snapshot.strip
    if strip is None:
        return
    frame = strip.frames[-1] if strip.frames else None
    side = side or (220 if presenting() else 150)
    when = (
        f"after evaluation {len(strip.frames)} (epoch {frame.epoch}, step {frame.step})"
        if frame
        else "before the first evaluation: only the truth"
    )
    st.markdown(f"**The boxes, {when}** · green: truth · red: the model's box and class")
    st.image(strip.pictures(frame, side), caption=strip_captions(strip, frame), width=side)


def sweep_strips(members: Sequence[RunSnapshot], side: int = 130) -> None:
    """Each run's best answers on the same pictures, one column per alpha."""
    strips = [(s, s.strip) for s in members]
    strips = [(s, strip) for s, strip in strips if strip is not None and strip.frames]
    if not strips:
        return
    st.markdown(
        "**The same pictures, one column per alpha** (each run's best evaluation): at alpha 0 "
        "the boxes never learned to move, at alpha 1 the class guesses never learned."
    )
    columns = st.columns(len(strips))
    for column, (snapshot, strip) in zip(columns, strips, strict=True):
        frame = strip.best_frame
        column.markdown(f"**α = {snapshot.config.train.alpha:g}**")
        column.image(
            strip.pictures(frame, side), caption=strip_captions(strip, frame), width="stretch"
        )


def sweep_caption(table) -> str:
    """What the class just saw, in one sentence from the numbers."""
    done = table.dropna(subset=["mean_iou", "balanced_accuracy"])
    if len(done) < 2:
        return "The trade-off fills in as the runs finish: box IoU and balanced accuracy per alpha."
    low, high = done.iloc[0], done.iloc[-1]
    best = done.loc[(done["mean_iou"] + done["balanced_accuracy"]).idxmax()]
    low_weight = "not at all" if low["alpha"] == 0 else "little"
    return (
        f"At alpha {low['alpha']:g} the box loss counts {low_weight}:"
        f" IoU {low['mean_iou']:.2f}, balanced accuracy {low['balanced_accuracy']:.2f}. "
        f"At alpha {high['alpha']:g} the class loss counts "
        f"{'not at all' if high['alpha'] == 1 else 'little'}: IoU {high['mean_iou']:.2f}, "
        f"balanced accuracy {high['balanced_accuracy']:.2f} (0.5 is a coin toss). "
        f"Both together are best at alpha {best['alpha']:g}. Plain accuracy hides this: most "
        "faces wear a mask, so always saying 'mask' already scores high."
    )


def sweep_panel(sweep_id: str, members: Sequence[RunSnapshot], key: str) -> None:
    """A sweep on one screen: its runs overlaid by alpha next to the trade-off chart, a
    caption, then the pictures side by side."""
    done = sum(not s.active for s in members)
    state = "" if done == len(members) else f" · {done} of {len(members)} runs done"
    st.markdown(f"**Alpha sweep {sweep_id}**{state}")
    histories = {s.config.train.alpha: s.history for s in members if s.history}
    x = "step" if any(s.config.train.steps for s in members) else "epoch"
    height = 460 if presenting() else 380
    left, right = st.columns(2)
    with left:
        if histories:
            metric = st.session_state.get(f"{key}_metric", "mean_iou")
            st.plotly_chart(
                chart_font(charts.alpha_overlay_figure(histories, metric, x, height)),
                key=f"{key}_overlay",
            )
        else:
            st.info("The first curves appear after each run's first evaluation.")
    table = sweep_table(members)
    with right:
        st.plotly_chart(chart_font(charts.alpha_figure(table, height)), key=f"{key}_alpha")
    st.markdown(sweep_caption(table))
    if not presenting():
        st.radio(
            "Overlaid curve",
            ["mean_iou", "balanced_accuracy", "accuracy", "val_loss"],
            format_func=charts.METRIC_LABELS.get,
            horizontal=True,
            key=f"{key}_metric",
        )
    sweep_strips(members, 170 if presenting() else 120)
