"""A stream's own operating point, learned from its first samples; the same rule for training and serving.

One bundle can serve machines that run at different operating points when each stream is first
standardized by its own leading samples. Training standardizes each recording by its first ``rows``
valid rows (``standardize_by_own_baseline``); the detector learns the same from a live stream's first
``rows`` valid samples (``BaselineLearner``). Both fit with ``StandardScaler.fit``, so they agree.

>>> learner = BaselineLearner(rows=3, n_features=1)
>>> [learner.push(np.array([v])) for v in (1.0, 2.0, 3.0)][-1]
StandardScaler(mean=array([2.], dtype=float32), scale=array([0.8164966], dtype=float32))
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from edge_lstm.core.scaling import StandardScaler
from edge_lstm.errors import DataError, SettingsError


class BaselineLearner:
    """Collects a stream's first ``rows`` valid samples and fits its operating point from them."""

    def __init__(self, rows: int, n_features: int) -> None:
        if rows < 2:
            raise SettingsError(f"baseline must be at least 2 samples, got {rows}")
        self._rows = np.empty((rows, n_features))
        self.seen = 0

    def push(self, row: npt.NDArray[np.float64]) -> StandardScaler | None:
        """Take one valid sample; returns the fitted baseline on the last one, None before."""
        self._rows[self.seen] = row
        self.seen += 1
        return StandardScaler.fit(self._rows) if self.seen == len(self._rows) else None


def standardize_by_own_baseline(values: npt.NDArray[np.float64], rows: int, where: str) -> npt.NDArray[np.float64]:
    """``values`` standardized by their own first ``rows`` valid (finite) rows, all of them if fewer, as
    the detector standardizes a stream. NaN rows stay NaN. ``where`` names the data in errors."""
    valid = values[np.isfinite(values).all(axis=1)]
    if len(valid) < 2:
        raise DataError(f"{where}: fewer than 2 valid rows to learn a baseline from")
    own = StandardScaler.fit(valid[:rows])
    return (values - own.mean.astype(np.float64)) / own.scale.astype(np.float64)
