"""Ablation table for the model card: one change at a time against a base configuration, every
row on the same grouped validation split and the same seeds, mean ± spread (max - min) / 2.

`python -m bench.ablation --base classroom --seeds 0 1 2` prints a markdown table. The classroom
base trains in seconds, so the whole grid fits a CPU lesson break; `--base full` is the slow,
faithful version.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from dataclasses import replace

import numpy as np

from maskloc.config.presets import preset
from maskloc.config.sections import RunConfig
from maskloc.data.prepared import prepare_data
from maskloc.training.run import train_run

Change = Callable[[RunConfig], None]


def _set(section: str, **values: object) -> Change:
    def apply(config: RunConfig) -> None:
        setattr(config, section, replace(getattr(config, section), **values))

    return apply


ROWS: dict[str, list[Change]] = {
    "base": [],
    "box head: global pooling (notebook)": [_set("model", box_head="gap")],
    "box head: fused (stride-16 + stride-32 maps)": [_set("model", box_head="fused")],
    "box format: corners (xyxy) with sigmoid": [_set("model", box_format="xyxy")],
    "box loss: MSE (notebook)": [_set("train", box_loss="mse")],
    "box loss: L1": [_set("train", box_loss="l1")],
    "box loss: GIoU": [_set("train", box_loss="giou")],
    "box loss: DIoU": [_set("train", box_loss="diou")],
    "box loss: CIoU": [_set("train", box_loss="ciou")],
    "alpha 0.4": [_set("train", alpha=0.4)],
    "alpha 0.9": [_set("train", alpha=0.9)],
    "class weighting: none": [_set("train", class_weighting="none")],
    # the sampler draws from the image list, which cached stem features replace: compare both
    # without the cache
    "no feature cache (reference for the sampler row)": [_set("train", cache_stem=False)],
    "class balance: balanced sampler instead of weights, no feature cache": [
        _set("train", class_weighting="sampler", cache_stem=False)
    ],
    "augmentation: flip only": [_set("data", augment="flip")],
    "augmentation: zoom_out": [_set("data", augment="zoom_out")],
}


def run_row(base: str, changes: list[Change], seed: int, out: str) -> dict:
    config = preset(base)
    for change in changes:
        change(config)
    config.train = replace(config.train, seed=seed)
    state = train_run(config, out, data=prepare_data(config.data))
    return state.best_metrics


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--base", default="classroom")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--rows", nargs="*", help="row names (default: all)")
    parser.add_argument("--out", default="/tmp/maskloc-ablation")
    args = parser.parse_args(argv)
    print(f"| change (base: {args.base}) | val mean IoU | IoU≥0.5 | balanced acc | s/run |")
    print("|---|---|---|---|---|")
    for name, changes in ROWS.items():
        if args.rows and name not in args.rows:
            continue
        results, start = [], time.perf_counter()
        for seed in args.seeds:
            results.append(run_row(args.base, changes, seed, f"{args.out}/{len(results)}-{seed}"))
        seconds = (time.perf_counter() - start) / len(args.seeds)

        def cell(key: str, rows: list[dict] = results) -> str:
            values = np.array([r[key] for r in rows])
            return f"{values.mean():.3f} ± {(values.max() - values.min()) / 2:.3f}"

        row = f"| {name} | {cell('mean_iou')} | {cell('iou50')} | {cell('balanced_accuracy')}"
        print(f"{row} | {seconds:.0f} |", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
