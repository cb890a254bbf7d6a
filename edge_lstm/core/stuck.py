"""A sensor that stops moving: the same reading, exactly, for longer than normal data ever held one.

A frozen reading is the commonest sensor fault in the field (a dead transmitter repeating its last
value, a gateway filling gaps with the previous sample), and the one a reconstruction error misses:
a flat line is easy to reconstruct. So it is watched on its own. Training measures, per channel, the
longest run of identical consecutive readings in normal data; on the device a run longer than
``STUCK_FACTOR`` times that (and at least ``MIN_STUCK`` samples) marks the channel stuck until its
reading has moved for ``STUCK_HOLD`` samples (a sensor that sticks, twitches once and sticks again is
one fault, not a string of them). Only lively channels are watched: one whose readings already sat
still for more than ``LIVELY_RUN`` samples in normal data (a coarse thermometer, a constant) rests
that way by nature.
A reading at the channel's floor or ceiling in training (an idle counter at 0, a valve at 100 %) is
resting, not stuck, and is never counted; a reading frozen beyond them is counted like any other.
Training measures runs the same way: an occupancy count that rests at 0 all night is still lively by
day, and one frozen at 2 for a day is the fault it looks like. A channel that rests at its floor or
ceiling in more than ``RESTING_SHARE`` of its normal rows (a valve mostly shut, a setpoint that
flickers between two values) has no lively readings to measure, and is not watched.

>>> watch = StuckWatch([3], low=[0.0], high=[10.0])
>>> [watch.push([v]) for v in (1.0, 1.0, 1.0, 1.0, 2.0, 0.0, 0.0, 0.0)]
[False, False, True, True, True, True, True, True]
>>> [watch.push([v]) for v in (0.0, 0.0, 0.0, 0.0, 0.0, 0.0)]  # resting at the floor does not count
[True, True, True, True, True, False]
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from edge_lstm.core.rows import ChannelWatch, Rows

STUCK_FACTOR = 3.0  # a run this many times the longest of normal data
MIN_STUCK = 10  # samples: a noisy float repeating itself this long has stopped measuring
STUCK_HOLD = 10  # samples a channel stays marked after its reading moves again
LIVELY_RUN = 20  # samples: a channel whose normal readings sat still longer is not watched
RESTING_SHARE = 0.5  # of normal rows: a channel at its floor or ceiling in more of them rests by nature
NEVER = 0  # the limit of a channel that is never called stuck
NO_LIMIT = 2**62  # a run no stream will reach


def longest_runs(
    segments: list[npt.NDArray[np.float64]], low: npt.ArrayLike | None = None, high: npt.ArrayLike | None = None
) -> npt.NDArray[np.int64]:
    """Per channel, the longest run of identical consecutive readings over ``segments`` (rows, channels);
    with ``low`` and ``high``, a run resting at a channel's floor or ceiling is not counted, as the watch
    does not count it."""
    width = segments[0].shape[1]
    floor = np.full(width, np.nan) if low is None else np.asarray(low, dtype=np.float64)
    ceiling = np.full(width, np.nan) if high is None else np.asarray(high, dtype=np.float64)
    longest = np.zeros(width, dtype=np.int64)
    for values in segments:
        if len(values) == 0:
            continue
        held = (values[1:] == values[:-1]) & (values[1:] != floor) & (values[1:] != ceiling)
        same = np.vstack([np.zeros((1, width), bool), held])
        run = np.zeros(values.shape[1], dtype=np.int64)
        for row in same:  # rows are few thousand at most here: clearer than a vectorised run-length
            run = np.where(row, run + 1, 1)
            np.maximum(longest, run, out=longest)
    return longest


def stuck_limits(
    segments: list[npt.NDArray[np.float64]], low: npt.ArrayLike | None = None, high: npt.ArrayLike | None = None
) -> list[int]:
    """The run length, per channel, past which a reading counts as stuck (``NEVER`` for a channel that
    is not lively enough to watch); runs at ``low`` or ``high`` (the floor and ceiling) do not count,
    and a channel that sits at one of them in most rows (a valve mostly shut, a setpoint) is not lively."""
    resting = np.zeros(segments[0].shape[1])
    if low is not None and high is not None:
        rows = np.concatenate(segments)
        resting = ((rows == np.asarray(low)) | (rows == np.asarray(high))).mean(axis=0)
    return [
        NEVER if run > LIVELY_RUN or share > RESTING_SHARE else max(MIN_STUCK, int(np.ceil(STUCK_FACTOR * run)))
        for run, share in zip(longest_runs(segments, low, high), resting.tolist(), strict=True)
    ]


class StuckWatch(ChannelWatch):
    """Run lengths of every stream's readings, one row per stream; ``push_rows`` says which streams have
    a channel stuck after their sample, ``flagged`` which channels. ``push`` and ``marked`` are the same
    for a watch of one stream (row 0)."""

    def __init__(self, limits: list[int], low: list[float], high: list[float], capacity: int = 1) -> None:
        n = len(limits)
        self.limits = np.array([int(limit) if limit > 0 else NO_LIMIT for limit in limits], dtype=np.int64)
        self.low, self.high = np.asarray(low, dtype=np.float64), np.asarray(high, dtype=np.float64)
        self.last: npt.NDArray[np.float64]
        self.runs: npt.NDArray[np.int64]
        self.held: npt.NDArray[np.int64]
        shapes = {"last": ((n,), np.float64), "runs": ((n,), np.int64), "held": ((n,), np.int64)}
        self._allocate(capacity, shapes, fresh={"last": np.nan})  # no last reading yet: NaN equals nothing

    def push_rows(self, rows: Rows, values: npt.NDArray[np.float64]) -> npt.NDArray[np.bool_]:
        """Take one valid sample (raw readings, before any scaling) for each of ``rows``; whether each
        has a channel stuck now."""
        # A reading resting at its training floor or ceiling does not count towards a run; one frozen
        # beyond them does (a pump stopped at a speed it never ran at is not resting).
        same = (values == self.last[rows]) & (values != self.low) & (values != self.high)
        runs = self.runs[rows] * same + 1  # one more while the reading repeats, else a new run of 1
        # Stuck holds anew while the run lasts; once the reading moves, one less per sample, down to 0.
        held = np.maximum(self.held[rows] - 1, (runs >= self.limits) * STUCK_HOLD)
        self.runs[rows], self.last[rows], self.held[rows] = runs, values, held
        return np.logical_or.reduce(held > 0, axis=1)  # type: ignore[no-any-return]

    def flagged(self, rows: Rows) -> npt.NDArray[np.bool_]:
        """Which channels of ``rows`` are stuck now (or were, less than ``STUCK_HOLD`` samples ago)."""
        return self.held[rows] > 0  # type: ignore[no-any-return]
