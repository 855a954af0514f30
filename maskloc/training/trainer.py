"""The training loop. The Trainer knows nothing about UIs: it reports through callbacks
(minGPT style) and checks a stop event every batch, so a thread, a CLI or a test can drive it."""

from __future__ import annotations

import logging
import math
import threading
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import torch
from torch.optim.swa_utils import AveragedModel, get_ema_multi_avg_fn
from torch.utils.data import DataLoader

from ..config.sections import TrainConfig
from ..models.localization import LocalizationModel
from ..utils.messages import ExplainedError
from .device import autocast, resolve_device, to_float_images
from .evaluator import Predictions, run_model, selection_score
from .losses import LocalizationLoss

# The events a Trainer reports and what a callback (a function of the Trainer) may read then.
# The CLI's progress bar, the run folder, background jobs and cluster workers all subscribe.
EVENTS = {
    "on_batch_end": "after each training step: state.step, state.epoch, state.last_batch",
    "on_eval_end": "after each evaluation: state.history[-1] ('best' when it improved), "
    "state.last_predictions",
    "on_epoch_end": "after each epoch (epoch mode only)",
    "on_finished": "training ended or was stopped; the best weights are restored",
    "on_failed": "training raised; state.error holds the exception, which is raised on",
}
Callback = Callable[["Trainer"], None]

logger = logging.getLogger(__name__)


class NonFiniteLoss(ExplainedError, RuntimeError):
    """The loss became NaN or infinite; training cannot continue meaningfully."""


@dataclass
class TrainerState:
    """What callbacks see: progress counters, the last batch's losses, the evaluation history."""

    epoch: int = 0
    step: int = 0
    total_steps: int = 0
    started: float = field(default_factory=time.monotonic)
    last_batch: dict[str, float] = field(default_factory=dict)
    history: list[dict[str, Any]] = field(default_factory=list)
    best_score: float = -math.inf
    best_metrics: dict[str, Any] = field(default_factory=dict)
    evals_since_best: int = 0
    stopped_early: bool = False
    stopped_by_user: bool = False
    error: BaseException | None = None
    last_predictions: Predictions | None = None  # the last evaluation, image by image

    @property
    def elapsed(self) -> float:
        return time.monotonic() - self.started


