"""Many users at once: one real `streamlit run app.py` server on localhost and N concurrent
browser sessions (Chromium tabs with separate contexts, driven by Playwright) through the Webcam
path (fake camera snapshot -> drawn prediction) and the Predict path (score a split), for several
rounds. Prints successes, p50/p95 latency per path, and the server's resident memory before and
after each round: the model is loaded once per process, so memory must stay flat across rounds.

Every session's first request is `/` (the router, as a student's bookmark would be); it then
follows the sidebar link to its page. Each round also prints how the CPU time was shared between
the server and the browser (Chromium and Playwright), which run on the same machine.

`python -m bench.load --sessions 20 --rounds 3` from the repository root (needs Debian's chromium).
AppTest cannot do this: its instances share one global Streamlit runtime and break when run in
threads.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import tempfile
import time
from pathlib import Path

import numpy as np

from bench.browser import CHROMIUM, CHROMIUM_FLAGS, start_app, stop_app

ROOT = Path(__file__).resolve().parents[1]


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process and of its children that have ended (a tab's
    renderer process ends with its context; its parent has collected its time)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return sum(int(value) for value in fields[11:15]) / os.sysconf("SC_CLK_TCK")


def descendants(pid: int) -> list[int]:
    """Every process below `pid` (the browser's and Playwright's processes below this one)."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                parent = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(parent, []).append(int(entry.name))
    found, todo = [], [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


async def open_from_root(page, url: str, title: str) -> None:
    """First request `/`, then the sidebar link: the app's real routing."""
    await page.goto(url, timeout=120_000)
    link = page.locator('[data-testid="stSidebarNav"] a', has_text=title).first
    await link.wait_for(timeout=120_000)
    await link.click()


async def webcam_session(browser, url: str) -> float:
    context = await browser.new_context()
    await context.grant_permissions(["camera"])
    page = await context.new_page()
    try:
        start = time.perf_counter()
        await open_from_root(page, url, "Webcam")
        take = page.get_by_role("button", name="Take Photo")
        await take.wait_for(timeout=120_000)
        await page.wait_for_timeout(1000)  # the fake camera needs a moment to deliver frames
        await take.click()
        # the fake camera shows no face: "No face found" is the answer (a real face: a verdict)
        verdict = page.get_by_text(re.compile(r"(mask|no-mask) · \d+%|No face found")).first
        await verdict.wait_for(timeout=120_000)
        return time.perf_counter() - start - 1.0
    finally:
        await context.close()


async def predict_session(browser, url: str) -> float:
    context = await browser.new_context()
    page = await context.new_page()
    try:
        start = time.perf_counter()
        await open_from_root(page, url, "Predict")
        await page.get_by_text("balanced accuracy").first.wait_for(timeout=180_000)
        return time.perf_counter() - start
    finally:
        await context.close()


async def one_round(browser, url: str, sessions: int) -> dict:
    paths = ["webcam" if i % 2 == 0 else "predict" for i in range(sessions)]
    calls = [
        webcam_session(browser, url) if p == "webcam" else predict_session(browser, url)
        for p in paths
    ]
    outcomes = await asyncio.gather(*calls, return_exceptions=True)
    results: dict = {"webcam": [], "predict": [], "failures": []}
    for path, outcome in zip(paths, outcomes, strict=True):
        if isinstance(outcome, BaseException):
            results["failures"].append(f"{path}: {type(outcome).__name__}: {str(outcome)[:300]}")
        else:
            results[path].append(outcome)
    return results


async def run(sessions: int, rounds: int) -> None:
    from playwright.async_api import async_playwright

    with tempfile.TemporaryDirectory() as runs:
        server, url = start_app(runs)
        try:
            async with async_playwright() as playwright:
                browser = await playwright.chromium.launch(
                    executable_path=CHROMIUM, args=CHROMIUM_FLAGS
                )
                await one_round(browser, url, 2)  # warm-up: first script runs, model load
                print(
                    f"{sessions} concurrent sessions (half Webcam, half Predict), {rounds} rounds"
                )
                for number in range(rounds):
                    before = rss_mb(server.pid)
                    others = [p for p in descendants(os.getpid()) if p != server.pid]
                    cpu_before = cpu_seconds(server.pid), sum(map(cpu_seconds, others))
                    start = time.perf_counter()
                    results = await one_round(browser, url, sessions)
                    wall = time.perf_counter() - start
                    others = [p for p in descendants(os.getpid()) if p != server.pid]
                    server_cpu = cpu_seconds(server.pid) - cpu_before[0]
                    browser_cpu = max(0.0, sum(map(cpu_seconds, others)) - cpu_before[1])
                    share = browser_cpu / max(server_cpu + browser_cpu, 1e-9)
                    parts = []
                    for path in ("webcam", "predict"):
                        times = np.array(results[path]) * 1000
                        if len(times):
                            p50, p95 = np.percentile(times, [50, 95])
                            parts.append(
                                f"{path} {len(times)} ok, p50 {p50:.0f} ms, p95 {p95:.0f} ms"
                            )
                    after = rss_mb(server.pid)
                    print(
                        f"round {number + 1}: {'; '.join(parts)}; "
                        f"failures {len(results['failures'])} {results['failures'] or ''}; "
                        f"wall {wall:.1f} s; server RSS {before:.0f} -> {after:.0f} MB; CPU "
                        f"server {server_cpu:.0f} s, browser {browser_cpu:.0f} s "
                        f"({share:.0%} browser)",
                        flush=True,
                    )
                await browser.close()
        finally:
            stop_app(server)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sessions", type=int, default=20)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args(argv)
    asyncio.run(run(args.sessions, args.rounds))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
