"""Home: what the app does, what is active (dataset, model, hardware), and where to go."""

import streamlit as st

from app_parts import access
from app_parts.dataset_chooser import data_root, load_folder
from app_parts.formatting import device_text
from app_parts.i18n import error_text, t
from app_parts.inputs import USER_ERRORS
from app_parts.jobs import cluster_backend, registry, training_place
from app_parts.model_chooser import (
    ModelChoice,
    describe_model,
    model_labels,
    model_options,
    predictor_for,
)
from app_parts.site import PAGES
from maskloc.config.paths import bundled_checkpoint

st.title(t("maskloc: mask or no mask, and where is the face?"))
st.markdown(
    t(
        "One image in, **one class** (`mask` / `no-mask`) and **one bounding box** out: "
        "single-object localization with PyTorch. Explore the data, play with augmentations and "
        "watch the boxes move, train a model and watch its loss and IoU curves, compare runs with "
        "different loss weights **alpha** (class loss vs box loss), inspect the errors, export a "
        "competition `submission.csv`, and try the model on your webcam."
    )
)

data_col, model_col, hw_col = st.columns(3)

with data_col:
    st.subheader(t("Dataset"))
    root = data_root()
    st.caption(f"`{root}`")
    try:
        folder = load_folder(root)
    except USER_ERRORS as error:
        st.error(t("Not usable: {error}").format(error=error_text(error)))
    else:
        counts = folder.train.frame["class"].value_counts()
        st.markdown(
            t("**{train}** training images ({classes}); **{test}** test images").format(
                train=len(folder.train.frame),
                classes=", ".join(f"{n} {name}" for name, n in counts.items()),
                test=0 if folder.test is None else len(folder.test.frame),
            )
        )
        if folder.problems:
            st.warning(t("{n} rows were refused: see Explore.").format(n=len(folder.problems)))

with model_col:
    st.subheader(t("Model"))
    options = model_options()
    if not options:
        st.warning(
            t(
                "No trained model yet (`{path}` is missing). Train one on the Train page, or "
                "upload a checkpoint on Predict."
            ).format(path=bundled_checkpoint())
        )
    else:
        label, path = next(iter(options.items()))
        try:
            st.markdown(
                f"**{model_labels()[label]}**  \n"
                + describe_model(ModelChoice(label, path, predictor_for(path)))
            )
        except USER_ERRORS as error:
            st.error(
                t("{label} cannot be loaded: {error}").format(
                    label=model_labels()[label], error=error_text(error)
                )
            )

with hw_col:
    st.subheader(t("Hardware"))
    st.markdown(device_text())
    live = registry().live_jobs()
    if live:
        st.info(t("{n} training run(s) queued or running.").format(n=len(live)))


def apply_scheduler() -> None:
    """Switch where new runs train (for every user of this server); keep the old place on error.
    On a shared server only the teacher may (checked again here: a stale page may still ask)."""
    jobs, address = registry(), st.session_state["home_scheduler"].strip()
    st.session_state.pop("home_scheduler_error", None)
    if not access.guarded_scheduler(address):
        st.session_state["home_scheduler"] = getattr(jobs.backend, "address", "")
        return
    if not address:
        jobs.backend = None
        return
    from maskloc.classroom.cluster import ClusterError

    backend = cluster_backend(address)
    try:
        backend.check_workers()  # connects and checks that workers can run maskloc
    except ClusterError as error:
        backend.close()
        st.session_state["home_scheduler_error"] = error  # shown in the language of the moment
        return
    jobs.backend = backend


access.teacher_sidebar()
with st.expander(t("Where training runs")):
    jobs = registry()
    st.markdown(training_place(jobs))
    if "home_scheduler" not in st.session_state:
        st.session_state["home_scheduler"] = getattr(jobs.backend, "address", "")
    allowed = access.may_change_for_everyone()
    if not allowed:
        st.caption(t("Only the teacher (passcode in the sidebar) can change this for everyone."))
    st.text_input(
        t("Dask scheduler"),
        key="home_scheduler",
        placeholder=t("tcp://host:8786 (empty: train on this server)"),
        help=t(
            "Send each new run to a Dask cluster (the runs of an alpha sweep train in parallel, "
            "one per GPU or worker thread). Applies to everyone using this server; runs already "
            "started stay where they are."
        ),
        disabled=not allowed,
    )
    st.button(
        t("Apply"), key="home_scheduler_apply", on_click=apply_scheduler, disabled=not allowed
    )
    if "home_scheduler_error" in st.session_state:
        st.error(
            t("Not switched: {error}").format(
                error=error_text(st.session_state["home_scheduler_error"])
            )
        )

st.divider()
st.subheader(t("Pages"))
for page in PAGES[1:]:
    left, right = st.columns([1, 4])
    left.page_link(page.path, label=t(page.title), icon=page.icon)
    right.markdown(t(page.what))
