"""Detection metrics, implemented from their published descriptions.

* Point-wise: F1, FAR = FP / (FP + TN), MAR = FN / (FN + TP), over every scored sample.
* Event-level: a labelled event (a run of anomalous samples) is detected if an alert is active at
  any of its samples; an alert run is correct if it overlaps a labelled event. Delay: samples from
  the event's start to the first alerting sample inside it.
* Changepoint score: the NAB scoring of Lavin and Ahmad, "Evaluating Real-time Anomaly Detection
  Algorithms - the Numenta Anomaly Benchmark" (2015), in SKAB's variant: a window of fixed length to
  the *right* of each labelled changepoint. Only the first detection in a window counts, scored by
  how early it is (scaled sigmoid); a window without a detection costs A_FN; a detection outside
  every window costs A_FP scaled by how far it lies past the previous window. Scores are normalised
  so that no detection scores 0 and a detection at every changepoint scores 100.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

BoolArray = npt.NDArray[np.bool_]

# (A_TP, A_FP, A_FN) of NAB's three application profiles.
PROFILES = {"standard": (1.0, 0.11, 1.0), "low_fp": (1.0, 0.22, 1.0), "low_fn": (1.0, 0.11, 2.0)}


def runs(mask: BoolArray) -> list[tuple[int, int]]:
    """(start, end) of each run of True, end exclusive."""
    edges = np.flatnonzero(np.diff(np.concatenate([[0], mask.astype(np.int8), [0]])))
    return list(zip(edges[::2].tolist(), edges[1::2].tolist(), strict=True))


def alert_starts(alerting: BoolArray, restarts: BoolArray | None = None) -> npt.NDArray[np.intp]:
    """The samples where an alert starts: where the alerting signal rises, and where a new finding
    ended one alert and started another in the same sample (``restarts``, core/findings.py)."""
    rising = np.diff(np.asarray(alerting, dtype=np.int8), prepend=0) == 1
    if restarts is not None and len(restarts):
        rising |= np.asarray(restarts, dtype=bool)
    return np.flatnonzero(rising)


@dataclass(frozen=True)
class PointCounts:
    tp: int
    fp: int
    tn: int
    fn: int

    def __add__(self, other: PointCounts) -> PointCounts:
        return PointCounts(self.tp + other.tp, self.fp + other.fp, self.tn + other.tn, self.fn + other.fn)

    @property
    def f1(self) -> float:
        return 2 * self.tp / (2 * self.tp + self.fp + self.fn) if self.tp else 0.0

    @property
    def far(self) -> float:
        return 100.0 * self.fp / (self.fp + self.tn) if self.fp + self.tn else 0.0

    @property
    def mar(self) -> float:
        return 100.0 * self.fn / (self.fn + self.tp) if self.fn + self.tp else 0.0


def point_counts(labels: BoolArray, alerts: BoolArray) -> PointCounts:
    labels, alerts = np.asarray(labels, bool), np.asarray(alerts, bool)
    return PointCounts(
        tp=int(np.sum(labels & alerts)),
        fp=int(np.sum(~labels & alerts)),
        tn=int(np.sum(~labels & ~alerts)),
        fn=int(np.sum(labels & ~alerts)),
    )


@dataclass(frozen=True)
class EventCounts:
    events: int
    detected: int
    alert_runs: int
    correct_runs: int
    delays: tuple[int, ...]

    def __add__(self, other: EventCounts) -> EventCounts:
        return EventCounts(
            self.events + other.events,
            self.detected + other.detected,
            self.alert_runs + other.alert_runs,
            self.correct_runs + other.correct_runs,
            self.delays + other.delays,
        )

    @property
    def recall(self) -> float:
        return self.detected / self.events if self.events else 0.0

    @property
    def precision(self) -> float:
        return self.correct_runs / self.alert_runs if self.alert_runs else 0.0

    @property
    def mean_delay(self) -> float | None:
        return float(np.mean(self.delays)) if self.delays else None


def event_counts(labels: BoolArray, alerts: BoolArray) -> EventCounts:
    labels, alerts = np.asarray(labels, bool), np.asarray(alerts, bool)
    events, alert_runs = runs(labels), runs(alerts)
    delays = []
    for start, end in events:
        hits = np.flatnonzero(alerts[start:end])
        if hits.size:
            delays.append(int(hits[0]))
    correct = sum(1 for a, b in alert_runs if labels[a:b].any())
    return EventCounts(len(events), len(delays), len(alert_runs), correct, tuple(delays))


def scaled_sigmoid(position: float) -> float:
    """NAB's weighting: about +0.987 at the start of a window (-1), 0 at its end (0), negative after it,
    and -1 once a false positive lies more than three window lengths past the window."""
    if position > 3.0:
        return -1.0
    return 2.0 / (1.0 + math.exp(5.0 * position)) - 1.0


@dataclass(frozen=True)
class NABScore:
    raw: float
    null: float  # the score of a detector that never fires
    perfect: float  # the score of one detection at every changepoint

    def __add__(self, other: NABScore) -> NABScore:
        return NABScore(self.raw + other.raw, self.null + other.null, self.perfect + other.perfect)

    @property
    def normalised(self) -> float:
        span = self.perfect - self.null
        return 100.0 * (self.raw - self.null) / span if span else 0.0


def nab_score(changepoints: list[float], detections: list[float], window: float, profile: str = "standard") -> NABScore:
    """SKAB's variant: each window is [cp, cp + window) to the right of a changepoint (times or indices)."""
    return nab_score_windows([(cp, cp + window) for cp in changepoints], detections, profile)


