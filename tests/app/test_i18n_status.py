"""Run status in Spanish: what a job says it is doing (live, and as status.json keeps it), the
run table's progress cells, the cluster's description and the shared `Text` under them all; the
English the CLI, the logs and status.json's `message` carry stays as it was."""

from __future__ import annotations

import json
import pickle
import threading

import pytest
import streamlit as st
from conftest import ROOT, make_dataset
from streamlit.testing.v1 import AppTest

from app_parts.i18n import catalogue
from maskloc.classroom.jobs import JobRegistry, TrainingJob, read_run
from maskloc.classroom.run_tables import progress_text, runs_table
from maskloc.config.sections import RunConfig
from maskloc.data.images import UPLOADED, ImageError
from maskloc.data.table import DataError
from maskloc.formats.report import FormatError
from maskloc.training.run_folder import OUT_OF_MEMORY, RunFolder, failure_reason
from maskloc.utils.messages import N_, Text, explained

SPANISH = catalogue("es").gettext


class HeldBackend:
    """Trains nothing: reports a start on a named machine and one batch, then holds the job
    live until the test lets it go, as a cluster run would look while it trains."""

    def __init__(self) -> None:
        self.reported = threading.Event()
        self.release = threading.Event()

    def describe(self) -> str:  # as ClusterBackend words it (Home shows it)
        return Text(
            N_(
                "Dask cluster at {address}: {workers} worker(s), {threads} thread(s); runs train "
                "in parallel, one per worker thread"
            ),
            address="tcp://lab:8786",
            workers=1,
            threads=4,
        )

    def train(self, job: TrainingJob) -> bool:
        job.report_started("worker-1")
        job.report_batch(3, 10, 1, {}, 0.0)
        self.reported.set()
        self.release.wait(60)
        job.run.write_status("stopped", Text(N_("stopped by user")))
        return True


@pytest.fixture
def page_env(tmp_path, monkeypatch):
    monkeypatch.setenv("MASKLOC_DATA", str(make_dataset(tmp_path / "data")))
    monkeypatch.setenv("MASKLOC_RUNS", str(tmp_path / "runs"))
    monkeypatch.delenv("MASKLOC_LANG", raising=False)
    monkeypatch.delenv("MASKLOC_SCHEDULER", raising=False)
    st.cache_data.clear()
    st.cache_resource.clear()
    yield tmp_path
    st.cache_resource.clear()


def train_page(lang: str, home: str = "") -> AppTest:
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=90)
    at.query_params["lang"] = lang
    at.run()
    assert not at.exception, at.exception
    if home:
        assert any(home in m for m in markdown(at)), markdown(at)
    at.switch_page("app_pages/train.py").run()
    assert not at.exception, at.exception
    return at


def markdown(at: AppTest) -> list[str]:
    return [m.value for m in at.markdown]


@pytest.mark.parametrize(
    ("lang", "live", "cell", "home"),
    [
        ("es", "en worker-1: época 1, paso 3/10", "1 de ", "Clúster de Dask en tcp://lab:8786: 1"),
        ("en", "on worker-1: epoch 1, step 3/10", "1 of ", "Dask cluster at tcp://lab:8786: 1"),
    ],
)
def test_a_live_job_status_and_its_table_cell_speak_the_page_language(
    page_env, lang, live, cell, home
):
    from app_parts.jobs import _registry

    jobs: JobRegistry = _registry(str((page_env / "runs").resolve()))
    backend = HeldBackend()
    jobs.backend = backend
    job = jobs.start(RunConfig())
    try:
        assert backend.reported.wait(30)
        snapshot = job.snapshot()
        assert snapshot.message == "on worker-1: epoch 1, step 3/10"  # English in the library
        at = train_page(lang, home)
        assert any(m.endswith(" · " + live) for m in markdown(at)), markdown(at)
        table = at.dataframe[0].value
        (shown,) = table.loc[table["run"] == job.name, "epochs"]
        assert shown.startswith(cell)
        assert runs_table([snapshot])["epochs"][0].startswith("1 of ")  # the frame stays English
    finally:
        backend.release.set()
        assert jobs.join(30)


