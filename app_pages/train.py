"""Train: settings -> a background training job; live curves while it runs; every run on disk
listed, compared and downloadable; alpha sweeps. The training thread never calls st.*: this page
draws job snapshots, polling only while a job runs."""

import json

import streamlit as st

from app_parts import access
from app_parts.dataset_chooser import dataset_sidebar, load_folder
from app_parts.formatting import fmt_seconds
from app_parts.i18n import N_, error_text, library_text, number, t
from app_parts.inputs import USER_ERRORS
from app_parts.jobs import registry, training_place
from app_parts.model_chooser import starting_point_labels, starting_points
from app_parts.shared_answers import onnx_download_bytes
from app_parts.train_live import (
    chart_font,
    decimal_text,
    live_strip,
    present_toggle,
    presenting,
    short_label,
    startup_progress,
    sweep_panel,
)
from maskloc.classroom.jobs import RunSnapshot
from maskloc.classroom.run_tables import runs_table, sweep_table
from maskloc.config.catalogue import PAGE_GROUPS
from maskloc.config.presets import PRESETS, SWEEP_ALPHAS, default_pretrained, override, preset
from maskloc.config.sections import RunConfig
from maskloc.config.settings import SETTINGS, Setting, SettingError
from maskloc.data.table import DataError
from maskloc.inference.onnx_export import export_available
from maskloc.training.preflight import preflight
from maskloc.utils.metrics import SCORE_LABELS
from maskloc.viz import charts

POLL_SECONDS = 2.0
ALPHAS = sorted({0.1, 0.3, 0.4, 0.55, 0.7, 0.85, 0.9, 0.95, *SWEEP_ALPHAS})
FIRST_PRESET = "classroom"
PAGE_SETTINGS = [s for s in SETTINGS.values() if s.label]  # the rest: CLI only
COLUMN_NAMES = {  # the run tables' headers (the frames keep their English column names)
    "run": N_("run"),
    "state": N_("state"),
    "model": N_("model"),
    "pretrained": N_("pretrained"),
    "size": N_("size"),
    "alpha": N_("alpha"),
    "epochs": N_("epochs"),
    "sweep": N_("sweep"),
    "started": N_("started"),
    "class_share": N_("class share"),
    "box_share": N_("box share"),
    **SCORE_LABELS,
}

jobs = registry()


def x_axis(snapshot: RunSnapshot) -> str:
    return "step" if snapshot.config.train.steps else "epoch"


def _form_values(config: RunConfig) -> dict:
    """Session-state values of the form's widgets for a config."""
    return {s.key: getattr(getattr(config, s.section), s.name) for s in PAGE_SETTINGS}


def _apply_preset() -> None:
    st.session_state.update(_form_values(preset(st.session_state["train_preset"])))


def _model_changed() -> None:
    """A newly picked model takes its own pretraining default (ImageNet, except own_cnn); where
    the weights are not on this machine, Start says so and how to do without them."""
    name = st.session_state[SETTINGS["model.name"].key]
    st.session_state[SETTINGS["model.pretrained"].key] = default_pretrained(name)


def setting_help(setting: Setting) -> str:
    """The setting's help and, for a choice, what each value means: the short label and the
    bare value fit a narrow column (1024 px with the sidebar open), the detail is one hover away."""
    text = t(setting.help)
    described = {value: about for value, about in setting.choice_help().items() if about}
    if described:
        text += "\n\n" + "\n".join(f"- **{v}**: {t(about)}" for v, about in described.items())
    return text


def setting_widget(container, setting: Setting) -> None:
    """The control a setting's declaration asks for. Numbers have no min/max here: a bad value
    is refused on Start with a message naming the control (not a silently red field)."""
    label = t(setting.label)
    common = {"key": setting.key, "help": setting_help(setting)}
    if setting.kind is bool:
        container.checkbox(label, **common)
    elif setting.choices is not None:
        container.selectbox(
            label,
            list(setting.choice_help()),
            format_func=str,
            on_change=_model_changed if setting.path == "model.name" else None,
            **common,
        )
    elif setting.options:
        container.select_slider(
            label, setting.options, format_func=lambda v: decimal_text(v, "g"), **common
        )
    elif setting.step and setting.low is not None and setting.high is not None:
        container.slider(label, setting.low, setting.high, step=setting.step, **common)
    elif setting.kind is int:
        container.number_input(label, value=None, step=1, **common)
    else:
        container.number_input(label, value=None, format="%g", step=0.01, **common)


