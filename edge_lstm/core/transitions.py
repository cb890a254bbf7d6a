"""A machine switching between its normal states (a pump starting or stopping) must not page anyone.

A channel whose normal readings sit in two well-separated groups (a motor current off and on, a fan
flag, a valve's flow open and shut) switches state in normal operation, and the step is hard to
reconstruct: the score jumps for a few samples after each switch even when nothing is wrong, and
these were most of the false alerts on duty-cycled data. Training finds such channels: Otsu's split
of the training readings (Otsu 1979, "A threshold selection method from gray-level histograms")
explains at least ``BIMODAL`` of their variance and leaves at least ``MIN_SHARE`` of the readings on
each side. It then measures the largest score of held-out normal data within ``ZONE`` samples of a
switch: what a normal transient scores. On the device, an alert that would start within ``ZONE``
samples of a switch with a score no higher than that is held back until its rule clears, or until a
score passes ``RELEASE`` times that (no normal transient goes so high: something else is wrong). A
higher score at the start still alerts, as does any alert that starts later. A switch is a reading
crossing from below ``low`` to above ``high`` or back: the hysteresis keeps noise about the split
from counting.

With a fixed threshold, the transients also set it: the held-out scores' top quantile is mostly the
samples whose window still holds a switch, and settled running scores far lower (on the long
duty-cycle recordings twenty times lower), so a small fault between switches stayed under a level
made for starts. Training then calibrates a second threshold, by the same rule but never below their
largest, on the held-out scores of settled running only, ``after`` samples or more past a switch (the window has let the
switch go, and the zone has passed), and the device uses it there ("settled" in the manifest). An
alert clears on quiet at that level only: the transient after the next switch, under the full
threshold, would otherwise end an alert of settled running and start it again after every switch.

Readings here are standardized (after the stream's baseline and the bundle's scaler, before
smoothing), so one set of levels serves every stream of a bundle.

>>> guard = TransitionGuard([0], low=[-0.5], high=[0.5], bound=2.0)
>>> for v in (-1.0, -1.0, 1.0):  # off, off, on: a switch
...     guard.push_rows(slice(0, 1), np.array([[v]]))
>>> guard.hold(slice(0, 1), np.array([True]), np.array([1.5])).tolist()  # a normal transient's score
[False]
>>> guard.hold(slice(0, 1), np.array([True]), np.array([3.0])).tolist()  # held while that alert lasts
[False]
>>> guard.hold(slice(0, 1), np.array([True]), np.array([5.0])).tolist()  # unless it goes far higher
[True]
>>> guard.hold(slice(0, 1), np.array([False]), np.array([0.1])).tolist()
[False]
>>> guard.hold(slice(0, 1), np.array([True]), np.array([9.0])).tolist()  # a new one, above what is normal
[True]
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from edge_lstm.core.rows import RowArrays, Rows

BIMODAL = 0.9  # share of a channel's variance that its two groups' means explain
MIN_SHARE = 0.05  # of the training readings on the smaller side
HYSTERESIS = 0.25  # of the distance between the two groups' means, on each side of the split
ZONE = 4  # samples from a switch (the switch's own included) in which a normal transient is held back
RELEASE = 2.0  # times the bound: a held alert whose score passes this is let through
NEVER = 2**62  # samples since a switch, for a stream that has not seen one


@dataclass(frozen=True)
class TwoStates:
    """A channel with two normal states: its column, and the levels a reading must pass to switch."""

    channel: int
    low: float
    high: float


def two_states(values: npt.NDArray[np.float64]) -> list[TwoStates]:
    """The channels of ``values`` (rows, channels; standardized, finite) that sit in two groups."""
    found = []
    for channel in range(values.shape[1]):
        column = np.sort(values[:, channel])
        n = len(column)
        if n < 20 or column[0] == column[-1]:
            continue
        # Otsu: every split of the sorted readings, scored by the variance between its two groups.
        below = np.arange(1, n)
        sums = np.cumsum(column)[:-1]
        mean_low, mean_high = sums / below, (column.sum() - sums) / (n - below)
        share = below / n
        between = share * (1.0 - share) * (mean_high - mean_low) ** 2
        k = int(np.argmax(between))
        if between[k] < BIMODAL * column.var() or min(share[k], 1.0 - share[k]) < MIN_SHARE:
            continue
        split, margin = (column[k] + column[k + 1]) / 2.0, HYSTERESIS * (mean_high[k] - mean_low[k])
        found.append(TwoStates(channel, float(split - margin), float(split + margin)))
    return found


def switched_sides(
    side: npt.NDArray[np.int8], v: npt.NDArray[np.float64], low: npt.NDArray[np.float64], high: npt.NDArray[np.float64]
) -> tuple[npt.NDArray[np.int8], npt.NDArray[np.bool_]]:
    """The state of each two-state channel after readings ``v`` (-1 until one passes ``low`` or ``high``;
    between them a channel keeps its state), and which channels switched."""
    now = np.where(v > high, 1, np.where(v < low, 0, side)).astype(np.int8)
    return now, (side >= 0) & (now != side)


def samples_since_switch(values: npt.NDArray[np.float64], states: list[TwoStates]) -> npt.NDArray[np.int64]:
    """For a sequence (rows, channels), the samples since the last switch at each row (0 at a switch,
    ``NEVER`` before the first), as ``TransitionGuard`` would count streaming it from a fresh start."""
    guard = TransitionGuard([s.channel for s in states], [s.low for s in states], [s.high for s in states], 0.0)
    since = np.empty(len(values), dtype=np.int64)
    for i, row in enumerate(values):
        guard.push_rows(slice(0, 1), row[None, :])
        since[i] = guard.since[0]
    return since


def settled_after(window: int) -> int:
    """Samples past a switch from which running counts as settled: the model's window no longer holds
    the switch, and the guard's zone has passed too."""
    return window + ZONE


