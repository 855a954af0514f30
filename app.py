"""maskloc app: the router. Run with `streamlit run app.py`; the pages live in app_pages/."""

import streamlit as st

from app_parts.i18n import language_selector, t
from app_parts.site import PAGES

st.set_page_config(page_title="maskloc", page_icon="😷", layout="wide")
language_selector()
st.navigation(
    [st.Page(p.path, title=t(p.title), icon=p.icon, default=i == 0) for i, p in enumerate(PAGES)]
).run()