def form_config(root: str) -> RunConfig:
    """The chosen preset with every control's value: SettingError names a bad one."""
    changes = {s.path: st.session_state.get(s.key) for s in PAGE_SETTINGS}
    changes["train.init_from"] = starting_points().get(st.session_state.get("train_start_from"), "")
    return override(preset(st.session_state["train_preset"]), {**changes, "data.root": root})


def refuse(message: str) -> None:
    st.error(t("Not started: {reason}").format(reason=message), icon=":material/block:")


def settings_form(root: str) -> None:
    """The run settings; only the Start buttons start work (a run, or an alpha sweep), and only
    after the settings, the weights and the dataset have passed every check. The preset, the
    starting point and the Start buttons come first, so they are on the first screen at 1024x768;
    every setting follows below them (the buttons read the values the controls hold)."""
    if SETTINGS["model.name"].key not in st.session_state:
        st.session_state["train_preset"] = FIRST_PRESET
        st.session_state.update(_form_values(preset(FIRST_PRESET)))
    chosen, start_from = st.columns(2)
    chosen.selectbox(
        t("Preset"),
        list(PRESETS),
        key="train_preset",
        on_change=_apply_preset,
        help=t("Fills the settings below; change any of them after.")
        + "\n\n"
        + "\n".join(f"- **{name}**: {t(p.description)}" for name, p in PRESETS.items()),
    )
    start_from.selectbox(
        t("Start from"),
        list(starting_points()),
        key="train_start_from",
        format_func=starting_point_labels().get,
        help=t(
            "A trained model keeps its architecture, image size, normalisation and classes "
            "(model, size and pretraining below are then ignored); pair it with the finetune "
            "preset."
        ),
    )
    st.caption(t(PRESETS[st.session_state["train_preset"]].description))
    left, middle, right = st.columns([1.3, 2, 1.3], vertical_alignment="bottom")
    start = left.button("▶ " + t("Start training"), type="primary", key="train_start")
    sweep_alphas = middle.multiselect(
        t("Sweep alphas"),
        ALPHAS,
        default=list(SWEEP_ALPHAS),
        key="train_sweep_alphas",
        format_func=lambda a: decimal_text(a, "g"),
        help=t("The alpha sweep: one run per alpha, the same settings otherwise."),
    )
    sweep = right.button(t("Start alpha sweep"), key="train_sweep")
    with st.container():  # refusals and what started, next to the buttons
        if start or sweep:
            start_work(root, start, sweep_alphas if sweep else None)
    columns = dict(zip(PAGE_GROUPS, st.columns(len(PAGE_GROUPS)), strict=True))
    for group, column in columns.items():
        column.markdown(f"**{t(group)}**")
    for setting in PAGE_SETTINGS:
        if setting.group:
            setting_widget(columns[setting.group], setting)
    with st.expander(t("More settings")):
        more = [s for s in PAGE_SETTINGS if not s.group]
        cells = st.columns(3)
        for index, setting in enumerate(more):
            setting_widget(cells[index % 3], setting)


def start_work(root: str, start: bool, sweep_alphas: list[float] | None) -> None:
    """Start a run (or a sweep when `sweep_alphas` is given) after every check has passed."""
    if sweep_alphas is not None and not sweep_alphas:
        refuse(t("pick at least one alpha for the sweep."))
        return
    try:
        config = form_config(root)
        check = preflight(config, load=load_folder)  # the dataset as read once per version
    except SettingError as error:
        refuse(error.for_page(t) + ".")
        return
    except DataError as error:
        refuse(
            t(
                "{error}. Pick a usable dataset folder in the sidebar (Explore shows its rows)."
            ).format(error=error_text(error))
        )
        return
    except USER_ERRORS as error:
        refuse(error_text(error))
        return
    for warning in check.warnings:
        st.warning(library_text(warning))
    waiting = len(jobs.live_jobs())
    if start:
        started = [jobs.start(config)]
        if jobs.backend is not None:  # a cluster trains runs side by side
            toast = t("Run {name} sent to the Dask cluster")
        elif waiting:
            toast = t("Run {name} queued behind {waiting} run(s)")
        else:
            toast = t("Run {name} started")
    else:
        started = jobs.sweep(config, sweep_alphas or [])
        if jobs.backend is not None:
            toast = t("Sweep {sweep}: {count} runs sent to the Dask cluster")
        elif waiting:
            toast = t("Sweep {sweep}: {count} runs, the first queued behind {waiting} run(s)")
        else:
            toast = t("Sweep {sweep}: {count} runs, the first started")
    st.toast(
        toast.format(
            name=started[0].name, sweep=started[0].sweep, count=len(started), waiting=waiting
        )
    )
    for job in started:
        access.claim(job.run.path)
    st.caption(t("Classes found: {classes}").format(classes=check.split.classes_text(t)))
    st.session_state["train_run_pick"] = started[0].name


