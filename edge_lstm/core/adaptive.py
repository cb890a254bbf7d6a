"""An alert rule that adapts to each stream on the device: the score judged against the stream's own
recent scores, not against a fixed number from training.

After the anomaly likelihood of Ahmad, Lavin, Purdy and Agha, "Unsupervised real-time anomaly detection
for streaming data" (Neurocomputing 2017): the recent level of the score is compared with the
distribution of the score over a long history, so a detector that sees a machine in a new normal
state stops alarming once that state has lasted, without retraining. Here:

* scores are compared on a log scale (reconstruction errors are roughly log-normal: a fault multiplies
  them), ``x = log(score + floor)``;
* the long-term reference is the mean and spread of ``x`` over the last ``history`` scores, started
  from the bundle's held-out calibration scores, so decisions start right after warm-up;
* the short-term level is the mean of the last ``short`` values of ``x``; ``z`` is its distance from
  the reference in reference spreads;
* an alert starts when ``z`` exceeds ``fire_z`` and the short-term level is also above the
  ``gate_quantile`` of the reference (a stream whose normal scores are bimodal or heavy-tailed must
  not alarm on its own upper mode; higher where the bundle reads counts, which burst), or when one
  score alone exceeds the largest score of the reference by ``spike_margin`` in log units (a
  one-sample spike that the short-term mean dilutes);
* it clears when ``z`` falls below ``clear_z`` (hysteresis). While alerting, scores stay out of the
  reference, so an anomaly does not become its own baseline, until the alert has lasted
  ``max_alert`` scores: then the change counts as the new normal and is learned, and the alert
  clears once the reference has caught up;
* an alert that starts again about a day after the last one started (within ``daily_tolerance`` of a
  day, counted in samples at the bundle's sampling period) is the stream's daily pattern, not a new
  event: a peak hour, a nightly job, the daily low of a series that trends. The scores the last alert
  kept out of the reference are learned then, so the pattern stops alerting after its second day
  instead of paging every day. The new start itself still alerts (a fault can begin at that hour), and
  a fault that recurs on other days than the last is never taken for the pattern.
* an alert budget: a stream that has started more than ``budget_starts`` alerts within its last
  ``budget_window`` scores is noisier than its reference says (heavy-tailed counts, a model that fits
  it less well since a change), so each start beyond the budget raises ``fire_z`` by ``budget_step``,
  up to ``budget_cap``; the bar comes down as those starts age out of the window. One score far above
  the reference (``spike_margin``) still alerts at once. On short recordings with several faults it
  rarely comes into play; on long streams whose faults are rare it cuts a third of the false starts
  (docs/detection.md, "Alerts beyond the budget"). A detector that pages often is ignored;
  this is the device's answer, per stream, without retraining. With ``budget_learns``, each start beyond
  the budget also makes the last alert's kept-out scores part of the reference, as the daily pattern
  does: what keeps coming back (a count's bursts, a weekly peak) is the stream's own, and the reference
  then knows how high it goes, where a raised z only knows how often it came.

The constants were chosen by measurement on the SKAB files and the generated corpus (docs/detection.md;
``./dev.sh corpus``).

>>> rule = AdaptiveThreshold(AdaptiveSettings(), calibration=[1.0, 1.2, 0.9, 1.1] * 50)
>>> [rule.update(s) for s in (1.0, 1.05, 50.0)][-1]
<Transition.START: 'alert_start'>
"""

from __future__ import annotations

import bisect
import math
from collections import deque
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from edge_lstm.core.thresholds import Transition
from edge_lstm.errors import DataError, SettingsError

GATE_QUANTILE = 0.99
# Count channels (requests, errors, mentions) burst: a busy spell above the 99th percentile of the
# stream's own scores is their normal, so where a bundle reads counts the short-term level must pass the
# 99.9th, nearly the largest the reference holds. Measured on kept runs (docs/detection.md, "The gate on
# count streams"): fewer false starts on long count series, no fault lost on the corpus; SKAB has no counts.
COUNTS_GATE_QUANTILE = 0.999


def gate_for(counts: bool) -> float:
    """The gate quantile for a bundle that reads count channels (``counts``) or not."""
    return COUNTS_GATE_QUANTILE if counts else GATE_QUANTILE