class Trainer:
    """Epoch mode (config.steps == 0): evaluate each epoch, early stopping after `patience`
    epochs without improvement. Step mode: evaluate every `eval_every` steps for `steps` steps.
    Either way the best model's weights are restored at the end."""

    def __init__(
        self,
        model: LocalizationModel,
        train_loader: DataLoader,
        val_loader: DataLoader,
        loss_fn: LocalizationLoss,
        config: TrainConfig,
        device: torch.device | None = None,
        stop_event: threading.Event | None = None,
    ) -> None:
        self.config = config
        self.device = device or resolve_device(config.device)
        self.model = model.to(self.device, memory_format=torch.channels_last)
        self.loss_fn = loss_fn.to(self.device)
        self.train_loader, self.val_loader = train_loader, val_loader
        self.stop_event = stop_event or threading.Event()
        groups = model.parameter_groups(
            config.lr_backbone, config.lr_class_head, config.lr_box_head
        )
        self.trained_parameters = [p for group in groups for p in group["params"]]
        # One fused kernel per step instead of a loop over every tensor (CPU and CUDA alike).
        self.optimizer = torch.optim.AdamW(groups, weight_decay=config.weight_decay, fused=True)
        self.state = TrainerState()
        self.state.total_steps = config.steps or config.epochs * len(train_loader)
        self.scheduler = torch.optim.lr_scheduler.OneCycleLR(
            self.optimizer,
            max_lr=[group["lr"] for group in self.optimizer.param_groups],
            total_steps=max(self.state.total_steps, 1),
            pct_start=0.15,
        )
        # Evaluated and kept instead of the raw weights when on: steadier on small data.
        self.ema = (
            AveragedModel(
                self.model, multi_avg_fn=get_ema_multi_avg_fn(config.ema_decay), use_buffers=True
            )
            if config.ema_decay
            else None
        )
        self.callbacks: dict[str, list[Callback]] = defaultdict(list)
        self._best_weights: dict[str, torch.Tensor] | None = None

    def add_callback(self, event: str, callback: Callback) -> None:
        if event not in EVENTS:
            raise ValueError(f"unknown event {event!r}; choose one of {', '.join(EVENTS)}")
        self.callbacks[event].append(callback)

    def _fire(self, event: str) -> None:
        for callback in self.callbacks[event]:
            callback(self)

    def _train_step(self, images, boxes, labels) -> dict[str, float]:
        x = to_float_images(images, self.device)
        with autocast(self.device, self.config.amp):
            parts = self.loss_fn(self.model(x), boxes.to(self.device), labels.to(self.device))
        if not torch.isfinite(parts["loss"]):
            parts = {key: value.detach() for key, value in parts.items()}
            raise NonFiniteLoss(
                f"loss became {float(parts['loss'])} at epoch {self.state.epoch}, step "
                f"{self.state.step + 1} (class {float(parts['class_loss']):.4g}, box "
                f"{float(parts['box_loss']):.4g}); lower the learning rates"
            )
        self.optimizer.zero_grad(set_to_none=True)
        parts["loss"].backward()
        torch.nn.utils.clip_grad_norm_(self.trained_parameters, 10.0, foreach=True)
        self.optimizer.step()
        self.scheduler.step()
        if self.ema is not None:
            self.ema.update_parameters(self.model)
        return {key: float(value.detach()) for key, value in parts.items()}

    @property
    def evaluated_model(self) -> LocalizationModel:
        """The weights that are evaluated and kept: the running average when EMA is on."""
        return self.model if self.ema is None else self.ema.module

    def evaluate(self) -> dict[str, Any]:
        predictions = run_model(
            self.evaluated_model, self.val_loader, self.device, self.loss_fn, self.config.amp
        )
        self.state.last_predictions = predictions
        return predictions.metrics()

    def _after_eval(self, train_sums: dict[str, float], batches: int) -> bool:
        """Record one evaluation; True when early stopping says enough."""
        metrics = self.evaluate()
        row = {
            "epoch": self.state.epoch,
            "step": self.state.step,
            "seconds": round(self.state.elapsed, 2),
            **{f"train_{key}": total / max(batches, 1) for key, total in train_sums.items()},
            **metrics,
        }
        self.state.history.append(row)
        score = selection_score(metrics)
        if score > self.state.best_score:
            self.state.best_score, self.state.best_metrics = score, row
            self.state.evals_since_best = 0
            self._best_weights = {
                key: value.detach().cpu().clone()
                for key, value in self.evaluated_model.state_dict().items()
            }
            row["best"] = True
        else:
            self.state.evals_since_best += 1
        logger.debug(
            "epoch %d step %d: mean IoU %.3f, balanced accuracy %.3f%s",
            self.state.epoch,
            self.state.step,
            metrics.get("mean_iou", float("nan")),
            metrics.get("balanced_accuracy", float("nan")),
            " (best so far)" if row.get("best") else "",
        )
        self._fire("on_eval_end")
        return not self.config.steps and self.state.evals_since_best >= self.config.patience

    def fit(self) -> TrainerState:
        """Train until the step budget, early stopping or the stop event; restore the best model."""
        self.model.train()
        every = self.config.eval_every if self.config.steps else len(self.train_loader)
        sums: dict[str, float] = defaultdict(float)
        batches = 0
        done = self.state.total_steps == 0
        try:
            while not done:
                self.state.epoch += 1
                for images, boxes, labels in self.train_loader:
                    if self.stop_event.is_set():
                        self.state.stopped_by_user = done = True
                        break
                    self.state.last_batch = self._train_step(images, boxes, labels)
                    self.state.step += 1
                    batches += 1
                    for key, value in self.state.last_batch.items():
                        sums[key] += value
                    self._fire("on_batch_end")
                    last = self.state.step >= self.state.total_steps
                    if self.state.step % every == 0 or last:
                        self.state.stopped_early = self._after_eval(sums, batches) and not last
                        sums, batches = defaultdict(float), 0
                    if last or self.state.stopped_early:
                        if self.state.stopped_early:
                            logger.info(
                                "early stopping at epoch %d: no better score for %d epochs",
                                self.state.epoch,
                                self.config.patience,
                            )
                        done = True
                        break
                if not self.config.steps:
                    self._fire("on_epoch_end")
        except BaseException as error:
            self.state.error = error
            self._fire("on_failed")
            raise
        if self._best_weights is not None:
            self.model.load_state_dict(self._best_weights)
        self._fire("on_finished")
        return self.state