def live_job(snapshot: RunSnapshot, key_suffix: str = "") -> None:
    """Progress, loss shares and curves of a run that is training now (several train at once
    on a cluster: each gets its own widget keys)."""
    st.markdown(f"**{short_label(snapshot)}** · {library_text(snapshot.message)}")
    if snapshot.phase and not snapshot.step:
        startup_progress(snapshot)
    else:
        parts = [
            t("step {step}/{total} · epoch {epoch}").format(
                step=snapshot.step, total=snapshot.total_steps or "?", epoch=snapshot.epoch
            ),
            t("{time} elapsed").format(time=fmt_seconds(snapshot.elapsed)),
        ]
        if snapshot.eta is not None:
            parts.append(
                t("about {time} left (at most, with early stopping)").format(
                    time=fmt_seconds(snapshot.eta)
                )
            )
        st.progress(snapshot.progress, text=" · ".join(parts))
    if presenting():  # a projector: the charts and the moving boxes, nothing to operate
        live_pictures(snapshot, key_suffix)
        return
    allowed = access.may_control(snapshot.path)
    st.button(
        t("Stop"),
        key=f"train_stop{key_suffix}",
        type="primary",
        on_click=access.guarded_stop,
        args=(snapshot.name,),
        disabled=not allowed,
        help=None
        if allowed
        else t("Started by another session: only it or the teacher may stop it"),
    )
    shares = snapshot.loss_shares
    if shares:
        alpha = snapshot.config.train.alpha
        total = shares["class"] + shares["box"]
        a, b, c = st.columns(3)
        a.metric(
            t("class part (1 − α)·CE, α = {alpha}").format(alpha=number(alpha, 2)),
            number(shares["class"], 3),
        )
        b.metric(t("box part α·box loss"), number(shares["box"], 3))
        c.metric(
            t("box share of the loss (last batch)"),
            f"{shares['box'] / total:.0%}" if total else "–",
        )
    live_pictures(snapshot, key_suffix)


def live_pictures(snapshot: RunSnapshot, key_suffix: str = "") -> None:
    """A sweep's charts first (the result the room waits for), then the moving boxes; a single
    run's moving boxes, then its curves."""
    if snapshot.sweep:
        members = jobs.sweeps().get(snapshot.sweep, [])
        sweep_panel(snapshot.sweep, members, f"train_live_sweep{key_suffix}")
        live_strip(snapshot)
        return
    live_strip(snapshot)
    if snapshot.history:
        curves(snapshot, f"live{key_suffix}")
    else:
        st.caption(t("The first curves appear after the first evaluation (end of epoch 1)."))


