"""The Train page's classroom parts: start-up progress, the strip of pictures whose boxes move
while a run trains, an alpha sweep on one screen (its runs overlaid by alpha next to the
trade-off chart, the pictures side by side per alpha) and the projector's "present" mode.

Pure drawing of job snapshots: nothing here starts or stops a run.
"""

from __future__ import annotations

from collections.abc import Sequence

import streamlit as st

from app_parts.formatting import fmt_seconds
from app_parts.i18n import N_, library_text, t
from maskloc.classroom.jobs import RunSnapshot
from maskloc.classroom.run_tables import sweep_table
from maskloc.training.live_strip import LiveStrip
from maskloc.viz import charts

PRESENT_KEY = "train_present"
OVERLAID_CURVES = ("mean_iou", "balanced_accuracy", "accuracy", "val_loss")
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
        t("Present"),
        key=PRESENT_KEY,
        help=t("Projector mode: hide the settings and tables, large type. Switch off to edit."),
    )
    if on:
        st.markdown(PRESENT_CSS, unsafe_allow_html=True)
    return on


def presenting() -> bool:
    return bool(st.session_state.get(PRESENT_KEY))


def decimal_text(value, spec: str = "g") -> str:
    """A number (or a number already written as text) with the page's decimal mark."""
    text = value if isinstance(value, str) else format(value, spec)
    return text.replace(".", ",") if charts.separators(t) == ",." else text


def chart_font(fig, size: int | None = None):
    """Larger chart text in present mode."""
    if size or presenting():
        fig.update_layout(font={"size": size or 18})
    return fig


def short_label(snapshot: RunSnapshot) -> str:
    """'12:05:01 · mobilenet_v2 · α 0.7' instead of a 35-character folder name."""
    name = snapshot.name
    clock = f"{name[9:11]}:{name[11:13]}:{name[13:15]}" if name[8:9] == "-" else name
    return f"{clock} · {snapshot.config.model.name} · α {decimal_text(snapshot.config.train.alpha)}"


def startup_progress(snapshot: RunSnapshot) -> None:
    """Before the first step: what is being prepared, how far, how long it will still take."""
    parts = [
        t("Preparing: {phase} {done}/{total}").format(
            phase=library_text(snapshot.phase),
            done=snapshot.phase_done,
            total=snapshot.phase_total,
        )
    ]
    if snapshot.phase_eta:
        parts.append(t("about {time} left").format(time=fmt_seconds(snapshot.phase_eta)))
    parts.append(
        t(
            "{time} elapsed (once per dataset and settings: a sweep's runs and a new seed reuse it)"
        ).format(time=fmt_seconds(snapshot.elapsed))
    )
    st.progress(snapshot.phase_progress, text=" · ".join(parts))


def strip_captions(strip: LiveStrip, frame) -> list[str]:
    names = [strip.class_names[int(label)] for label in strip.truth_labels]
    truth = t("true {name}")
    if frame is None:
        return [truth.format(name=n) for n in names]
    marks = ["✓" if ok else "✗" for ok in strip.correct(frame)]
    return [f"{m} {truth.format(name=n)}" for m, n in zip(marks, names, strict=True)]


def live_strip(snapshot: RunSnapshot, side: int | None = None) -> None:
    """The run's fixed validation pictures, truth green and the latest prediction red."""
    strip = snapshot.strip
    if strip is None:
        return
    frame = strip.frames[-1] if strip.frames else None
    side = side or (220 if presenting() else 150)
    if frame:
        heading = t("The boxes, after evaluation {count} (epoch {epoch}, step {step})").format(
            count=len(strip.frames), epoch=frame.epoch, step=frame.step
        )
    else:
        heading = t("The boxes, before the first evaluation: only the truth")
    legend = t("green: truth · red: the model's box and class")
    st.markdown(f"**{heading}** · {legend}")
    st.image(strip.pictures(frame, side), caption=strip_captions(strip, frame), width=side)


def sweep_strips(members: Sequence[RunSnapshot], side: int = 130) -> None:
    """Each run's best answers on the same pictures, one column per alpha."""
    strips = [(s, s.strip) for s in members]
    strips = [(s, strip) for s, strip in strips if strip is not None and strip.frames]
    if not strips:
        return
    st.markdown(
        t(
            "**The same pictures, one column per alpha** (each run's best evaluation): at alpha "
            "0 the boxes never learned to move, at alpha 1 the class guesses never learned."
        )
    )
    columns = st.columns(len(strips))
    for column, (snapshot, strip) in zip(columns, strips, strict=True):
        frame = strip.best_frame
        column.markdown(f"**α = {decimal_text(snapshot.config.train.alpha)}**")
        column.image(
            strip.pictures(frame, side), caption=strip_captions(strip, frame), width="stretch"
        )


