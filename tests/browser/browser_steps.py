"""What every browser test module shares: its marks, one Chromium, and the waits that tell when
Streamlit has finished a script run. Screenshots go to artifacts/screenshots/."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from conftest import ROOT

from bench.browser import CHROMIUM, CHROMIUM_FLAGS

SHOTS = ROOT / "artifacts" / "screenshots"

# One worker runs the browser modules one after another: each starts its own server and Chromium,
# and two of them at once on two cores starve the sweep test.
BROWSER_MARKS = [pytest.mark.browser, pytest.mark.xdist_group("browser")]


def require_chromium() -> None:
    """Browser modules call this on import: skip without Chromium locally, but never under CI=true,
    where a silent skip would hide that the browser tests did not run."""
    if Path(CHROMIUM).exists():
        return
    if os.environ.get("CI") == "true":
        raise RuntimeError(f"browser tests need Chromium at {CHROMIUM} (apt-get install chromium)")
    pytest.skip("Chromium not installed (apt-get install chromium)", allow_module_level=True)


@contextmanager
def chromium() -> Iterator:
    """Debian's Chromium with the fake camera (Playwright's sync API: one driver per thread)."""
    from playwright.sync_api import sync_playwright

    SHOTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
        try:
            yield browser
        finally:
            browser.close()


def settle(page) -> None:
    """Wait until Streamlit has finished the current script run."""
    page.wait_for_function(
        '() => !document.querySelector(\'[data-testid="stStatusWidget"] [data-testid*="Running"]\')'
    )
    page.wait_for_timeout(500)


def no_exception(page) -> None:
    assert page.locator('[data-testid="stException"]').count() == 0, page.inner_text("body")[:3000]
