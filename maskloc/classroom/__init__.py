"""Many users on one server: background training jobs and their queue, runs on a Dask cluster,
who may do what (and the audit log), answers shared between users, and run tables."""

from ..utils.lazy import lazy_exports

__all__, __getattr__, __dir__ = lazy_exports(
    __name__,
    {
        "access": ("AccessPolicy", "Actor"),
        "cluster": ("ClusterBackend",),
        "jobs": ("JobRegistry", "RunSnapshot", "TrainingJob"),
        "run_tables": ("runs_table", "sweep_table"),
        "shared_answers": ("AnswerCache",),
    },
)
