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

from edge_lstm.core.rows import RowArrays, Rows
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


class TrailingMean(RowArrays):
    """``trailing_mean`` one sample at a time for every stream: a ring of the last k rows per stream."""

    def __init__(self, k: int, n_features: int, capacity: int = 1) -> None:
        if k < 1:
            raise SettingsError(f"smoothing must be at least 1 sample, got {k}")
        self.k = k
        self.ring: npt.NDArray[np.float64]
        self.count: npt.NDArray[np.int64]
        self._allocate(capacity, {"ring": ((k, n_features), np.float64), "count": ((), np.int64)})

    def push_rows(self, rows: Rows, values: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
        """Add one sample to each of ``rows``; returns each row's mean of its last ``k`` (fewer right
        after a reset)."""
        count = self.count[rows]
        ring = self.ring[rows]  # a view for one stream, a copy for a wave
        ring[np.arange(len(count)), count % self.k] = values
        self.ring[rows] = ring
        count += 1
        self.count[rows] = count
        # Summing the ring each time (k is small) rather than a running sum: no rounding drift. Slots
        # not filled yet hold zeros, which leave the sum as it is.
        return np.add.reduce(ring, axis=1) / np.minimum(count, self.k)[:, None]  # type: ignore[no-any-return]

    def push(self, row: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
        """``push_rows`` for the one stream of a smoother of capacity 1."""
        return self.push_rows(slice(0, 1), row[None, :])[0]  # type: ignore[no-any-return]
