"""Streaming a recorded CSV through the detector, one sample at a time, exactly as the daemon would."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

from edge_lstm.bundle import Bundle
from edge_lstm.core.alerts import AlertEvent
from edge_lstm.core.calibration import ThresholdRule
from edge_lstm.core.detector import Counters, StreamDetector
from edge_lstm.core.stepmodel import StepModel
from edge_lstm.core.thresholds import Transition
from edge_lstm.errors import DataError
from edge_lstm.sources.csv_file import Recording


@dataclass
class ReplayResult:
    """Per-sample scores and alert states of a replay, its events, counters and timing."""

    scores: npt.NDArray[np.float64]  # NaN where no score (warm-up, skipped sample)
    alerting: npt.NDArray[np.bool_]
    events: list[AlertEvent] = field(default_factory=list)
    counters: Counters = field(default_factory=Counters)
    threshold: float = 0.0  # at the end of the replay
    seconds: float = 0.0
    thresholds: npt.NDArray[np.float64] | None = None  # per sample: SPOT thresholds move
    # per sample: a reading stuck, leaping, short-cycling or far from a lag ago (core/stuck, jumps, cycling, seasonal)
    marked: npt.NDArray[np.bool_] | None = None
    switching: npt.NDArray[np.bool_] | None = None  # per sample: right after a normal switch (core/transitions)
    # per sample: an alert in progress ended and a new one started (a new finding, core/findings.py)
    restarts: npt.NDArray[np.bool_] | None = None

    @property
    def us_per_sample(self) -> float:
        """Wall time per sample, microseconds."""
        return 1e6 * self.seconds / max(len(self.scores), 1)


def replay(
    recording: Recording,
    bundle: Bundle,
    *,
    threshold: float | None = None,
    rule: ThresholdRule | None = None,
    stream: str = "replay",
    model: StepModel | None = None,
    on_event: Callable[[AlertEvent], None] | None = None,
    progress: Callable[[int], None] | None = None,
    overrides: dict[str, Any] | None = None,
) -> ReplayResult:
    """Run ``recording`` through the bundle's deployed model (or ``model``, e.g. a float variant).
    ``threshold`` (a value) or ``rule`` (recalibrated from the bundle's stored scores)
    replace the bundle's threshold; ``overrides`` replace detector settings (a scorer, the debounce)."""
    if recording.features != bundle.channels:
        raise DataError(
            f"{recording.path}: columns {recording.features} do not match the bundle's channels {bundle.channels}"
            + (f" (its features, then the watched {bundle.watched})" if bundle.watched else "")
        )
    settings = bundle.detector_settings(threshold, rule, **(overrides or {}))
    detector = StreamDetector(settings, model or bundle.open_model(), stream=stream)
    n = len(recording)
    scores = np.full(n, np.nan)
    alerting = np.zeros(n, dtype=bool)
    thresholds = np.empty(n)
    marked = np.zeros(n, dtype=bool)
    switching = np.zeros(n, dtype=bool)
    restarts = np.zeros(n, dtype=bool)
    events: list[AlertEvent] = []
    times = recording.timestamps
    started = time.perf_counter()
    for i in range(n):
        result = detector.process(recording.values[i], None if times is None else float(times[i]))
        if result.score is not None:
            scores[i] = result.score
        alerting[i] = result.alerting
        thresholds[i] = detector.threshold
        marked[i] = detector.marked
        switching[i] = detector.switching
        for event in result.events:
            events.append(event)
            restarts[i] |= event.event == Transition.START.value and i > 0 and bool(alerting[i - 1])
            if on_event is not None:
                on_event(event)
        if progress is not None and i % 1000 == 999:
            progress(1000)
    elapsed = time.perf_counter() - started
    return ReplayResult(
        scores,
        alerting,
        events,
        detector.counters,
        detector.threshold,
        elapsed,
        thresholds,
        marked,
        switching,
        restarts,
    )