def curves(snapshot: RunSnapshot, where: str) -> None:
    x = x_axis(snapshot)
    left, right = st.columns([3, 2])
    left.plotly_chart(
        chart_font(charts.loss_figure(snapshot.history, x, translate=t)),
        key=f"{where}_loss_chart",
    )
    right.plotly_chart(
        chart_font(charts.metrics_figure(snapshot.history, x, translate=t)),
        key=f"{where}_metrics_chart",
    )
    last = snapshot.history[-1]
    st.caption(
        t(
            "Last evaluation: val mean IoU {iou} · accuracy {accuracy} · balanced accuracy "
            "{balanced}"
        ).format(
            iou=number(last.get("mean_iou", 0)),
            accuracy=number(last.get("accuracy", 0)),
            balanced=number(last.get("balanced_accuracy", 0)),
        )
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
        if presenting():
            return
        st.info(t("Nothing is training. Start a run above.") + " " + training_place(jobs))
        st.button(
            t("Refresh"), key="train_refresh", help=t("Look for runs started by someone else")
        )
        return
    running = [s for s in live if s.state == "running"]
    for i, snapshot in enumerate(running):
        live_job(snapshot, "" if i == 0 else f"_{snapshot.name}")
    if presenting():
        return
    queued = [s for s in live if s.state == "queued"]
    if queued:
        st.markdown(f"**{t('Queued')}**")
        for snapshot in queued:
            left, right = st.columns([4, 1])
            where = (
                t("#{position} in line").format(position=snapshot.queue_position)
                if snapshot.queue_position
                else library_text(snapshot.message)
            )
            left.markdown(
                t("{name} · alpha {alpha} · {where}").format(
                    name=snapshot.name, alpha=number(snapshot.config.train.alpha, 2), where=where
                )
            )
            right.button(
                t("Cancel"),
                key=f"cancel_{snapshot.name}",
                on_click=access.guarded_stop,
                args=(snapshot.name,),
                disabled=not access.may_control(snapshot.path),
            )


def run_details(snapshot: RunSnapshot) -> None:
    state = t(snapshot.state)
    if snapshot.state == "failed":
        st.error(t("This run failed: {reason}").format(reason=library_text(snapshot.message)))
    elif snapshot.active:
        st.markdown(f"**{state}**: " + t("live progress above; this part updates when it ends."))
    else:
        message = library_text(snapshot.message)
        st.markdown(f"**{state}**" + (f": {message}" if message else ""))
    if snapshot.best:
        cols = st.columns(4)
        for col, (key, label) in zip(cols, charts.SCORES, strict=True):
            value = snapshot.best.get(key)
            col.metric(
                t("best {score}").format(score=t(label)), "–" if value is None else number(value)
            )
    if snapshot.history and not snapshot.active:
        curves(snapshot, "detail")
    actions = st.columns(3)
    checkpoint = snapshot.checkpoint
    if checkpoint is None:
        actions[0].caption(t("No checkpoint (no evaluation finished)."))
    else:
        actions[0].download_button(
            t("Download best.pt"),
            data=checkpoint.read_bytes,  # read only when clicked
            file_name=f"maskloc-{snapshot.name}.pt",
            mime="application/octet-stream",
            key="train_download",
            on_click="ignore",
        )
        if export_available():
            actions[0].download_button(
                t("Download as ONNX"),
                data=lambda: onnx_download_bytes(checkpoint),  # exported once, when clicked
                file_name=f"maskloc-{snapshot.name}.onnx",
                mime="application/octet-stream",
                key="train_onnx_download",
                on_click="ignore",
                help=t("For ONNX Runtime and other runtimes: see the README's ONNX contract"),
            )
        activate_buttons(actions[1], checkpoint)
    if snapshot.active:
        actions[2].caption(t("Stop the run before deleting it."))
    elif not access.may_control(snapshot.path):
        actions[2].caption(t("Started by another session: only it or the teacher may delete it."))
    else:
        with actions[2].popover(t("Delete run")):
            st.markdown(
                t("Delete `{name}` and its checkpoint for everyone?").format(name=snapshot.name)
            )
            if st.button(t("Delete for good"), key="train_delete", type="primary"):
                if access.guarded_delete(snapshot.name):
                    st.session_state.pop("train_run_pick", None)
                st.rerun()
    with st.expander(t("Settings (config.json)")):
        st.code(json.dumps(snapshot.config.to_dict(), indent=2), language="json")


def activate_buttons(column, checkpoint) -> None:
    """Single-user app: one "active model" for everyone, as before. On a classroom server
    (teacher passcode set) a student's choice applies to their own session only."""
    is_active = jobs.active_checkpoint() == checkpoint.resolve()
    if not access.policy().enforced:
        if column.button(
            t("Active model ✓") if is_active else t("Use as the active model"),
            key="train_activate",
            disabled=is_active,
            help=t("Predict and Webcam start with the active model (shared by everyone)."),
        ):
            access.guarded_activate(checkpoint)
            st.rerun()
        return
    mine = st.session_state.get(access.SESSION_MODEL_KEY) == str(checkpoint.resolve())
    if column.button(
        t("Your model ✓") if mine else t("Use in my session"),
        key="train_use_mine",
        disabled=mine,
        help=t("Predict and Webcam start with this model, for you only."),
    ):
        access.use_in_session(checkpoint)
        st.rerun()
    if column.button(
        t("Active for everyone ✓") if is_active else t("Make active for everyone"),
        key="train_activate",
        disabled=is_active or not access.may_change_for_everyone(),
        help=t("Teacher only: the model every session starts with."),
    ):
        access.guarded_activate(checkpoint)
        st.rerun()


def runs_section() -> None:
    runs = jobs.runs()
    st.subheader(t("Runs"))
    if not runs:
        st.info(t("No runs yet in `{folder}`.").format(folder=jobs.root))
        return
    by_name = {s.name: s for s in runs}
    show_table(runs_table(runs, t), "train_runs_table")

    st.markdown(f"**{t('Compare runs')}**")
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
        t("Runs to overlay"), with_history, key="train_compare", format_func=labels.get
    )
    metrics = list(charts.METRIC_LABELS)
    metric = right.selectbox(
        t("Curve"),
        metrics,
        index=metrics.index("mean_iou"),
        format_func=lambda key: t(charts.METRIC_LABELS[key]),
        key="train_overlay_metric",
    )
    if compare:
        histories = {labels[name]: by_name[name].history for name in compare if name in by_name}
        x = "step" if any(by_name[n].config.train.steps for n in compare) else "epoch"
        st.plotly_chart(
            charts.overlay_figure(histories, metric, x, translate=t), key="train_overlay_chart"
        )

    st.markdown(f"**{t('One run')}**")
    if st.session_state.get("train_run_pick") not in by_name:
        st.session_state.pop("train_run_pick", None)
    pick = st.selectbox(t("Run"), list(by_name), key="train_run_pick")
    run_details(by_name[pick])


