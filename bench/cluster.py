"""An alpha sweep's wall time on a local Dask cluster vs in-process, measured in the same run.

    python -m bench.cluster [--workers 2] [--preset classroom] [--epochs 12] [--alphas 0.1 0.3 ...]

Both go through `JobRegistry.sweep` with the preset (default classroom) on the bundled data:
in-process the runs train one after another (torch uses every core); on the cluster
(`LocalCluster`, one process per worker, one thread each, workers warmed up by importing
maskloc) they train in parallel, each worker with its share of the cores. The cluster's start-up
is printed, not counted. Needs requirements-cluster.txt.
"""

from __future__ import annotations

import argparse
import importlib
import tempfile
import time
from pathlib import Path

from distributed import LocalCluster

from maskloc.classroom.cluster import ClusterBackend
from maskloc.classroom.jobs import JobRegistry
from maskloc.config.paths import DEFAULT_DATA
from maskloc.config.presets import preset

ALPHAS = (0.1, 0.3, 0.5, 0.7, 0.9)


def timed_sweep(registry: JobRegistry, config, alphas) -> tuple[float, str]:
    """Seconds from submitting the sweep to its last run's end, and each run's IoU."""
    started = time.monotonic()
    jobs = registry.sweep(config, alphas)
    if not registry.join(3600):
        raise RuntimeError("the sweep did not end within an hour")
    seconds = time.monotonic() - started
    snaps = [job.snapshot() for job in jobs]
    failed = [s for s in snaps if s.state != "finished"]
    if failed:
        raise RuntimeError(f"{failed[0].name} ended {failed[0].state}: {failed[0].message}")
    scores = ", ".join(
        f"a{s.config.train.alpha:g}: IoU {s.best.get('mean_iou', float('nan')):.3f}" for s in snaps
    )
    return seconds, scores


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.cluster", description=__doc__)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--preset", default="classroom")
    parser.add_argument("--epochs", type=int, default=12)
    parser.add_argument("--alphas", type=float, nargs="+", default=list(ALPHAS))
    parser.add_argument("--data", default=str(DEFAULT_DATA))
    args = parser.parse_args(argv)
    config = preset(args.preset)
    config.data.root = args.data
    config.train.epochs = config.train.patience = args.epochs
    n = len(args.alphas)
    with tempfile.TemporaryDirectory() as tmp:
        local = JobRegistry(Path(tmp, "local"))
        local_seconds, local_scores = timed_sweep(local, config, args.alphas)
        started = time.monotonic()
        with LocalCluster(
            processes=True,
            n_workers=args.workers,
            threads_per_worker=1,
            host="127.0.0.1",
            dashboard_address=None,
        ) as cluster:
            backend = ClusterBackend(cluster.scheduler_address)
            backend.client().run(importlib.import_module, "maskloc.training.run")
            start_seconds = time.monotonic() - started
            registry = JobRegistry(Path(tmp, "cluster"), backend=backend)
            cluster_seconds, cluster_scores = timed_sweep(registry, config, args.alphas)
            backend.close()
    ratio = local_seconds / cluster_seconds
    print(
        f"alpha sweep x{n} on a local {args.workers}-worker Dask cluster, {args.preset} preset, "
        f"{args.epochs} epochs: {cluster_seconds:.1f} s ({ratio:.2f}x vs in-process)  "
        f"[{cluster_scores}; cluster start-up {start_seconds:.1f} s, not counted]"
    )
    print(f"baseline in-process sweep (one run at a time): {local_seconds:.1f} s  [{local_scores}]")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
