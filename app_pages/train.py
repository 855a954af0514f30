"""Train: settings -> a background training job; live curves while it runs; every run on disk
listed, compared and downloadable; alpha sweeps. The training thread never calls st.*: this page
draws job snapshots, polling only while a job runs."""

import json

import streamlit as st

from app_pages._common import dataset_sidebar, fmt_seconds, registry
from app_pages._train_live import (
    chart_font,
    live_strip,
    present_toggle,
    presenting,
    short_label,
    startup_progress,
    sweep_panel,
)
from maskloc import charts
from maskloc.config import (
    BOX_HEADS,
    CLASS_WEIGHTINGS,
    SWEEP_ALPHAS,
    DataConfig,
    ModelConfig,
    RunConfig,
    TrainConfig,
    preset,
)
from maskloc.jobs import RunSnapshot
from maskloc.models import BACKBONES
from maskloc.run_tables import runs_table, sweep_table
from maskloc.transforms import PRESETS
from maskloc.weights import pretrained_available

POLL_SECONDS = 2.0
LEARNING_RATES = [1e-5, 3e-5, 1e-4, 3e-4, 1e-3, 3e-3, 1e-2]
ALPHAS = sorted({0.1, 0.3, 0.4, 0.55, 0.7, 0.85, 0.9, 0.95, *SWEEP_ALPHAS})
SIZES = [64, 96, 128, 160, 192, 224, 256, 320]

jobs = registry()


def x_axis(snapshot: RunSnapshot) -> str:
    return "step" if snapshot.config.train.steps else "epoch"


PRESET_HELP = {
    "classroom": "seconds per run on a laptop CPU: 128 px, frozen MobileNetV2 stem with cached "
    "features, the last blocks and the heads train (alpha still matters: both heads share them)",
    "full": "fine-tune the whole MobileNetV2 at 224 px: best quality, minutes per epoch on a CPU",
    "notebook": "the course notebook's own CNN, MSE box loss and pooled heads, for comparison",
}


def _form_values(config: RunConfig) -> dict:
    """Session-state values of the form's widgets for a preset."""
    d, m, t = config.data, config.model, config.train
    return {
        "train_model": m.name,
        "train_pretrained": m.pretrained and pretrained_available(m.name),
        "train_frozen_blocks": m.frozen_blocks,
        "train_cache_stem": t.cache_stem,
        "train_image_size": d.image_size,
        "train_box_head": m.box_head,
        "train_alpha": t.alpha,
        "train_class_weighting": t.class_weighting,
        "train_augment": d.augment,
        "train_lr_backbone": t.lr_backbone,
        "train_lr_class": t.lr_class_head,
        "train_lr_box": t.lr_box_head,
        "train_batch_size": t.batch_size,
        "train_epochs": t.epochs,
        "train_patience": t.patience,
        "train_seed": t.seed,
    }


def _apply_preset() -> None:
    st.session_state.update(_form_values(preset(st.session_state["train_preset"])))


