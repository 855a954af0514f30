"""Who may do what on a shared server: each refusal, the teacher's passcode (constant-time,
rate-limited), single-user mode unchanged, and the audit log."""

from __future__ import annotations

import json

import pytest

from maskloc.classroom.access import AUDIT_FILE, AccessDenied, AccessPolicy, Actor
from maskloc.classroom.jobs import JobRegistry
from maskloc.config.sections import RunConfig
from maskloc.training.run_folder import RunFolder

ALICE, BOB = Actor("session:alice"), Actor("session:bob")


@pytest.fixture
def jobs(tmp_path) -> JobRegistry:
    """A runs folder with alice's finished run (config and a checkpoint file on disk)."""
    registry = JobRegistry(tmp_path / "runs")
    folder = RunFolder(registry.root / "alice-run")
    folder.write_config(RunConfig())
    (folder.path / "best.pt").write_bytes(b"weights")
    return registry


@pytest.fixture
def classroom(jobs) -> AccessPolicy:
    policy = AccessPolicy(jobs.root, "s3cret", max_failures=3, max_failures_total=5)
    policy.claim(jobs.root / "alice-run", ALICE)
    return policy


def audit(policy: AccessPolicy) -> list[tuple[str, str, str, str]]:
    return [(e["actor"], e["action"], e["target"], e["outcome"]) for e in policy.audit_entries()]


def test_without_a_passcode_everyone_may_do_everything(jobs):
    policy = AccessPolicy(jobs.root, None)
    assert not policy.enforced
    policy.activate_for_everyone(jobs, BOB, jobs.root / "alice-run" / "best.pt")
    assert jobs.active_checkpoint() == (jobs.root / "alice-run" / "best.pt").resolve()
    policy.delete(jobs, BOB, "alice-run")
    assert not (jobs.root / "alice-run").exists() and jobs.active_checkpoint() is None
    assert audit(policy) == [
        ("session:bob", "activate_for_everyone", "alice-run", "ok"),
        ("session:bob", "delete", "alice-run", "ok"),
    ]


def test_another_session_may_not_stop_delete_or_activate(jobs, classroom):
    assert classroom.owner(jobs.root / "alice-run") == "session:alice"
    assert not classroom.may_control(BOB, jobs.root / "alice-run")
    with pytest.raises(AccessDenied, match=r"alice-run belongs to another session.*stop"):
        classroom.stop(jobs, BOB, "alice-run")
    with pytest.raises(AccessDenied, match=r"belongs to another session.*delete"):
        classroom.delete(jobs, BOB, "alice-run")
    with pytest.raises(AccessDenied, match="only the teacher can change the model for everyone"):
        classroom.activate_for_everyone(jobs, BOB, jobs.root / "alice-run" / "best.pt")
    assert (jobs.root / "alice-run" / "best.pt").is_file() and jobs.active_checkpoint() is None
    assert audit(classroom) == [
        ("session:bob", "stop", "alice-run", "refused"),
        ("session:bob", "delete", "alice-run", "refused"),
        ("session:bob", "activate_for_everyone", "alice-run", "refused"),
    ]


def test_the_owner_controls_their_run_but_not_the_class_model(jobs, classroom):
    assert classroom.stop(jobs, ALICE, "alice-run") is False  # allowed; nothing was training
    with pytest.raises(AccessDenied):
        classroom.activate_for_everyone(jobs, ALICE, jobs.root / "alice-run" / "best.pt")
    classroom.delete(jobs, ALICE, "alice-run")
    assert not (jobs.root / "alice-run").exists()
    assert audit(classroom)[-1] == ("session:alice", "delete", "alice-run", "ok")


def test_a_run_without_an_owner_is_the_teachers(jobs):
    policy = AccessPolicy(jobs.root, "s3cret")  # e.g. started before the passcode was set
    with pytest.raises(AccessDenied):
        policy.delete(jobs, ALICE, "alice-run")
    policy.delete(jobs, ALICE.as_teacher(), "alice-run")
    assert not (jobs.root / "alice-run").exists()


