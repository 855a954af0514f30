"""The ground floor: messages with fields (`Text`, `ExplainedError`), the progress callback type,
atomic files, content fingerprints, keyed locks, zips, scores and lazy package faces. It imports
nothing else of maskloc; every other layer may import it."""

from .lazy import lazy_exports

__all__, __getattr__, __dir__ = lazy_exports(
    __name__,
    {
        "archives": ("zip_folder",),
        "atomic": ("atomic_write_bytes", "atomic_write_json", "read_json"),
        "fingerprints": ("file_digest", "files_digest"),
        "keyed_locks": ("KeyedLocks",),
        "lazy": ("lazy_exports",),
        "messages": ("N_", "ExplainedError", "Text", "Translate", "explained"),
        "metrics": (
            "SCORES",
            "SCORE_LABELS",
            "choose_presence_threshold",
            "localization_metrics",
            "paired_iou",
            "presence_metrics",
        ),
        "progress": ("Progress",),
    },
)
