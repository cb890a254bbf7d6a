"""A fast cycle that runs faster or slower than normal: a pump's strokes, a piston's pressure, a fan's
vibration.

A reconstruction error is nearly blind to it: a window of a cycle 15 % faster is as easy to rebuild as
one of the normal cycle. So it is watched on its own, on the channels whose normal readings cycle
regularly. A channel's readings cross a centre that follows them (an exponential moving average over
``CENTRE_CYCLES`` normal periods, so a level shift does not stop the count), with a band of ``BAND``
spreads either side that noise does not cross: a rise from below the band to above it starts a
cycle. The channel's cadence is the time its last ``CYCLES`` cycles took, from the first of their
starts to the last: a difference of two crossing times, so it carries the jitter of two crossings
however many cycles lie between (a median of single periods would carry the jitter of each).

Training streams normal data through the same watch and keeps the range its cadence took, widened by
``TOLERANCE``; on the device a cadence outside that range marks the channel until one falls back
inside. A channel is watched only where normal data holds ``MIN_CYCLES`` periods or more, shorter than
``MAX_PERIOD_S`` where the sampling period is known, whose spread is at most ``MAX_SPREAD`` of their
mean: a cycle, not noise or a daily swing. After a gap the cycle in progress and the cadence are
forgotten.

Readings are standardized, as for the transition guard (core/transitions.py).

>>> normal = [[float(v)] for v in ([1, 1, -1, -1] * 30)]
>>> setting = calibrate_cadence([np.array(normal)])
>>> (setting["centre"], setting["low"], setting["high"])  # 5 cycles of 4 samples: 20, give or take 5 %
([16.0], [19.05], [21.0])
>>> watch = CadenceWatch(setting)
>>> any(watch.push(row) for row in normal)
False
>>> [watch.push([v]) for v in (1.0, -1.0) * 3]  # twice as fast: marked from the second fast cycle
[False, False, True, True, True, True]
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

from edge_lstm.core.rows import ChannelWatch, Rows
from edge_lstm.errors import SettingsError

BAND = 0.3  # standardized units either side of the centre: a crossing must clear the noise
CENTRE_CYCLES = 4  # the centre's span, in normal periods
CYCLES = 5  # cycles in a cadence
MIN_CYCLES = 12  # normal periods a channel needs to be watched
# Of the mean period: the most a watched channel's periods may spread. A vibration whose noise skips a
# crossing now and then (the demo's, 0.15) has five-cycle times that stray beyond a short training's
# range by chance: a quarter let it in, and it paged once in the demo's 6,000 samples.
MAX_SPREAD = 0.1
TOLERANCE = 0.05  # of the cadence: what beyond its normal range still counts as normal
# A cycle of an hour or longer keeps the clock's time (a day, a shift): its rate does not change, its
# shape does (a quiet weekend skips a crossing), and the watch of the same time a day ago judges that.
MAX_PERIOD_S = 3600.0


def _periods(segments: Sequence[npt.NDArray[np.float64]], spans: npt.NDArray[np.float64]) -> list[list[int]]:
    """Per channel, the periods (samples between cycle starts) in each segment, streamed from a fresh
    watch whose centre follows over ``spans`` samples (infinite: it stays at the mean, 0; 0: the channel
    is not streamed and has none)."""
    out: list[list[int]] = [[] for _ in spans]
    watched = np.flatnonzero(spans > 0)
    for segment in segments:
        watch = CadenceWatch({"cycles": 1, "band": BAND, "centre": spans.tolist(), "low": [0.0] * len(spans),
                              "high": [np.inf] * len(spans)})  # fmt: skip
        watch.centre[:] = np.where(np.isinf(spans[watched]), 0.0, np.nan)
        starts: list[list[int]] = [[] for _ in watched]
        for i, row in enumerate(segment):
            watch.push_rows(slice(0, 1), row[None, :])
            for k in np.flatnonzero(watch.started[0]).tolist():
                starts[k].append(i)
        for k, channel in enumerate(watched.tolist()):
            out[channel] += np.diff(starts[k]).astype(int).tolist()
    return out


def calibrate_cadence(
    segments: Sequence[npt.NDArray[np.float64]], period_s: float | None = None
) -> dict[str, Any] | None:
    """The ``cadence`` setting from normal ``segments`` (standardized readings, rows by channels, each
    streamed from a fresh start) sampled every ``period_s`` (None: unknown): per channel, the centre's
    span and the range of a cadence, in samples (a span of 0 and a range of 0 to 0 for a channel that
    is not watched); None when no channel cycles faster than ``MAX_PERIOD_S``."""
    width = segments[0].shape[1]
    longest = MAX_PERIOD_S / period_s if period_s else np.inf  # in samples
    rough = [np.median(p) if len(p) >= MIN_CYCLES else np.inf for p in _periods(segments, np.full(width, np.inf))]
    spans = np.array([CENTRE_CYCLES * float(p) if p < longest else 0.0 for p in rough])
    centre, low, high = [0.0] * width, [0.0] * width, [0.0] * width
    for channel, found in enumerate(_periods(segments, spans)):
        periods = np.asarray(found, dtype=np.float64)
        if len(periods) < MIN_CYCLES or periods.std() > MAX_SPREAD * periods.mean():
            continue
        cadences = np.convolve(periods, np.ones(CYCLES), mode="valid")
        centre[channel] = float(spans[channel])
        low[channel] = round(float(cadences.min()) / (1 + TOLERANCE), 2)
        high[channel] = round(float(cadences.max()) * (1 + TOLERANCE), 2)
    if not any(centre):
        return None
    return {"cycles": CYCLES, "band": BAND, "centre": centre, "low": low, "high": high}


def check_cadence(setting: Any, width: int) -> None:
    """``SettingsError`` unless ``setting`` is a valid ``cadence`` setting for ``width`` channels."""
    if not isinstance(setting, dict) or not {"cycles", "band", "centre", "low", "high"} <= set(setting):
        raise SettingsError(f"cadence must be an object with cycles, band, centre, low and high, got {setting!r}")
    cycles, band = setting["cycles"], setting["band"]
    if not isinstance(cycles, int) or isinstance(cycles, bool) or cycles < 1:
        raise SettingsError(f"cadence.cycles must be a positive whole number, got {cycles!r}")
    if not isinstance(band, int | float) or isinstance(band, bool) or not band >= 0:
        raise SettingsError(f"cadence.band must be a number of 0 or more, got {band!r}")
    for name in ("centre", "low", "high"):
        values = setting[name]
        if (
            not isinstance(values, list)
            or len(values) != width
            or not all(isinstance(v, int | float) and not isinstance(v, bool) and v >= 0 for v in values)
        ):
            raise SettingsError(f"cadence.{name} must be {width} numbers of 0 or more, got {values!r}")
    if any(lo > hi for lo, hi in zip(setting["low"], setting["high"], strict=True)):
        raise SettingsError(f"cadence.low must not exceed cadence.high, got {setting['low']} and {setting['high']}")


class CadenceWatch(ChannelWatch):
    """Every stream's centre, side of it, clock and last cycle starts on each watched channel, one row
    per stream; ``push_rows`` says which streams have a channel off its cadence after their sample,
    ``flagged`` which channels."""

    def __init__(self, setting: dict[str, Any], capacity: int = 1) -> None:
        spans = np.asarray(setting["centre"], dtype=np.float64)
        self.width = len(spans)
        self.channels = np.flatnonzero(spans > 0)
        self._every = len(self.channels) == len(spans)  # every channel watched: no need to pick them
        n, self.cycles, self.band = len(self.channels), int(setting["cycles"]), float(setting["band"])
        self.alpha = 2.0 / (spans[self.channels] + 1.0)
        self.low = np.asarray(setting["low"], dtype=np.float64)[self.channels]
        self.high = np.asarray(setting["high"], dtype=np.float64)[self.channels]
        self.started = np.zeros((1, n), dtype=bool)  # where the last wave started a cycle (training reads it)
        self.centre: npt.NDArray[np.float64]
        self.side: npt.NDArray[np.int8]
        self.clock: npt.NDArray[np.int64]
        self.starts: npt.NDArray[np.int64]
        self.seen: npt.NDArray[np.int64]
        self.off: npt.NDArray[np.bool_]
        shapes: dict[str, tuple[tuple[int, ...], Any]] = {"centre": ((n,), np.float64), "side": ((n,), np.int8)}
        shapes |= {"clock": ((n,), np.int64), "starts": ((n, self.cycles + 1), np.int64)}
        shapes |= {"seen": ((n,), np.int64), "off": ((n,), np.bool_)}
        self._allocate(capacity, shapes, fresh={"centre": np.nan})

    def push_rows(self, rows: Rows, values: npt.NDArray[np.float64]) -> npt.NDArray[np.bool_]:
        """Take one sample (standardized readings, every channel) for each of ``rows``; whether each has
        a channel off its cadence now."""
        x = values if self._every else values[:, self.channels]
        centre = self.centre[rows]
        centre = centre + self.alpha * (x - centre)
        fresh = centre != centre  # NaN: a fresh start, whose centre starts at its first reading
        if fresh.any():
            centre[fresh] = x[fresh]
        side = self.side[rows]
        above = x > centre + self.band
        started = above & (side < 0)
        self.centre[rows], self.side[rows] = centre, np.where(above, 1, np.where(x < centre - self.band, -1, side))
        self.clock[rows] += 1
        self.started = started
        if started.any():
            self._count(rows, started, self.clock[rows])
        return np.logical_or.reduce(self.off[rows], axis=1)  # type: ignore[no-any-return]

    def _count(self, rows: Rows, started: npt.NDArray[np.bool_], clock: npt.NDArray[np.int64]) -> None:
        """A cycle started on the ``started`` channels: its start joins the ring, and the cadence over
        the last ``cycles`` cycles is judged once there are that many."""
        starts, seen, off = self.starts[rows], self.seen[rows], self.off[rows]
        at, channel = np.nonzero(started)
        slot = seen[at, channel] % (self.cycles + 1)
        starts[at, channel, slot] = clock[at, channel]
        seen[at, channel] += 1
        full = seen[at, channel] > self.cycles
        oldest = starts[at, channel, seen[at, channel] % (self.cycles + 1)]
        cadence = clock[at, channel] - oldest
        judged = (cadence < self.low[channel]) | (cadence > self.high[channel])
        off[at, channel] = np.where(full, judged, off[at, channel])
        self.starts[rows], self.seen[rows], self.off[rows] = starts, seen, off

    def forget(self, rows: Rows) -> None:
        """After a gap: the cycle in progress and the cadence are unknown."""
        self.side[rows] = 0
        self.seen[rows] = 0
        self.off[rows] = False

    def flagged(self, rows: Rows) -> npt.NDArray[np.bool_]:
        """Which channels of ``rows`` (of ``width``) are off their cadence now."""
        off = self.off[rows]
        flags = np.zeros((len(off), self.width), dtype=bool)
        flags[:, self.channels] = off
        return flags