def settings_form(root: str) -> None:
    """The run settings; submitting starts one run or an alpha sweep (queued if one trains)."""
    if "train_model" not in st.session_state:
        st.session_state.update(_form_values(preset("classroom")))
    st.selectbox(
        "Preset",
        list(PRESET_HELP),
        key="train_preset",
        on_change=_apply_preset,
        format_func=lambda name: f"{name}: {PRESET_HELP[name]}",
        help="Fills the form below; change any field after.",
    )
    with st.form("train_form"):
        a, b, c, d = st.columns(4)
        model = a.selectbox(
            "Model",
            list(BACKBONES),
            format_func=lambda n: f"{n}: {BACKBONES[n].description}",
            key="train_model",
        )
        pretrained = a.checkbox(
            "ImageNet-pretrained backbone",
            key="train_pretrained",
            help="Only where the weights are on this machine (MobileNetV2 and EfficientNet-Lite0 "
            "ship offline; ResNet50 needs torchvision's cache). own_cnn has none.",
        )
        image_size = a.select_slider("Image size (px)", SIZES, key="train_image_size")
        box_head = a.selectbox(
            "Box head",
            BOX_HEADS,
            key="train_box_head",
            help="spatial: reads the feature map where the face is; fused: the same on a grid "
            "twice as fine (MobileNetV2 / EfficientNet-Lite0); gap: the notebook's globally "
            "pooled features",
        )
        frozen_blocks = a.number_input(
            "Frozen backbone blocks",
            0,
            18,
            key="train_frozen_blocks",
            help="The first N blocks keep their ImageNet weights (MobileNetV2 has 19, "
            "EfficientNet-Lite0 18).",
        )
        cache_stem = a.checkbox(
            "Cache the frozen blocks' features (fast)",
            key="train_cache_stem",
            help="Run the frozen blocks once per image and augmented variant, then train the "
            "rest on the cached outputs.",
        )
        alpha = b.slider(
            "alpha (weight of the box loss)",
            0.0,
            1.0,
            step=0.05,
            key="train_alpha",
            help="loss = (1 - alpha) · class loss + alpha · box loss",
        )
        weighting = b.selectbox(
            "Class balance",
            CLASS_WEIGHTINGS,
            key="train_class_weighting",
            help="balanced: weighted class loss; sampler: oversample the rare class",
        )
        augment = b.selectbox("Augmentation", list(PRESETS), key="train_augment")
        lr_backbone = c.select_slider("LR backbone", LEARNING_RATES, key="train_lr_backbone")
        lr_class = c.select_slider("LR class head", LEARNING_RATES, key="train_lr_class")
        lr_box = c.select_slider("LR box head", LEARNING_RATES, key="train_lr_box")
        batch_size = d.select_slider("Batch size", [4, 8, 16, 32, 64], key="train_batch_size")
        epochs = d.number_input("Epochs", 1, 500, key="train_epochs")
        patience = d.number_input("Early-stopping patience", 1, 100, key="train_patience")
        seed = d.number_input("Seed", 0, 2**31 - 1, key="train_seed")
        sweep_alphas = st.multiselect(
            "Alpha sweep: one run per alpha, same settings otherwise",
            ALPHAS,
            default=list(SWEEP_ALPHAS),
            key="train_sweep_alphas",
        )
        left, right = st.columns(2)
        start = left.form_submit_button("Start training", type="primary", key="train_start")
        sweep = right.form_submit_button("Start alpha sweep", key="train_sweep")
    if not (start or sweep):
        return
    if pretrained and not pretrained_available(model):
        st.error(
            f"No ImageNet weights for {model} on this machine: untick 'pretrained' "
            "(random initialisation) or install them."
        )
        return
    try:
        config = RunConfig(
            DataConfig(root=root, image_size=int(image_size), augment=augment),
            ModelConfig(
                name=model,
                pretrained=bool(pretrained),
                box_head=box_head,
                frozen_blocks=int(frozen_blocks),
            ),
            TrainConfig(
                alpha=float(alpha),
                class_weighting=weighting,
                lr_backbone=lr_backbone,
                lr_class_head=lr_class,
                lr_box_head=lr_box,
                batch_size=int(batch_size),
                epochs=int(epochs),
                patience=int(patience),
                seed=int(seed),
                cache_stem=bool(cache_stem),
            ),
        )
    except ValueError as error:
        st.error(f"Cannot start: {error}")
        return
    if start:
        started = [jobs.start(config)]
        st.toast(f"Run {started[0].name} queued")
    elif sweep_alphas:
        started = jobs.sweep(config, sweep_alphas)
        st.toast(f"Sweep {started[0].sweep}: {len(started)} runs queued")
    else:
        st.error("Pick at least one alpha for the sweep.")
        return
    st.session_state["train_run_pick"] = started[0].name


def live_job(snapshot: RunSnapshot) -> None:
    """Progress, loss shares and curves of the run that is training now."""
    st.markdown(f"**{short_label(snapshot)}** · {snapshot.message}")
    if snapshot.phase and not snapshot.step:
        startup_progress(snapshot)
    else:
        time_text = f"{fmt_seconds(snapshot.elapsed)} elapsed"
        if snapshot.eta is not None:
            time_text += f" · about {fmt_seconds(snapshot.eta)} left (at most, with early stopping)"
        st.progress(
            snapshot.progress,
            text=f"step {snapshot.step}/{snapshot.total_steps or '?'} · epoch {snapshot.epoch} · "
            + time_text,
        )
    st.button("Stop", key="train_stop", type="primary", on_click=jobs.stop, args=(snapshot.name,))
    shares = snapshot.loss_shares
    if shares:
        alpha = snapshot.config.train.alpha
        total = shares["class"] + shares["box"]
        a, b, c = st.columns(3)
        a.metric(f"class part (1 − α)·CE, α = {alpha:.2f}", f"{shares['class']:.3f}")
        b.metric("box part α·box loss", f"{shares['box']:.3f}")
        c.metric(
            "box share of the loss (last batch)", f"{shares['box'] / total:.0%}" if total else "–"
        )
    live_strip(snapshot)
    if snapshot.sweep:
        members = jobs.sweeps().get(snapshot.sweep, [])
        sweep_panel(snapshot.sweep, members, "train_live_sweep")
    elif snapshot.history:
        curves(snapshot, "live")
    else:
        st.caption("The first curves appear after the first evaluation (end of epoch 1).")


