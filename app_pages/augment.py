"""Augment: try albumentations transforms on one image and watch its box move, loosen or drop;
export augmented copies of the dataset as a zip in the competition layout."""

import io
import random

import pandas as pd
import streamlit as st

from app_parts.dataset_chooser import dataset_or_stop
from app_parts.i18n import error_text, number, t
from maskloc.data.augment import augment_sample, describe_applied
from maskloc.data.augment_export import export_augmented
from maskloc.data.images import ImageError, read_rgb
from maskloc.data.transforms import CATALOGUE, NOTEBOOK_AUGMENTATIONS, Param, TransformSpec
from maskloc.viz import drawing

COLUMNS = 5


def param_widget(spec: TransformSpec, param: Param):
    """One widget for one catalogue parameter: a slider, or a range slider for (low, high)."""
    cast = int if param.integer else float
    value = tuple(map(cast, param.default)) if param.pair else cast(param.default)
    return st.slider(
        param.name,
        min_value=cast(param.low),
        max_value=cast(param.high),
        value=value,
        step=cast(param.step),
        help=param.help,
        key=f"aug_{spec.name}_{param.name}",
    )


def transform_settings(spec: TransformSpec) -> tuple[float, dict]:
    """Probability and parameter values for one chosen transform, from its expander."""
    with st.expander(spec.name, expanded=spec.name == "Rotate"):
        st.caption(spec.note)
        p = st.slider(t("probability p"), 0.0, 1.0, spec.default_p, 0.05, key=f"aug_{spec.name}_p")
        values = {param.name: param_widget(spec, param) for param in spec.params}
    return p, values


def pick_random_image(names: list[str]) -> None:
    st.session_state["augment_image"] = random.choice(names)


def show_rotation() -> None:
    """One click for the classroom: only Rotate, always applied, so every version shows how the
    axis-aligned box loosens around the turned face."""
    st.session_state["augment_transforms"] = ["Rotate"]
    st.session_state["augment_force"] = True
    st.session_state["augment_count"] = 4


def reroll() -> None:
    st.session_state["augment_seed"] = int(st.session_state.get("augment_seed", 0)) + 1


st.title(t("Augmentation playground"))
st.markdown(
    t(
        "Augmentations must move the **box** with the image. Flips, shifts and zooms keep it "
        "tight; a rotation cannot: the yellow outline is where the face region really went, the "
        "green box is the axis-aligned box training would get."
    )
)
folder = dataset_or_stop()
frame = folder.train.frame
names = frame["filename"].tolist()

with st.sidebar:
    st.subheader(t("Transforms"))
    chosen = st.multiselect(
        t("Pick transforms (applied in this order)"),
        list(CATALOGUE),
        default=list(NOTEBOOK_AUGMENTATIONS),
        key="augment_transforms",
    )
    settings = {name: transform_settings(CATALOGUE[name]) for name in chosen}

top = st.columns([3, 1, 1], vertical_alignment="bottom")  # readable at 1024 px wide
name = top[0].selectbox(t("Image"), names, key="augment_image")
count = top[1].number_input(t("Versions"), 1, 12, 4, key="augment_count")
seed = top[2].number_input(t("Seed"), 0, 10**6, 0, key="augment_seed")
buttons = st.columns([1, 1, 1.6])  # the longest label uncut at 1024 px
buttons[0].button(
    t("Random image"),
    key="augment_random",
    on_click=pick_random_image,
    args=(names,),
    width="stretch",
)
buttons[1].button(t("New random draw"), key="augment_reroll", on_click=reroll, width="stretch")
buttons[2].button(
    t("Show why rotation is dropped"),
    key="augment_show_rotation",
    on_click=show_rotation,
    help=t("Only Rotate, applied to every version: watch the box loosen."),
    width="stretch",
)
force = st.toggle(
    t("Apply every chosen transform (p = 1) to see what each does"),
    value=False,
    key="augment_force",
)

row = frame[frame["filename"] == name].iloc[0]
try:
    image = read_rgb(row["path"])
except ImageError as error:
    st.error(error_text(error))
    st.stop()
