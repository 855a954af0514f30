"""Benchmarks for a live classroom. Each figure is measured against a baseline measured in the
same run and printed as `NAME: VALUE UNIT (RATIO x vs BASELINE)`, then the baseline's own line.

Run from the repository root: `python -m bench` (`--only data quality sweep webcam check gpu
finetune` picks figures).
Timings are wall-clock on whatever machine runs this; they never gate tests.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import cv2
import numpy as np
import torch
from PIL import Image

from maskloc.config.paths import DEFAULT_CHECKPOINT, DEFAULT_DATA
from maskloc.config.presets import SWEEP_ALPHAS, override, preset
from maskloc.config.sections import RunConfig
from maskloc.data.dataset import LocalizationDataset
from maskloc.data.folder import load_dataset
from maskloc.data.image_cache import IMAGE_CACHE
from maskloc.data.prepared import prepare_data
from maskloc.data.transforms import train_transform
from maskloc.inference.evaluate import evaluate
from maskloc.inference.onnx_export import OnnxFiles, export_available
from maskloc.inference.onnx_runtime import OnnxPredictor, runtime_available
from maskloc.inference.predictor import Predictor
from maskloc.training.builder import build_trainer
from maskloc.training.device import to_float_images
from maskloc.training.run import train_run
from maskloc.training.stem_cache import forget_all
from maskloc.training.trainer import Trainer
from maskloc.viz.drawing import draw_boxes, predicted_box

ROOT = Path(__file__).resolve().parents[1]


def line(
    name: str, value: float, unit: str, baseline: float, base_name: str, extra: str = ""
) -> None:
    """RATIO is how many times better than the baseline: a higher rate, or a shorter time."""
    lower_is_better = unit in ("s", "ms")
    ratio = (baseline / value if lower_is_better else value / baseline) if value else float("nan")
    print(f"{name}: {value:.1f} {unit} ({ratio:.1f}x vs {base_name}){extra}", flush=True)


def bench_data_pipeline(image_size: int = 224) -> None:
    """Training-input images/s: the notebook's per-sample read+decode+resize+augment vs the
    library's decode-once cache (+ per-sample albumentations) vs cached stem features."""
    folder = load_dataset(DEFAULT_DATA)
    paths = folder.train.frame["path"].tolist()
    boxes = folder.train.normalized_boxes()
    labels = folder.labels(folder.train)
    transform = train_transform("notebook", seed=0)

    def naive() -> int:
        for path, box in zip(paths, boxes, strict=True):
            image = cv2.cvtColor(cv2.imread(path), cv2.COLOR_BGR2RGB)
            image = cv2.resize(image, (image_size, image_size))
            out = transform(image=image, bboxes=box[None], labels=[0])
            tensor = torch.from_numpy(out["image"]).permute(2, 0, 1).float().div(255.0)
            (tensor - 0.5) / 0.25
        return len(paths)

    start = time.perf_counter()
    naive_rate = naive() / (time.perf_counter() - start)

    IMAGE_CACHE.clear()
    start = time.perf_counter()
    images = IMAGE_CACHE.load(paths, image_size)
    decode_seconds = time.perf_counter() - start
    loader = torch.utils.data.DataLoader(
        LocalizationDataset(images, boxes, labels, transform), batch_size=32, shuffle=True
    )
    start = time.perf_counter()
    for batch, _, _ in loader:
        to_float_images(batch, torch.device("cpu"))
    cached_rate = len(paths) / (time.perf_counter() - start)

    config = preset("classroom")
    data = prepare_data(config.data)
    forget_all()

    trainer: Trainer = build_trainer(config, data)
    start = time.perf_counter()
    count = 0
    for features, _, _ in trainer.train_loader:
        count += len(features)
    stem_rate = count / (time.perf_counter() - start)

    line(
        "data pipeline, decode-once cache + per-sample albumentations",
        cached_rate,
        "images/s",
        naive_rate,
        "naive",
        f"  [one-time decode of {len(paths)} images: {decode_seconds:.1f} s]",
    )
    line(
        "data pipeline, classroom cached stem features",
        stem_rate,
        "images/s",
        naive_rate,
        "naive",
        "  [augmented variants precomputed with the stem]",
    )
    print(f"baseline naive per-sample read+decode+resize+augment: {naive_rate:.1f} images/s")


