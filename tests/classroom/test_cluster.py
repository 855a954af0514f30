"""Training on a Dask cluster: a real scheduler and two worker processes on 127.0.0.1.

One cluster serves the whole module (it takes seconds to start on two cores); the worker-loss
test kills a worker process and runs last. The group keeps these tests on one xdist worker.
"""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import time

import pytest
from app_steps import fill_small_run, open_page, poll, run_states, texts
from conftest import ROOT, tiny_config

from app_parts.i18n import catalogue
from maskloc.classroom.cluster import ClusterBackend, ClusterError, pack_dataset, unpacked_dataset
from maskloc.classroom.jobs import JobRegistry
from maskloc.data.folder import load_dataset
from maskloc.data.table import DataError
from maskloc.inference.evaluate import evaluate
from maskloc.inference.predictor import Predictor
from maskloc.training.run_folder import RunFolder

pytestmark = pytest.mark.xdist_group("dask")
TIMEOUT = 180  # generous: the suite shares two cores with the cluster's processes


def worker_of(message: str) -> str | None:
    """The worker address in a cluster run's progress message ("on 0 (tcp://...): ...")."""
    found = re.search(r"tcp://[0-9.]+:[0-9]+", message)
    return found.group(0) if found else None


def wait_for(condition, timeout: float = TIMEOUT, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


@pytest.fixture(scope="module")
def cluster():
    distributed = pytest.importorskip("distributed")
    with distributed.LocalCluster(
        processes=True,
        n_workers=2,
        threads_per_worker=1,
        host="127.0.0.1",
        dashboard_address=None,
    ) as local:
        yield local


@pytest.fixture
def registry(cluster, tmp_path):
    backend = ClusterBackend(cluster.scheduler_address)
    jobs = JobRegistry(tmp_path / "runs", backend=backend)
    yield jobs
    jobs.stop_all()
    assert jobs.join(TIMEOUT), "a cluster job did not end after stop"
    backend.close()


def test_the_dataset_travels_as_a_zip_and_unpacks_once(tiny_dataset, tmp_path):
    packed = pack_dataset(tiny_dataset)
    import hashlib

    digest = hashlib.sha256(packed).hexdigest()
    root = unpacked_dataset(packed, digest, tmp_path / "cache")
    assert root == tmp_path / "cache" / digest
    here, there = load_dataset(tiny_dataset), load_dataset(root)
    assert there.train.frame["filename"].tolist() == here.train.frame["filename"].tolist()
    assert (there.root / "images" / "img_001.png").read_bytes() == (
        tiny_dataset / "images" / "img_001.png"
    ).read_bytes()
    (root / "marker").write_text("kept")  # a second run reuses the folder as it is
    assert unpacked_dataset(packed, digest, tmp_path / "cache") == root
    assert (root / "marker").read_text() == "kept"
    with pytest.raises(DataError, match="damaged"):
        unpacked_dataset(packed, "0" * 64, tmp_path / "cache")
    with pytest.raises(DataError, match=r"no train\.csv") as refused:
        pack_dataset(tmp_path / "nowhere")
    spanish = catalogue("es").gettext
    assert (
        refused.value.explain(spanish)
        == f"{tmp_path / 'nowhere'}: no hay train.csv que enviar al clúster"
    )


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_an_unreachable_scheduler_fails_the_run_with_the_reason(tiny_dataset, tmp_path):
    pytest.importorskip("distributed")
    backend = ClusterBackend(f"tcp://127.0.0.1:{_free_port()}", connect_timeout=1)
    jobs = JobRegistry(tmp_path / "runs", backend=backend)
    job = jobs.start(tiny_config(tiny_dataset))
    assert job.join(60)
    snap = job.snapshot()
    assert snap.state == "failed"
    assert "cannot reach the Dask scheduler at tcp://127.0.0.1:" in snap.message
    assert RunFolder(job.run.path).status()["state"] == "failed"
    with pytest.raises(ClusterError, match="cannot reach"):  # and fast, without a new attempt
        backend.describe()


def test_a_sweep_trains_in_parallel_and_its_files_come_back(registry, tiny_dataset):
    jobs = registry.sweep(tiny_config(tiny_dataset, epochs=4, batch_size=4), [0.3, 0.7])
    seen_together = False
    workers = set()
    while registry.busy:
        snaps = [job.snapshot() for job in jobs]
        running = [s for s in snaps if s.state == "running"]
        seen_together |= len(running) == 2
        workers |= {worker_of(s.message) for s in running} - {None}
        time.sleep(0.02)
    assert registry.join(TIMEOUT)
    assert seen_together, "the two runs of the sweep never trained at the same time"
    assert len(workers) == 2, workers
    for job, alpha in zip(jobs, (0.3, 0.7), strict=True):
        snap = job.snapshot()
        assert (snap.state, snap.message) == ("finished", "all steps done")
        folder = RunFolder(job.run.path)
        history = folder.history()
        assert [row["epoch"] for row in history] == [1, 2, 3, 4]
        assert folder.status()["state"] == "finished"
        config = folder.config()  # the app's own dataset folder, not the worker's copy
        assert config.data.root == str(tiny_dataset) and config.train.alpha == alpha
        assert (
            snap.history == history and snap.best["mean_iou"] == folder.status()["best"]["mean_iou"]
        )
        # the checkpoint that came back is the best evaluation's model: it scores the same here
        predictor = Predictor(snap.checkpoint)
        metrics, _ = evaluate(predictor, tiny_dataset, split="val")
        assert metrics["mean_iou"] == pytest.approx(snap.best["mean_iou"], abs=1e-4)
    listed = JobRegistry(registry.root).runs()  # a restarted server reads them from disk
    assert {s.state for s in listed} == {"finished"} and len(listed) == 2


def test_stop_reaches_running_and_queued_runs(registry, tiny_dataset):
    long = tiny_config(tiny_dataset, epochs=500, batch_size=4)
    jobs = [registry.start(long) for _ in range(3)]  # two workers: one of them has to wait

    def training() -> list:
        return [job for job in jobs if job.snapshot().step >= 3]

    wait_for(lambda: len(training()) == 2, what="two runs training on the two workers")
    first, second = training()
    (waiting,) = [job for job in jobs if job not in (first, second)]
    assert waiting.snapshot().state == "queued"
    assert "waiting for a free worker" in waiting.snapshot().message
    assert registry.stop(waiting.name)
    assert waiting.join(30)
    assert (waiting.snapshot().state, waiting.snapshot().message) == (
        "stopped",
        "cancelled before it started",
    )
    assert not waiting.run.path.exists()  # as in-process: a run that never started leaves no row
    step_at_stop = first.snapshot().step
    assert registry.stop(first.name)
    assert first.join(60)
    final = first.snapshot()
    assert final.state == "stopped" and RunFolder(first.run.path).status()["state"] == "stopped"
    assert final.step < step_at_stop + 200, "it went on training long after the stop"
    assert second.snapshot().state == "running", "stopping one run stopped another"


def test_cli_trains_through_the_scheduler(cluster, tiny_dataset, tmp_path, capsys):
    from maskloc.cli import main

    out = tmp_path / "cli-run"
    code = main(
        [
            "train",
            "--scheduler",
            cluster.scheduler_address,
            "--data",
            str(tiny_dataset),
            "--out",
            str(out),
            "--model",
            "own_cnn",
            "--no-pretrained",
            "--image-size",
            "64",
            "--epochs",
            "2",
            "--batch-size",
            "8",
            "--augment",
            "none",
            "--device",
            "cpu",
        ]
    )
    captured = capsys.readouterr()
    assert code == 0, captured.err
    summary = json.loads(captured.out.strip().splitlines()[-1])
    assert summary["state"] == "finished" and summary["run"] == str(out)
    assert "Dask cluster at tcp://127.0.0.1" in captured.err
    assert worker_of(captured.err) is not None  # progress lines name the worker
    assert [row["epoch"] for row in RunFolder(out).history()] == [1, 2]
    assert (out / "best.pt").is_file()


def test_a_run_whose_app_went_away_stops_on_its_worker(cluster, tiny_dataset, tmp_path):
    from distributed import Client

    backend = ClusterBackend(cluster.scheduler_address)
    jobs = JobRegistry(tmp_path / "runs", backend=backend)
    orphan = jobs.start(tiny_config(tiny_dataset, epochs=20_000, batch_size=4))  # hours
    wait_for(lambda: orphan.snapshot().step >= 3, what="the run training")
    backend.close()  # the app's connection ends (a server restart): the scheduler lets it go
    assert orphan.join(60)
    assert orphan.snapshot().state == "failed"
    with Client(cluster.scheduler_address, set_as_default=False) as observer:

        def threads_in_use() -> int:  # a cancelled task still running counts too
            counts = observer.run(lambda dask_worker: len(dask_worker.state.all_running_tasks))
            return sum(counts.values())

        wait_for(lambda: threads_in_use() == 0, timeout=60, what="the worker to drop the run")


@pytest.mark.usefixtures("env")
def test_home_sends_runs_to_the_cluster_and_train_shows_them_side_by_side(cluster):
    from app_parts.jobs import registry

    at = open_page()
    assert any("Runs train on this server" in m for m in texts(at.markdown))
    at.text_input(key="home_scheduler").set_value(cluster.scheduler_address)
    at.button(key="home_scheduler_apply").click().run()
    assert not at.exception and not at.error
    assert registry().backend.address == cluster.scheduler_address
    assert any(
        f"Dask cluster at {cluster.scheduler_address}: 2 worker(s)" in m for m in texts(at.markdown)
    )

    at.switch_page("app_pages/train.py").run()
    fill_small_run(at, epochs=500, batch_size=4)
    at.multiselect(key="train_sweep_alphas").set_value([0.1, 0.85])
    at.button(key="train_sweep").click().run()
    assert not at.exception
    # both runs of the sweep train at once, each with its own progress and Stop button
    poll(at, lambda a: sum(m.label.startswith("class part") for m in a.metric) == 2)
    assert sum(worker_of(m) is not None for m in texts(at.markdown)) >= 2
    stops = [b.key for b in at.button if b.key and b.key.startswith("train_stop")]
    assert len(stops) == 2
    for key in stops:
        at.button(key=key).click().run()
        assert not at.exception
    poll(at, lambda a: run_states(a) == ["stopped", "stopped"], timeout=90)

    at.switch_page("app_pages/home.py").run()
    at.text_input(key="home_scheduler").set_value("")
    at.button(key="home_scheduler_apply").click().run()
    assert registry().backend is None  # back to training on this server


BLOCK_DASK = """
import importlib.abc, sys
class NoDask(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in ("dask", "distributed"):
            raise ImportError(f"No module named {name!r} (blocked by the test)")
        return None
sys.meta_path.insert(0, NoDask())
"""

WITHOUT_DASK = (
    BLOCK_DASK
    + """
import maskloc.classroom.jobs, maskloc.classroom.cluster, maskloc.cli
import app_parts.jobs
from maskloc.classroom.cluster import ClusterBackend, ClusterError
args = maskloc.cli.build_parser().parse_args(["train", "--out", "x"])
assert args.scheduler is None, args.scheduler
assert not any(name.split(".")[0] in ("dask", "distributed") for name in sys.modules)
try:
    ClusterBackend("tcp://127.0.0.1:1").client()
except ClusterError as error:
    print(error)
"""
)


def test_without_distributed_the_app_and_cli_import_and_say_what_to_install():
    environment = {k: v for k, v in os.environ.items() if k != "MASKLOC_SCHEDULER"}
    done = subprocess.run(
        [sys.executable, "-c", WITHOUT_DASK],
        cwd=ROOT,
        env={**environment, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert "Dask distributed is not installed" in done.stdout
    assert "requirements-cluster.txt" in done.stdout


def test_a_dead_worker_fails_its_run_and_the_others_go_on(registry, cluster, tiny_dataset):
    doomed = registry.start(tiny_config(tiny_dataset, epochs=500, batch_size=4))
    wait_for(lambda: doomed.snapshot().step >= 2, what="the first run training")
    address = worker_of(doomed.snapshot().message)
    survivor = registry.start(tiny_config(tiny_dataset, epochs=3, batch_size=4))
    client = registry.backend.client()
    pid = client.run(os.getpid, workers=[address])[address]
    os.kill(pid, signal.SIGKILL)
    assert doomed.join(60)
    snap = doomed.snapshot()
    assert snap.state == "failed"
    assert f"worker {address} died or lost contact" in snap.message
    assert RunFolder(doomed.run.path).status()["state"] == "failed"
    assert survivor.join(TIMEOUT)
    assert survivor.snapshot().state == "finished", survivor.snapshot().message
