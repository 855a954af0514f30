"""Collect in a real browser: Chromium's fake camera takes a snapshot, the bundled model proposes
a box on the drawable canvas, a mouse drag draws the corrected box, Add writes the picture and
its row to disk, and the dataset is then chosen on Explore."""

from __future__ import annotations

import pandas as pd
import pytest
from browser_steps import BROWSER_MARKS, SHOTS, chromium, no_exception, require_chromium, settle

from bench.browser import start_app, stop_app

pytestmark = BROWSER_MARKS

require_chromium()


def test_snapshot_drag_add_then_explore(tmp_path, monkeypatch):
    user_data = tmp_path / "user"
    monkeypatch.setenv("MASKLOC_USER_DATA", str(user_data))
    server, url = start_app(tmp_path / "runs")
    try:
        with chromium() as browser:
            context = browser.new_context(viewport={"width": 1400, "height": 1100})
            context.grant_permissions(["camera"])
            page = context.new_page()
            page.set_default_timeout(90_000)
            page.goto(f"{url}/collect")
            page.get_by_role("heading", name="Collect").first.wait_for()
            take = page.get_by_role("button", name="Take Photo")
            take.wait_for()
            page.wait_for_timeout(1500)  # let the fake camera deliver frames
            take.click()
            page.get_by_text("Proposed:").first.wait_for()
            proposed = page.get_by_text("box: x").first.inner_text()
            canvas = page.locator("canvas").last
            canvas.wait_for()
            settle(page)
            canvas.scroll_into_view_if_needed()
            page.wait_for_timeout(300)
            area = canvas.bounding_box()
            assert area is not None and area["width"] > 100
            # draw the corrected box: 20%..60% across, 30%..90% down the shown picture
            page.mouse.move(area["x"] + 0.2 * area["width"], area["y"] + 0.3 * area["height"])
            page.mouse.down()
            page.mouse.move(
                area["x"] + 0.6 * area["width"], area["y"] + 0.9 * area["height"], steps=8
            )
            page.mouse.up()
            page.wait_for_function(
                "old => [...document.querySelectorAll('p, span, div')].some("
                "e => e.innerText && e.innerText.startsWith('box: x') && e.innerText !== old)",
                arg=proposed,
            )
            settle(page)
            page.screenshot(path=str(SHOTS / "collect.png"))
            page.get_by_role("button", name="Add", exact=True).click()
            page.get_by_text("Added shot-").first.wait_for()
            no_exception(page)

            rows = pd.read_csv(user_data / "my-faces" / "train.csv")
            assert len(rows) == 1
            row = rows.iloc[0]
            assert (user_data / "my-faces" / "images" / row.filename).is_file()
            from PIL import Image

            width, height = Image.open(user_data / "my-faces" / "images" / row.filename).size
            drawn = [0.2 * width, 0.3 * height, 0.6 * width, 0.9 * height]
            saved = [row.xmin, row.ymin, row.xmax, row.ymax]
            assert saved == pytest.approx(drawn, abs=0.03 * width), (saved, drawn)

            page.goto(f"{url}/explore")
            page.get_by_role("heading", name="Explore").first.wait_for()
            settle(page)
            page.get_by_text("…or one of your datasets").wait_for()
            page.locator('[data-testid="stSidebar"] [data-testid="stSelectbox"]').last.click()
            page.get_by_role("option", name="my-faces").click()
            page.get_by_text(str(user_data / "my-faces")).first.wait_for()
            settle(page)
            no_exception(page)
            metric = page.locator('[data-testid="stMetricValue"]').first.inner_text()
            assert metric.strip() == "1"
    finally:
        stop_app(server)
