"""Helpers the AppTest page tests share: the app's entry point, opening a page, polling a page
whose work goes on in the background, reading what it shows, and a JPEG to upload."""

from __future__ import annotations

import io
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import streamlit as st
from PIL import Image
from streamlit.testing.v1 import AppTest

ROOT = Path(__file__).resolve().parents[1]
APP = str(ROOT / "app.py")
POLL_TIMEOUT = 150


@dataclass
class Env:
    data: Path
    runs: Path
    checkpoint: Path


def clear_caches() -> None:
    st.cache_resource.clear()
    st.cache_data.clear()


def open_page(page: str | None = None) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=90).run()
    assert not at.exception, at.exception
    if page:
        at.switch_page(page).run()
        assert not at.exception, at.exception
    return at


def poll(at: AppTest, until, timeout: float = POLL_TIMEOUT) -> AppTest:
    """AppTest does not fire run_every timers: rerun until `until(at)` holds."""
    deadline = time.monotonic() + timeout
    while True:
        at.run()
        assert not at.exception, at.exception
        if until(at):
            return at
        assert time.monotonic() < deadline, "timed out polling the app"
        time.sleep(0.3)


def texts(elements) -> list[str]:
    return [str(e.value) for e in elements]


def frame_with(at: AppTest, column: str) -> pd.DataFrame | None:
    for element in at.dataframe:
        if column in element.value.columns:
            return element.value
    return None


def jpeg(width: int = 96, height: int = 80) -> bytes:
    buffer = io.BytesIO()
    image = np.random.default_rng(1).integers(0, 255, (height, width, 3), dtype=np.uint8)
    Image.fromarray(image).save(buffer, "JPEG")
    return buffer.getvalue()


def fill_small_run(at: AppTest, epochs: int, batch_size: int = 8) -> None:
    at.selectbox(key="train_model").set_value("own_cnn")
    at.checkbox(key="train_pretrained").set_value(False)
    at.select_slider(key="train_image_size").set_value(64)
    at.select_slider(key="train_batch_size").set_value(batch_size)
    at.number_input(key="train_epochs").set_value(epochs)
    at.selectbox(key="train_augment").set_value("none")
    at.number_input(key="train_frozen_blocks").set_value(0)
    at.checkbox(key="train_cache_stem").set_value(False)


def run_states(at: AppTest) -> list[str]:
    table = frame_with(at, "state")
    return [] if table is None else table["state"].tolist()