def show_table(table, key: str) -> None:
    """A run table with its headers, states and numbers in the page's language; the frame itself
    keeps its English column names and values (as written to CSV)."""
    shown = table.copy()
    if "state" in shown:
        shown["state"] = shown["state"].map(t)
    if decimal_text(0.5) != "0.5":  # a decimal comma: the numbers as text, written the same way
        for column in shown.columns:
            if shown[column].dtype.kind == "f":
                spec = "g" if column == "alpha" else ".3f"
                shown[column] = shown[column].map(
                    lambda v, spec=spec: "–" if v != v else decimal_text(v, spec)
                )
            elif column in SCORE_LABELS:  # already text: "0.734" or "–"
                shown[column] = shown[column].map(decimal_text)
    config = {c: st.column_config.Column(t(COLUMN_NAMES.get(c, c))) for c in shown.columns}
    st.dataframe(shown, hide_index=True, key=key, column_config=config)


def sweeps_section() -> None:
    """The sweeps on disk, newest first; the one training now is drawn live above instead."""
    sweeps = jobs.sweeps()
    live_sweeps = {job.sweep for job in jobs.live_jobs() if job.sweep}
    finished = {k: v for k, v in sweeps.items() if k not in live_sweeps}
    if not finished:
        return
    st.subheader(t("Alpha sweeps"))
    if st.session_state.get("train_sweep_pick") not in finished:
        st.session_state.pop("train_sweep_pick", None)
    if len(finished) > 1 and not presenting():
        sweep_id = st.selectbox(t("Sweep"), list(finished), key="train_sweep_pick")
    else:
        sweep_id = st.session_state.get("train_sweep_pick") or next(iter(finished))
    members = finished[sweep_id]
    sweep_panel(sweep_id, members, "train_sweep")
    if not presenting():
        with st.expander(t("The sweep as a table")):
            show_table(sweep_table(members), "train_sweep_table")


title, switch = st.columns([3, 2], vertical_alignment="bottom")  # the switch label uncut at 1024 px
title.title(t("Train"))
with switch:
    present = present_toggle()
root = dataset_sidebar()
access.teacher_sidebar()
if not present:
    st.caption(
        t(
            "Dataset: `{dataset}` · runs folder: `{runs}` (shared by everyone using this app). "
            "The classroom preset trains a run in seconds on a 2-core CPU; its five-alpha sweep "
            "in about a minute."
        ).format(dataset=root, runs=jobs.root)
    )
    settings_form(str(root))
if not present or jobs.busy:
    st.subheader(t("Training now"))
# A full run draws everything fresh: the fragment must only force a rerun for jobs that end
# between its own reruns (a forced rerun here would swallow the click that caused this run).
st.session_state["train_watching"] = [job.name for job in jobs.live_jobs()]
# Decorated here, after a click may have started a job, so polling starts in this very run.
st.fragment(live_panel, run_every=POLL_SECONDS if jobs.busy else None)()
sweeps_section()
if not present:
    runs_section()
