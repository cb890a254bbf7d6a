"""The detectors of many streams as one bank: every per-stream quantity is a row of an array, so a wave
advances all its streams with numpy over the rows and one model call, with no Python loop over streams.

One bank serves the streams that share one ``DetectorSettings`` and model. A stream keeps its row for
life; rows are handed out and given back without moving any other row, and when none is free every
array doubles. A lone ``StreamDetector`` is a bank of one row: there is one implementation.

A wave is ``admit`` (checks, timestamps, counts, watches, level, baseline, scaling, smoothing, window,
input range), ``step`` (the model, state carried in the bank) and ``complete`` (score, threshold, debounce,
alert events). Only what is rare runs per stream: a stream still learning its baseline, SPOT and the
adaptive rule (each stream's own object), and an alert starting or clearing. The input policy is the
one ``core/detector.py`` documents.
"""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt

from edge_lstm.core.adaptive import AdaptiveSettings, AdaptiveThreshold, samples_per_day
from edge_lstm.core.alerts import AlertEvent, severity_of
from edge_lstm.core.baseline import BaselineLearner
from edge_lstm.core.cadence import CadenceWatch
from edge_lstm.core.counts import root
from edge_lstm.core.cycling import CycleWatch
from edge_lstm.core.findings import new_findings
from edge_lstm.core.jumps import JumpWatch
from edge_lstm.core.level import LevelTracker
from edge_lstm.core.rows import RowArrays, Rows, all_of, any_of, row_slice
from edge_lstm.core.samples import MAX_READING
from edge_lstm.core.scoring import TrailingWindow, contributions
from edge_lstm.core.seasonal import SeasonalWatch
from edge_lstm.core.settings import DetectorSettings
from edge_lstm.core.smoothing import TrailingMean
from edge_lstm.core.spot import SPOT
from edge_lstm.core.stepmodel import StepModel
from edge_lstm.core.stream_rows import (
    ALERTS,
    COUNTED,
    GAPS,
    OUT_OF_RANGE,
    SAMPLES,
    SCORED,
    SKIP_DUPLICATE,
    SKIP_INVALID,
    SKIP_LEARNING,
    SKIP_OUT_OF_ORDER,
    WARMING_UP,
    Admitted,
    Decided,
    StreamRows,
    pick,
    positions,
    row_ids,
)
from edge_lstm.core.stuck import StuckWatch
from edge_lstm.core.sustained import SustainedLevel
from edge_lstm.core.thresholds import Debounce, Transition
from edge_lstm.core.transitions import TransitionGuard
from edge_lstm.errors import DataError, SettingsError

FloatArray = npt.NDArray[np.float32]
Float64Array = npt.NDArray[np.float64]


