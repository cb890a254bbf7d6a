"""Turning a score into a decision. A score is not a decision: these are separate, named objects."""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

import numpy as np
import numpy.typing as npt

from edge_lstm.core.rows import RowArrays, Rows, row_slice
from edge_lstm.errors import DataError, SettingsError


def quantile_threshold(scores: npt.ArrayLike, quantile: float) -> float:
    """The ``quantile`` of held-out normal scores: the label-free threshold with one knob."""
    if not 0.0 < quantile < 1.0:
        raise SettingsError(f"quantile must be between 0 and 1 (exclusive), got {quantile}")
    values = np.asarray(scores, dtype=np.float64)
    values = values[np.isfinite(values)]
    if values.size == 0:
        raise DataError("cannot calibrate a threshold from zero finite scores")
    return float(np.quantile(values, quantile))


class Transition(Enum):
    """An alert starting or clearing; its value is the event name subscribers see."""

    START = "alert_start"
    CLEAR = "alert_clear"


MAX_FIRE_M = 16  # the last fire_m comparisons are bits of an integer, counted through a table this long


@dataclass(frozen=True)
class DebounceSettings:
    """Alert after ``fire_n`` of the last ``fire_m`` scores exceed the threshold; clear after
    ``clear_n`` consecutive scores below ``clear_ratio`` x threshold (hysteresis).

    A stream whose alert starts again soon after it cleared is flapping, the way a lasting fault that
    only shows while a machine runs re-alerts at every start: each such restart doubles the stream's
    clearing time, up to ``clear_backoff`` x ``clear_n`` (1: never), so the fault is one long alert
    instead of one per cycle; a start after a longer quiet goes back to ``clear_n``. This is the flap
    damping of service monitors (Nagios's flap detection) done as exponential backoff."""

    fire_n: int = 3
    fire_m: int = 5
    clear_n: int = 10
    clear_ratio: float = 0.8
    clear_backoff: int = 16

    def __post_init__(self) -> None:
        if not 1 <= self.fire_n <= self.fire_m:
            raise SettingsError(f"need 1 <= fire_n <= fire_m, got fire_n={self.fire_n}, fire_m={self.fire_m}")
        if self.fire_m > MAX_FIRE_M:
            raise SettingsError(f"fire_m must be at most {MAX_FIRE_M} scores, got {self.fire_m}")
        if self.clear_n < 1:
            raise SettingsError(f"clear_n must be at least 1, got {self.clear_n}")
        if not 0.0 < self.clear_ratio <= 1.0:
            raise SettingsError(f"clear_ratio must be in (0, 1], got {self.clear_ratio}")
        if self.clear_backoff < 1:
            raise SettingsError(f"clear_backoff must be at least 1 (no backoff), got {self.clear_backoff}")


# Alert on the first score over the threshold and clear on the first one under it.
NO_DEBOUNCE = DebounceSettings(fire_n=1, fire_m=1, clear_n=1, clear_ratio=1.0, clear_backoff=1)
# An alert that starts again within this many of its clearing times after it cleared is flapping.
# Measured on the long recordings (tools/corpus --long): one persisting level shift of a machine that
# cycles every ~50 samples re-alerted 263 times with a fixed clear of 10 and once with the backoff; on
# the draw with nothing flapping, no decision changed.
FLAP_WINDOW = 10


class Debounce(RowArrays):
    """n-of-m firing with a lower clearing level, so one noisy sample neither raises nor ends an alert;
    for every stream at once, one row per stream (``update``/``active``: one stream, row 0)."""

    def __init__(self, settings: DebounceSettings, capacity: int = 1) -> None:
        self._settings = settings
        self._window = np.int64((1 << settings.fire_m) - 1)
        self._ones = _ONES[: 1 << settings.fire_m]  # how many comparisons of a window were over
        self.recent: npt.NDArray[np.int64]  # the last fire_m comparisons as bits, newest lowest
        self.below: npt.NDArray[np.int64]  # consecutive scores under the clearing level while alerting
        self.on: npt.NDArray[np.bool_]
        self.clear_after: npt.NDArray[np.int64]  # the row's clearing time now (backoff, see the settings)
        self.quiet: npt.NDArray[np.int64]  # scores since the row's last clear
        self._allocate(
            capacity,
            {
                "recent": ((), np.int64),
                "below": ((), np.int64),
                "on": ((), bool),
                "clear_after": ((), np.int64),
                "quiet": ((), np.int64),
            },
            {"clear_after": settings.clear_n, "quiet": _LONG_AGO},
        )
        self._longest = np.int64(settings.clear_n * settings.clear_backoff)

    def update_rows(
        self,
        rows: Rows,
        scores: npt.NDArray[np.float64],
        thresholds: npt.NDArray[np.float64] | float,
        clear_at: npt.NDArray[np.float64] | float | None = None,
    ) -> tuple[npt.NDArray[np.bool_], npt.NDArray[np.bool_]]:
        """Take one score per row of ``rows`` against its threshold; which rows start and which clear.
        ``clear_at``: the level whose ``clear_ratio`` a score must stay under to count towards clearing
        (the threshold itself unless given)."""
        s = self._settings
        over = scores > thresholds
        recent = ((self.recent[rows] << _ONE) | over) & self._window
        was = self.on[rows].copy()  # a view for one stream: read before it is written
        start = over & ~was & (self._ones[recent] >= s.fire_n)
        clear_after, quiet = self.clear_after[rows], self.quiet[rows] + _ONE
        if start.any():
            flapping = quiet <= _FLAP * clear_after
            clear_after = np.where(
                start, np.where(flapping, np.minimum(clear_after * 2, self._longest), s.clear_n), clear_after
            )
        # Counted only while alerting (a start counts from zero).
        level = thresholds if clear_at is None else clear_at
        below = (self.below[rows] + _ONE) * ((scores < s.clear_ratio * level) & was)
        clear = below >= clear_after
        recent[clear] = 0  # an alert that ends forgets what led to it
        quiet[clear] = 0
        self.recent[rows], self.below[rows] = recent, below
        self.clear_after[rows], self.quiet[rows] = clear_after, quiet
        self.on[rows] = (was & ~clear) | start
        return start, clear

    def update(self, score: float, threshold: float) -> Transition | None:
        """``update_rows`` for the one stream of a debounce of capacity 1: the transition, if any."""
        start, clear = self.update_rows(_FIRST, np.array([score]), threshold)
        return Transition.START if start[0] else Transition.CLEAR if clear[0] else None

    @property
    def active(self) -> bool:
        """Whether row 0 is alerting."""
        return bool(self.on[0])


_FIRST = row_slice(0)
_ONE = np.int64(1)  # numpy scalars: a Python int is converted again at every call
_FLAP = np.int64(FLAP_WINDOW)
_LONG_AGO = 1 << 40  # scores since a clear, for a row that never cleared: far beyond any flap window
_ONES = np.array([bin(k).count("1") for k in range(1 << MAX_FIRE_M)], dtype=np.int64)
