"""Causal input smoothing: the trailing mean of the last k scaled samples.

At 1 Hz, many industrial sensors read as white noise around a set point, and the faults worth an
alert are level shifts of one to a few sigma. A short trailing mean removes most of the noise and
keeps the shift, and it uses no sample after t. Training applies ``trailing_mean`` to each segment;
the device applies ``TrailingMean`` one sample at a time; both average over fewer samples until k
have arrived, so the two agree from the first row.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from edge_lstm.errors import SettingsError

FloatArray = npt.NDArray[np.float32]


def trailing_mean(values: npt.ArrayLike, k: int) -> FloatArray:
    """Row t becomes the mean of rows max(0, t-k+1)..t; shape and dtype float32 kept."""
    x = np.asarray(values, dtype=np.float64)
    if k <= 1 or len(x) == 0:
        return x.astype(np.float32)
    sums = np.cumsum(np.vstack([np.zeros((1, x.shape[1])), x]), axis=0)
    end = np.arange(1, len(x) + 1)
    start = np.maximum(end - k, 0)
    return ((sums[end] - sums[start]) / (end - start)[:, None]).astype(np.float32)  # type: ignore[no-any-return]


class TrailingMean:
    """``trailing_mean`` one sample at a time (a ring of the last k rows)."""

    __slots__ = ("_count", "_ring", "k")

    def __init__(self, k: int, n_features: int) -> None:
        if k < 1:
            raise SettingsError(f"smoothing must be at least 1 sample, got {k}")
        self.k = k
        self._ring = np.zeros((k, n_features), dtype=np.float64)
        self._count = 0

    def push(self, row: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
        """Add one sample and return the mean of the last ``k`` (fewer right after a reset)."""
        self._ring[self._count % self.k] = row
        self._count += 1
        n = min(self._count, self.k)
        # Summing the ring each time (k is small) rather than a running sum: no rounding drift.
        return np.add.reduce(self._ring[:n] if n < self.k else self._ring, axis=0) / n  # type: ignore[no-any-return]

    def reset(self) -> None:
        """Forget the past samples (after a gap)."""
        self._ring[:] = 0.0
        self._count = 0