MIN_SPREAD = 0.1  # in log units: a score that never moved still needs a 10 % change per spread
DAY_S = 86_400.0
MIN_DAY = 24  # samples in a day below which (hourly data or slower) an hour cannot be told apart
_LONG_AGO = 1 << 40  # samples: no start yet, or none since a gap


def samples_per_day(sample_period_s: float | None, mean_period_s: float | None = None) -> int:
    """Scores in a day at a stream's sampling period; 0 (no daily rule) when it is unknown or too coarse.

    ``mean_period_s``, the mean interval of the training readings (gaps left out), wins where the bundle
    has it: on jittered timestamps the median period over-counts a day by as much as the jitter."""
    period = mean_period_s or sample_period_s
    if not period or period <= 0:
        return 0
    day = round(DAY_S / period)
    return day if day >= MIN_DAY else 0


@dataclass(frozen=True)
class AdaptiveSettings:
    """The rule's constants; ``fire_z`` is its one sensitivity knob."""

    fire_z: float = 2.5
    clear_z: float = 1.0
    history: int = 1000
    short: int = 3
    max_alert: int = 200
    floor: float = 1e-3  # added to scores before the log, so a perfect (0) score is finite
    gate_quantile: float = GATE_QUANTILE
    spike_margin: float = 0.4  # log units: a score 1.5 times the largest of the reference
    # A start this share of a day either side of a day after the last start is the same hour (0: never,
    # no daily pattern); `evaluate --protocol ablation` measures 0, 0.05 and 0.2 beside it.
    daily_tolerance: float = 0.1
    # The alert budget (0 scores: off); `evaluate --protocol ablation` measures it off and changed.
    budget_window: int = 5000
    budget_starts: int = 3
    budget_step: float = 0.25
    budget_cap: float = 1.0
    # Each start beyond the budget also learns the last alert (docs/detection.md, "Alerts beyond the budget");
    # `evaluate --protocol ablation` measures it off.
    budget_learns: bool = True

    def __post_init__(self) -> None:
        if not self.fire_z > self.clear_z:
            raise SettingsError(f"fire_z ({self.fire_z}) must be above clear_z ({self.clear_z})")
        if not 0.0 <= self.gate_quantile < 1.0:
            raise SettingsError(f"gate_quantile must be in [0, 1), got {self.gate_quantile}")
        if not self.spike_margin > 0:
            raise SettingsError(f"spike_margin must be positive, got {self.spike_margin}")
        for name in ("history", "short", "max_alert"):
            if getattr(self, name) < 1:
                raise SettingsError(f"{name} must be at least 1, got {getattr(self, name)}")
        if not self.floor > 0:
            raise SettingsError(f"floor must be positive, got {self.floor}")
        if not 0.0 <= self.daily_tolerance < 0.5:
            raise SettingsError(f"daily_tolerance must be in [0, 0.5) of a day, got {self.daily_tolerance}")
        for name in ("budget_window", "budget_starts", "budget_step", "budget_cap"):
            if getattr(self, name) < 0:
                raise SettingsError(f"{name} must not be negative, got {getattr(self, name)}")
        if not isinstance(self.budget_learns, bool):
            raise SettingsError(f"budget_learns must be true or false, got {self.budget_learns!r}")

    def to_dict(self) -> dict[str, Any]:
        """The manifest's form."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> AdaptiveSettings:
        """Read the manifest's form back."""
        known = {k: data[k] for k in cls.__dataclass_fields__ if k in data}
        return cls(**known)


