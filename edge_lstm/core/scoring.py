"""Reconstruction error of the trailing window: the anomaly score and each sensor's share of it."""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float32]


class TrailingWindow:
    """The last ``window`` scaled samples of one stream, oldest first.

    The step model reconstructs exactly this window at every step, so the error compares like with
    like. Until ``window`` samples have arrived, ``full`` is False and there is nothing to score.
    """

    __slots__ = ("_buffer", "_count", "window")

    def __init__(self, window: int, n_features: int) -> None:
        self.window = window
        self._buffer = np.zeros((window, n_features), dtype=np.float32)
        self._count = 0

    def push(self, scaled: FloatArray) -> None:
        # A shift of a (window x features) block is cheaper here than index arithmetic on a ring.
        self._buffer[:-1] = self._buffer[1:]
        self._buffer[-1] = scaled
        self._count += 1

    def reset(self) -> None:
        self._buffer[:] = 0.0
        self._count = 0

    @property
    def full(self) -> bool:
        return self._count >= self.window

    @property
    def values(self) -> FloatArray:
        return self._buffer


def sensor_errors(reconstruction: FloatArray, window: FloatArray) -> npt.NDArray[np.float64]:
    """Mean squared error per sensor over the window: shape (features,), float64 because a reading
    far outside the training range squares past float32's range."""
    diff = reconstruction.astype(np.float64) - window
    # np.add.reduce rather than .mean(): the same sum without the Python-level wrapper, which is
    # most of the cost on arrays this small (this runs once per sample).
    return np.add.reduce(diff * diff, axis=0) * (1.0 / diff.shape[0])  # type: ignore[no-any-return]


def score_of(errors: npt.NDArray[np.floating[Any]]) -> float:
    """The scalar score: mean of the per-sensor errors. Higher is more anomalous."""
    return float(np.add.reduce(errors)) / int(errors.shape[0])


def contributions(errors: npt.NDArray[np.floating[Any]], names: list[str]) -> dict[str, float]:
    """Each sensor's share of the error (sums to 1), largest first."""
    total = float(errors.sum())
    if total <= 0.0:
        return {name: 0.0 for name in names}
    shares = sorted(zip(names, (float(e) / total for e in errors), strict=True), key=lambda p: -p[1])
    return {name: round(share, 4) for name, share in shares}


def trailing_windows(scaled: FloatArray, window: int) -> FloatArray:
    """For every row t, the rows t-window+1..t (zeros before the start), shape (rows, window, features)."""
    padded = np.concatenate([np.zeros((window - 1, scaled.shape[1]), dtype=np.float32), scaled])
    view = np.lib.stride_tricks.sliding_window_view(padded, window, axis=0)  # (rows, features, window)
    return np.ascontiguousarray(view.transpose(0, 2, 1), dtype=np.float32)


def sequence_sensor_errors(reconstructions: FloatArray, scaled: FloatArray) -> FloatArray:
    """``sensor_errors`` for every row of a sequence at once: shape (rows, features).

    Rows before the window has filled are compared with zeros, as ``TrailingWindow`` would not score
    them at all; callers mask the warm-up.
    """
    windows = trailing_windows(scaled, reconstructions.shape[1])
    diff = reconstructions - windows
    return np.asarray((diff * diff).mean(axis=1), dtype=np.float32)
