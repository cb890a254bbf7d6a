"""Reconstruction error of the trailing window: the anomaly score and each sensor's share of it.

Three ways to turn the reconstruction of the trailing window into per-sensor terms (whose mean is
the score), chosen per bundle:

* ``window_mse``: mean squared error over the window, per sensor (the classic autoencoder score);
* ``residual``: the squared *mean* residual over the window, per sensor. Averaging the signed error
  first cancels white sensor noise and keeps level shifts, which is what most real faults are;
* ``mahalanobis``: the mean residual vector r weighed by the inverse covariance P of normal residuals,
  r^T P r / d (EncDec-AD, Malhotra et al. 2016, "LSTM-based Encoder-Decoder for Multi-sensor
  Anomaly Detection"); the per-sensor terms are r_j (P r)_j.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

from edge_lstm.core.rows import RowArrays, Rows
from edge_lstm.errors import DataError, SettingsError

FloatArray = npt.NDArray[np.float32]


class TrailingWindow(RowArrays):
    """The last ``window`` scaled samples of every stream, oldest first, one row per stream.

    The step model reconstructs exactly this window at every step, so the error compares like with
    like. Until ``window`` samples have arrived, a row is not ``full`` and there is nothing to score.
    """

    def __init__(self, window: int, n_features: int, capacity: int = 1) -> None:
        self.window = window
        self.buffer: FloatArray
        self.count: npt.NDArray[np.int64]
        self._allocate(capacity, {"buffer": ((window, n_features), np.float32), "count": ((), np.int64)})

    def push_rows(self, rows: Rows, scaled: FloatArray) -> None:
        """Append one scaled sample to each of ``rows``, dropping the oldest once a window is full."""
        # A shift of each (window x features) block: the windows stay in order, as the model's are.
        buffer = self.buffer[rows]  # a view for one stream (a slice), a copy for a wave
        buffer[:, :-1] = buffer[:, 1:]
        buffer[:, -1] = scaled
        if not isinstance(rows, slice):
            self.buffer[rows] = buffer
        self.count[rows] += 1

    def push(self, scaled: FloatArray) -> None:
        """``push_rows`` for the one stream of a window of capacity 1."""
        self.push_rows(slice(0, 1), scaled[None, :])

    def full(self, rows: Rows) -> npt.NDArray[np.bool_]:
        """Whether ``window`` samples have been pushed to each of ``rows`` since its last reset."""
        return self.count[rows] >= self.window  # type: ignore[no-any-return]

    @property
    def values(self) -> FloatArray:
        """Row 0's window, oldest sample first, shape (window, features)."""
        return self.buffer[0]  # type: ignore[no-any-return]


def sensor_errors(reconstruction: FloatArray, window: FloatArray) -> npt.NDArray[np.float64]:
    """Mean squared error per sensor over the window: shape (features,), or (streams, features) for a
    wave's windows stacked (streams, window, features). Float64 because a reading far outside the
    training range squares past float32's range."""
    diff = reconstruction.astype(np.float64) - window
    # np.add.reduce rather than .mean(): the same sum without the Python-level wrapper, which is
    # most of the cost on arrays this small. Summed row after row over the window axis, in the same
    # order for one stream as for a stack, so a wave's scores equal each stream's alone, bit for bit.
    return np.add.reduce(diff * diff, axis=-2) * (1.0 / diff.shape[-2])  # type: ignore[no-any-return]


def score_of(errors: npt.NDArray[np.floating[Any]]) -> float:
    """The scalar score: mean of the per-sensor errors. Higher is more anomalous."""
    return float(np.add.reduce(errors)) / int(errors.shape[0])


def scores_of(errors: npt.NDArray[np.floating[Any]]) -> list[float]:
    """``score_of`` for each row of (streams, features) terms, equal to it bit for bit."""
    return [total / int(errors.shape[1]) for total in np.add.reduce(errors, axis=1).tolist()]


def contributions(errors: npt.NDArray[np.floating[Any]], names: list[str]) -> dict[str, float]:
    """Each sensor's share of the error (sums to 1), largest first."""
    errors = np.maximum(errors, 0.0)  # Mahalanobis terms can be negative; a share cannot
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


