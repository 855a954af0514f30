"""Background training jobs: completion, stop, failure, queueing, stale folders, sweeps."""

from __future__ import annotations

import logging
import time
from pathlib import Path

import pytest
import torch
from conftest import tiny_config

from maskloc.classroom.jobs import JobRegistry, RunSnapshot, TrainingJob
from maskloc.classroom.run_tables import runs_table, sweep_table
from maskloc.training.run_folder import RunFolder

TIMEOUT = 120  # generous: the suite may share two cores with other work


def wait_for(condition, timeout: float = TIMEOUT, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.02)


@pytest.fixture
def registry(tmp_path: Path):
    jobs = JobRegistry(tmp_path / "runs")
    yield jobs
    jobs.stop_all()
    assert jobs.join(TIMEOUT), "a job did not end after stop"


def test_job_runs_to_completion_and_writes_its_folder(registry, tiny_dataset):
    job = registry.start(tiny_config(tiny_dataset, epochs=2))
    assert job.join(TIMEOUT)
    snap = job.snapshot()
    assert (snap.state, snap.message) == ("finished", "all steps done")
    assert [row["epoch"] for row in snap.history] == [1, 2]
    assert snap.progress == 1.0 and snap.step == snap.total_steps > 0
    assert snap.best["mean_iou"] >= 0 and snap.checkpoint is not None
    folder = RunFolder(job.run.path)
    assert folder.status()["state"] == "finished"
    assert len(folder.history()) == 2 and folder.config().model.name == "own_cnn"
    assert job.run.path.parent == registry.root
    assert job.name.endswith("-own_cnn-a0.70")
    listed = registry.runs()
    assert [s.name for s in listed] == [job.name] and listed[0].state == "finished"
    # a fresh registry (a restarted server) reads the same run from disk
    again = JobRegistry(registry.root).runs()[0]
    assert (again.name, again.state, again.live) == (job.name, "finished", False)
    assert again.best["mean_iou"] == pytest.approx(snap.best["mean_iou"])


def test_stop_ends_a_run_within_about_one_batch(registry, tiny_dataset):
    job = registry.start(tiny_config(tiny_dataset, epochs=500, batch_size=4))
    wait_for(lambda: job.snapshot().step >= 3, what="three training steps")
    live = job.snapshot()
    assert live.state == "running" and live.live
    assert 0 < live.progress < 1 and live.eta is not None and live.eta > 0
    shares = live.loss_shares
    assert shares["class"] == pytest.approx(0.3 * live.last_batch["class_loss"])
    assert shares["box"] == pytest.approx(0.7 * live.last_batch["box_loss"])
    step_at_stop = live.step
    stopped = time.monotonic()
    assert registry.stop(job.name)
    assert job.join(TIMEOUT)
    took = time.monotonic() - stopped
    final = job.snapshot()
    assert final.state == "stopped"
    assert final.step <= step_at_stop + 2, "it went on training after the stop"
    assert took < 30
    assert RunFolder(job.run.path).status()["state"] == "stopped"
    assert not registry.busy


def test_a_failing_job_ends_failed_with_the_reason(registry, tmp_path, caplog):
    caplog.set_level(logging.INFO, logger="maskloc")
    job = registry.start(tiny_config(tmp_path / "no-such-dataset"))
    assert job.join(TIMEOUT)
    snap = job.snapshot()
    assert snap.state == "failed"
    assert (
        snap.error == f"{tmp_path / 'no-such-dataset'}: dataset folder not found"
    )  # no "DataError:"
    assert job.error is not None and "DataError" in job.traceback
    # the worker's traceback reaches the server log, not only the snapshot
    (logged,) = [
        r for r in caplog.records if r.name == "maskloc.classroom.jobs" and r.levelname == "ERROR"
    ]
    assert job.name in logged.getMessage() and "dataset folder not found" in logged.getMessage()
    assert logged.exc_info[1] is job.error
    assert any(f"job {job.name} queued" in r.getMessage() for r in caplog.records)
    on_disk = JobRegistry(registry.root).runs()[0]
    assert on_disk.state == "failed" and "not found" in on_disk.message