def time_to_iou(
    config: RunConfig, target: float, limit: float, run_dir: str
) -> tuple[float, float]:
    """Wall seconds from a cold start (no cached images or features) until val mean IoU first
    reaches `target`, and the best IoU seen; inf when `limit` seconds pass first."""
    IMAGE_CACHE.clear()
    forget_all()
    stop = threading.Event()
    reached: list[float] = []
    best = [0.0]
    start = time.perf_counter()

    def check(trainer: Trainer) -> None:
        iou = trainer.state.history[-1]["mean_iou"]
        best[0] = max(best[0], iou)
        if iou >= target and not reached:
            reached.append(time.perf_counter() - start)
            stop.set()
        if time.perf_counter() - start > limit:
            stop.set()

    def guard(trainer: Trainer) -> None:
        if time.perf_counter() - start > limit:
            stop.set()

    train_run(config, run_dir, {"on_eval_end": [check], "on_batch_end": [guard]}, stop_event=stop)
    return (reached[0] if reached else float("inf")), best[0]


def plain_config() -> RunConfig:
    """The plain reference approach: full fine-tuning at 224 px, pooled heads."""
    return override(preset("full"), {"model.box_head": "gap", "train.epochs": 60})


def bench_time_to_quality(tmp: str, baseline_limit: float) -> float:
    fast, fast_iou = time_to_iou(preset("classroom"), 0.70, 600, f"{tmp}/classroom")
    plain, plain_iou = time_to_iou(plain_config(), 0.70, baseline_limit, f"{tmp}/plain")
    shown_plain = plain if np.isfinite(plain) else baseline_limit
    line(
        "time to val IoU 0.70, classroom preset",
        fast,
        "s",
        shown_plain,
        "plain" if np.isfinite(plain) else f"plain, cut at {baseline_limit:.0f} s",
        f"  [best IoU {fast_iou:.3f}]",
    )
    status = f"{plain:.1f} s" if np.isfinite(plain) else f"not reached in {baseline_limit:.0f} s"
    print(f"baseline plain full fine-tuning at 224 px: {status} [best IoU {plain_iou:.3f}]")
    return shown_plain


def _cold_process(alphas: Sequence[float], out: str) -> tuple[float, list[dict]]:
    """Wall seconds of a fresh Python process that trains `alphas` with the classroom preset
    (imports, decoding and stem features included), and its runs' best scores."""
    start = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "bench.cold_sweep", "--out", out, "--alphas", *map(str, alphas)],
        cwd=ROOT,
        env={**os.environ, "NO_ALBUMENTATIONS_UPDATE": "1"},
        capture_output=True,
        text=True,
        check=True,
    )
    seconds = time.perf_counter() - start
    return seconds, json.loads(done.stdout.strip().splitlines()[-1])


def bench_alpha_sweep(tmp: str) -> None:
    """The classroom demonstration from a cold start: five alphas in one fresh process (the
    frozen stem's features computed once and shared) against five runs that each start cold."""
    seconds, results = _cold_process(SWEEP_ALPHAS, f"{tmp}/cold-sweep")
    one_run, _ = _cold_process([0.5], f"{tmp}/cold-single")
    baseline = len(SWEEP_ALPHAS) * one_run
    shown = ", ".join(
        f"a{r['alpha']:.2f}: IoU {r['mean_iou']:.3f} acc {r['accuracy']:.3f} "
        f"bal {r['balanced_accuracy']:.3f}"
        for r in results
    )
    line(
        f"alpha sweep x{len(SWEEP_ALPHAS)} from a cold start, classroom preset",
        seconds,
        "s",
        baseline,
        f"{len(SWEEP_ALPHAS)} cold single runs",
        f"  [{shown}]",
    )
    print(
        f"baseline {len(SWEEP_ALPHAS)} cold single runs ({len(SWEEP_ALPHAS)} x one run in a fresh "
        f"process: {one_run:.1f} s): {baseline:.1f} s"
    )


def _percentiles(samples: list[float]) -> tuple[float, float]:
    return float(np.percentile(samples, 50)), float(np.percentile(samples, 95))


