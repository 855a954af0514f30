"""Many users at once: N concurrent sessions (AppTest instances in threads, each a full Streamlit
script run in this process) drive the Webcam page (a snapshot) and the Predict page (scores a
split, one uploaded image), for several rounds. Prints successes, p50/p95 latency per path and the
process's resident memory before and after each round: the model is loaded once per process,
so memory must stay flat from round to round.

`python -m bench.load --sessions 20 --rounds 3` (from the repository root).
"""

from __future__ import annotations

import argparse
import io
import os
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
from PIL import Image
from streamlit.testing.v1 import AppTest

os.environ.setdefault("NO_ALBUMENTATIONS_UPDATE", "1")
ROOT = Path(__file__).resolve().parents[1]


def rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def snapshot_jpeg(seed: int) -> bytes:
    """A 640x480 'webcam frame' with a bundled face crop pasted somewhere in it."""
    rng = np.random.default_rng(seed)
    faces = sorted((ROOT / "data" / "mask-faces" / "images").glob("*.jpg"))
    face = Image.open(faces[seed % len(faces)]).convert("RGB").resize((280, 280))
    frame = Image.fromarray(rng.integers(60, 120, (480, 640, 3), dtype=np.uint8))
    frame.paste(face, (int(rng.integers(0, 360)), int(rng.integers(0, 200))))
    out = io.BytesIO()
    frame.save(out, "JPEG", quality=90)
    return out.getvalue()


def webcam_session(seed: int) -> float:
    start = time.perf_counter()
    at = AppTest.from_file(str(ROOT / "pages" / "webcam.py"), default_timeout=120).run()
    at.camera_input(key="webcam_camera").set_value(("shot.jpg", snapshot_jpeg(seed), "image/jpeg"))
    at.run()
    verdicts = [m.value for m in at.markdown if m.value.startswith("## ")]
    if at.exception or not verdicts or len(at.image) != 1:
        raise RuntimeError(f"webcam session {seed} got no prediction")
    return time.perf_counter() - start


def predict_session(seed: int) -> float:
    start = time.perf_counter()
    at = AppTest.from_file(str(ROOT / "pages" / "predict.py"), default_timeout=180).run()
    labels = {m.label for m in at.metric}
    if at.exception or "mean IoU" not in labels:
        raise RuntimeError(f"predict session {seed} got no metrics")
    return time.perf_counter() - start


def round_of(sessions: int, offset: int) -> dict[str, list[float] | int]:
    results: dict[str, list[float] | int] = {"webcam": [], "predict": [], "failures": 0}
    lock = threading.Lock()

    def one(index: int) -> None:
        path = "webcam" if index % 2 == 0 else "predict"
        session = webcam_session if path == "webcam" else predict_session
        try:
            seconds = session(offset + index)
        except Exception as error:  # counted and reported, the round goes on
            print(f"  failure: {error}", flush=True)
            with lock:
                results["failures"] += 1
            return
        with lock:
            results[path].append(seconds)

    with ThreadPoolExecutor(max_workers=sessions) as pool:
        list(pool.map(one, range(sessions)))
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sessions", type=int, default=20)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args(argv)
    os.chdir(ROOT)
    print(f"{args.sessions} concurrent sessions (half Webcam, half Predict), {args.rounds} rounds")
    for number in range(args.rounds):
        before = rss_mb()
        start = time.perf_counter()
        results = round_of(args.sessions, number * args.sessions)
        wall = time.perf_counter() - start
        parts = []
        for path in ("webcam", "predict"):
            times = np.array(results[path]) * 1000
            if len(times):
                p50, p95 = np.percentile(times, 50), np.percentile(times, 95)
                parts.append(f"{path} {len(times)} ok, p50 {p50:.0f} ms, p95 {p95:.0f} ms")
        print(
            f"round {number + 1}: {'; '.join(parts)}; failures {results['failures']}; "
            f"wall {wall:.1f} s; RSS {before:.0f} -> {rss_mb():.0f} MB",
            flush=True,
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