def test_second_job_waits_in_the_queue(registry, tiny_dataset):
    first = registry.start(tiny_config(tiny_dataset, epochs=500, batch_size=4))
    second = registry.start(tiny_config(tiny_dataset, epochs=1, alpha=0.2))
    third = registry.start(tiny_config(tiny_dataset, epochs=1, alpha=0.4))
    wait_for(lambda: first.snapshot().step >= 1, what="the first job to train")
    waiting = second.snapshot()
    assert (waiting.state, waiting.step, waiting.queue_position) == ("queued", 0, 1)
    assert third.snapshot().queue_position == 2
    assert RunFolder(second.run.path).status()["state"] == "queued"
    time.sleep(0.3)
    assert second.snapshot().state == "queued", "two jobs train at once"
    third.stop()  # a queued job leaves the line without training
    assert third.join(TIMEOUT)
    assert third.snapshot().state == "stopped" and third.snapshot().step == 0
    assert not third.run.path.exists()  # it never started: no folder, no row in the runs table
    first.stop()
    assert second.join(TIMEOUT)
    assert first.snapshot().state == "stopped"
    assert second.snapshot().state == "finished"
    names = {s.name: s.state for s in registry.runs()}
    assert names == {first.name: "stopped", second.name: "finished"}


def test_stale_running_folder_is_shown_as_interrupted(tmp_path, tiny_dataset):
    root = tmp_path / "runs"
    for name, state in (("20260101-000000-own_cnn-a0.70", "running"), ("b-run", "queued")):
        run = RunFolder(root / name)
        run.write_config(tiny_config(tiny_dataset))
        run.write_status(state, "epoch 3")
    (root / "not-a-run").mkdir()
    registry = JobRegistry(root)
    runs = {s.name: s for s in registry.runs()}
    assert set(runs) == {"20260101-000000-own_cnn-a0.70", "b-run"}
    assert {s.state for s in runs.values()} == {"interrupted"}
    assert "epoch 3" in runs["b-run"].message
    assert registry.snapshot("b-run").state == "interrupted"
    assert not registry.busy


def test_a_folder_with_settings_no_longer_allowed_is_listed_as_failed(tmp_path, tiny_dataset):
    from maskloc.utils.atomic import atomic_write_json

    run = RunFolder(tmp_path / "runs" / "old-run")
    run.write_config(tiny_config(tiny_dataset))
    raw = tiny_config(tiny_dataset).to_dict()
    raw["train"]["epochs"] = 0
    atomic_write_json(run.path / "config.json", raw)
    run.write_status("finished", "all steps done")
    (listed,) = JobRegistry(tmp_path / "runs").runs()
    assert listed.state == "failed"
    assert (
        listed.message
        == "config.json: --epochs ('Epochs' on the Train page) must be at least 1, got 0"
    )


def _snapshot(state: str, **values) -> RunSnapshot:
    config = tiny_config(Path("."), epochs=12)
    return RunSnapshot("r", Path("r"), state, "", config, [], values.pop("best", {}), **values)


def test_runs_table_says_how_far_a_run_got_never_none():
    rows = [
        _snapshot("queued"),
        _snapshot("running"),  # preparing data: no step yet
        _snapshot("running", step=5, epoch=2),
        _snapshot("finished", step=60, epoch=12, best={"mean_iou": 0.61234, "accuracy": 0.9}),
    ]
    table = runs_table(rows)
    assert table["epochs"].tolist() == ["waiting", "preparing", "2 of 12", "12"]
    assert table["mean_iou"].tolist() == ["–", "–", "–", "0.612"]
    assert table["iou50"].tolist() == ["–"] * 4
    assert "None" not in table.astype(str).to_numpy().ravel().tolist()


def test_alpha_sweep_runs_every_alpha(registry, tiny_dataset):
    jobs = registry.sweep(tiny_config(tiny_dataset, epochs=1), [0.8, 0.2])
    assert [job.config.train.alpha for job in jobs] == [0.2, 0.8]
    assert len({job.sweep for job in jobs}) == 1
    assert registry.join(TIMEOUT)
    sweeps = registry.sweeps()
    assert list(sweeps) == [jobs[0].sweep]
    table = sweep_table(sweeps[jobs[0].sweep])
    assert table["alpha"].tolist() == [0.2, 0.8]
    assert table["state"].tolist() == ["finished", "finished"]
    assert table["mean_iou"].notna().all()
    # the sweep id is on disk, so a restarted server groups the runs again
    assert list(JobRegistry(registry.root).sweeps()) == [jobs[0].sweep]
    listed = runs_table(registry.runs())
    assert set(listed["sweep"]) == {jobs[0].sweep} and len(listed) == 2


