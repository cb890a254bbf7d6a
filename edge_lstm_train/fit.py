"""Fitting the sequence model: Adam, early stopping on validation loss, seeded."""

from __future__ import annotations

import math
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from edge_lstm_train import import_tensorflow_quietly

import_tensorflow_quietly()

import keras
import numpy as np

from edge_lstm.errors import SettingsError
from edge_lstm_train.model import TrailingWindowLoss, build_sequence_model


@dataclass(frozen=True)
class ModelConfig:
    window: int = 16
    state_size: int = 32
    bottleneck: int = 8
    cell: str = "lstm"
    dropout: float = 0.0
    l2: float = 0.0
    seq_len: int = 128
    stride: int = 32
    batch_size: int = 32
    epochs: int = 150
    patience: int = 8
    learning_rate: float = 3e-3
    seed: int = 0

    def __post_init__(self) -> None:
        if self.cell not in ("lstm", "gru"):
            raise SettingsError(f"cell must be 'lstm' or 'gru', got {self.cell!r}")
        for name in ("window", "state_size", "bottleneck", "seq_len", "stride", "batch_size", "epochs"):
            if getattr(self, name) < 1:
                raise SettingsError(f"{name} must be at least 1, got {getattr(self, name)}")
        if not 0.0 <= self.dropout < 1.0:
            raise SettingsError(f"dropout must be in [0, 1), got {self.dropout}")
        if self.l2 < 0:
            raise SettingsError(f"l2 must not be negative, got {self.l2}")
        if self.seq_len < 2 * self.window:
            raise SettingsError(f"seq_len ({self.seq_len}) must be at least twice the window ({self.window})")


def seed_everything(seed: int) -> None:
    import tensorflow as tf

    keras.utils.set_random_seed(seed)
    tf.config.experimental.enable_op_determinism()


class EpochProgress(keras.callbacks.Callback):
    """Progress over epochs on stderr, with the losses: a bar on a terminal; in a log (systemd, CI, a
    pipe) one line at most every ``LOG_EVERY_S`` seconds and at the end, since a bar never draws there."""

    LOG_EVERY_S = 10.0

    def __init__(self, epochs: int) -> None:
        super().__init__()
        self._epochs = epochs
        self._bar: Any = None
        self._best = float("inf")
        self._started = self._last_line = 0.0

    def on_train_begin(self, logs: dict[str, float] | None = None) -> None:
        import click

        self._started = self._last_line = time.monotonic()
        if sys.stderr.isatty():
            self._bar = click.progressbar(
                length=self._epochs, label="      fit", file=sys.stderr, show_eta=True, item_show_func=lambda s: s
            )
            self._bar.__enter__()

    def on_epoch_end(self, epoch: int, logs: dict[str, float] | None = None) -> None:
        logs = logs or {}
        self._best = min(self._best, float(logs.get("val_loss", np.inf)))
        text = f"loss {logs.get('loss', np.nan):.4f}"
        if "val_loss" in logs:
            text += f"  val_loss {logs['val_loss']:.4f}  best {self._best:.4f}"
        if self._bar is not None:
            self._bar.update(1, text)
        elif time.monotonic() - self._last_line >= self.LOG_EVERY_S or epoch + 1 == self._epochs:
            self._last_line = time.monotonic()
            elapsed = self._last_line - self._started
            print(f"      fit: epoch {epoch + 1}/{self._epochs}, {elapsed:.0f} s, {text}", file=sys.stderr, flush=True)

    def on_train_end(self, logs: dict[str, float] | None = None) -> None:
        if self._bar is not None:
            self._bar.__exit__(None, None, None)


class TimeBudget(keras.callbacks.Callback):
    """Stops training at the end of the epoch that crosses ``seconds``, and remembers that it did."""

    def __init__(self, seconds: float) -> None:
        super().__init__()
        self._seconds = seconds
        self._started = 0.0
        self.stopped_at: int | None = None

    def on_train_begin(self, logs: dict[str, float] | None = None) -> None:
        self._started = time.monotonic()

    def on_epoch_end(self, epoch: int, logs: dict[str, float] | None = None) -> None:
        if time.monotonic() - self._started > self._seconds:
            self.stopped_at = epoch + 1
            self.model.stop_training = True


def fit_sequence_model(
    config: ModelConfig,
    train: tuple[np.ndarray, np.ndarray],
    validation: tuple[np.ndarray, np.ndarray] | None,
    progress: bool = True,
    time_budget_s: float = math.inf,
    log: Callable[[str], None] = print,
) -> tuple[keras.Model, dict[str, Any]]:
    """Fit on ``train``; with ``validation``, stop early on its loss and keep the best epoch, else run
    exactly ``config.epochs`` (for short or drifting data, where a time-split validation set would
    pick an untrained model)."""
    seed_everything(config.seed)
    n_features = train[0].shape[-1]
    model = build_sequence_model(
        n_features,
        config.window,
        config.state_size,
        config.bottleneck,
        cell=config.cell,
        dropout=config.dropout,
        l2=config.l2,
    )
    model.compile(optimizer=keras.optimizers.Adam(config.learning_rate), loss=TrailingWindowLoss(config.window))
    callbacks: list[keras.callbacks.Callback] = []
    if validation is not None:
        callbacks += [
            keras.callbacks.EarlyStopping(monitor="val_loss", patience=config.patience, restore_best_weights=True),
            keras.callbacks.ReduceLROnPlateau(monitor="val_loss", factor=0.5, patience=max(2, config.patience // 2)),
        ]
    budget = TimeBudget(time_budget_s)
    callbacks.append(budget)
    if progress:
        callbacks.append(EpochProgress(config.epochs))
    history = model.fit(
        train[0],
        train[1],
        validation_data=validation,
        epochs=config.epochs,
        batch_size=config.batch_size,
        shuffle=True,
        callbacks=callbacks,
        verbose=0,
    )
    losses = [float(v) for v in history.history["loss"]]
    if budget.stopped_at is not None:
        log(f"fit: stopped after epoch {budget.stopped_at}: the {time_budget_s:g} s time budget is spent")
    stopped = {"stopped_by_time_budget": budget.stopped_at is not None}
    if validation is None:
        return model, {
            "epochs_run": len(losses),
            "best_epoch": len(losses),
            "train_loss": losses[-1],
            "val_loss": None,
            **stopped,
        }
    val_losses = [float(v) for v in history.history["val_loss"]]
    best = int(np.argmin(val_losses))
    summary = {
        "epochs_run": len(val_losses),
        "best_epoch": best + 1,
        "train_loss": losses[best],
        "val_loss": val_losses[best],
        **stopped,
    }
    return model, summary