SWEEP_WAITING = N_(
    "The trade-off fills in as the runs finish: box IoU and balanced accuracy per alpha."
)
# The lesson of a sweep, by whether the low alpha is 0 (its box loss counts not at all) and
# whether the high alpha is 1 (its class loss counts not at all).
SWEEP_ENDS = {
    (True, True): N_(
        "At alpha {low} the box loss counts not at all: IoU {low_iou}, balanced accuracy "
        "{low_balanced}. At alpha {high} the class loss counts not at all: IoU {high_iou}, "
        "balanced accuracy {high_balanced} ({coin} is a coin toss)."
    ),
    (True, False): N_(
        "At alpha {low} the box loss counts not at all: IoU {low_iou}, balanced accuracy "
        "{low_balanced}. At alpha {high} the class loss counts little: IoU {high_iou}, "
        "balanced accuracy {high_balanced} ({coin} is a coin toss)."
    ),
    (False, True): N_(
        "At alpha {low} the box loss counts little: IoU {low_iou}, balanced accuracy "
        "{low_balanced}. At alpha {high} the class loss counts not at all: IoU {high_iou}, "
        "balanced accuracy {high_balanced} ({coin} is a coin toss)."
    ),
    (False, False): N_(
        "At alpha {low} the box loss counts little: IoU {low_iou}, balanced accuracy "
        "{low_balanced}. At alpha {high} the class loss counts little: IoU {high_iou}, "
        "balanced accuracy {high_balanced} ({coin} is a coin toss)."
    ),
}
SWEEP_BEST = N_(
    "Both together are best at alpha {best}. Plain accuracy hides this: most faces wear a mask, "
    "so always saying 'mask' already scores high."
)


def sweep_caption(table) -> str:
    """What the class just saw, in two sentences from the numbers, in the page's language."""
    done = table.dropna(subset=["mean_iou", "balanced_accuracy"])
    if len(done) < 2:
        return t(SWEEP_WAITING)
    low, high = done.iloc[0], done.iloc[-1]
    best = done.loc[(done["mean_iou"] + done["balanced_accuracy"]).idxmax()]
    ends = t(SWEEP_ENDS[low["alpha"] == 0, high["alpha"] == 1]).format(
        low=decimal_text(low["alpha"]),
        low_iou=decimal_text(low["mean_iou"], ".2f"),
        low_balanced=decimal_text(low["balanced_accuracy"], ".2f"),
        high=decimal_text(high["alpha"]),
        high_iou=decimal_text(high["mean_iou"], ".2f"),
        high_balanced=decimal_text(high["balanced_accuracy"], ".2f"),
        coin=decimal_text(0.5),
    )
    return ends + " " + t(SWEEP_BEST).format(best=decimal_text(best["alpha"]))


def sweep_panel(sweep_id: str, members: Sequence[RunSnapshot], key: str) -> None:
    """A sweep on one screen: its runs overlaid by alpha next to the trade-off chart, a
    caption, then the pictures side by side."""
    done = sum(not s.active for s in members)
    heading = t("Alpha sweep {sweep}").format(sweep=sweep_id)
    state = "" if done == len(members) else " · " + t("{done} of {count} runs done")
    st.markdown(f"**{heading}**" + state.format(done=done, count=len(members)))
    histories = {s.config.train.alpha: s.history for s in members if s.history}
    x = "step" if any(s.config.train.steps for s in members) else "epoch"
    height = 460 if presenting() else 380
    left, right = st.columns(2)
    with left:
        if histories:
            metric = st.session_state.get(f"{key}_metric", "mean_iou")
            st.plotly_chart(
                chart_font(charts.alpha_overlay_figure(histories, metric, x, height, translate=t)),
                key=f"{key}_overlay",
            )
        else:
            st.info(t("The first curves appear after each run's first evaluation."))
    table = sweep_table(members)
    with right:
        st.plotly_chart(
            chart_font(charts.alpha_figure(table, height, translate=t)), key=f"{key}_alpha"
        )
    st.markdown(sweep_caption(table))
    if not presenting():
        st.radio(
            t("Overlaid curve"),
            list(OVERLAID_CURVES),
            format_func=lambda key: t(charts.METRIC_LABELS[key]),
            horizontal=True,
            key=f"{key}_metric",
        )
    sweep_strips(members, 170 if presenting() else 120)
