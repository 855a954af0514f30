"""Who may do what on a shared server, and a record of what was done.

Without a teacher passcode (MASKLOC_TEACHER_PASSWORD unset) the app is a single-user laptop app:
everyone may do everything, as before. With one set:

- a run belongs to whoever started it (a browser session, or the signed-in user where the server
  has single sign-on); stopping or deleting it needs ownership or the teacher's passcode;
- making a model active for everyone, or sending everyone's new runs to a Dask cluster, needs
  the passcode; a student's "use this model" stays in their own session;
- passcode attempts are compared in constant time and rate-limited per session and in total.

Stops, deletions, activations, scheduler switches, refusals and passcode attempts go to
`audit.jsonl` in the runs folder, one JSON object per line. No Streamlit here: the pages build an
`Actor` and ask.
"""

from __future__ import annotations

import hmac
import json
import logging
import os
import threading
import time
from collections import deque
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..config.paths import teacher_passcode
from ..training.run_folder import RunFolder
from ..utils.messages import N_, ExplainedError

if TYPE_CHECKING:
    from .jobs import JobRegistry

log = logging.getLogger(__name__)

AUDIT_FILE = "audit.jsonl"
# Actions that change what others see; each is checked and written to the audit log.
STOP, DELETE, ACTIVATE, SCHEDULE = "stop", "delete", "activate_for_everyone", "set_scheduler"
# Server-wide changes (teacher only on a shared server) and why one is refused.
FOR_EVERYONE = {
    ACTIVATE: N_(
        "only the teacher can change the model for everyone; 'use in my session' changes it for you"
    ),
    SCHEDULE: N_("only the teacher can change where everyone's runs train"),
}


class AccessDenied(ExplainedError, PermissionError):
    """An action this actor may not take; the message says why and what would allow it."""


@dataclass(frozen=True)
class Actor:
    """Who asks: `id` is stable for a browser session ("session:…") or a user ("user:…")."""

    id: str
    teacher: bool = False

    def as_teacher(self) -> Actor:
        return replace(self, teacher=True)


@dataclass
class _Attempts:
    """Failed passcode attempts within the window, per actor and in total."""

    per_actor: dict[str, deque[float]] = field(default_factory=dict)
    total: deque[float] = field(default_factory=deque)