height, width = image.shape[:2]
box = [row["xmin"] / width, row["ymin"] / height, row["xmax"] / width, row["ymax"] / height]
transforms = [
    CATALOGUE[n].create(p=1.0 if force else p, **values) for n, (p, values) in settings.items()
]

samples = [augment_sample(image, box, transforms, int(seed) + i) for i in range(int(count))]
problems = [s for s in samples if not s.check.ok]
if problems:
    kinds = sorted({issue for s in problems for issue in s.check.issues})
    st.warning(
        t(
            "{n} of {total} versions have a box problem ({kinds}): see the notes under the images."
        ).format(n=len(problems), total=len(samples), kinds=", ".join(kinds))
    )

cells = [(t("original · {cls}").format(cls=row["class"]), image, box, None, None)] + [
    (t("version {n}").format(n=i + 1), s.image, s.box, s, s.region) for i, s in enumerate(samples)
]
for start in range(0, len(cells), COLUMNS):
    for column, (title, picture, b, sample, region) in zip(
        st.columns(COLUMNS), cells[start : start + COLUMNS], strict=False
    ):
        with column:
            h, w = picture.shape[:2]
            boxes = (
                [] if b is None else [drawing.truth_box((b[0] * w, b[1] * h, b[2] * w, b[3] * h))]
            )
            regions = [] if region is None else [region]
            st.image(drawing.annotated_thumbnail(picture, boxes, 320, regions), caption=title)
            if sample is None:
                continue
            for message in sample.check.messages:
                st.warning(message)

# The random values in one full-width table (a fifth of the page was too narrow to read them).
applied_tables = []
for i, sample in enumerate(samples, start=1):
    applied = describe_applied(sample.applied)
    applied.insert(0, "version", i)
    applied_tables.append(applied)
with st.expander(t("The random values each version got"), expanded=False):
    table = pd.concat(applied_tables, ignore_index=True) if applied_tables else None
    if table is None or table.empty:
        st.caption(t("No transform fired this time."))
    else:
        st.dataframe(table, hide_index=True, width="stretch", key="augment_applied")

st.divider()
st.subheader(t("Export augmented copies (offline augmentation)"))
st.markdown(
    t(
        "Writes every valid training image plus augmented copies with moved boxes, and the test "
        "files unchanged, as a zip in the competition layout. Copies keep their original's "
        "`source`, so a grouped train/val split never separates an image from its copies. Uses "
        "the transforms and probabilities above."
    )
    + (" " + t("The p = 1 switch is ignored.") if force else "")
)
if "Rotate" in chosen:
    st.warning(t("Rotate is chosen: its boxes will be loose (see above)."))
export_cols = st.columns([1, 1, 2], vertical_alignment="bottom")
copies = export_cols[0].number_input(t("Copies per image"), 1, 5, 1, key="export_copies")
include_test = export_cols[1].checkbox(t("Include test files"), value=True, key="export_test")
if export_cols[2].button(t("Build zip"), key="export_build", disabled=not chosen):
    export_transforms = [CATALOGUE[n].create(p=p, **values) for n, (p, values) in settings.items()]
    bar = st.progress(0.0, text=t("Augmenting…"))
    buffer = io.BytesIO()
    dataset_name = f"{folder.root.name}-augmented"
    report = export_augmented(
        folder,
        export_transforms,
        int(copies),
        buffer,
        seed=int(seed),
        name=dataset_name,
        include_test=include_test,
        progress=lambda done, total: bar.progress(
            done / total, text=t("Augmenting {done}/{total}").format(done=done, total=total)
        ),
    )
    bar.empty()
    st.session_state["export_zip"] = (f"{dataset_name}.zip", buffer.getvalue(), str(report))
if "export_zip" in st.session_state:
    file_name, data, report = st.session_state["export_zip"]
    st.success(t("Ready: {report}.").format(report=report))
    st.download_button(
        t("Download {name} ({size} MB)").format(name=file_name, size=number(len(data) / 2**20, 1)),
        data=data,
        file_name=file_name,
        mime="application/zip",
        key="export_download",
        on_click="ignore",
    )
