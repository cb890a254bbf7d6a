"""One stream's detector: sample -> scale -> smooth -> step -> reconstruction error -> threshold -> debounce -> alert.

A ``StreamDetector`` is one stream's row of a ``DetectorBank`` (``core/bank.py``), which holds the state
of many streams as arrays and advances them together; a detector made on its own is a bank of one row,
so one stream and a thousand take the same path. ``process`` takes one sample of this stream.

Input policy (each case is counted, none raises):
* a sample with the wrong number of values, or any NaN, inf or absurd (>= 1e30) reading of a model
  feature, is skipped: the state is left as it was (NaN never becomes 0). A watched channel (one
  training left out of the model, ``settings.watched``) may be missing: only its own watches skip it;
* a timestamp equal to the previous one is a duplicate and is skipped; an earlier one is out of order
  and is skipped;
* a gap longer than ``gap_reset_periods`` sample periods resets the state and the window: the stream
  warms up again and no alert can fire during warm-up;
* values outside the calibrated input range are counted and clipped *for the model input only*, so
  the recurrent state cannot saturate, while the error is still measured against the real value.

Per-stream baseline (``baseline`` > 0): one bundle can serve machines that run at different operating
points. Each stream first learns its own mean and spread from its first ``baseline`` valid samples
(no decisions meanwhile; counted as ``baseline``), then standardizes by them before the bundle's
scaler, exactly as training standardized each recording by its own leading rows. A gap does not
forget the baseline: the machine is the same machine.

Count channels (``counts``): read through a square root before anything else, the stuck and leap
watches included (``core/counts.py``), as training read them.

Tracked level (``level``): on channels that drift in normal operation, a slow moving level is
removed before the model sees them (``core/level.py``), as training removed it; a gap does not forget it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from edge_lstm.core.alerts import AlertEvent
from edge_lstm.core.bank import DetectorBank
from edge_lstm.core.rows import RowArrays
from edge_lstm.core.scaling import StandardScaler
from edge_lstm.core.settings import DetectorSettings
from edge_lstm.core.stepmodel import State, StepModel
from edge_lstm.core.stream_rows import COUNTERS, SKIP_REASONS, Decided, StreamRows
from edge_lstm.errors import SettingsError

__all__ = ["Counters", "DetectorSettings", "StepResult", "StreamDetector", "result_of"]

_COLUMN = {name: k for k, name in enumerate(COUNTERS)}
# The parts of a bank a stream's state lives in, by attribute name. A stream that carries on under new
# alert settings starts the debounce and these quantities of its ``rows`` afresh.
_WATCHES = ("stuck", "jump", "guard", "cycles", "seasonal", "cadence", "sustained")
_PARTS = ("rows", "window", "smoother", "level", *_WATCHES, "debounce")
_ALERT_STATE = frozenset({"alerting", "peak", "alert_age", "alert_named"})


class Counters:
    """Per-stream counts of what happened to every sample offered (each sample lands in exactly one bucket
    besides ``samples``, except ``gaps``, ``out_of_range`` and ``alerts``, which mark events): names for
    a row of a bank's counter array (``core/bank.py``, ``COUNTERS``), read and written in place."""

    __slots__ = ("_holder", "_row")
    _holder: StreamRows | _Own
    _row: int

    def __init__(self, holder: StreamRows | None = None, row: int = 0) -> None:
        # The bank's arrays are looked up at each read: they are replaced when the bank grows.
        object.__setattr__(self, "_holder", holder if holder is not None else _Own())
        object.__setattr__(self, "_row", row)

    def __getattr__(self, name: str) -> int:
        column = _COLUMN.get(name)
        if column is None:
            raise AttributeError(name)
        return int(self._holder.counters[self._row, column])

    def __setattr__(self, name: str, value: int) -> None:
        if name not in _COLUMN:
            raise AttributeError(f"no counter {name!r}")
        self._holder.counters[self._row, _COLUMN[name]] = value

    def as_dict(self) -> dict[str, int]:
        """The counters as a plain dict, for health documents and summaries."""
        return dict(zip(COUNTERS, self._holder.counters[self._row].tolist(), strict=True))

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Counters) and self.as_dict() == other.as_dict()

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"Counters({self.as_dict()})"


