"""Widgets more than one page shows, declared once: a paged slice of a table and a model's class
probabilities as bars."""

from __future__ import annotations

from collections.abc import Mapping

import pandas as pd
import streamlit as st
from streamlit.delta_generator import DeltaGenerator

from app_parts.i18n import percent, t


def page_of(rows: pd.DataFrame, per_page: int, where: DeltaGenerator, key: str) -> pd.DataFrame:
    """The rows of the page picked in a "Page (of N)" box drawn in `where` (a column)."""
    pages = max(1, -(-len(rows) // per_page))
    page = where.number_input(
        t("Page (of {pages})").format(pages=pages),
        min_value=1,
        max_value=pages,
        value=1,
        step=1,
        key=key,
    )
    start = (int(min(page, pages)) - 1) * per_page  # a page number kept from a longer table
    return rows.iloc[start : start + per_page]


def probability_bars(probabilities: Mapping[str, float]) -> None:
    """One bar per class, most likely first, with its percentage."""
    for name, probability in sorted(probabilities.items(), key=lambda kv: -kv[1]):
        st.progress(probability, text=f"{name}: {percent(probability, 1)}")
