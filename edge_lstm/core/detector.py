"""One stream's detector: sample -> scale -> smooth -> step -> reconstruction error -> threshold -> debounce -> alert.

The step itself is split out (``admit`` then ``complete``) so that a caller holding many streams can
advance all pending samples in one batched model call; ``process`` does both for a single stream.

Input policy (each case is counted, none raises):
* a sample with the wrong number of values, or any NaN, inf or absurd (>= 1e30) value, is skipped:
  the state is left as it was (NaN never becomes 0);
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

Tracked level (``level``): on channels that drift in normal operation, a slow moving level is
removed before anything else (``core/level.py``), as training removed it; a gap does not forget it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import numpy as np
import numpy.typing as npt

from edge_lstm.core.adaptive import AdaptiveSettings, AdaptiveThreshold
from edge_lstm.core.alerts import AlertEvent, severity_of
from edge_lstm.core.baseline import BaselineLearner
from edge_lstm.core.jumps import JumpWatch
from edge_lstm.core.level import LevelTracker
from edge_lstm.core.samples import readings_valid, within
from edge_lstm.core.scaling import StandardScaler
from edge_lstm.core.scoring import Scorer, TrailingWindow, contributions, score_of
from edge_lstm.core.smoothing import TrailingMean
from edge_lstm.core.spot import SPOT
from edge_lstm.core.stepmodel import State, StepModel, zero_state
from edge_lstm.core.stuck import StuckWatch
from edge_lstm.core.thresholds import Debounce, DebounceSettings, Transition
from edge_lstm.errors import DataError, SettingsError

FloatArray = npt.NDArray[np.float32]


@dataclass(frozen=True)
class DetectorSettings:
    """Everything a stream's detector needs from its bundle and config; validated on construction."""

    features: list[str]
    window: int
    scaler: StandardScaler
    threshold: float
    debounce: DebounceSettings = field(default_factory=DebounceSettings)
    warmup: int = 32  # samples after a (re)start before any decision; at least ``window``
    input_low: FloatArray | None = None  # calibrated range of scaled inputs
    input_high: FloatArray | None = None
    sample_period_s: float | None = None
    gap_reset_periods: float = 10.0
    model_id: str = "unknown"
    # An adaptive extreme-value threshold instead of the fixed one: the state SPOT was calibrated
    # to (level, excesses, n, q). Each stream gets its own copy and keeps adapting on its scores.
    spot: dict[str, Any] | None = None
    # The adaptive rule instead (core/adaptive.py): its constants, and the held-out calibration scores
    # each stream's score history starts from. It replaces the fixed threshold and the debounce.
    adaptive: dict[str, Any] | None = None
    calibration: npt.NDArray[np.float64] | None = None
    smooth: int = 1  # trailing mean over this many scaled samples before the model (1 = off)
    baseline: int = 0  # samples of the stream's own operating point to standardize by first (0 = off)
    level: tuple[list[str], int] | None = None  # channels whose slow level is removed, and its span
    # Stuck readings (core/stuck.py): per channel, the run of identical readings that means stuck
    # ("after", 0 = never) and the training floor and ceiling ("low", "high"), where readings rest.
    stuck: dict[str, list[Any]] | None = None
    # Leaps (core/jumps.py): per channel, the step between consecutive readings that is a leap (0 = never).
    jump: list[float] | None = None
    scorer: Scorer = field(default_factory=Scorer)

    @cached_property
    def input_bounds(self) -> tuple[list[float], list[float]] | None:
        """The calibrated input range as Python floats, for the check on every sample (None: no check)."""
        if self.input_low is None or self.input_high is None:
            return None
        return self.input_low.tolist(), self.input_high.tolist()

    def __post_init__(self) -> None:
        if self.smooth < 1:
            raise SettingsError(f"smooth must be at least 1 sample, got {self.smooth}")
        if self.baseline < 0 or self.baseline == 1:
            raise SettingsError(f"baseline must be 0 (off) or at least 2 samples, got {self.baseline}")
        if self.warmup < self.window:
            raise SettingsError(f"warmup ({self.warmup}) must be at least the window ({self.window})")
        if self.threshold <= 0 or not np.isfinite(self.threshold):
            raise SettingsError(f"threshold must be a positive number, got {self.threshold}")
        if self.stuck is not None:
            after = self.stuck.get("after")
            if not isinstance(after, list) or len(after) != len(self.features) or min(after) < 0:
                raise SettingsError(f"stuck limits must be {len(self.features)} counts of 0 or more, got {after}")
        if self.jump is not None and (len(self.jump) != len(self.features) or min(self.jump) < 0):
            raise SettingsError(f"jump limits must be {len(self.features)} steps of 0 or more, got {self.jump}")
        if self.level is not None and not set(self.level[0]) <= set(self.features):
            raise SettingsError(f"tracked channels {self.level[0]} are not all among {self.features}")