def test_the_teacher_passcode_unlocks_everything(jobs, classroom):
    with pytest.raises(AccessDenied, match="wrong passcode"):
        classroom.unlock(BOB, "guess")
    teacher = classroom.unlock(BOB, "s3cret")
    assert teacher.teacher and teacher.id == BOB.id
    classroom.activate_for_everyone(jobs, teacher, jobs.root / "alice-run" / "best.pt")
    assert jobs.active_checkpoint() is not None
    classroom.delete(jobs, teacher, "alice-run")
    assert [entry[1:] for entry in audit(classroom)] == [
        ("teacher_unlock", "", "wrong_passcode"),
        ("teacher_unlock", "", "ok"),
        ("activate_for_everyone", "alice-run", "ok"),
        ("delete", "alice-run", "ok"),
    ]


def test_passcode_attempts_are_rate_limited_per_session(classroom):
    for _ in range(3):
        with pytest.raises(AccessDenied, match="wrong passcode"):
            classroom.unlock(BOB, "guess", now=100.0)
    with pytest.raises(AccessDenied, match="too many wrong passcodes: try again in 300 s"):
        classroom.unlock(BOB, "s3cret", now=100.0)  # even the right one, while locked
    assert classroom.unlock(ALICE, "s3cret", now=100.0).teacher  # other sessions are not locked
    assert classroom.unlock(BOB, "s3cret", now=401.0).teacher  # the window has passed
    assert audit(classroom)[3][3] == "rate_limited"


def test_passcode_attempts_are_rate_limited_in_total(classroom):
    """New sessions do not buy new guesses: the server-wide limit holds."""
    for n in range(5):
        with pytest.raises(AccessDenied, match="wrong passcode"):
            classroom.unlock(Actor(f"session:guesser{n}"), "guess", now=10.0)
    with pytest.raises(AccessDenied, match="too many wrong passcodes"):
        classroom.unlock(Actor("session:new"), "s3cret", now=11.0)


def test_from_env_reads_the_passcode(tmp_path, monkeypatch):
    monkeypatch.delenv("MASKLOC_TEACHER_PASSWORD", raising=False)
    assert not AccessPolicy.from_env(tmp_path).enforced
    monkeypatch.setenv("MASKLOC_TEACHER_PASSWORD", "pw")
    assert AccessPolicy.from_env(tmp_path).enforced


def test_audit_log_is_json_lines_and_survives_a_damaged_line(jobs, classroom):
    with pytest.raises(AccessDenied):
        classroom.delete(jobs, BOB, "alice-run")
    log = jobs.root / AUDIT_FILE
    with log.open("a") as handle:
        handle.write("{half a line\n")
    classroom.audit(ALICE, "stop", "alice-run", "ok")
    lines = log.read_text().splitlines()
    assert json.loads(lines[0])["outcome"] == "refused" and "time" in json.loads(lines[0])
    assert [e["actor"] for e in classroom.audit_entries()] == ["session:bob", "session:alice"]


def test_a_damaged_owner_file_leaves_the_run_to_the_teacher(jobs, classroom):
    (jobs.root / "alice-run" / "owner.json").write_text("[1, 2]")
    assert classroom.owner(jobs.root / "alice-run") is None
    assert not classroom.may_control(BOB, jobs.root / "alice-run")


def test_only_the_teacher_sends_everyones_runs_to_a_cluster(jobs, classroom):
    with pytest.raises(AccessDenied, match="only the teacher can change where everyone's runs"):
        classroom.change_scheduler(BOB, "tcp://10.0.0.5:8786")
    classroom.change_scheduler(classroom.unlock(BOB, "s3cret"), "tcp://10.0.0.5:8786")
    AccessPolicy(jobs.root, None).change_scheduler(ALICE, "")  # a laptop: no passcode, no rule
    assert audit(classroom)[0] == ("session:bob", "set_scheduler", "tcp://10.0.0.5:8786", "refused")
    assert audit(classroom)[-2:] == [
        ("session:bob", "set_scheduler", "tcp://10.0.0.5:8786", "ok"),
        ("session:alice", "set_scheduler", "in-process", "ok"),
    ]
