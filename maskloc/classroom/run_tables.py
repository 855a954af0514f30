"""Tables of runs for a UI: one row per run, and a sweep's runs by alpha.

The runs table is made to be shown as it is: scores are text ("–" where a run has none yet,
never "None"), and "epochs" says how far a live run has got ("2 of 12", "preparing", "waiting").
"""

from __future__ import annotations

import time
from collections.abc import Sequence

import pandas as pd

from ..utils.messages import N_, Text, Translate, explained, identity
from ..utils.metrics import SCORES as _SCORES
from .jobs import RunSnapshot, loss_shares


def _score(value: float | None) -> str:
    return "–" if value is None else f"{value:.3f}"


def progress_text(s: RunSnapshot) -> str:
    """How far a run got, in epochs (or steps in step mode); a Text, shown translated."""
    if s.state == "queued":
        return Text(N_("waiting"))
    if s.state == "running" and not s.step:
        return Text(N_("preparing"))
    if s.config.train.steps:
        if s.state != "running":
            return str(s.step)
        return Text(N_("step {step} of {total}"), step=s.step, total=s.config.train.steps)
    if s.state != "running":
        return str(s.epoch)
    return Text(N_("{done} of {total}"), done=s.epoch, total=s.config.train.epochs)


def runs_table(snapshots: Sequence[RunSnapshot], translate: Translate = identity) -> pd.DataFrame:
    """One row per run: what it is, how far it got (in `translate`'s language: a table's cells
    are plain text), its best scores (as text, "–" if none)."""
    rows = []
    for s in snapshots:
        rows.append(
            {
                "run": s.name,
                "state": s.state,
                "model": s.config.model.name,
                "pretrained": s.config.model.pretrained,
                "size": s.config.data.image_size,
                "alpha": s.config.train.alpha,
                "epochs": explained(progress_text(s), translate),
                **{key: _score(s.best.get(key)) for key in _SCORES},
                "sweep": s.sweep or "",
                "started": time.strftime("%Y-%m-%d %H:%M", time.localtime(s.created)),
            }
        )
    columns = ["run", "state", "model", "pretrained", "size", "alpha", "epochs", *_SCORES]
    return pd.DataFrame(rows, columns=[*columns, "sweep", "started"])


def final_shares(snapshot: RunSnapshot) -> dict[str, float | None]:
    """What the class and box parts made of the training loss over the run's last evaluation
    period: (1 - alpha) * class loss and alpha * box loss, as fractions of their sum."""
    last = snapshot.history[-1] if snapshot.history else {}
    parts = loss_shares(
        {
            "class_loss": last.get("train_class_loss", float("nan")),
            "box_loss": last.get("train_box_loss", float("nan")),
        },
        snapshot.config.train.alpha,
    )
    total = parts["class"] + parts["box"] if parts else float("nan")
    if not parts or not total > 0:
        return {"class_share": None, "box_share": None}
    return {"class_share": parts["class"] / total, "box_share": parts["box"] / total}


def sweep_table(snapshots: Sequence[RunSnapshot]) -> pd.DataFrame:
    """alpha -> best scores and final loss shares of each run of a sweep, sorted by alpha."""
    rows = [
        {
            "alpha": s.config.train.alpha,
            "run": s.name,
            "state": s.state,
            **{key: s.best.get(key) for key in _SCORES},
            **final_shares(s),
        }
        for s in snapshots
    ]
    columns = ["alpha", "run", "state", *_SCORES, "class_share", "box_share"]
    frame = pd.DataFrame(rows, columns=columns)
    return frame.sort_values("alpha").reset_index(drop=True)
