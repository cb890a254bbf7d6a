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

from edge_lstm.errors import SettingsError

FloatArray = npt.NDArray[np.float64]


class LevelTracker:
    """One stream's slow level on the ``tracked`` channels; ``push`` returns the sample with it removed."""

    __slots__ = ("alpha", "level", "tracked")

    def __init__(self, tracked: npt.NDArray[np.bool_], span: int) -> None:
        if span < 1:
            raise SettingsError(f"the level's span must be at least 1 sample, got {span}")
        self.tracked = np.asarray(tracked, dtype=bool)
        self.alpha = 2.0 / (span + 1.0)
        self.level: FloatArray | None = None  # None until the first valid sample

    def push(self, row: FloatArray) -> FloatArray:
        """Take one valid (finite) sample: update the level, return the sample minus it on tracked channels."""
        if self.level is None:
            self.level = np.where(self.tracked, row, 0.0)
        else:
            self.level += self.alpha * (np.where(self.tracked, row, 0.0) - self.level)
        return row - self.level  # type: ignore[no-any-return]


def detrend(values: FloatArray, tracked: npt.NDArray[np.bool_], span: int) -> FloatArray:
    """``values`` with the slow level of the ``tracked`` columns removed, row by row as the detector does;
    rows with a missing value are left as they are and do not move the level."""
    tracker = LevelTracker(tracked, span)
    out = np.array(values, dtype=np.float64)
    for i in np.flatnonzero(np.isfinite(out).all(axis=1)):
        out[i] = tracker.push(out[i])
    return out
