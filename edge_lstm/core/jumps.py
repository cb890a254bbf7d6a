"""A reading that leaps: a step between consecutive readings far larger than any step of normal data.

A spike of a few samples is diluted in a window's reconstruction error, the more so when one sensor
of many has it, and a stream's adaptive reference can have learned a high score level from an earlier
fault; a step twice the largest that normal operation ever took is abnormal on its own terms. Training
measures, per channel, the largest absolute step between consecutive valid readings; on the device a
step larger than ``JUMP_FACTOR`` times that marks the channel for ``JUMP_HOLD`` samples (leaps that
keep coming, as a sensor gone noisy makes them, are one alert, not a string of them). A channel that
never moved in training has no limit (the model judges any change of it). After a gap the stream's
last reading is forgotten: a step across a gap is not a leap.

>>> watch = JumpWatch([1.0])
>>> [watch.push([v]) for v in (0.0, 0.5, 3.0, 3.2, 3.1, 3.0, 2.9, 3.0, 3.1, 3.0, 2.9, 3.0, 3.1)]
[False, False, True, True, True, True, True, True, True, True, True, True, False]
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from edge_lstm.core.rows import ChannelWatch, Rows

JUMP_FACTOR = 2.0  # a step this many times the largest of normal data
JUMP_HOLD = 10  # samples a channel stays marked after its leap


def largest_steps(segments: list[npt.NDArray[np.float64]]) -> list[float]:
    """Per channel, the largest absolute step between consecutive rows over ``segments``."""
    largest = np.zeros(segments[0].shape[1])
    for values in segments:
        if len(values) > 1:
            np.maximum(largest, np.abs(np.diff(values, axis=0)).max(axis=0), out=largest)
    return [float(v) for v in largest]


def jump_limits(segments: list[npt.NDArray[np.float64]]) -> list[float]:
    """The step, per channel, beyond which a reading has leapt (0: never, for a channel that never moved)."""
    return [JUMP_FACTOR * step for step in largest_steps(segments)]


class JumpWatch(ChannelWatch):
    """Every stream's last reading and hold counters, one row per stream; ``push_rows`` says which
    streams have a channel marked after their sample, ``flagged`` which channels. ``push`` and
    ``marked`` are the same for a watch of one stream (row 0)."""

    def __init__(self, limits: list[float], capacity: int = 1) -> None:
        n = len(limits)
        limit = np.asarray(limits, dtype=np.float64)  # 0: never
        self.limits = np.where(limit > 0.0, limit, np.inf)
        self.last: npt.NDArray[np.float64]
        self.held: npt.NDArray[np.int64]
        shapes = {"last": ((n,), np.float64), "held": ((n,), np.int64)}
        # No last reading yet (or forgotten after a gap): no step from NaN leaps.
        self._allocate(capacity, shapes, fresh={"last": np.nan})

    def push_rows(self, rows: Rows, values: npt.NDArray[np.float64]) -> npt.NDArray[np.bool_]:
        """Take one valid sample (the raw readings) for each of ``rows``; whether each has a channel
        marked now."""
        leapt = np.abs(values - self.last[rows]) > self.limits
        held = np.maximum(self.held[rows] - 1, leapt * JUMP_HOLD)  # a leap holds anew; else one less, down to 0
        self.held[rows], self.last[rows] = held, values
        return np.logical_or.reduce(held > 0, axis=1)  # type: ignore[no-any-return]

    def flagged(self, rows: Rows) -> npt.NDArray[np.bool_]:
        """Which channels of ``rows`` are marked now."""
        return self.held[rows] > 0  # type: ignore[no-any-return]
