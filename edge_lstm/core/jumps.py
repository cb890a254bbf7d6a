"""A reading that leaps: a step between consecutive readings far larger than any step of normal data.

A spike of a few samples is diluted in a window's reconstruction error, the more so when one sensor
of many has it, and a stream's adaptive reference can have learned a high score level from an earlier
fault; a step twice the largest that normal operation ever took is abnormal on its own terms. Training
measures, per channel, the largest absolute step between consecutive valid readings; on the device a
step larger than ``JUMP_FACTOR`` times that marks the channel for ``JUMP_HOLD`` samples. A channel that
never moved in training has no limit (the model judges any change of it). After a gap the stream's
last reading is forgotten: a step across a gap is not a leap.

>>> watch = JumpWatch([1.0])
>>> [watch.push([v]) for v in (0.0, 0.5, 3.0, 3.2, 3.1, 3.0, 2.9, 3.0)]
[False, False, True, True, True, True, True, False]
"""

from __future__ import annotations

import math
import operator

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
    """One stream's last reading and hold counters; ``push`` says whether a channel is marked after this
    sample, ``marked`` which. Python floats, not arrays: a handful of channels per sample, on the hot path."""

    __slots__ = ("_quiet_step", "held", "last", "limits", "marked")
    DERIVED = ("_quiet_step",)  # from the limits: not written to snapshots (core/snapshot.py)

    def __init__(self, limits: list[float]) -> None:
        self.limits = [float(limit) for limit in limits]  # 0: never (kept finite: snapshots are JSON)
        # No channel can leap on a step up to this: the smallest limit in force.
        self._quiet_step = min((limit for limit in self.limits if limit > 0), default=math.inf)
        self.last: list[float] | None = None
        self.held = [0] * len(limits)
        self.marked = [False] * len(limits)

    def push(self, row: list[float]) -> bool:
        """Take one valid sample (the raw readings)."""
        last = self.last
        if last is None:
            self.held = [max(h - 1, 0) for h in self.held]
        elif True not in self.marked and max(map(abs, map(operator.sub, row, last))) <= self._quiet_step:
            # The common case: nothing held and no step near any limit, so nothing changes (in C).
            self.last = row
            return False
        else:
            self.held = [
                JUMP_HOLD if 0.0 < limit < abs(x - previous) else max(h - 1, 0)
                for x, previous, limit, h in zip(row, last, self.limits, self.held, strict=True)
            ]
        self.last = row
        self.marked = [h > 0 for h in self.held]
        return any(self.marked)

    def forget(self) -> None:
        """After a gap: the next reading starts afresh."""
        self.last = None
        self.held = [0] * len(self.held)
        self.marked = [False] * len(self.held)