def nab_windows(onsets: list[int], rows: int, share: float = 0.1) -> list[tuple[float, float]]:
    """The Numenta Anomaly Benchmark's windows: ``share`` of the series' length divided among its anomalies,
    one window centred on each anomaly's onset (sample indices), clipped to the series and to each other.

    >>> nab_windows([500], 1000)
    [(450.0, 550.0)]
    """
    if not onsets:
        return []
    length = share * rows / len(onsets)
    windows: list[tuple[float, float]] = []
    for onset in sorted(onsets):
        lo, hi = max(0.0, onset - length / 2), min(float(rows), onset + length / 2)
        if windows and lo < windows[-1][1]:
            lo = windows[-1][1]
        if hi > lo:
            windows.append((lo, hi))
    return windows


def nab_score_windows(
    windows: list[tuple[float, float]], detections: list[float], profile: str = "standard"
) -> NABScore:
    """NAB scoring (Lavin and Ahmad 2015) over explicit ``[lo, hi)`` windows.

    Only the first detection in a window counts, rewarded by how early it is; where windows overlap it
    is credited to the earliest window without one, and later detections inside a window are ignored.
    A window without a detection costs A_FN; a detection outside every window costs A_FP, weighted by
    how far it lies past the previous window (relative to that window's length; fully before any).
    """
    a_tp, a_fp, a_fn = PROFILES[profile]
    windows = sorted(windows)
    first: list[float | None] = [None] * len(windows)
    raw = 0.0
    for t in sorted(detections):
        containing = [i for i, (lo, hi) in enumerate(windows) if lo <= t < hi]
        if containing:
            free = [i for i in containing if first[i] is None]
            if free:
                first[free[0]] = t
            continue  # inside a window: never a false positive
        previous = [(hi, hi - lo) for lo, hi in windows if hi <= t]
        position = (t - previous[-1][0]) / previous[-1][1] if previous else math.inf
        raw += a_fp * scaled_sigmoid(position)
    for (lo, hi), hit in zip(windows, first, strict=True):
        raw += -a_fn if hit is None else a_tp * scaled_sigmoid((hit - hi) / (hi - lo))
    perfect = a_tp * scaled_sigmoid(-1.0) * len(windows)
    return NABScore(raw, -a_fn * len(windows), perfect)