def curves(snapshot: RunSnapshot, where: str) -> None:
    x = x_axis(snapshot)
    left, right = st.columns([3, 2])
    left.plotly_chart(
        chart_font(charts.loss_figure(snapshot.history, x)), key=f"{where}_loss_chart"
    )
    right.plotly_chart(
        chart_font(charts.metrics_figure(snapshot.history, x)), key=f"{where}_metrics_chart"
    )
    last = snapshot.history[-1]
    st.caption(
        f"Last evaluation: val mean IoU {last.get('mean_iou', 0):.3f} · accuracy "
        f"{last.get('accuracy', 0):.3f} · balanced accuracy {last.get('balanced_accuracy', 0):.3f}"
    )


def live_panel() -> None:
    """Job snapshots; as a fragment it reruns alone every POLL_SECONDS while something trains,
    and reruns the whole page once a job has ended (which also stops the polling)."""
    live = [job.snapshot() for job in jobs.live_jobs()]
    names = [s.name for s in live]
    watched = st.session_state.get("train_watching", [])
    st.session_state["train_watching"] = names
    if set(watched) - set(names):  # a job ended: refresh the whole page, stop polling if idle
        st.rerun(scope="app")
    if not live:
        st.info("Nothing is training. Start a run above; runs queue and train one at a time.")
        st.button("Refresh", key="train_refresh", help="Look for runs started by someone else")
        return
    running = [s for s in live if s.state == "running"]
    for snapshot in running:
        live_job(snapshot)
    if presenting():
        return
    queued = [s for s in live if s.state == "queued"]
    if queued:
        st.markdown("**Queued**")
        for snapshot in queued:
            left, right = st.columns([4, 1])
            left.markdown(
                f"{snapshot.name} · alpha {snapshot.config.train.alpha:.2f} · "
                f"#{snapshot.queue_position or '?'} in line"
            )
            right.button(
                "Cancel", key=f"cancel_{snapshot.name}", on_click=jobs.stop, args=(snapshot.name,)
            )


def run_details(snapshot: RunSnapshot) -> None:
    state_line = f"**{snapshot.state}**" + (f": {snapshot.message}" if snapshot.message else "")
    if snapshot.state == "failed":
        st.error(f"This run failed: {snapshot.message}")
    elif snapshot.active:
        st.markdown(f"**{snapshot.state}**: live progress above; this part updates when it ends.")
    else:
        st.markdown(state_line)
    if snapshot.best:
        cols = st.columns(4)
        for col, (key, label) in zip(cols, charts.SCORES, strict=True):
            value = snapshot.best.get(key)
            col.metric(f"best {label}", "–" if value is None else f"{value:.3f}")
    if snapshot.history and not snapshot.active:
        curves(snapshot, "detail")
    actions = st.columns(3)
    checkpoint = snapshot.checkpoint
    if checkpoint is None:
        actions[0].caption("No checkpoint (no evaluation finished).")
    else:
        actions[0].download_button(
            "Download best.pt",
            data=checkpoint.read_bytes,  # read only when clicked
            file_name=f"maskloc-{snapshot.name}.pt",
            mime="application/octet-stream",
            key="train_download",
            on_click="ignore",
        )
        is_active = jobs.active_checkpoint() == checkpoint.resolve()
        if actions[1].button(
            "Active model ✓" if is_active else "Use as the active model",
            key="train_activate",
            disabled=is_active,
            help="Predict and Webcam start with the active model (shared by everyone).",
        ):
            jobs.set_active(checkpoint)
            st.rerun()
    if snapshot.active:
        actions[2].caption("Stop the run before deleting it.")
    else:
        with actions[2].popover("Delete run"):
            st.markdown(f"Delete `{snapshot.name}` and its checkpoint for everyone?")
            if st.button("Delete for good", key="train_delete", type="primary"):
                jobs.delete(snapshot.name)
                st.session_state.pop("train_run_pick", None)
                st.rerun()
    with st.expander("Settings (config.json)"):
        st.code(json.dumps(snapshot.config.to_dict(), indent=2), language="json")