def test_a_stored_status_keeps_english_and_its_template_and_reads_back_as_text(tmp_path):
    run = RunFolder(tmp_path / "20260101-000000-own_cnn-a0.50")
    run.write_config(RunConfig())
    message = Text(N_("epoch {epoch}, step {step}/{total}"), epoch=2, step=5, total=9)
    run.write_status("running", Text(N_("on {where}: {text}"), where="gpu-a", text=message))
    stored = json.loads((run.path / "status.json").read_text())
    assert stored["message"] == "on gpu-a: epoch 2, step 5/9"  # what the CLI and old readers use
    assert stored["template"] == "on {where}: {text}"
    snapshot = read_run(run.path)  # no live job: interrupted, saying what it last said
    assert snapshot.state == "interrupted"
    assert snapshot.message == "no live job (last seen: on gpu-a: epoch 2, step 5/9)"
    assert explained(snapshot.message, SPANISH) == (
        "ningún trabajo activo (último estado: en gpu-a: época 2, paso 5/9)"
    )
    run.write_status("stopped", "stopped by user")  # an older run: only the English message
    assert type(read_run(run.path).message) is str
    assert explained(read_run(run.path).message, SPANISH) == "stopped by user"
    stored = json.loads((run.path / "status.json").read_text())
    stored["template"] = "something else {x}"  # a template that no longer matches: the message
    (run.path / "status.json").write_text(json.dumps({**stored, "fields": {"x": 1}}))
    assert explained(read_run(run.path).message, SPANISH) == "stopped by user"


def test_a_queued_job_that_never_ran_says_so_in_spanish_and_english(tmp_path):
    run = RunFolder(tmp_path / "run")
    run.write_config(RunConfig())
    run.write_status("queued", "")
    snapshot = read_run(run.path)
    assert snapshot.message == "no live job (last seen: queued)"
    assert explained(snapshot.message, SPANISH) == "ningún trabajo activo (último estado: en cola)"


def test_failure_reasons_are_english_texts_explained_in_spanish():
    oom = failure_reason(MemoryError())
    assert oom is OUT_OF_MEMORY and str(oom).startswith("out of memory: lower the batch size")
    assert explained(oom, SPANISH).startswith("sin memoria: baja el tamaño de lote")
    reason = failure_reason(DataError(N_("{file}: file not found"), file="train.csv"))
    assert reason == "train.csv: file not found"
    assert json.loads(json.dumps(reason.to_json()))["fields"] == {"file": "train.csv"}
    assert failure_reason(RuntimeError("boom")) == "RuntimeError: boom"  # no template: as is


def test_run_table_cells_are_english_in_the_frame_and_spanish_when_explained(tmp_path):
    from maskloc.classroom.jobs import RunSnapshot

    def snapshot(state: str, step: int = 0, epoch: int = 0) -> RunSnapshot:
        return RunSnapshot("r", tmp_path, state, "", RunConfig(), [], {}, step=step, epoch=epoch)

    epochs = RunConfig().train.epochs
    cells = {
        "queued": ("waiting", "en espera"),
        "preparing": ("preparing", "preparando"),
        "running": (f"2 of {epochs}", f"2 de {epochs}"),
    }
    shown = {
        "queued": progress_text(snapshot("queued")),
        "preparing": progress_text(snapshot("running")),
        "running": progress_text(snapshot("running", step=7, epoch=2)),
    }
    for key, (english, spanish) in cells.items():
        assert shown[key] == english and explained(shown[key], SPANISH) == spanish
    assert progress_text(snapshot("finished", step=7, epoch=3)) == "3"


def test_text_pickles_nests_and_explains_marked_names_as_fields():
    reason = Text(N_("{value} is negative"), value="-3")
    again = pickle.loads(pickle.dumps(reason))
    assert again == "-3 is negative" and again.explain(SPANISH) == "-3 es negativo"
    error = ImageError(N_("{file}: not an image file PIL can read"), file=UPLOADED)
    assert str(error) == "uploaded image: not an image file PIL can read"
    assert error.explain(SPANISH).startswith(SPANISH("uploaded image") + ": ")
    assert SPANISH("uploaded image") != "uploaded image"
    outer = FormatError(N_("cannot read {file}: {error}"), file="a.xml", error=error)
    assert SPANISH("uploaded image") in outer.explain(SPANISH)  # nested error, same language
    assert explained(42, SPANISH) == 42 and explained("plain", SPANISH) == "plain"
