"""What the browser test and the load script share: Debian's Chromium with the flags this
machine needs (closed network, fake camera), and the real app started on a free localhost port."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--use-fake-device-for-media-stream",
    "--use-fake-ui-for-media-stream",
]


def start_app(
    runs: str | Path, timeout: float = 60.0, env: dict[str, str] | None = None
) -> tuple[subprocess.Popen, str]:
    """`streamlit run app.py` with its own runs folder (and extra environment variables);
    returns the process and its URL."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    env = {**os.environ, "MASKLOC_RUNS": str(runs), "NO_ALBUMENTATIONS_UPDATE": "1", **(env or {})}
    # A file, not a pipe: a long session must never block on a full pipe. It outlives this call.
    log = tempfile.TemporaryFile()  # noqa: SIM115
    server = subprocess.Popen(
        [
            sys.executable, "-m", "streamlit", "run", "app.py", "--server.headless", "true",
            "--server.address", "127.0.0.1", "--server.port", str(port),
            "--browser.gatherUsageStats", "false",
        ],
        cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
    )  # fmt: skip
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return server, f"http://127.0.0.1:{port}"
        except OSError:
            time.sleep(0.5)
    server.kill()
    log.seek(0)
    raise RuntimeError(f"streamlit did not start: {log.read().decode()[-2000:]}")


def stop_app(server: subprocess.Popen) -> None:
    server.terminate()
    try:
        server.wait(timeout=10)
    except subprocess.TimeoutExpired:
        server.kill()