class _Own:
    """Counters that belong to no bank yet (a replay result's default): all zero, a row of their own."""

    __slots__ = ("counters",)

    def __init__(self) -> None:
        self.counters = np.zeros((1, len(COUNTERS)), dtype=np.int64)


@dataclass(slots=True)
class StepResult:
    """What one sample produced: its score (None in warm-up or when skipped), the alert state after it,
    any alert events, and why it was skipped."""

    index: int
    score: float | None  # None while warming up or when the sample was skipped
    alerting: bool
    events: tuple[AlertEvent, ...] = ()
    skipped: str | None = None  # why the sample was not scored


def result_of(decided: Decided, k: int) -> StepResult:
    """Sample ``k`` of a decided wave as one ``StepResult`` (for one stream; the daemon reads the arrays)."""
    score = float(decided.scores[k]) if decided.scored[k] else None
    events = tuple(event for at, event in decided.events if at == k)
    reason = SKIP_REASONS[decided.admitted.skipped[k]]
    return StepResult(int(decided.admitted.sample_index[k]), score, bool(decided.alerting[k]), events, reason)


class StreamDetector:
    """One stream's detector: a row of a ``DetectorBank`` (its own bank of one row when made alone).
    ``process`` checks, scales, steps, scores and decides one sample."""

    def __init__(self, settings: DetectorSettings, model: StepModel, stream: str = "default") -> None:
        self.stream = stream
        self.bank = DetectorBank(settings, model)
        self.row = self.bank.acquire(stream)

    @classmethod
    def joining(cls, bank: DetectorBank, stream: str) -> StreamDetector:
        """A new stream in a fresh row of ``bank``."""
        detector = cls.__new__(cls)
        detector.stream, detector.bank = stream, bank
        detector.row = bank.acquire(stream)
        return detector

    @property
    def settings(self) -> DetectorSettings:
        """The settings of the bank this stream lives in."""
        return self.bank.settings

    @property
    def model(self) -> StepModel:
        """The step model of the bank this stream lives in."""
        return self.bank.model

    # -- lifecycle -------------------------------------------------------------------------------
    def move_to(self, bank: DetectorBank) -> None:
        """Carry on in a row of ``bank`` (the same bundle's settings and model), all state brought along."""
        if bank is self.bank:
            return
        row = bank.acquire(self.stream)
        _copy(self.bank, self.row, bank, row, decisions=True)
        self.bank.release(self.row)
        self.bank, self.row = bank, row

    def reset(self) -> None:
        """Forget the stream's past: zero state, empty window, warm-up again."""
        self.bank.reset(slice(self.row, self.row + 1))

    def carry_over(self, old: StreamDetector) -> None:
        """Continue the stream ``old`` served, under new alert settings for the same model (a reload
        that changed a threshold): the recurrent state, window, smoothing, baseline, counters and alert
        sequence carry over; the threshold and its hysteresis start from the new settings."""
        if old.settings.model_id != self.settings.model_id:
            raise SettingsError(f"cannot carry {old.settings.model_id} state over to {self.settings.model_id}")
        _copy(old.bank, old.row, self.bank, self.row, decisions=False)

    # -- what the stream is doing ----------------------------------------------------------------
    @property
    def threshold(self) -> float:
        """The threshold in force now (it moves when SPOT or the adaptive rule adapts)."""
        return self.bank.threshold(self.row)

    @property
    def marked(self) -> bool:
        """Whether a reading is stuck, leaping, short-cycling or far from a lag ago after the last sample (an
        alert of its own once scored)."""
        return bool(self.bank.rows.marked[self.row])

    @property
    def switching(self) -> bool:
        """Whether the last sample lies within the zone of a switch between two normal states, where an
        alert that scores like a normal transient is held back (core/transitions.py)."""
        guard = self.bank.guard
        return guard is not None and int(guard.since[self.row]) < guard.zone

    @property
    def alerting(self) -> bool:
        """Whether the stream is in alert now (by its score, or a reading stuck, leaping or short-cycling)."""
        return bool(self.bank.rows.alerting[self.row])

    @property
    def counters(self) -> Counters:
        """The stream's counters (read and written in place)."""
        return Counters(self.bank.rows, self.row)

    @property
    def state(self) -> State:
        """The recurrent state, as (1, size) views of the bank's arrays."""
        return tuple(state[self.row : self.row + 1] for state in self.bank.rows.states())

    @property
    def baseline(self) -> StandardScaler | None:
        """The stream's learned operating point (None until learned, or when baselines are off)."""
        if not self.settings.baseline or self.bank.learners[self.row] is not None:
            return None
        r = self.bank.rows
        return StandardScaler(r.offset[self.row].astype(np.float32), r.spread[self.row].astype(np.float32))

    # -- one sample --------------------------------------------------------------------------------
    def process(self, values: npt.ArrayLike, timestamp: float | None = None) -> StepResult:
        """Check, scale, step, score and decide one sample of this stream."""
        bank, rows = self.bank, slice(self.row, self.row + 1)
        sample = np.asarray(values, dtype=np.float64)
        width = len(self.settings.channels)
        if sample.shape != (width,):  # counted as invalid, like a NaN reading
            sample = np.full(width, np.nan)
        times = np.array([np.nan if timestamp is None else timestamp], dtype=np.float64)
        admitted = bank.admit(rows, sample[None, :], times)
        if len(admitted.live):
            reconstructions = bank.step(admitted.live_rows, admitted.x)
        else:
            reconstructions = np.empty((0, self.settings.window, len(self.settings.features)), dtype=np.float32)
        return result_of(bank.complete(admitted, reconstructions), 0)

    # -- snapshots (core/snapshot.py) --------------------------------------------------------------
    def snapshot_fields(self) -> dict[str, Any]:
        """The stream's state: its row of every array of its bank, and its own objects."""
        fields: dict[str, Any] = {}
        for name, part in _parts(self.bank):
            fields.update({f"{name}.{key}": value for key, value in part.take(self.row).items()})
        bank, row = self.bank, self.row
        fields.update(learner=bank.learners[row], spot=bank.spots[row], adaptive=bank.adaptive[row])
        return fields

    def restore_fields(self, fields: dict[str, Any]) -> None:
        """Write state from ``snapshot_fields`` (decoded) back into the stream's row."""
        for name, part in _parts(self.bank):
            part.put(self.row, {key: fields[f"{name}.{key}"] for key in part.names})
        bank, row = self.bank, self.row
        bank.learners[row], bank.spots[row], bank.adaptive[row] = fields["learner"], fields["spot"], fields["adaptive"]


def _parts(bank: DetectorBank) -> list[tuple[str, RowArrays]]:
    return [(name, part) for name in _PARTS if (part := getattr(bank, name)) is not None]


def _copy(source: DetectorBank, row: int, target: DetectorBank, into: int, decisions: bool) -> None:
    """Stream state from ``source``'s ``row`` into ``target``'s fresh row ``into``; the threshold and
    alert state too when ``decisions``, else those keep the fresh row's start (new alert settings)."""
    for name, part in _parts(target):
        if name == "debounce" and not decisions:
            continue
        state = getattr(source, name).take(row)
        if name == "rows" and not decisions:
            state.update({key: value for key, value in part.take(into).items() if key in _ALERT_STATE})
        part.put(into, state)
    target.learners[into] = source.learners[row]
    if decisions:
        target.spots[into], target.adaptive[into] = source.spots[row], source.adaptive[row]
