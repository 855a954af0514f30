"""One alpha sweep (or one run) with the classroom preset in this process, as a fresh server would
run it: nothing decoded, no stem features cached. Prints one JSON line with each run's best scores.

The bench starts this in a new Python process and times the whole process, imports included:
`python -m bench.cold_sweep --alphas 0 0.25 0.5 0.75 1 --out /tmp/maskloc-bench/cold`.
"""

from __future__ import annotations

import argparse
import json

from maskloc.config.presets import SWEEP_ALPHAS, override, preset
from maskloc.training.run import train_run


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.cold_sweep", description=__doc__)
    parser.add_argument("--alphas", type=float, nargs="+", default=list(SWEEP_ALPHAS))
    parser.add_argument("--out", required=True, help="scratch folder for the run folders")
    args = parser.parse_args(argv)
    results = []  # each run prepares its data as an app job does (decoded images stay cached)
    for alpha in args.alphas:
        run_config = override(preset("classroom"), {"train.alpha": alpha})
        best = train_run(run_config, f"{args.out}/a{alpha:.2f}").best_metrics
        results.append(
            {
                "alpha": alpha,
                **{k: best.get(k) for k in ("mean_iou", "accuracy", "balanced_accuracy")},
            }
        )
    print(json.dumps(results), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