def test_active_model_and_delete(registry, tiny_dataset):
    job = registry.start(tiny_config(tiny_dataset, epochs=1))
    assert job.join(TIMEOUT)
    assert registry.active_checkpoint() is None
    registry.set_active(job.snapshot().checkpoint)
    assert JobRegistry(registry.root).active_checkpoint() == job.snapshot().checkpoint.resolve()
    registry.delete(job.name)
    assert registry.runs() == [] and registry.active_checkpoint() is None
    with pytest.raises(ValueError):
        registry.delete("../outside")


def test_job_without_registry_and_names(tmp_path, tiny_dataset):
    job = TrainingJob(tiny_config(tiny_dataset, epochs=1), tmp_path / "solo").start()
    assert job.join(TIMEOUT) and job.snapshot().state == "finished"
    assert isinstance(job.snapshot(), RunSnapshot)
    registry = JobRegistry(tmp_path / "runs")
    config = tiny_config(tiny_dataset, epochs=1)
    a, b = registry.start(config), registry.start(config)  # same second, same alpha
    assert a.name != b.name
    registry.stop_all()
    assert registry.join(TIMEOUT)


def test_out_of_memory_fails_clearly_and_frees_the_slot(registry, tiny_dataset, monkeypatch):
    from maskloc.training.trainer import Trainer

    real_step = Trainer._train_step
    calls = {"n": 0}

    def step(self, *args):
        calls["n"] += 1
        if calls["n"] == 2:  # the first job's second batch
            raise torch.cuda.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB")
        return real_step(self, *args)

    monkeypatch.setattr(Trainer, "_train_step", step)
    first = registry.start(tiny_config(tiny_dataset, epochs=3))
    second = registry.start(tiny_config(tiny_dataset, epochs=1))
    assert first.join(TIMEOUT) and second.join(TIMEOUT)
    failed = first.snapshot()
    assert failed.state == "failed" and "out of memory" in failed.error
    assert "batch size" in RunFolder(first.run.path).status()["message"]
    assert second.snapshot().state == "finished"  # the queue moved on


def test_a_training_process_killed_midway_leaves_an_interrupted_loadable_run(
    tmp_path, tiny_dataset
):
    """kill -9 while training: history intact, the last best checkpoint loads, the app says so."""
    import json
    import signal
    import subprocess
    import sys

    from conftest import ROOT

    from maskloc.models.checkpoint import load_model

    run_dir = tmp_path / "runs" / "20260101-000000-own_cnn-a0.70"
    process = subprocess.Popen(
        [
            sys.executable, "-m", "maskloc", "train", "--data", str(tiny_dataset),
            "--out", str(run_dir), "--preset", "notebook", "--image-size", "48",
            "--batch-size", "4", "--epochs", "500", "--patience", "500", "--device", "cpu",
        ],
        cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        wait_for(
            lambda: len(RunFolder(run_dir).history()) >= 2 and (run_dir / "best.pt").exists(),
            what="two evaluations and a checkpoint",
        )
    finally:
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=30)
    history = json.loads((run_dir / "history.json").read_text())
    assert len(history) >= 2 and all("mean_iou" in row for row in history)
    model, meta = load_model(run_dir / "best.pt")
    assert meta["class_names"] == ["mask", "no-mask"] and model.config.name == "own_cnn"
    (snapshot,) = JobRegistry(tmp_path / "runs").runs()
    assert snapshot.state == "interrupted"
    assert len(snapshot.history) == len(history)


def test_sweep_table_has_each_runs_final_loss_shares(tiny_dataset, tmp_path):
    def snapshot(alpha: float, history: list) -> RunSnapshot:
        config = tiny_config(tiny_dataset, alpha=alpha)
        return RunSnapshot(f"r{alpha}", tmp_path, "finished", "", config, history, {})

    last = {"train_class_loss": 0.4, "train_box_loss": 1.2}
    table = sweep_table(
        [
            snapshot(0.75, [{"train_class_loss": 9.0, "train_box_loss": 9.0}, last]),
            snapshot(0.0, [last]),
            snapshot(0.5, []),
        ]
    )
    assert table["alpha"].tolist() == [0.0, 0.5, 0.75]
    assert table["class_share"][0] == pytest.approx(1.0) and table["box_share"][0] == 0.0
    # alpha 0.75: 0.25 * 0.4 = 0.1 class, 0.75 * 1.2 = 0.9 box (from the last evaluation period)
    assert table["box_share"][2] == pytest.approx(0.9) and table["class_share"][2] == pytest.approx(
        0.1
    )
    assert table["class_share"].isna()[1]  # no history yet