class TransitionGuard(RowArrays):
    """Every stream's state on each two-state channel and samples since its last switch (``push_rows``),
    and the alerts held back as normal transients (``hold``), one row per stream."""

    def __init__(
        self,
        channels: list[int],
        low: list[float],
        high: list[float],
        bound: float,
        zone: int = ZONE,
        capacity: int = 1,
        settled: tuple[int, float] | None = None,
    ) -> None:
        self.zone = zone
        self.settled = settled  # (after, threshold): the threshold of settled running, if calibrated
        self.channels = np.asarray(channels, dtype=np.intp)
        self.low, self.high = np.asarray(low, dtype=np.float64), np.asarray(high, dtype=np.float64)
        self.bound = bound
        self.side: npt.NDArray[np.int8]
        self.since: npt.NDArray[np.int64]
        self.fired: npt.NDArray[np.bool_]
        self.held: npt.NDArray[np.bool_]
        shapes = {
            "side": ((len(channels),), np.int8),  # -1 before a first reading past low or high, else 0 or 1
            "since": ((), np.int64),
            "fired": ((), np.bool_),  # the alert rule was on at the last decision
            "held": ((), np.bool_),  # and that alert is held back
        }
        self._allocate(capacity, shapes, fresh={"side": -1, "since": NEVER})

    def push_rows(self, rows: Rows, standardized: npt.NDArray[np.float64]) -> None:
        """Take one sample (standardized readings, every channel) for each of ``rows``."""
        now, each = switched_sides(self.side[rows], standardized[:, self.channels], self.low, self.high)
        switched = np.logical_or.reduce(each, axis=1)
        self.side[rows] = now
        self.since[rows] = np.where(switched, 0, np.minimum(self.since[rows] + 1, NEVER))

    def threshold(self, rows: Rows, threshold: float) -> npt.NDArray[np.float64] | float:
        """The fixed threshold in force for each of ``rows``: the settled one from ``after`` samples
        past a switch, else ``threshold`` (a stream that never switched runs on ``threshold``)."""
        if self.settled is None:
            return threshold
        after, settled = self.settled
        since = self.since[rows]
        return np.where((since >= after) & (since < NEVER), settled, threshold)

    def hold(self, rows: Rows, on: npt.NDArray[np.bool_], scores: npt.NDArray[np.float64]) -> npt.NDArray[np.bool_]:
        """``on`` (the alert rule's decision for each of ``rows``) with the alerts that started as normal
        transients held back, until their rule clears or a score passes ``RELEASE`` times the bound."""
        started = on & ~self.fired[rows]
        held = np.where(
            started,
            (self.since[rows] < self.zone) & (scores <= self.bound),
            self.held[rows] & on & (scores <= RELEASE * self.bound),
        )
        self.fired[rows], self.held[rows] = on, held
        return on & ~held  # type: ignore[no-any-return]
