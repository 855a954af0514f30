"""Explore: the dataset's table, classes, image sizes, where the boxes sit, a grid, bad rows."""

import pandas as pd
import streamlit as st

from app_parts.dataset_chooser import dataset_or_stop
from app_parts.i18n import N_, error_text, library_text, t
from app_parts.importer import import_sidebar
from app_parts.widgets import page_of
from maskloc.data.images import ImageError, read_rgb
from maskloc.viz import charts, drawing

PER_PAGE = 24
HIDDEN_COLUMNS = ["path", "row"]
PROBLEM_HEADERS = [N_("file"), N_("row"), N_("field"), N_("reason")]

st.title(t("Explore the dataset"))
import_sidebar()
folder = dataset_or_stop()
train = folder.train.frame
test_rows = 0 if folder.test is None else len(folder.test.frame)

cols = st.columns(4)
cols[0].metric(t("training images"), len(train))
cols[1].metric(t("test images"), test_rows)
cols[2].metric(t("classes"), len(folder.class_names))
cols[3].metric(t("refused rows"), len(folder.problems))
st.caption(t("Folder: `{path}`").format(path=folder.root))

st.subheader(t("Table"))
st.dataframe(train.drop(columns=HIDDEN_COLUMNS, errors="ignore"), hide_index=True, height=260)

left, right = st.columns(2)
with left:
    tables = {"train": train}
    if folder.test_labels is not None:
        tables["test (labels)"] = folder.test_labels.frame
    st.plotly_chart(charts.class_counts_figure(tables, translate=t), key="explore_class_chart")
with right:
    st.plotly_chart(charts.image_size_figure(train, translate=t), key="explore_size_chart")

st.subheader(t("Boxes"))
geometry = charts.box_geometry(train)
st.plotly_chart(charts.box_figure(train, translate=t), key="explore_box_chart")
summary = geometry.groupby("class")[["cx", "cy", "w", "h", "area", "aspect"]].describe()
summary = summary.loc[:, (slice(None), ["mean", "std", "min", "max"])]
st.caption(
    t("Box centre (cx, cy), width and height as fractions of the image; aspect = width / height.")
)
st.dataframe(summary.round(3), key="explore_box_stats")

st.subheader(t("Images"))
controls = st.columns([3, 1])
classes = controls[0].multiselect(
    t("Classes"), folder.class_names, default=folder.class_names, key="explore_classes"
)
shown = train[train["class"].isin(classes)].reset_index(drop=True)
pictures, captions = [], []
for row in page_of(shown, PER_PAGE, controls[1], "explore_page").to_dict("records"):
    try:
        image = read_rgb(row["path"], draft=256)
    except ImageError as error:
        st.warning(error_text(error))
        continue
    sx, sy = image.shape[1] / row["width"], image.shape[0] / row["height"]  # draft shrinks
    box = (row["xmin"] * sx, row["ymin"] * sy, row["xmax"] * sx, row["ymax"] * sy)
    pictures.append(drawing.annotated_thumbnail(image, [drawing.truth_box(box, row["class"])], 220))
    captions.append(f"{row['filename']} · {row['class']}")
if pictures:
    st.caption(t("{n} images; ground-truth boxes in green.").format(n=len(shown)))
    st.image(pictures, caption=captions, width=200)
else:
    st.info(t("No image of the chosen classes."))

st.subheader(t("Refused rows"))
if folder.problems:
    st.warning(
        t("{n} rows cannot be used for training; each with the reason.").format(
            n=len(folder.problems)
        )
    )
    st.dataframe(
        pd.DataFrame(
            [(p.file, p.row, p.field, library_text(p.reason)) for p in folder.problems],
            columns=[t(header) for header in PROBLEM_HEADERS],
        ),
        hide_index=True,
        key="explore_problems",
    )
else:
    st.success(
        t("Every row passed the checks (file exists and decodes, 0 ≤ xmin < xmax ≤ width, ...).")
    )