class AdaptiveThreshold:
    """One stream's adaptive alert rule. ``update`` takes each score and returns the transition it
    causes; ``active`` and ``threshold`` (the score level the short-term mean must cross now) read the
    state. Same interface as ``thresholds.Debounce``, which it replaces for this rule."""

    def __init__(self, settings: AdaptiveSettings, calibration: npt.ArrayLike, day: int = 0) -> None:
        """``day``: scores in a day (``samples_per_day``), 0 for none: no daily pattern is learned."""
        start = np.asarray(calibration, dtype=np.float64)
        start = start[np.isfinite(start)]
        if start.size < 2:
            raise DataError("the adaptive threshold needs at least 2 finite calibration scores")
        self.settings = settings
        self._history: deque[float] = deque(maxlen=settings.history)
        self._sorted: list[float] = []  # the same values in order: the gate and the spike limit
        self._sum = self._sum_sq = 0.0
        for x in np.log(start[-settings.history :] + settings.floor):
            self._learn(float(x))
        self._recent: deque[float] = deque(maxlen=settings.short)
        self._recent_sum = 0.0
        self._alerting_for = 0
        self.active = False
        self.z = 0.0
        self._compared = self._reference()  # the reference the last score was judged against
        self._day = day
        self._scores = 0  # scores taken: the stream's clock, in samples
        self._last_start = -_LONG_AGO
        self._episode: list[float] = []  # the last alert's values kept out of the reference
        self._starts: deque[int] = deque()  # when the alerts of the last ``budget_window`` scores started

    def _learn(self, x: float) -> None:
        if len(self._history) == self._history.maxlen:
            old = self._history[0]
            self._sum -= old
            self._sum_sq -= old * old
            del self._sorted[bisect.bisect_left(self._sorted, old)]
        self._history.append(x)
        self._sum += x
        self._sum_sq += x * x
        bisect.insort(self._sorted, x)

    def _reference(self) -> tuple[float, float, float]:
        """Mean and spread of the reference, and its gate (the ``gate_quantile``), in log units."""
        n = len(self._history)
        mean = self._sum / n
        spread = math.sqrt(max(self._sum_sq / n - mean * mean, 0.0))
        return mean, max(spread, MIN_SPREAD), self._sorted[int(self.settings.gate_quantile * (n - 1))]

    @property
    def threshold(self) -> float:
        """The score level that the short-term (geometric) mean must exceed to start an alert now."""
        return self._level(*self._reference())

    @property
    def compared_threshold(self) -> float:
        """The level the last score was judged against (what an alert event reports)."""
        return self._level(*self._compared)

    def _level(self, mean: float, spread: float, gate: float) -> float:
        return math.exp(max(mean + self.fire_z * spread, gate)) - self.settings.floor

    def update(self, score: float, _threshold: float | None = None) -> Transition | None:
        """Take one score; returns the alert transition it causes, if any."""
        s = self.settings
        x = math.log(max(score, 0.0) + s.floor)
        if len(self._recent) == self._recent.maxlen:
            self._recent_sum -= self._recent[0]
        self._recent.append(x)
        self._recent_sum += x
        mean, spread, gate = self._compared = self._reference()
        level = self._recent_sum / len(self._recent)
        self.z = (level - mean) / spread
        transition = None
        fire = (self.z > self.fire_z and level > gate) or x > self._sorted[-1] + s.spike_margin
        if not self.active and fire:
            self._started()
            self.active, self._alerting_for, transition = True, 0, Transition.START
        elif self.active and self.z < s.clear_z:
            self.active, transition = False, Transition.CLEAR
        if self.active:
            self._alerting_for += 1
        # An anomaly must not become its own baseline; a change that lasts does become the new normal.
        if not self.active or self._alerting_for > s.max_alert:
            self._learn(x)
        else:
            self._episode.append(x)
        self._scores += 1
        return transition

    @property
    def fire_z(self) -> float:
        """The ``z`` an alert must exceed now: ``fire_z``, raised while the stream is over its budget."""
        s = self.settings
        return s.fire_z + min(s.budget_cap, s.budget_step * max(0, self._recent_starts() - s.budget_starts))

    def _recent_starts(self) -> int:
        """Alerts started within the last ``budget_window`` scores."""
        starts = self._starts
        while starts and self._scores - starts[0] >= self.settings.budget_window:
            starts.popleft()
        return len(starts)

    def _started(self) -> None:
        """An alert starts: if beyond the budget, or about a day after the last one did, that one was the
        stream's own."""
        s = self.settings
        over = False
        if s.budget_window:
            self._starts.append(self._scores)
            over = s.budget_learns and self._recent_starts() > s.budget_starts
        since = self._scores - self._last_start
        window = s.daily_tolerance * self._day  # 0: no day known, or the rule is off
        if over or (window > 0 and abs(since - self._day) <= window):
            for x in self._episode:
                self._learn(x)
        self._episode.clear()
        self._last_start = self._scores

    def reset(self) -> None:
        """Back to not alerting (the long-term reference is kept: it is the stream's, not the state's)."""
        self._recent.clear()
        self._recent_sum = 0.0
        self.active = False
        self._alerting_for = 0
        # After a gap the count of scores no longer tells the hour.
        self._last_start = self._scores - _LONG_AGO
        self._episode.clear()
