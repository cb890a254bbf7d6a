"""A slow level removed from channels that drift in normal operation; the same rule for training and serving.

A temperature that wanders with the weather, or a count that grows week after week, leaves the range
the model was trained on even when nothing is wrong, and a reconstruction error alarms as it goes.
Leaving such a channel out loses what it says about faults; here its slow level is tracked instead and
only the deviation from it reaches the model: an exponentially weighted moving average with a span of
``span`` samples (alpha = 2 / (span + 1)), started at the stream's first valid sample. A spike, a step
or a burst of noise still stands out for about ``span`` samples; a drift slower than that does not.

Training applies ``detrend`` to each recording before anything else; the detector feeds each valid
sample through ``LevelTracker.push``. Both run the same recurrence from the same start, so they agree.

>>> tracker = LevelTracker(np.array([True, False]), span=3)
>>> [tracker.push(np.array([v, v])).tolist() for v in (10.0, 12.0)]
[[0.0, 10.0], [1.0, 12.0]]
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from edge_lstm.core.rows import RowArrays, Rows
from edge_lstm.errors import SettingsError

FloatArray = npt.NDArray[np.float64]


class LevelTracker(RowArrays):
    """The slow level on the ``tracked`` channels of every stream, one row per stream; ``push_rows``
    returns the samples with it removed (``push``: the same for a tracker of one stream)."""

    def __init__(self, tracked: npt.NDArray[np.bool_], span: int, capacity: int = 1) -> None:
        if span < 1:
            raise SettingsError(f"the level's span must be at least 1 sample, got {span}")
        self.tracked = np.asarray(tracked, dtype=bool)
        self.alpha = 2.0 / (span + 1.0)
        self.level: FloatArray
        self.started: npt.NDArray[np.bool_]  # False until the row's first valid sample
        self._allocate(capacity, {"level": ((len(self.tracked),), np.float64), "started": ((), bool)})

    def push_rows(self, rows: Rows, values: FloatArray) -> FloatArray:
        """Take one valid (finite) sample for each of ``rows``: update the level, return the samples
        minus it on tracked channels."""
        target = np.where(self.tracked, values, 0.0)
        level = self.level[rows]
        level = np.where(self.started[rows][:, None], level + self.alpha * (target - level), target)
        self.level[rows], self.started[rows] = level, True
        return values - level  # type: ignore[no-any-return]

    def push(self, row: FloatArray) -> FloatArray:
        """``push_rows`` for the one stream of a tracker of capacity 1."""
        return self.push_rows(slice(0, 1), row[None, :])[0]  # type: ignore[no-any-return]


def detrend(values: FloatArray, tracked: npt.NDArray[np.bool_], span: int) -> FloatArray:
    """``values`` with the slow level of the ``tracked`` columns removed, row by row as the detector does;
    rows with a missing value are left as they are and do not move the level."""
    tracker = LevelTracker(tracked, span)
    out = np.array(values, dtype=np.float64)
    for i in np.flatnonzero(np.isfinite(out).all(axis=1)):
        out[i] = tracker.push(out[i])
    return out