SCORES = ("window_mse", "residual", "mahalanobis")


class Scorer:
    """The score a bundle asks for; ``precision`` (inverse covariance) only for ``mahalanobis``."""

    __slots__ = ("kind", "precision")

    def __init__(self, kind: str = "window_mse", precision: npt.ArrayLike | None = None) -> None:
        if kind not in SCORES:
            raise SettingsError(f"score must be one of {', '.join(SCORES)}, got {kind!r}")
        if (kind == "mahalanobis") != (precision is not None):
            raise SettingsError("a precision matrix is needed for, and only for, the mahalanobis score")
        self.kind = kind
        self.precision = None if precision is None else np.asarray(precision, dtype=np.float64)

    def sensor_terms(self, reconstruction: FloatArray, window: FloatArray) -> npt.NDArray[np.float64]:
        """Per-sensor terms for one step, shape (features,), whose mean is the score; or for a wave,
        shape (streams, features), from reconstructions and windows stacked along a first axis."""
        if self.kind == "window_mse":
            return sensor_errors(reconstruction, window)
        diff = reconstruction.astype(np.float64) - window
        residual = np.add.reduce(diff, axis=-2) * (1.0 / diff.shape[-2])
        if self.precision is None:
            return residual * residual  # type: ignore[no-any-return]
        # (P r)_j as a sum of products along each row: the same arithmetic for one stream and a stack
        # (a matrix product could take another kernel, and other last bits, for another batch size).
        weighted = np.add.reduce(self.precision * residual[..., None, :], axis=-1)
        return residual * weighted  # type: ignore[no-any-return]

    def sequence_terms(self, reconstructions: FloatArray, scaled: FloatArray) -> npt.NDArray[np.float64]:
        """``sensor_terms`` for every row of a sequence at once: shape (rows, features)."""
        if self.kind == "window_mse":
            return sequence_sensor_errors(reconstructions, scaled).astype(np.float64)
        residuals = mean_residuals(reconstructions, scaled)
        if self.precision is None:
            return residuals * residuals
        return residuals * (residuals @ self.precision.T)

    def sequence_scores(self, reconstructions: FloatArray, scaled: FloatArray) -> npt.NDArray[np.float64]:
        """The score of every row of a sequence at once (the mean of ``sequence_terms``)."""
        return self.sequence_terms(reconstructions, scaled).mean(axis=1)  # type: ignore[no-any-return]

    def to_dict(self) -> dict[str, Any]:
        """The manifest's form: the kind, and the precision matrix for Mahalanobis."""
        out: dict[str, Any] = {"kind": self.kind}
        if self.precision is not None:
            out["precision"] = self.precision.tolist()
        return out

    @classmethod
    def from_dict(cls, d: dict[str, Any] | None) -> Scorer:
        """Read the manifest's form back (None means the default, window MSE)."""
        d = d or {}
        return cls(str(d.get("kind", "window_mse")), d.get("precision"))


def mean_residuals(reconstructions: FloatArray, scaled: FloatArray) -> npt.NDArray[np.float64]:
    """The signed mean residual over each row's trailing window: shape (rows, features)."""
    windows = trailing_windows(scaled, reconstructions.shape[1])
    return (reconstructions.astype(np.float64) - windows).mean(axis=1)  # type: ignore[no-any-return]


def fit_precision(residuals: npt.ArrayLike, shrinkage: float = 0.1) -> npt.NDArray[np.float64]:
    """Inverse covariance of normal mean-residual vectors, shrunk toward its diagonal.

    A few hundred autocorrelated rows make the sample covariance overconfident in the directions
    it saw least; shrinking ``shrinkage`` of the way toward the diagonal keeps it invertible and sane.
    """
    r = np.asarray(residuals, dtype=np.float64)
    if r.ndim != 2 or r.shape[0] < 2:
        raise DataError("need at least two residual vectors to fit a covariance")
    cov = np.atleast_2d(np.cov(r, rowvar=False))
    cov = (1.0 - shrinkage) * cov + shrinkage * np.diag(np.diag(cov))
    cov += np.eye(len(cov)) * 1e-9 * max(float(np.trace(cov)), 1e-12)
    return np.linalg.inv(cov)  # type: ignore[return-value]
