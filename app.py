"""maskloc app: the router. Run with `streamlit run app.py`; every page lives in pages/."""

import streamlit as st

st.set_page_config(page_title="maskloc", page_icon="😷", layout="wide")

PAGES = [
    st.Page("pages/home.py", title="Home", icon=":material/home:", default=True),
    st.Page("pages/explore.py", title="Explore", icon=":material/table_view:"),
    st.Page("pages/augment.py", title="Augment", icon=":material/auto_fix_high:"),
    st.Page("pages/train.py", title="Train", icon=":material/model_training:"),
    st.Page("pages/predict.py", title="Predict", icon=":material/center_focus_strong:"),
    st.Page("pages/webcam.py", title="Webcam", icon=":material/photo_camera:"),
]

st.navigation(PAGES).run()
