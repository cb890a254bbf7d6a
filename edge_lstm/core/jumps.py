"""A reading that leaps: a step between consecutive readings far larger than any step of normal data.

A spike of a few samples is diluted in a window's reconstruction error, the more so when one sensor
of many has it, and a stream's adaptive reference can have learned a high score level from an earlier
fault; a step twice the largest that normal operation ever took is abnormal on its own terms. Training
measures, per channel, the largest absolute step between consecutive valid readings; on the device a
step larger than ``JUMP_FACTOR`` times that marks the channel for ``JUMP_HOLD`` samples. A channel that
never moved in training has no limit (the model judges any change of it). After a gap the stream's
last reading is forgotten: a step across a gap is not a leap.

>>> watch = JumpWatch([1.0])
>>> [bool(watch.push(np.array([v])).any()) for v in (0.0, 0.5, 3.0, 3.2, 3.1, 3.0, 2.9, 3.0)]
[False, False, True, True, True, True, True, False]
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

JUMP_FACTOR = 2.0  # a step this many times the largest of normal data
JUMP_HOLD = 5  # samples a channel stays marked after its leap


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


class JumpWatch:
    """One stream's last reading and hold counters; ``push`` returns which channels are marked now."""

    __slots__ = ("held", "last", "limits")

    def __init__(self, limits: list[float]) -> None:
        self.limits = np.array([limit if limit > 0 else np.inf for limit in limits], dtype=np.float64)
        self.last: npt.NDArray[np.float64] | None = None
        self.held = np.zeros(len(limits), dtype=np.int64)

    def push(self, row: npt.NDArray[np.float64]) -> npt.NDArray[np.bool_]:
        """Take one valid sample (the raw reading)."""
        self.held = np.maximum(self.held - 1, 0)
        if self.last is not None:
            self.held[np.abs(row - self.last) > self.limits] = JUMP_HOLD
        self.last = row.copy()
        return self.held > 0  # type: ignore[no-any-return]

    def forget(self) -> None:
        """After a gap: the next reading starts afresh."""
        self.last = None
        self.held[:] = 0