class DetectorBank:
    """The state of every stream served by ``settings`` and ``model``, one row per stream."""

    def __init__(self, settings: DetectorSettings, model: StepModel, capacity: int = 1) -> None:
        n = len(settings.features)
        if model.n_features != n:
            raise DataError(f"model expects {model.n_features} features but the settings list {n}")
        if model.window != settings.window:
            raise DataError(f"model window {model.window} differs from settings window {settings.window}")
        if settings.adaptive is not None and settings.calibration is None:
            raise SettingsError("the adaptive threshold needs the bundle's calibration scores")
        self.settings, self.model = settings, model
        self.rows = StreamRows(settings, model.state_sizes, capacity)
        self.window = TrailingWindow(settings.window, n, capacity)
        self.smoother = TrailingMean(settings.smooth, n, capacity) if settings.smooth > 1 else None
        self._counts = np.isin(settings.channels, settings.counts) if settings.counts else None
        self.level: LevelTracker | None = None
        if settings.level is not None:
            self.level = LevelTracker(np.isin(settings.features, settings.level[0]), settings.level[1], capacity)
        stuck = settings.stuck
        self.stuck = StuckWatch(stuck["after"], stuck["low"], stuck["high"], capacity) if stuck else None
        self.jump = JumpWatch(settings.jump, capacity) if settings.jump else None
        self._reading_marks = self.stuck is not None or self.jump is not None  # they set ``marked`` first
        self.guard: TransitionGuard | None = None
        self._clear_at: float | None = None  # the settled threshold, where there is one
        self.cycles: CycleWatch | None = None
        fixed = settings.adaptive is None and settings.spot is None  # the others follow each stream already
        if settings.transitions is not None:
            t = settings.transitions
            channels = [settings.features.index(name) for name in t["channels"]]
            calm = t.get("settled") if fixed else None
            settled = (int(calm["after"]), float(calm["threshold"])) if calm else None
            self.guard = TransitionGuard(
                channels, t["low"], t["high"], float(t["bound"]), int(t["zone"]), capacity, settled
            )
            # An alert clears on quiet at the settled level: right after a switch the full threshold is
            # in force, and the transient's scores, under it, would end an alert of settled running.
            self._clear_at = settled[1] if settled else None
            if any(any(pair) for pair in t.get("shortest") or []):
                width = len(settings.channels)
                self.cycles = CycleWatch(channels, t["low"], t["high"], t["shortest"], width, capacity)
        self.seasonal = SeasonalWatch(settings.seasonal, capacity) if settings.seasonal else None
        self.cadence = CadenceWatch(settings.cadence, capacity) if settings.cadence else None
        self.sustained = SustainedLevel(settings.sustained, capacity) if settings.sustained and fixed else None
        self.debounce = Debounce(settings.debounce, capacity)
        parts: tuple[RowArrays | None, ...] = (self.rows, self.window, self.smoother, self.level, self.stuck)
        parts += (self.jump, self.guard, self.cycles, self.seasonal, self.cadence, self.sustained, self.debounce)
        self.parts: list[RowArrays] = [p for p in parts if p]
        # What each stream keeps as an object of its own (None where the settings do not use it).
        self.names: list[str] = [""] * capacity
        self.learners: list[BaselineLearner | None] = [None] * capacity
        self.spots: list[SPOT | None] = [None] * capacity
        self.adaptive: list[AdaptiveThreshold | None] = [None] * capacity
        self._free = list(range(capacity - 1, -1, -1))  # lowest first: pop() takes from the end
        period = settings.sample_period_s
        self._gap_s = settings.gap_reset_periods * period if period else None  # a longer silence resets
        self._features = n  # the model's columns come first in a sample; watched channels follow
        low, high = settings.input_low, settings.input_high
        self._bounds = None if low is None or high is None else (low, high)

    @property
    def capacity(self) -> int:
        """How many rows the arrays hold now."""
        return self.rows.capacity

    # -- rows --------------------------------------------------------------------------------------
    def acquire(self, name: str) -> int:
        """A fresh row for stream ``name``; the arrays double when none is free."""
        if not self._free:
            old = self.capacity
            for part in self.parts:
                part.grow(2 * old)
            for objects in (self.names, self.learners, self.spots, self.adaptive):
                objects.extend([None] * old)  # type: ignore[list-item]
            self._free = list(range(2 * old - 1, old - 1, -1))
        row = self._free.pop()
        for part in self.parts:
            part.clear(slice(row, row + 1))
        s = self.settings
        self.names[row] = name
        self.learners[row] = BaselineLearner(s.baseline, len(s.features)) if s.baseline else None
        self.spots[row] = SPOT.from_state(s.spot) if s.spot else None
        self.adaptive[row] = None
        if s.adaptive is not None and s.calibration is not None:
            rule = AdaptiveSettings.from_dict(s.adaptive)
            day = samples_per_day(s.sample_period_s, s.mean_period_s)
            self.adaptive[row] = AdaptiveThreshold(rule, s.calibration, day)
        return row

    def release(self, row: int) -> None:
        """Give ``row`` back; its stream is gone."""
        self.learners[row] = self.spots[row] = self.adaptive[row] = None
        self._free.append(row)

    def reset(self, rows: Rows) -> None:
        """``rows`` forget their past: zero state, empty window and smoothing, warm-up again (the
        baseline, level, stuck runs and alert state are the machine's and the stream's: kept)."""
        r = self.rows
        for state in r.states():
            state[rows] = 0.0
        r.since_reset[rows] = 0
        self.window.clear(rows)
        for part in filter(None, (self.smoother, self.jump)):
            part.clear(rows)
        for watch in (self.cycles, self.seasonal, self.cadence):
            if watch is not None:
                watch.forget(rows)

    def threshold(self, row: int) -> float:
        """The threshold in force for ``row`` now (it moves when SPOT or the adaptive rule adapts)."""
        own = self.adaptive[row] if self.adaptive[row] is not None else self.spots[row]  # the stream's own rule
        if own is not None:
            return own.threshold
        fixed = self.settings.threshold
        return float(np.max(self.guard.threshold(row_slice(row), fixed))) if self.guard is not None else fixed

    # -- a wave ------------------------------------------------------------------------------------
    def admit(self, rows: Rows, values: Float64Array, times: Float64Array) -> Admitted:
        """Check and scale one sample per row of ``rows`` (``values``: the readings of
        ``settings.channels``, NaN rows for samples of the wrong length; ``times``: NaN where a sample
        has no timestamp). Nothing here calls the model."""
        s, r = self.settings, self.rows
        n = len(values)
        index = r.counters[rows, SAMPLES].copy()
        # Watched channels (after the model's) may be missing: only the model's readings decide validity.
        modelled = values[:, : self._features] if s.watched else values
        valid = (np.abs(modelled) < MAX_READING).all(axis=1)  # NaN and inf fail too
        last = r.last_time[rows]
        dt = times - last  # NaN unless both this sample and the last have a time
        live: npt.NDArray[np.bool_] = valid & np.logical_not(dt <= 0.0)
        all_live = all_of(live)
        if all_live:  # the common case: nothing to skip
            code = np.zeros(n, dtype=np.int64)
        else:
            code = np.where(valid, np.where(dt == 0.0, SKIP_DUPLICATE, np.where(dt < 0.0, SKIP_OUT_OF_ORDER, 0)), 1)
        gap = (dt > self._gap_s) & live if self._gap_s is not None else None
        if gap is not None and any_of(gap):
            self.reset(pick(rows, np.flatnonzero(gap)))
        timed = times == times  # not NaN
        r.last_time[rows] = np.where(timed if all_live else live & timed, times, last)
        # ``at``: the positions of the samples still going on to the model (all of them: a slice).
        at: npt.NDArray[np.intp] | slice = slice(None)
        lv, x = rows, values
        if not all_live:
            at = np.flatnonzero(live)
            lv, x = pick(rows, at), values[at]
        if self._counts is not None:  # the watches, too, see a count as the model does
            x = root(x, self._counts)
        if self.stuck is not None or self.jump is not None:
            marked = self.stuck.push_rows(lv, x) if self.stuck is not None else False
            if self.jump is not None:
                marked = marked | self.jump.push_rows(lv, x)
            r.marked[lv] = marked
        if s.watched:
            x = x[:, : self._features]
        if self.level is not None:
            x = self.level.push_rows(lv, x)
        if s.baseline:
            learning = self._learn_baselines(lv, x)
            if any_of(learning):
                at = positions(at, n)
                code[at[learning]] = SKIP_LEARNING
                at, x = at[~learning], x[~learning]
                lv = pick(rows, at)
        standardized = (x - r.center[lv]) / r.scale[lv]
        finite = np.logical_and.reduce(np.abs(standardized) < MAX_READING, axis=1)  # finite, but absurd once scaled?
        if not all_of(finite):
            at = positions(at, n)
            code[at[~finite]] = SKIP_INVALID
            at, standardized = at[finite], standardized[finite]
            lv = pick(rows, at)
        if self.guard is not None:  # switches are seen in the readings before any smoothing
            self.guard.push_rows(lv, standardized)
        joined = self._reading_marks  # ``marked`` holds this sample's marks already: later ones join them
        for watch in filter(None, (self.cycles, self.cadence)):  # short cycling, a cycle off its cadence
            flags = watch.push_rows(lv, standardized)  # alerts of their own, as a stuck reading is
            r.marked[lv] = (flags | r.marked[lv]) if joined else flags
            joined = True
        if self.seasonal is not None:  # and so is a reading far from where it stood a week or a day ago
            apart = self.seasonal.push_rows(lv, standardized, times[at])
            r.marked[lv] = (apart | r.marked[lv]) if joined else apart
        smoothed = self.smoother.push_rows(lv, standardized) if self.smoother is not None else standardized
        scaled = smoothed.astype(np.float32)
        # The window takes the sample now, so a wave can score every stream's window at once; the
        # model sees it in this step.
        self.window.push_rows(lv, scaled)
        since = r.since_reset[lv] + 1
        r.since_reset[lv] = since
        ready = (since > s.warmup) & self.window.full(lv)
        counted = COUNTED[code]
        counted[at, SCORED] = ready
        counted[at, WARMING_UP] = ~ready
        out_of_range = np.zeros(n, dtype=bool)
        if self._bounds is not None:
            low, high = self._bounds
            clipped = np.minimum(np.maximum(scaled, low), high)  # for the model only: the error is unclipped
            out_of_range[at] = (clipped != scaled).any(axis=1)
            counted[:, OUT_OF_RANGE] = out_of_range
            scaled = clipped
        if gap is not None:
            counted[:, GAPS] = gap
        r.counters[rows] += counted
        return Admitted(rows, index, times, code, gap if gap is not None else np.zeros(n, dtype=bool),
                        out_of_range, positions(at, n), lv, scaled, ready)  # fmt: skip

    def _learn_baselines(self, rows: Rows, x: Float64Array) -> npt.NDArray[np.bool_]:
        """Samples of streams still learning their operating point go to their learners; which did."""
        ids = row_ids(rows)
        learning = np.array([self.learners[row] is not None for row in ids], dtype=bool)
        for k in np.flatnonzero(learning).tolist():
            baseline = self.learners[ids[k]].push(x[k])  # type: ignore[union-attr]
            if baseline is not None:
                self.rows.settle(ids[k], baseline, self.settings.scaler)
                self.learners[ids[k]] = None
        return learning

    def step(self, rows: Rows, x: FloatArray) -> FloatArray:
        """The model over one input per row of ``rows``, states stepped in place; the reconstructions."""
        states = self.rows.states()
        reconstructions, stepped = self.model.step(x, tuple(state[rows] for state in states))
        for state, new in zip(states, stepped, strict=True):
            state[rows] = new
        return reconstructions

    def complete(self, admitted: Admitted, reconstructions: FloatArray) -> Decided:
        """Score the admitted samples against their reconstructions and decide (threshold, debounce,
        alert events)."""
        n = len(admitted.sample_index)
        scores, scored = np.full(n, np.nan), np.zeros(n, dtype=bool)
        events: list[tuple[int, AlertEvent]] = []
        ready = admitted.ready
        if any_of(ready):
            at, rr = admitted.live, admitted.live_rows
            if not all_of(ready):
                picked = np.flatnonzero(ready)
                at, rr, reconstructions = at[picked], pick(rr, picked), reconstructions[picked]
            terms = self.settings.scorer.sensor_terms(reconstructions, self.window.buffer[rr])
            score = np.add.reduce(terms, axis=1) / terms.shape[1]
            scores[at], scored[at] = score, True
            events = self._decide(rr, at, score, terms, admitted)
        return Decided(admitted, scores, scored, self.rows.alerting[admitted.rows].copy(), events)

    def _decide(
        self, rows: Rows, at: npt.NDArray[np.intp], score: Float64Array, terms: Float64Array, admitted: Admitted
    ) -> list[tuple[int, AlertEvent]]:
        """Threshold and debounce for the scored samples; the alert events they cause."""
        r, s = self.rows, self.settings
        rules, used = None, s.threshold
        used_each: Float64Array | None = None
        if s.adaptive is not None:
            rules = [self.adaptive[row] for row in row_ids(rows)]
            active = []
            for rule, v in zip(rules, score.tolist(), strict=True):
                rule.update(v)  # type: ignore[union-attr]
                active.append(rule.active)  # type: ignore[union-attr]
            on = np.array(active, dtype=bool)
        elif s.spot is not None:
            spots = [self.spots[row] for row in row_ids(rows)]
            used_each = np.array([spot.threshold for spot in spots])  # type: ignore[union-attr]
            self.debounce.update_rows(rows, score, used_each)
            on = self.debounce.on[rows]
            # Scores inside an alert stay out of the tail; isolated exceedances keep it honest.
            for spot, v, anomalous in zip(spots, score.tolist(), on.tolist(), strict=True):
                spot.observe(v, anomalous=anomalous)  # type: ignore[union-attr]
        else:  # a stream whose score level stays raised is over the threshold too (core/sustained.py)
            if self._clear_at is not None:  # lower in settled running
                used_each = np.asarray(self.guard.threshold(rows, used), dtype=np.float64)  # type: ignore[union-attr]
            level = used if used_each is None else used_each
            lifted = self.sustained.lift(rows, score, level) if self.sustained is not None else score
            self.debounce.update_rows(rows, lifted, level, self._clear_at)
            on = self.debounce.on[rows]
        if self.guard is not None:  # what a normal switch between two states scores is not an alert
            on = self.guard.hold(rows, on, score)
        # An alert lasts while the score or a watch says so (a marked reading); one start and one clear.
        now = on | r.marked[rows]
        was = r.alerting[rows].copy()  # a view for one stream: read before it is written
        r.alerting[rows] = now
        peak = r.peak[rows]
        r.peak[rows] = np.where(now & (score > peak), score, peak)
        changed, restart = now != was, was & now  # no alert before or after (the common case): none to count
        if any_of(restart) or any_of(changed):
            restart = new_findings(rows, was, now, r.marked[rows], r.alert_age, r.alert_named)
            changed = changed | restart
        if not any_of(changed):
            return []
        events = []
        ids = row_ids(rows)
        for k in np.flatnonzero(changed).tolist():
            threshold = float(used if used_each is None else used_each[k])
            if rules is not None:
                threshold = rules[k].compared_threshold  # type: ignore[union-attr]
            # A new finding ends the alert in progress and starts one about the marked readings (on: False).
            for start, on_k in ((False, True), (True, False)) if restart[k] else ((bool(now[k]), bool(on[k])),):
                event = self._event(ids[k], start, on_k, float(score[k]), threshold, terms[k], admitted, int(at[k]))
                events.append((int(at[k]), event))
        return events

    def _event(
        self, row: int, start: bool, on: bool, score: float, threshold: float, terms: Float64Array, a: Admitted, k: int
    ) -> AlertEvent:
        r, features = self.rows, self.settings.features
        r.sequence[row] += 1
        peak = None if start else float(r.peak[row])  # a clearing reports the alert's peak
        r.peak[row] = score if start else 0.0
        r.counters[row, ALERTS] += start
        shares = contributions(terms, features)
        if r.marked[row] and not on:  # the readings that froze or leapt are what it is about
            named = self.marked_channels(row)
            shares = {f: (round(1.0 / len(named), 4) if f in named else 0.0) for f in self.settings.channels}
        time = float(a.times[k])
        return AlertEvent(
            event=(Transition.START if start else Transition.CLEAR).value,
            stream=self.names[row],
            index=int(a.sample_index[k]),
            timestamp=None if math.isnan(time) else time,
            score=score,
            threshold=threshold,
            severity=severity_of(peak if peak is not None else score, threshold),
            model_id=self.settings.model_id,
            sequence=int(r.sequence[row]),
            contributions=shares,
            peak_score=peak,
        )

    def marked_channels(self, row: int) -> list[str]:
        """The channels of ``row`` (watched ones included) marked now: stuck, leaping, cycling, off a lag ago
        or off their cadence."""
        flags = np.zeros(len(self.settings.channels), dtype=bool)
        for watch in (self.stuck, self.jump, self.cycles, self.seasonal, self.cadence):
            if watch is not None:  # the last two watch the model's features, the first channels
                flagged = watch.flagged(row_slice(row))[0]
                flags[: len(flagged)] |= flagged
        return [f for f, flag in zip(self.settings.channels, flags.tolist(), strict=True) if flag]
