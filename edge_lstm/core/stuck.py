"""A sensor that stops moving: the same reading, exactly, for longer than normal data ever held one.

A frozen reading is the commonest sensor fault in the field (a dead transmitter repeating its last
value, a gateway filling gaps with the previous sample), and the one a reconstruction error misses:
a flat line is easy to reconstruct. So it is watched on its own. Training measures, per channel, the
longest run of identical consecutive readings in normal data; on the device a run longer than
``STUCK_FACTOR`` times that (and at least ``MIN_STUCK`` samples) marks the channel stuck until its
reading moves again. Only lively channels are watched: one whose readings already sat still for more
than ``LIVELY_RUN`` samples in normal data (a coarse thermometer, a constant) rests that way by nature.
A reading at the channel's floor or ceiling in training (an idle counter at 0, a valve at 100 %) is
resting, not stuck, and is never counted.

>>> watch = StuckWatch([3], low=[0.0], high=[10.0])
>>> [watch.push([v]) for v in (1.0, 1.0, 1.0, 1.0, 2.0, 0.0, 0.0, 0.0)]
[False, False, True, True, False, False, False, False]
"""

from __future__ import annotations

import operator

import numpy as np
import numpy.typing as npt

STUCK_FACTOR = 3.0  # a run this many times the longest of normal data
MIN_STUCK = 10  # samples: a noisy float repeating itself this long has stopped measuring
LIVELY_RUN = 20  # samples: a channel whose normal readings sat still longer is not watched
NEVER = 0  # the limit of a channel that is never called stuck
NO_LIMIT = 2**62  # a run no stream will reach


def longest_runs(segments: list[npt.NDArray[np.float64]]) -> npt.NDArray[np.int64]:
    """Per channel, the longest run of identical consecutive readings over ``segments`` (rows, channels)."""
    longest = np.zeros(segments[0].shape[1], dtype=np.int64)
    for values in segments:
        if len(values) == 0:
            continue
        same = np.vstack([np.zeros((1, values.shape[1]), bool), values[1:] == values[:-1]])
        run = np.zeros(values.shape[1], dtype=np.int64)
        for row in same:  # rows are few thousand at most here: clearer than a vectorised run-length
            run = np.where(row, run + 1, 1)
            np.maximum(longest, run, out=longest)
    return longest


def stuck_limits(segments: list[npt.NDArray[np.float64]]) -> list[int]:
    """The run length, per channel, past which a reading counts as stuck (``NEVER`` for a channel that
    is not lively enough to watch)."""
    return [
        NEVER if run > LIVELY_RUN else max(MIN_STUCK, int(np.ceil(STUCK_FACTOR * run)))
        for run in longest_runs(segments)
    ]


class StuckWatch:
    """One stream's run lengths; ``push`` says whether a channel is stuck after this sample, ``marked``
    which. Python floats, not arrays: a handful of channels per sample, on the hot path."""

    __slots__ = ("high", "last", "limits", "low", "marked", "runs")

    def __init__(self, limits: list[int], low: list[float], high: list[float]) -> None:
        self.limits = [int(limit) if limit > 0 else NO_LIMIT for limit in limits]
        self.low, self.high = [float(v) for v in low], [float(v) for v in high]
        self.last: list[float] | None = None
        self.runs = [0] * len(limits)
        self.marked = [False] * len(limits)

    def push(self, row: list[float]) -> bool:
        """Take one valid sample (the raw readings, before any scaling)."""
        last = self.last
        if last is None:
            self.runs = [1] * len(row)
        elif not any(map(operator.eq, row, last)):
            # The common case: every reading moved, so every run starts over (compared in C).
            self.last = row
            self.runs = [1] * len(row)
            self.marked = [limit <= 1 for limit in self.limits]
            return True in self.marked
        else:
            # A reading resting at its training floor or ceiling does not count towards a run.
            self.runs = [
                run + 1 if x == previous and low < x < high else 1
                for x, previous, run, low, high in zip(row, last, self.runs, self.low, self.high, strict=True)
            ]
        self.last = row
        self.marked = [run >= limit for run, limit in zip(self.runs, self.limits, strict=True)]
        return any(self.marked)
