"""A reading far from where it stood at the same time a week (or a day) ago.

A reconstruction error judges the shape of the last few samples, not their level: a series whose
daily peak no longer comes (a load shed, a sensor that reads half), or that drifts within the range
its day already spans, reconstructs as well as normal running. What does change is the reading against
the same hour of an earlier day. So each stream keeps a smoothed reading (an exponentially weighted
moving average over ``SPAN`` samples) and a ring of its values over the last ``lag_s`` seconds, one
slot per sampling period, indexed by the time of day (or of the week). A sample is compared with the
slot written about one lag earlier; a stream whose smoothed reading lies further from it than the
bound on some channel for ``AFTER`` samples in a row is marked, as a stuck reading is. The comparison
is the seasonal difference of Box and Jenkins (a series minus itself one season earlier), smoothed
and judged against the largest such difference of normal data, as a control chart would judge it.

The lag is a week where the normal data spans 1.75 weeks (a Monday is compared with the last Monday,
so the weekend is no surprise), else a day where it spans 1.75 days: three quarters of a lag of
differences to measure the bound on (``COVER``). Training runs this class over the normal data,
standardized as the detector standardizes a stream, and stores ``MARGIN`` times the largest
difference it saw: a held-out week is shorter than a deployment. A change that lasts stops being one
after a lag (the ring then holds the new level), so the mark ends by itself. The constants were
measured on the generated corpus's long draws (docs/detection.md, "The same time last week").

>>> watch = SeasonalWatch({"lag_s": 4.0, "bins": 4, "span": 1, "after": 2, "bound": [1.0]})
>>> [bool(watch.push_rows(slice(0, 1), np.array([[v]]), np.array([float(t)]))[0])
...  for t, v in enumerate([0, 1, 2, 3, 0, 1, 2, 3, 0, 5, 5, 5])]
[False, False, False, False, False, False, False, False, False, False, True, True]
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import numpy.typing as npt

from edge_lstm.core.adaptive import AdaptiveSettings
from edge_lstm.core.rows import RowArrays, Rows
from edge_lstm.errors import SettingsError

DAY_S, WEEK_S = 86_400.0, 604_800.0
SPAN = 16  # samples: the smoothed reading's time constant (1 / its weight)
WARM_SPANS = 3  # spans of samples after a (re)start before the smoothed reading is stored or judged
AFTER = 4  # samples in a row beyond the bound that mark a stream
MARGIN = 2.5  # the bound is this many times the largest difference of normal data
# Of a lag, the share of normal data that must come after the first lag (when there is something a lag
# earlier to compare with) for its largest difference to stand for the whole cycle.
COVER = 0.75
MIN_BINS = 24  # slots per lag below which (a sample every few hours) the lag is too coarse to compare
MAX_BINS = 2016  # slots per lag at most (a week of 5-minute readings): faster data shares a slot
SHIFT = 0.01  # of a lag: how much earlier or later than a lag ago the same moment may come (14 minutes a day)
# An alert budget, the adaptive rule's own (core/adaptive.py, the same constants): a stream that has started more than
# BUDGET_STARTS of these alerts in its last BUDGET_WINDOW compared samples differs from its past more than
# its normal data showed, so each start beyond them raises its bounds by BUDGET_STEP of themselves, up
# to BUDGET_CAP more; they come down as those starts age out. Measured on the draws the watch was chosen
# on: the same faults, fewer false starts (docs/detection.md, "The same time last week").
_RULE = AdaptiveSettings()
BUDGET_WINDOW, BUDGET_STARTS = _RULE.budget_window, _RULE.budget_starts
BUDGET_STEP, BUDGET_CAP = _RULE.budget_step, _RULE.budget_cap
_KEPT = BUDGET_STARTS + round(BUDGET_CAP / BUDGET_STEP) + 1  # starts beyond these raise nothing more
_LONG_AGO = -(1 << 40)
MIN_BOUND = 1e-6  # in training spreads: a channel that never differed is not judged (bound 0)

FloatArray = npt.NDArray[np.float64]


def seasonal_lag(span_s: float, period_s: float | None) -> float | None:
    """The lag to compare with for normal data spanning ``span_s`` seconds sampled every ``period_s``:
    a week where it spans ``1 + COVER`` weeks and the smoothing's warm-up, with at least ``MIN_BINS``
    readings a week; else a day likewise; else None."""
    if not period_s or period_s <= 0:
        return None
    for lag in (WEEK_S, DAY_S):
        if span_s >= (1.0 + COVER) * lag + WARM_SPANS * SPAN * period_s and lag / period_s >= MIN_BINS:
            return lag
    return None


def lag_name(lag_s: float) -> str:
    """How a lag reads in a sentence: "week", "day", or seconds."""
    return {WEEK_S: "week", DAY_S: "day"}.get(lag_s, f"{lag_s:g} s")


def slots(lag_s: float, period_s: float) -> int:
    """Slots in the ring for a lag: one per sampling period, at most ``MAX_BINS``."""
    return int(min(max(round(lag_s / period_s), 1), MAX_BINS))


def calibrate_seasonal(
    segments: list[tuple[FloatArray, Any]],
    lag_s: float,
    period_s: float,
    margin: float = MARGIN,
    gap_s: float = math.inf,
) -> dict[str, Any] | None:
    """The ``seasonal`` setting from normal data: ``segments`` are (standardized values, timestamps)
    pairs in time order, one per recording; a silence longer than ``gap_s`` restarts the smoothing, as
    it resets a stream. None when no sample found a slot one lag earlier. This class runs over them,
    from the same start as on the device, so training and the device agree."""
    width = segments[0][0].shape[1]
    setting = {"lag_s": lag_s, "bins": slots(lag_s, period_s), "span": SPAN, "after": AFTER, "bound": [0.0] * width}
    largest = np.zeros(width)
    compared = 0
    for values, times in segments:
        watch = SeasonalWatch(setting)
        last = math.nan
        for x, t in zip(values, np.asarray(times, dtype=np.float64).tolist(), strict=True):
            if np.isfinite(x).all() and math.isfinite(t):
                if t - last > gap_s:
                    watch.forget(slice(0, 1))
                last = t
                difference = watch.difference(slice(0, 1), x[None, :], np.array([t]))[0]
                if np.isfinite(difference).all():
                    np.maximum(largest, difference, out=largest)
                    compared += 1
    if not compared:
        return None
    bound = [float(margin * v) if v > MIN_BOUND else 0.0 for v in largest]
    return {**setting, "bound": bound, "compared": compared}


def check_seasonal(setting: Any, width: int) -> None:
    """``SettingsError`` unless ``setting`` is a valid ``seasonal`` setting for ``width`` channels."""
    if not isinstance(setting, dict):
        raise SettingsError(f"seasonal must be an object with lag_s, bins, span, after and bound, got {setting!r}")
    lag, bins, span, after, bound = (setting.get(k) for k in ("lag_s", "bins", "span", "after", "bound"))
    if not isinstance(lag, int | float) or not math.isfinite(lag) or lag <= 0:
        raise SettingsError(f"seasonal.lag_s must be a positive number of seconds, got {lag!r}")
    for name, value in (("bins", bins), ("span", span), ("after", after)):
        if not isinstance(value, int) or isinstance(value, bool) or value < 1:
            raise SettingsError(f"seasonal.{name} must be a positive whole number, got {value!r}")
    if (
        not isinstance(bound, list)
        or len(bound) != width
        or not all(isinstance(v, int | float) and math.isfinite(v) and v >= 0 for v in bound)
    ):
        raise SettingsError(f"seasonal.bound must be {width} numbers of 0 or more (0: not judged), got {bound!r}")


class SeasonalWatch(RowArrays):
    """Every stream's smoothed reading and its ring of the last lag, one row per stream. ``push_rows``
    takes a standardized sample and its time per row and says which streams are marked; ``flagged``
    which channels."""

    def __init__(self, setting: dict[str, Any], capacity: int = 1) -> None:
        width = len(setting["bound"])
        check_seasonal(setting, width)
        self.lag, self.bins = float(setting["lag_s"]), int(setting["bins"])
        self.slot_s = self.lag / self.bins
        self.weight, self.after = 1.0 / setting["span"], int(setting["after"])
        self.warmup = WARM_SPANS * int(setting["span"])
        shift = max(1, round(SHIFT * self.bins))
        self.offsets = np.arange(-shift, shift + 1)
        self.reach = (shift + 1) * self.slot_s  # how far from a lag ago a slot may have been written
        bound = np.asarray(setting["bound"], dtype=np.float64)
        self.bound = np.where(bound > 0.0, bound, np.inf)  # 0: a channel that never differed, not judged
        self.level: FloatArray  # the smoothed reading
        self.warm: npt.NDArray[np.int64]  # samples since the smoothing (re)started
        self.run: npt.NDArray[np.int64]  # samples in a row beyond the bound
        self.over: npt.NDArray[np.bool_]  # per channel, beyond the bound at the last sample
        self.ring: npt.NDArray[np.float32]  # per slot, the smoothed reading last written there
        self.stamp: FloatArray  # per slot, when it was written (NaN: never)
        self.clock: npt.NDArray[np.int64]  # samples compared (or not) with a time: the budget's clock
        self.starts: npt.NDArray[np.int64]  # the clock at the last marks' starts
        shapes = {
            "level": ((width,), np.float64), "warm": ((), np.int64), "run": ((), np.int64),
            "over": ((width,), bool), "ring": ((self.bins, width), np.float32), "stamp": ((self.bins,), np.float64),
            "clock": ((), np.int64), "starts": ((_KEPT,), np.int64),
        }  # fmt: skip
        self._allocate(capacity, shapes, fresh={"stamp": np.nan, "starts": _LONG_AGO})

    def difference(self, rows: Rows, values: FloatArray, times: FloatArray) -> FloatArray:
        """Take one standardized sample per row of ``rows`` at ``times`` (finite); per channel, how far
        the smoothed reading now lies from the one a lag earlier (NaN where there is none yet)."""
        if isinstance(rows, slice) and len(times) == 1:  # one stream: a third of the cost
            return self._difference_one(rows.start, values[0], float(times[0]))[None, :]
        ids = np.arange(self.capacity)[rows]
        warm = self.warm[ids]
        level = np.where((warm > 0)[:, None], self.level[ids] + self.weight * (values - self.level[ids]), values)
        warm += 1
        self.level[ids], self.warm[ids] = level, warm
        slot = np.floor(times / self.slot_s).astype(np.int64) % self.bins
        # What the reading was a lag earlier, give or take ``SHIFT`` of a lag: the one nearest the smoothed
        # reading now, so a daily rise that comes a few minutes later than yesterday's is not a difference.
        near = (slot[:, None] + self.offsets) % self.bins
        late = np.abs(times[:, None] - self.lag - self.stamp[ids[:, None], near])
        with np.errstate(invalid="ignore"):
            found = late <= self.reach  # NaN (never written) is not found
        gaps = np.abs(level[:, None, :] - self.ring[ids[:, None], near])
        difference = np.min(np.where(found[:, :, None], gaps, np.inf), axis=1)
        ready = warm > self.warmup
        difference[~ready | ~found.any(axis=1)] = np.nan
        self.ring[ids[ready], slot[ready]] = level[ready]
        self.stamp[ids[ready], slot[ready]] = times[ready]
        return difference  # type: ignore[no-any-return]

    def _difference_one(self, row: int, x: FloatArray, t: float) -> FloatArray:
        """``difference`` for one stream (``row``), one sample ``x`` at ``t``."""
        level = self.level[row]  # a view: updated in place
        warm = int(self.warm[row])
        if warm:
            level += self.weight * (x - level)
        else:
            level[:] = x
        self.warm[row] = warm = warm + 1
        if warm <= self.warmup:
            return np.full(len(x), np.nan)
        slot = int(t // self.slot_s) % self.bins
        near = (slot + self.offsets) % self.bins
        found = near[np.abs(t - self.lag - self.stamp[row, near]) <= self.reach]  # NaN: never written
        difference = np.abs(self.ring[row, found] - level).min(axis=0) if len(found) else np.full(len(x), np.nan)
        self.ring[row, slot], self.stamp[row, slot] = level, t
        return difference  # type: ignore[no-any-return]

    def push_rows(self, rows: Rows, values: FloatArray, times: FloatArray) -> npt.NDArray[np.bool_]:
        """Take one standardized sample per row of ``rows`` at ``times`` (NaN: no time, the sample is not
        compared); whether each stream is marked now."""
        if isinstance(rows, slice) and len(times) == 1:  # one stream: a third of the cost
            return np.array([self._push_one(rows.start, values[0], float(times[0]))])
        timed = np.isfinite(times)
        if not timed.all():  # a sample without a time has no slot: it leaves its stream as it was
            ids = np.arange(self.capacity)[rows]
            marked = self.run[ids] >= self.after
            if timed.any():
                marked[timed] = self.push_rows(ids[timed], values[timed], times[timed])
            return marked  # type: ignore[no-any-return]
        ids = np.arange(self.capacity)[rows]
        clock = self.clock[ids] + 1
        recent = (self.starts[ids] > (clock - BUDGET_WINDOW)[:, None]).sum(axis=1)
        raised = 1.0 + np.minimum(BUDGET_CAP, BUDGET_STEP * np.maximum(0, recent - BUDGET_STARTS))
        with np.errstate(invalid="ignore"):  # NaN (nothing to compare) is not over
            over = self.difference(ids, values, times) > self.bound * raised[:, None]
        run = np.where(over.any(axis=1), self.run[ids] + 1, 0)
        self.run[ids], self.over[ids], self.clock[ids] = run, over, clock
        started = ids[run == self.after]  # marked from this sample on: a start
        if len(started):
            self.starts[started, np.argmin(self.starts[started], axis=1)] = clock[run == self.after]
        return run >= self.after  # type: ignore[no-any-return]

    def _push_one(self, row: int, x: FloatArray, t: float) -> bool:
        if t == t:  # a time (not NaN): a slot to compare with
            clock = int(self.clock[row]) + 1
            starts = self.starts[row]
            recent = int(np.count_nonzero(starts > clock - BUDGET_WINDOW))
            raised = 1.0 + min(BUDGET_CAP, BUDGET_STEP * max(0, recent - BUDGET_STARTS))
            over = self._difference_one(row, x, t) > self.bound * raised  # NaN (nothing to compare) is not over
            run = int(self.run[row]) + 1 if over.any() else 0
            self.run[row], self.over[row], self.clock[row] = run, over, clock
            if run == self.after:
                starts[np.argmin(starts)] = clock
        return bool(self.run[row] >= self.after)

    def forget(self, rows: Rows) -> None:
        """After a gap: the smoothing starts again (the ring is the stream's past and is kept)."""
        self.warm[rows] = 0
        self.run[rows] = 0

    def flagged(self, rows: Rows) -> npt.NDArray[np.bool_]:
        """Which channels of ``rows`` are marked now."""
        return self.over[rows] & (self.run[rows] >= self.after)[:, None]  # type: ignore[no-any-return]
