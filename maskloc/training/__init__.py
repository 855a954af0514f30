"""Training: one run from a config (`train_run`: config resolved once, then data, model, loss,
Trainer, run folder), the Trainer and its callbacks, losses, the evaluation pass, the frozen-stem
cache, checks before a run, the live strip, and fitting a presence head afterwards."""

from ..utils.lazy import lazy_exports

__all__, __getattr__, __dir__ = lazy_exports(
    __name__,
    {
        "builder": ("build_trainer",),
        "evaluator": ("Predictions", "run_model"),
        "losses": ("LocalizationLoss",),
        "preflight": ("preflight",),
        "presence_fit": ("fit_presence",),
        "run": ("train_run",),
        "run_folder": ("RunFolder",),
        "trainer": ("EVENTS", "Trainer", "TrainerState"),
    },
)
