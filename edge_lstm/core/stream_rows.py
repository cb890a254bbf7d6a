"""A stream bank's records: the per-stream quantities every detector keeps (counters, time, scaling,
alert state, recurrent state) as rows of arrays, and what a wave's samples did on the way through
``DetectorBank.admit`` and ``complete`` (``core/bank.py``)."""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np
import numpy.typing as npt

from edge_lstm.core.alerts import AlertEvent
from edge_lstm.core.rows import RowArrays, Rows
from edge_lstm.core.scaling import StandardScaler
from edge_lstm.core.settings import DetectorSettings

FloatArray = npt.NDArray[np.float32]
Float64Array = npt.NDArray[np.float64]

COUNTERS = (
    "samples",  # everything offered
    "scored",
    "warming_up",
    "invalid",  # wrong length, NaN, infinite or absurd values
    "duplicates",
    "out_of_order",
    "gaps",  # state resets after a gap
    "out_of_range",
    "baseline",  # samples spent learning the stream's own operating point
    "alerts",
)
SAMPLES, SCORED, WARMING_UP, INVALID, DUPLICATES, OUT_OF_ORDER, GAPS, OUT_OF_RANGE, BASELINE, ALERTS = range(10)

# Why a sample did not reach the model (0: it did), and the reason a result reports for it.
STEPPED, SKIP_INVALID, SKIP_DUPLICATE, SKIP_OUT_OF_ORDER, SKIP_LEARNING = range(5)
SKIP_REASONS: tuple[str | None, ...] = (None, "invalid", "duplicate", "out_of_order", None)


class StreamRows(RowArrays):
    """The detector's own per-stream quantities: counters, time, scaling, alert state, recurrent state."""

    counters: npt.NDArray[np.int64]  # (rows, COUNTERS)
    last_time: Float64Array  # NaN: no timestamp yet
    since_reset: npt.NDArray[np.int64]
    offset: Float64Array  # the stream's own operating point (baseline), once learned
    spread: Float64Array
    center: Float64Array  # (x - center) / scale: the baseline and the bundle's scaler in one
    scale: Float64Array
    marked: npt.NDArray[np.bool_]  # a reading stuck, leaping, cycling or off a lag ago, after the last sample
    alerting: npt.NDArray[np.bool_]
    peak: Float64Array  # the highest score of the alert in progress
    alert_age: npt.NDArray[np.int64]  # scored samples the alert in progress has lasted (core/findings.py)
    alert_named: npt.NDArray[np.bool_]  # the alert in progress has had a stuck, leaping or cycling reading
    sequence: npt.NDArray[np.int64]  # alert events sent

    def __init__(self, settings: DetectorSettings, state_sizes: tuple[int, ...], capacity: int) -> None:
        n = len(settings.features)
        mean, scale = settings.scaler.mean.astype(np.float64), settings.scaler.scale.astype(np.float64)
        self.state_names = tuple(f"state{k}" for k in range(len(state_sizes)))
        # A fresh row: no time yet, the bundle's scaler alone ((x - o) / s - m) / c with o = 0, s = 1.
        fresh = {"last_time": np.nan, "spread": 1.0, "center": mean, "scale": scale}
        f64, i64 = np.float64, np.int64
        shapes: dict[str, tuple[tuple[int, ...], Any]] = {
            "counters": ((len(COUNTERS),), i64), "last_time": ((), f64), "since_reset": ((), i64),
            "offset": ((n,), f64), "spread": ((n,), f64), "center": ((n,), f64), "scale": ((n,), f64),
            "marked": ((), bool), "alerting": ((), bool), "peak": ((), f64), "sequence": ((), i64),
            "alert_age": ((), i64), "alert_named": ((), bool),
        }  # fmt: skip
        shapes.update({name: ((size,), np.float32) for name, size in zip(self.state_names, state_sizes, strict=True)})
        self._allocate(capacity, shapes, fresh)

    def settle(self, row: int, baseline: StandardScaler, scaler: StandardScaler) -> None:
        """``row`` has learned its operating point ``baseline``: it standardizes by it, then by the bundle's
        ``scaler``, ((x - o) / s - m) / c, as one (x - center) / scale worked out once, not per sample."""
        self.offset[row], self.spread[row] = baseline.mean.astype(np.float64), baseline.scale.astype(np.float64)
        self.center[row] = self.offset[row] + scaler.mean.astype(np.float64) * self.spread[row]
        self.scale[row] = self.spread[row] * scaler.scale.astype(np.float64)

    def states(self) -> list[FloatArray]:
        """The recurrent state arrays, one per state tensor of the model."""
        return [getattr(self, name) for name in self.state_names]


class Admitted(NamedTuple):
    """A wave's samples after ``admit``: for each, its index in its stream, timestamp (NaN: none), why it
    was skipped (a ``SKIP_*`` code), whether it reset the state after a gap or was out of range; and for
    the ones that go to the model (``live``, positions in the wave), their rows, model inputs and
    whether each will be scored."""

    rows: Rows
    sample_index: npt.NDArray[np.int64]  # each sample's number in its stream
    times: Float64Array
    skipped: npt.NDArray[np.int64]
    gap: npt.NDArray[np.bool_]
    out_of_range: npt.NDArray[np.bool_]
    live: npt.NDArray[np.intp]
    live_rows: Rows
    x: FloatArray
    ready: npt.NDArray[np.bool_]  # per live sample: it will be scored (warm-up over, window full)


class Decided(NamedTuple):
    """What a wave's samples did: score (NaN: none), whether scored, alert state after it, and the
    alert events, each with its position in the wave."""

    admitted: Admitted
    scores: Float64Array
    scored: npt.NDArray[np.bool_]
    alerting: npt.NDArray[np.bool_]
    events: list[tuple[int, AlertEvent]]


# The counters each kind of sample adds to (every sample adds to ``samples``), by its skip code.
COUNTED = np.zeros((5, len(COUNTERS)), dtype=np.int64)
COUNTED[:, SAMPLES] = 1
for _code, _column in ((SKIP_INVALID, INVALID), (SKIP_DUPLICATE, DUPLICATES), (SKIP_OUT_OF_ORDER, OUT_OF_ORDER)):
    COUNTED[_code, _column] = 1
COUNTED[SKIP_LEARNING, BASELINE] = 1


def positions(at: npt.NDArray[np.intp] | slice, n: int) -> npt.NDArray[np.intp]:
    """``at`` as positions (a slice stands for all ``n``)."""
    return np.arange(n) if isinstance(at, slice) else at


def row_ids(rows: Rows) -> list[int]:
    """``rows`` as a list of row numbers."""
    return list(range(rows.start, rows.stop)) if isinstance(rows, slice) else rows.tolist()  # type: ignore[no-any-return]


def pick(rows: Rows, positions: npt.NDArray[np.intp]) -> Rows:
    """The rows at ``positions`` of ``rows``: an index array, or for one stream its slice (kept or emptied)."""
    if isinstance(rows, slice):
        return rows if len(positions) else slice(rows.start, rows.start)
    return rows[positions]