@dataclass
class Counters:
    """Per-stream counts of what happened to every sample offered (each sample lands in exactly one bucket
    besides ``samples``, except ``gaps``, ``out_of_range`` and ``alerts``, which mark events)."""

    samples: int = 0  # everything offered
    scored: int = 0
    warming_up: int = 0
    invalid: int = 0  # wrong length, NaN or infinite values
    duplicates: int = 0
    out_of_order: int = 0
    gaps: int = 0  # state resets after a gap
    out_of_range: int = 0
    baseline: int = 0  # samples spent learning the stream's own operating point
    alerts: int = 0

    def as_dict(self) -> dict[str, int]:
        """The counters as a plain dict, for health documents and summaries."""
        return dict(self.__dict__)


@dataclass(slots=True)
class StepResult:
    """What one sample produced: its score (None in warm-up or when skipped), the alert state after it,
    any alert events, and why it was skipped. Not frozen: one is made per sample, and a frozen
    dataclass sets each field through ``object.__setattr__``, four times the cost of plain slots."""

    index: int
    score: float | None  # None while warming up or when the sample was skipped
    alerting: bool
    events: tuple[AlertEvent, ...] = ()
    skipped: str | None = None  # why the sample was not scored


class StreamDetector:
    """One stream's detector around a ``StepModel``: input checks, scaling, state, score, threshold,
    debounce and alert events. Use ``process`` for one stream; ``admit``/``complete`` to batch many."""

    def __init__(self, settings: DetectorSettings, model: StepModel, stream: str = "default") -> None:
        if model.n_features != len(settings.features):
            raise DataError(f"model expects {model.n_features} features but the settings list {len(settings.features)}")
        if model.window != settings.window:
            raise DataError(f"model window {model.window} differs from settings window {settings.window}")
        self.settings = settings
        self.model = model
        self.stream = stream
        self.counters = Counters()
        self.state: State = zero_state(model)
        self._window = TrailingWindow(settings.window, len(settings.features))
        self._smoother = TrailingMean(settings.smooth, len(settings.features)) if settings.smooth > 1 else None
        self._debounce: Debounce | AdaptiveThreshold = Debounce(settings.debounce)
        if settings.adaptive is not None:
            if settings.calibration is None:
                raise SettingsError("the adaptive threshold needs the bundle's calibration scores")
            self._debounce = AdaptiveThreshold(AdaptiveSettings.from_dict(settings.adaptive), settings.calibration)
        self._since_reset = 0
        self._last_time: float | None = None
        self._sequence = 0
        self._peak = 0.0
        self._pending: FloatArray | None = None
        self._spot = SPOT.from_state(settings.spot) if settings.spot else None
        self._pending_index = 0
        self._pending_time: float | None = None
        n = len(settings.features)
        self._learner = BaselineLearner(settings.baseline, n) if settings.baseline else None
        stuck = settings.stuck
        self._stuck = StuckWatch(stuck["after"], stuck["low"], stuck["high"]) if stuck else None
        self._jump = JumpWatch(settings.jump) if settings.jump else None
        self._marked = False  # a channel stuck or leaping after the last sample
        self._was_alerting = False
        self._level: LevelTracker | None = None
        if settings.level is not None:
            tracked = np.array([f in settings.level[0] for f in settings.features])
            self._level = LevelTracker(tracked, settings.level[1])
        self._offset = np.zeros(len(settings.features))  # the stream's own operating point, once learned
        self._spread = np.ones(len(settings.features))
        self._center, self._scale = self._affine()

    # -- lifecycle -------------------------------------------------------------------------------
    def reset(self) -> None:
        """Forget the stream's past: zero state, empty window, warm-up again."""
        self.state = zero_state(self.model)
        if self._jump is not None:
            self._jump.forget()
        self._window.reset()
        if self._smoother is not None:
            self._smoother.reset()
        self._since_reset = 0

    def carry_over(self, old: StreamDetector) -> None:
        """Continue the stream ``old`` served, under new alert settings for the same model (a reload
        that changed a threshold): the recurrent state, window, smoothing, baseline, counters and alert
        sequence carry over; the threshold and its hysteresis start from the new settings."""
        if old.settings.model_id != self.settings.model_id:
            raise SettingsError(f"cannot carry {old.settings.model_id} state over to {self.settings.model_id}")
        self.state, self._window, self._smoother = old.state, old._window, old._smoother
        self._learner, self._offset, self._spread = old._learner, old._offset, old._spread
        self._level, self._stuck, self._jump, self._marked = old._level, old._stuck, old._jump, old._marked
        self._center, self._scale = old._center, old._scale
        self.counters, self._since_reset, self._last_time = old.counters, old._since_reset, old._last_time
        self._sequence = old._sequence

    @property
    def threshold(self) -> float:
        """The threshold in force now (it moves when SPOT or the adaptive rule adapts)."""
        if isinstance(self._debounce, AdaptiveThreshold):
            return self._debounce.threshold
        return self._spot.threshold if self._spot is not None else self.settings.threshold

    @property
    def marked(self) -> bool:
        """Whether a raw reading is stuck or leaping after the last sample (an alert of its own once scored)."""
        return self._marked

    @property
    def alerting(self) -> bool:
        """Whether the stream is in alert now (by its score, or a reading stuck or leaping)."""
        return self._was_alerting

    # -- one sample --------------------------------------------------------------------------------
    def process(self, values: npt.ArrayLike, timestamp: float | None = None) -> StepResult:
        """Check, scale, step and score one sample with this stream's own model call."""
        admitted = self.admit(values, timestamp)
        if isinstance(admitted, StepResult):
            return admitted
        reconstruction, self.state = self.model.step(admitted[None, :], self.state)
        return self.complete(reconstruction[0])

    def admit(self, values: npt.ArrayLike, timestamp: float | None = None) -> FloatArray | StepResult:
        """Check and scale one sample. Returns the model input row, or a StepResult if skipped."""
        c = self.counters
        index = c.samples
        c.samples += 1
        row = np.asarray(values, dtype=np.float64)
        # Beyond float32's range a reading is not a measurement; it would turn into inf downstream.
        readings = row.tolist()  # once: the checks and the watches read Python floats
        if row.shape != (len(self.settings.features),) or not readings_valid(readings):
            c.invalid += 1
            return StepResult(index, None, self.alerting, skipped="invalid")
        if timestamp is not None and self._last_time is not None:
            dt = timestamp - self._last_time
            if dt == 0:
                c.duplicates += 1
                return StepResult(index, None, self.alerting, skipped="duplicate")
            if dt < 0:
                c.out_of_order += 1
                return StepResult(index, None, self.alerting, skipped="out_of_order")
            period = self.settings.sample_period_s
            if period and dt > self.settings.gap_reset_periods * period:
                c.gaps += 1
                self.reset()
        if timestamp is not None:
            self._last_time = timestamp
        if self._stuck is not None or self._jump is not None:
            self._marked = self._mark(readings)
        if self._level is not None:
            row = self._level.push(row)
            readings = row.tolist()
        if self._learner is not None:
            return self._learn_baseline(index, row)
        # (x - center) / scale on Python floats: the same float64 operations, one value at a time.
        standardized = [
            (x - m) / s for x, m, s in zip(readings, self._center.tolist(), self._scale.tolist(), strict=True)
        ]
        if not readings_valid(standardized):  # a finite reading, absurd once scaled
            c.invalid += 1
            return StepResult(index, None, self.alerting, skipped="invalid")
        if self._smoother is not None:
            scaled = self._smoother.push(np.array(standardized)).astype(np.float32)
        else:
            scaled = np.array(standardized, dtype=np.float32)
        self._pending = scaled
        self._pending_index = index
        self._pending_time = timestamp
        # The window takes the sample now, so a wave can score every stream's window at once
        # before each stream's ``complete``; the model sees it in this step.
        self._window.push(scaled)
        self._since_reset += 1
        bounds = self.settings.input_bounds
        if bounds is not None and not within(scaled.tolist(), *bounds):
            c.out_of_range += 1
            return np.clip(scaled, self.settings.input_low, self.settings.input_high)
        return scaled

    def _mark(self, readings: list[float]) -> bool:
        """Whether a raw reading is stuck or has leapt (checks that need no model); both watches see it."""
        stuck = self._stuck is not None and self._stuck.push(readings)
        leapt = self._jump is not None and self._jump.push(readings)
        return stuck or leapt

    def _marked_channels(self) -> list[str]:
        watches = [w.marked for w in (self._stuck, self._jump) if w is not None]
        return [f for f, *flags in zip(self.settings.features, *watches, strict=True) if any(flags)]

    def _learn_baseline(self, index: int, row: npt.NDArray[np.float64]) -> StepResult:
        if self._learner is None:
            raise RuntimeError("the stream's baseline is already learned")
        self.counters.baseline += 1
        baseline = self._learner.push(row)
        if baseline is not None:
            self._offset, self._spread = baseline.mean.astype(np.float64), baseline.scale.astype(np.float64)
            self._center, self._scale = self._affine()
            self._learner = None
        return StepResult(index, None, self.alerting)

    def _affine(self) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
        """The stream baseline then the bundle scaler, ((x - o) / s - m) / c, as one (x - center) / scale
        computed once rather than per sample."""
        scaler = self.settings.scaler
        mean, scale = scaler.mean.astype(np.float64), scaler.scale.astype(np.float64)
        return self._offset + mean * self._spread, self._spread * scale

    @property
    def baseline(self) -> StandardScaler | None:
        """The stream's learned operating point (None until learned, or when baselines are off)."""
        if not self.settings.baseline or self._learner is not None:
            return None
        return StandardScaler(self._offset.astype(np.float32), self._spread.astype(np.float32))

    @property
    def scored_window(self) -> FloatArray | None:
        """The trailing window that ends with the admitted sample, if that sample will be scored (warm-up
        over, window full): what the model's reconstruction is compared with."""
        return self._window.values if self._since_reset > self.settings.warmup and self._window.full else None

    def complete(
        self, reconstruction: FloatArray, errors: npt.NDArray[np.float64] | None = None, score: float = 0.0
    ) -> StepResult:
        """Score the admitted sample against the model's reconstruction and update the alert state;
        ``errors`` and ``score`` when a wave has worked them out for all its streams at once."""
        index, timestamp = self._pending_index, self._pending_time
        if self._pending is None:
            raise RuntimeError("complete() called without a sample admitted by admit()")
        self._pending = None
        if errors is None:  # a wave passes errors only for a sample it found ready to score
            window = self.scored_window
            if window is None:
                self.counters.warming_up += 1
                return StepResult(index, None, self.alerting)
            errors = self.settings.scorer.sensor_terms(reconstruction, window)
            score = score_of(errors)
        self.counters.scored += 1
        if isinstance(self._debounce, AdaptiveThreshold):
            self._debounce.update(score)
            threshold = math.nan  # a log-scale reference: worked out only when an event reports it
        else:
            threshold = self._spot.threshold if self._spot is not None else self.settings.threshold
            self._debounce.update(score, threshold)
        if self._spot is not None:
            # Scores inside an alert stay out of the tail; isolated exceedances keep it honest.
            self._spot.observe(score, anomalous=self._debounce.active)
        # An alert lasts while the score says so or a reading is stuck or leaping; one start, one clear.
        marked = self._marked
        was, now = self._was_alerting, self._debounce.active or marked
        self._was_alerting = now
        if now:
            self._peak = max(self._peak, score)
        if now == was:
            return StepResult(index, score, now)
        transition = Transition.START if now else Transition.CLEAR
        if isinstance(self._debounce, AdaptiveThreshold):
            threshold = self._debounce.compared_threshold
        self._sequence += 1
        peak = None
        if transition is Transition.START:
            self.counters.alerts += 1
            self._peak = score
        else:
            peak, self._peak = self._peak, 0.0
        shares = contributions(errors, self.settings.features)
        if marked and not self._debounce.active:  # the readings that froze or leapt are what it is about
            named = self._marked_channels()
            shares = {f: (round(1.0 / len(named), 4) if f in named else 0.0) for f in self.settings.features}
        event = AlertEvent(
            event=transition.value,
            stream=self.stream,
            index=index,
            timestamp=timestamp,
            score=score,
            threshold=threshold,
            severity=severity_of(peak if peak is not None else score, threshold),
            model_id=self.settings.model_id,
            sequence=self._sequence,
            contributions=shares,
            peak_score=peak,
        )
        return StepResult(index, score, self.alerting, (event,))