def runs_section() -> None:
    runs = jobs.runs()
    st.subheader("Runs")
    if not runs:
        st.info(f"No runs yet in `{jobs.root}`.")
        return
    by_name = {s.name: s for s in runs}
    st.dataframe(runs_table(runs), hide_index=True, key="train_runs_table")

    st.markdown("**Compare runs**")
    with_history = [s.name for s in runs if s.history]
    known = st.session_state.get("train_compare_options")
    if known != with_history:  # runs came or went: keep the choice, add runs new since then
        kept = [n for n in st.session_state.get("train_compare", []) if n in with_history]
        new = [n for n in with_history if known is not None and n not in known]
        newest_sweep = next((s.sweep for s in runs if s.sweep and s.history), None)
        whole_sweep = [s.name for s in runs if s.history and s.sweep == newest_sweep]
        st.session_state["train_compare"] = (new + kept) or (
            whole_sweep if newest_sweep else with_history[:3]
        )
        st.session_state["train_compare_options"] = with_history
    left, right = st.columns([3, 1])
    labels = {s.name: short_label(s) for s in runs}
    compare = left.multiselect(
        "Runs to overlay", with_history, key="train_compare", format_func=labels.get
    )
    metrics = list(charts.METRIC_LABELS)
    metric = right.selectbox(
        "Curve",
        metrics,
        index=metrics.index("mean_iou"),
        format_func=charts.METRIC_LABELS.get,
        key="train_overlay_metric",
    )
    if compare:
        histories = {labels[name]: by_name[name].history for name in compare if name in by_name}
        x = "step" if any(by_name[n].config.train.steps for n in compare) else "epoch"
        st.plotly_chart(charts.overlay_figure(histories, metric, x), key="train_overlay_chart")

    st.markdown("**One run**")
    if st.session_state.get("train_run_pick") not in by_name:
        st.session_state.pop("train_run_pick", None)
    pick = st.selectbox("Run", list(by_name), key="train_run_pick")
    run_details(by_name[pick])


def sweeps_section() -> None:
    """The sweeps on disk, newest first; the one training now is drawn live above instead."""
    sweeps = jobs.sweeps()
    live_sweeps = {job.sweep for job in jobs.live_jobs() if job.sweep}
    finished = {k: v for k, v in sweeps.items() if k not in live_sweeps}
    if not finished:
        return
    st.subheader("Alpha sweeps")
    if st.session_state.get("train_sweep_pick") not in finished:
        st.session_state.pop("train_sweep_pick", None)
    if len(finished) > 1 and not presenting():
        sweep_id = st.selectbox("Sweep", list(finished), key="train_sweep_pick")
    else:
        sweep_id = st.session_state.get("train_sweep_pick") or next(iter(finished))
    members = finished[sweep_id]
    sweep_panel(sweep_id, members, "train_sweep")
    if not presenting():
        with st.expander("The sweep as a table"):
            st.dataframe(sweep_table(members), hide_index=True, key="train_sweep_table")


title, switch = st.columns([3, 1], vertical_alignment="bottom")
title.title("Train")
with switch:
    present = present_toggle()
root = dataset_sidebar()
if not present:
    st.caption(
        f"Dataset: `{root}` · runs folder: `{jobs.root}` (shared by everyone using this app). "
        "The classroom preset trains a run in seconds on a 2-core CPU; its five-alpha sweep in "
        "about a minute."
    )
    settings_form(str(root))
st.subheader("Training now")
# A full run draws everything fresh: the fragment must only force a rerun for jobs that end
# between its own reruns (a forced rerun here would swallow the click that caused this run).
st.session_state["train_watching"] = [job.name for job in jobs.live_jobs()]
# Decorated here, after a click may have started a job, so polling starts in this very run.
st.fragment(live_panel, run_every=POLL_SECONDS if jobs.busy else None)()
sweeps_section()
if not present:
    runs_section()
