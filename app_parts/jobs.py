"""The server's one job registry (every session sees the same runs) and where its runs train:
here, one at a time, or on the Dask cluster MASKLOC_SCHEDULER names."""

from __future__ import annotations

import streamlit as st

from app_parts.i18n import error_text, library_text, t
from maskloc.classroom.jobs import JobRegistry
from maskloc.config.paths import runs_root, scheduler_address


@st.cache_resource(show_spinner=False)
def _registry(root: str) -> JobRegistry:
    jobs = JobRegistry(root)
    address = scheduler_address()
    if address:
        jobs.backend = cluster_backend(address)
    return jobs


def cluster_backend(address: str):
    """A Dask backend (imported only here: without a scheduler nothing touches Dask)."""
    from maskloc.classroom.cluster import ClusterBackend

    return ClusterBackend(address)


def training_place(jobs: JobRegistry) -> str:
    """Where new runs train, in one line for a page; a cluster that cannot be reached says so."""
    if jobs.backend is None:
        return t("Runs train on this server, one at a time (a second one waits in the queue).")
    from maskloc.classroom.cluster import ClusterError

    try:
        return library_text(jobs.backend.describe()) + "."
    except ClusterError as error:
        return t("Runs go to a Dask cluster that cannot be used now: {error}").format(
            error=error_text(error)
        )


def registry() -> JobRegistry:
    """The one registry of this server process: every session sees the same runs."""
    return _registry(str(runs_root().resolve()))