class AccessPolicy:
    """The rules for one runs folder. `password=None` means single-user mode (all allowed)."""

    def __init__(
        self,
        runs_root: str | Path,
        password: str | None = None,
        max_failures: int = 5,
        max_failures_total: int = 30,
        window_seconds: float = 300.0,
    ) -> None:
        self.root = Path(runs_root)
        self._password = password.encode() if password else None
        self.max_failures = max_failures
        self.max_failures_total = max_failures_total
        self.window_seconds = window_seconds
        self._attempts = _Attempts()
        self._lock = threading.Lock()

    @classmethod
    def from_env(cls, runs_root: str | Path) -> AccessPolicy:
        return cls(runs_root, teacher_passcode())

    @property
    def enforced(self) -> bool:
        """True when a teacher passcode is set (a shared classroom server)."""
        return self._password is not None

    # --- ownership ------------------------------------------------------------------------------

    def claim(self, run_path: str | Path, actor: Actor) -> None:
        """Record who started a run (its folder gets owner.json)."""
        RunFolder(run_path).write_owner(actor.id)

    def owner(self, run_path: str | Path) -> str | None:
        return RunFolder(run_path).owner()

    # --- decisions ------------------------------------------------------------------------------

    def may_control(self, actor: Actor, run_path: str | Path) -> bool:
        """May `actor` stop or delete this run?"""
        return not self.enforced or actor.teacher or self.owner(run_path) == actor.id

    def may_change_for_everyone(self, actor: Actor) -> bool:
        """May `actor` change what every user of the server gets (FOR_EVERYONE)?"""
        return not self.enforced or actor.teacher

    def check(self, actor: Actor, action: str, target: str | Path) -> None:
        """Raise AccessDenied (and log the refusal) unless `actor` may take `action` on
        `target` (a run folder, or what a server-wide change sets)."""
        server_wide = action in FOR_EVERYONE
        allowed = (
            self.may_change_for_everyone(actor) if server_wide else self.may_control(actor, target)
        )
        if allowed:
            return
        name = str(target) if action == SCHEDULE else Path(target).name
        self.audit(actor, action, name, "refused")
        if server_wide:
            raise AccessDenied(FOR_EVERYONE[action])
        raise AccessDenied(
            N_(
                "run {run} belongs to another session: only the session that started it, or "
                "the teacher (passcode), may stop or delete it"
            ),
            run=name,
        )

    # --- guarded actions on a JobRegistry -------------------------------------------------------

    def stop(self, jobs: JobRegistry, actor: Actor, name: str) -> bool:
        """Stop a live run (or take a queued one out of the line) if `actor` may."""
        self.check(actor, STOP, jobs.root / name)
        stopped = jobs.stop(name)
        self.audit(actor, STOP, name, "ok" if stopped else "not_running")
        return stopped

    def delete(self, jobs: JobRegistry, actor: Actor, name: str) -> None:
        """Delete a run folder if `actor` may (JobRegistry refuses runs still training)."""
        self.check(actor, DELETE, jobs.root / name)
        jobs.delete(name)
        self.audit(actor, DELETE, name, "ok")

    def activate_for_everyone(self, jobs: JobRegistry, actor: Actor, checkpoint: Path) -> None:
        """Make a checkpoint the server's active model if `actor` may."""
        self.check(actor, ACTIVATE, checkpoint.parent)
        jobs.set_active(checkpoint)
        self.audit(actor, ACTIVATE, checkpoint.parent.name, "ok", checkpoint=str(checkpoint))

    def change_scheduler(self, actor: Actor, address: str) -> None:
        """Refuse (AccessDenied) unless `actor` may move everyone's new runs to `address`
        ("": this server); the switch is audited."""
        target = address or "in-process"
        self.check(actor, SCHEDULE, target)
        self.audit(actor, SCHEDULE, target, "ok")

    # --- the teacher's passcode -----------------------------------------------------------------

    def unlock(self, actor: Actor, attempt: str, now: float | None = None) -> Actor:
        """The actor as teacher if `attempt` is the passcode; AccessDenied otherwise, also
        (without comparing) while too many attempts failed recently."""
        if not self.enforced:
            return actor.as_teacher()
        now = time.monotonic() if now is None else now
        with self._lock:
            mine = self._attempts.per_actor.setdefault(actor.id, deque())
            for queue in (mine, self._attempts.total):
                while queue and queue[0] <= now - self.window_seconds:
                    queue.popleft()
            if len(mine) >= self.max_failures or len(self._attempts.total) >= (
                self.max_failures_total
            ):
                wait = self.window_seconds - (now - (mine or self._attempts.total)[0])
                self.audit(actor, "teacher_unlock", "", "rate_limited")
                raise AccessDenied(
                    N_("too many wrong passcodes: try again in {seconds} s"),
                    seconds=max(1, round(wait)),
                )
            assert self._password is not None
            if hmac.compare_digest(attempt.encode(), self._password):
                mine.clear()
                self.audit(actor, "teacher_unlock", "", "ok")
                return actor.as_teacher()
            mine.append(now)
            self._attempts.total.append(now)
        self.audit(actor, "teacher_unlock", "", "wrong_passcode")
        raise AccessDenied(N_("wrong passcode"))

    # --- the audit log --------------------------------------------------------------------------

    def audit(self, actor: Actor, action: str, target: str, outcome: str, **detail: Any) -> None:
        """Append one JSON line to runs/audit.jsonl (one write call: lines never interleave)."""
        entry = {
            "time": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
            "actor": actor.id,
            "teacher": actor.teacher,
            "action": action,
            "target": target,
            "outcome": outcome,
            **detail,
        }
        line = (json.dumps(entry, default=str) + "\n").encode()
        try:
            self.root.mkdir(parents=True, exist_ok=True)
            handle = os.open(self.root / AUDIT_FILE, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
            try:
                os.write(handle, line)
            finally:
                os.close(handle)
        except OSError as error:  # the action itself must not fail because the log cannot grow
            log.warning("cannot write the audit log in %s: %s", self.root, error)

    def audit_entries(self) -> list[dict[str, Any]]:
        """Every readable entry of the audit log, oldest first."""
        try:
            lines = (self.root / AUDIT_FILE).read_text().splitlines()
        except OSError:
            return []
        entries = []
        for text in lines:
            try:
                entries.append(json.loads(text))
            except ValueError:
                continue
        return entries
