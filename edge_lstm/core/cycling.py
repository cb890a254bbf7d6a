"""A machine that short-cycles: it starts and stops far more often than normal operation ever did.

Short cycling (a compressor or pump switching on and off in quick succession: a thermostat or
pressure switch chattering, a refrigerant leak, an oversized unit) wears a motor out, and a
reconstruction error misses it: every start looks like a normal start, and the transition guard
(core/transitions.py) holds back the alerts that starts cause. So it is watched on its own, on the
channels that switch between two states. Training measures, per channel and state, the shortest run
of normal data (the samples between two switches); a run shorter than ``SHORT_FACTOR`` times that is
short. On the device ``SHORT_RUNS`` short runs in a row (a single one is a trip or an operator, not
cycling) mark the channel, and each further short run marks it anew for twice the channel's longest
limit, so a machine that keeps short-cycling stays marked. A state that fewer than
``MIN_RUNS`` normal runs ended in is not watched (its shortest run says little), and its runs leave
the streak as it was. A gap in the stream leaves the run in progress unmeasured.

Readings are standardized, as for the transition guard, and switch at the same levels.

>>> watch = CycleWatch([0], low=[-0.5], high=[0.5], limits=[[3, 3]], width=1)
>>> on, off = [1.0] * 5, [-1.0] * 5
>>> [watch.push([v]) for v in off + on + off]  # normal runs of 5
[False, False, False, False, False, False, False, False, False, False, False, False, False, False, False]
>>> [watch.push([v]) for v in (1.0, 1.0, -1.0, 1.0)]  # off 5, then on 2 and off 1: short twice
[False, False, False, True]
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

from edge_lstm.core.rows import ChannelWatch, Rows
from edge_lstm.core.transitions import NEVER, TwoStates, switched_sides

SHORT_FACTOR = 0.8  # of the shortest normal run: a run shorter than this is short
SHORT_RUNS = 2  # short runs in a row that are short cycling
MIN_RUNS = 5  # normal runs a state must have ended in for its shortest to be trusted


def completed_runs(values: npt.NDArray[np.float64], state: TwoStates) -> tuple[list[int], list[int]]:
    """The lengths of the runs of one sequence (rows, channels) that ended in each state (off, on), as
    ``CycleWatch`` measures them streaming it from a fresh start (the first run's start is unknown)."""
    watch = CycleWatch([state.channel], [state.low], [state.high], [[0, 0]], values.shape[1])
    ended: tuple[list[int], list[int]] = ([], [])
    for row in values:
        left, length = int(watch.side[0, 0]), int(watch.run[0, 0]) + 1
        watch.push_rows(slice(0, 1), row[None, :])
        if watch.run[0, 0] == 0 and left >= 0 and length < NEVER:
            ended[left].append(length)
    return ended


def short_limits(segments: Sequence[npt.NDArray[np.float64]], states: list[TwoStates]) -> list[list[int]]:
    """Per two-state channel, the run lengths (off, on) below which a run is short (0: not watched),
    from the normal ``segments`` (standardized; each streamed from a fresh start)."""
    limits = []
    for state in states:
        off: list[int] = []
        on: list[int] = []
        for segment in segments:
            ended = completed_runs(segment, state)
            off += ended[0]
            on += ended[1]
        limits.append([int(SHORT_FACTOR * min(runs)) if len(runs) >= MIN_RUNS else 0 for runs in (off, on)])
    return limits


class CycleWatch(ChannelWatch):
    """Every stream's state, run length and short-run streak on each two-state channel, one row per
    stream; ``push_rows`` says which streams are short-cycling after their sample, ``flagged`` on which
    of the ``width`` channels of a sample."""

    def __init__(
        self,
        channels: list[int],
        low: list[float],
        high: list[float],
        limits: list[list[int]],
        width: int,
        capacity: int = 1,
    ) -> None:
        n = len(channels)
        self.channels, self.width = np.asarray(channels, dtype=np.intp), width
        self.low, self.high = np.asarray(low, dtype=np.float64), np.asarray(high, dtype=np.float64)
        self.limits = np.asarray(limits, dtype=np.int64).reshape(n, 2)  # [channel, state left]
        # A mark lasts while the next off and on runs could still be short: a machine that keeps
        # short-cycling stays in one alert, not a string of them.
        self.hold = 2 * self.limits.max(axis=1)
        self.side: npt.NDArray[np.int8]
        self.run: npt.NDArray[np.int64]
        self.streak: npt.NDArray[np.int64]
        self.held: npt.NDArray[np.int64]
        shapes = {"side": ((n,), np.int8), "run": ((n,), np.int64), "streak": ((n,), np.int64)}
        shapes["held"] = ((n,), np.int64)
        self._allocate(capacity, shapes, fresh={"side": -1, "run": NEVER})

    def push_rows(self, rows: Rows, values: npt.NDArray[np.float64]) -> npt.NDArray[np.bool_]:
        """Take one sample (standardized readings, every channel) for each of ``rows``; whether each is
        short-cycling now."""
        side = self.side[rows]
        now, switched = switched_sides(side, values[:, self.channels], self.low, self.high)
        run = np.minimum(self.run[rows] + 1, NEVER)
        limit = np.where(side == 1, self.limits[:, 1], self.limits[:, 0])  # of the state just left
        short = switched & (run < limit)
        # A run of a state that is not watched neither counts nor breaks the streak: short off-runs
        # in a row are cycling even when the on-runs are not known well enough to judge.
        streak = np.where(switched & (limit > 0), np.where(short, self.streak[rows] + 1, 0), self.streak[rows])
        held = np.maximum(self.held[rows] - 1, (short & (streak >= SHORT_RUNS)) * self.hold)
        self.side[rows], self.run[rows] = now, np.where(switched, 0, run)
        self.streak[rows], self.held[rows] = streak, held
        return np.logical_or.reduce(held > 0, axis=1)  # type: ignore[no-any-return]

    def forget(self, rows: Rows) -> None:
        """After a gap: the runs in progress have unknown lengths, and the streaks are broken."""
        self.run[rows] = NEVER
        self.streak[rows] = 0

    def flagged(self, rows: Rows) -> npt.NDArray[np.bool_]:
        """Which channels of ``rows`` (of ``width``) are marked as short-cycling now."""
        held = self.held[rows]
        flags = np.zeros((len(held), self.width), dtype=bool)
        flags[:, self.channels] = held > 0
        return flags