def bench_webcam(repeats: int = 40, scratch: str = "/tmp/maskloc-bench") -> None:
    """A 640x480 JPEG snapshot to a drawn, encoded result, in process; then the same through ONNX
    Runtime (the Webcam page's path for the bundled model) against PyTorch in this run."""
    folder = load_dataset(DEFAULT_DATA)
    face = Image.open(folder.train.frame["path"].iloc[0]).convert("RGB").resize((300, 300))
    frame = Image.new("RGB", (640, 480), (90, 90, 90))
    frame.paste(face, (200, 100))
    buffer = io.BytesIO()
    frame.save(buffer, "JPEG", quality=90)
    snapshot = buffer.getvalue()

    def answer(predictor: Predictor) -> bytes:
        prediction = predictor.predict(snapshot)
        drawn = draw_boxes(
            Image.open(io.BytesIO(snapshot)),
            [predicted_box(prediction.box, prediction.class_name, prediction.confidence)],
        )
        out = io.BytesIO()
        drawn.save(out, "JPEG", quality=90)  # as st.image sends an RGB picture ("auto": JPEG)
        return out.getvalue()

    def timed(call: Callable[[], object], n: int) -> list[float]:
        samples = []
        for _ in range(n):
            start = time.perf_counter()
            call()
            samples.append((time.perf_counter() - start) * 1000)
        return samples

    predictor = Predictor(DEFAULT_CHECKPOINT)
    answer(predictor)  # warm-up
    loaded = _percentiles(timed(lambda: answer(predictor), repeats))
    naive = _percentiles(timed(lambda: answer(Predictor(DEFAULT_CHECKPOINT)), max(5, repeats // 4)))
    line("webcam latency p50, model loaded once", loaded[0], "ms", naive[0], "naive")
    line("webcam latency p95, model loaded once", loaded[1], "ms", naive[1], "naive")
    print(
        f"baseline naive (checkpoint loaded per snapshot): "
        f"p50 {naive[0]:.1f} ms, p95 {naive[1]:.1f} ms"
    )
    if not (runtime_available() and export_available()):
        print("webcam latency, ONNX Runtime: skipped (pip install -r requirements-onnx.txt)")
        return
    fast = OnnxPredictor(OnnxFiles(f"{scratch}/onnx").get(DEFAULT_CHECKPOINT))
    answer(fast)  # warm-up
    onnx = _percentiles(timed(lambda: answer(fast), repeats))
    line("webcam latency p50, ONNX Runtime", onnx[0], "ms", loaded[0], "PyTorch")
    line("webcam latency p95, ONNX Runtime", onnx[1], "ms", loaded[1], "PyTorch")


def bench_check(count: int = 20, repeats: int = 3) -> None:
    """`python -m maskloc check` wall time per image: many images in one call (the model loads
    once) against one call per image (start-up and model load every time). Half the images are
    test face crops, half test no-face windows, so both answers are exercised."""
    folder = load_dataset(DEFAULT_DATA)
    faces = folder.test.frame["path"].tolist()[: count // 2] if folder.test is not None else []
    windows = folder.no_face_frame("test")["path"].tolist()[: count - len(faces)]
    images = faces + windows
    command = [sys.executable, "-m", "maskloc", "check", "--json"]

    def wall(paths: list[str]) -> float:
        start = time.perf_counter()
        subprocess.run([*command, *paths], check=True, capture_output=True)
        return (time.perf_counter() - start) * 1000

    single = float(np.median([wall(images[:1]) for _ in range(repeats)]))
    batched = float(np.median([wall(images) for _ in range(repeats)])) / len(images)
    line(
        f"check latency per image, {len(images)} images in one call",
        batched,
        "ms",
        single,
        "one call per image",
    )
    print(f"baseline one call per image (start-up + model load + answer): {single:.1f} ms")


def bench_gpu(tmp: str) -> None:
    """GPU only: training images/s of full fine-tuning and seconds to val IoU 0.75."""
    config = override(preset("full"), {"train.epochs": 40})
    data = prepare_data(config.data)

    trainer = build_trainer(config, data)
    images = torch.randint(0, 255, (256, 3, 224, 224), dtype=torch.uint8)
    boxes = torch.tensor([[0.2, 0.2, 0.7, 0.8]]).repeat(256, 1)
    labels = torch.zeros(256, dtype=torch.int64)
    for _ in range(3):
        trainer._train_step(images, boxes, labels)
    torch.cuda.synchronize()
    start = time.perf_counter()
    for _ in range(10):
        trainer._train_step(images, boxes, labels)
    torch.cuda.synchronize()
    rate = 2560 / (time.perf_counter() - start)
    cpu_rate = _cpu_train_rate()
    line("GPU training throughput, 224 px, batch 256", rate, "images/s", cpu_rate, "CPU")
    seconds, best = time_to_iou(config, 0.75, 300, f"{tmp}/gpu")
    print(f"GPU time to val IoU 0.75: {seconds:.1f} s [best IoU {best:.3f}]")
    print(f"baseline CPU training throughput, 224 px: {cpu_rate:.1f} images/s")


def _cpu_train_rate() -> float:
    config = override(preset("full"), {"train.device": "cpu"})

    trainer = build_trainer(config, prepare_data(config.data))
    images = torch.randint(0, 255, (32, 3, 224, 224), dtype=torch.uint8)
    boxes = torch.tensor([[0.2, 0.2, 0.7, 0.8]]).repeat(32, 1)
    labels = torch.zeros(32, dtype=torch.int64)
    trainer._train_step(images, boxes, labels)
    start = time.perf_counter()
    for _ in range(3):
        trainer._train_step(images, boxes, labels)
    return 96 / (time.perf_counter() - start)


def bench_finetune(tmp: str, baseline_epochs: int = 10) -> None:
    """Fine-tune the bundled model on 20 pictures whose boxes follow a tighter convention
    (bench/own_pictures.py) with the finetune preset; IoU on the set's other pictures before and
    after. Baseline: every layer trained (full preset, `baseline_epochs`) from the same start."""
    from bench.own_pictures import build_own_set

    data = build_own_set(f"{tmp}/own20")
    before, _ = evaluate(Predictor(DEFAULT_CHECKPOINT), data, "test")

    def run(config: RunConfig, name: str) -> tuple[float, float]:
        config = override(
            config, {"data.root": str(data), "train.init_from": str(DEFAULT_CHECKPOINT)}
        )
        forget_all()
        start = time.perf_counter()
        train_run(config, f"{tmp}/{name}")
        seconds = time.perf_counter() - start
        after, _ = evaluate(Predictor(f"{tmp}/{name}/best.pt"), data, "test")
        return seconds, after["mean_iou"]

    seconds, iou = run(preset("finetune"), "finetune20")
    full = override(
        preset("full"), {"train.epochs": baseline_epochs, "train.patience": baseline_epochs}
    )
    base_seconds, base_iou = run(full, "full20")
    line(
        "fine-tune on 20 own pictures from the bundled model",
        seconds,
        "s",
        base_seconds,
        "every layer",
        f"  [held-out IoU {before['mean_iou']:.2f} -> {iou:.2f} on {before['n']} pictures]",
    )
    print(
        f"baseline every layer trained ({baseline_epochs} epochs, full preset) from the bundled "
        f"model: {base_seconds:.1f} s [held-out IoU {base_iou:.2f}]"
    )


FIGURES = ("data", "quality", "sweep", "webcam", "check", "gpu", "finetune")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--only", nargs="*", choices=FIGURES, default=list(FIGURES))
    parser.add_argument("--baseline-limit", type=float, default=480.0, help="seconds")
    parser.add_argument("--out", default="/tmp/maskloc-bench", help="scratch folder for runs")
    args = parser.parse_args(argv)
    print(
        f"maskloc bench, {time.strftime('%Y-%m-%d')}, torch {torch.__version__}, "
        f"{torch.get_num_threads()} threads, GPU: "
        f"{torch.cuda.get_device_name(0) if torch.cuda.is_available() else 'none'}",
        flush=True,
    )
    if "data" in args.only:
        bench_data_pipeline()
    if "quality" in args.only:
        bench_time_to_quality(args.out, args.baseline_limit)
    if "sweep" in args.only:
        bench_alpha_sweep(args.out)
    if "webcam" in args.only:
        bench_webcam(scratch=args.out)
    if "check" in args.only:
        bench_check()
    if "finetune" in args.only:
        bench_finetune(args.out)
    if "gpu" in args.only and torch.cuda.is_available():
        bench_gpu(args.out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
