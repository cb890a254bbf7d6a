"""What a stream's detector needs from its bundle and config, validated on construction."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import numpy as np
import numpy.typing as npt

from edge_lstm.core.cadence import check_cadence
from edge_lstm.core.scaling import StandardScaler
from edge_lstm.core.scoring import Scorer
from edge_lstm.core.seasonal import check_seasonal
from edge_lstm.core.sustained import check_sustained
from edge_lstm.core.thresholds import DebounceSettings
from edge_lstm.errors import SettingsError

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
    # The mean interval of the training readings, gaps left out (absent from older bundles): on jittered
    # timestamps a day holds fewer readings than the median period says (``adaptive.samples_per_day``).
    mean_period_s: float | None = None
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
    counts: tuple[str, ...] = ()  # channels read through a square root first (core/counts.py)
    # Channels outside the model whose readings are still watched (stuck, leaps): training left them
    # out as drifting. A sample carries them after ``features``; they may be missing (NaN).
    watched: tuple[str, ...] = ()
    # Stuck readings (core/stuck.py): per channel of ``channels``, the run of identical readings that
    # means stuck ("after", 0 = never) and the training floor and ceiling ("low", "high"), where
    # readings rest.
    stuck: dict[str, list[Any]] | None = None
    # Leaps (core/jumps.py): per channel of ``channels``, the step between consecutive readings that
    # is a leap (0 = never).
    jump: list[float] | None = None
    # Normal switches between two states (core/transitions.py): the two-state channels (names), the
    # standardized levels a reading passes to switch ("low", "high"), the samples after a switch in
    # which an alert may be a normal transient ("zone"), and the largest score one had ("bound"); and
    # per channel the runs (off, on) shorter than which a run is short cycling ("shortest", 0 = not
    # watched; core/cycling.py; absent from older bundles); with a fixed threshold, the threshold of
    # settled running from ``after`` samples past a switch on ("settled": {"after", "threshold"}).
    transitions: dict[str, Any] | None = None
    # The score's recent level against its longer-run level (core/sustained.py), with a fixed threshold:
    # the two averages' spans ("fast", "slow"), the held-out median they are measured in, and the bound
    # on their difference above which a stream is over the threshold.
    sustained: dict[str, Any] | None = None
    # The same time a week or a day ago (core/seasonal.py): the lag ("lag_s"), the ring's slots ("bins"),
    # the smoothing span, the samples in a row that mark ("after") and per model feature the bound on
    # the smoothed reading's difference from a lag earlier, in training spreads (0: not judged).
    seasonal: dict[str, Any] | None = None
    # A fast cycle's cadence (core/cadence.py): the cycles in a cadence, the standardized band a
    # reading crosses, and per model feature the centre's span and the range of a cadence in samples
    # (a span of 0: not watched).
    cadence: dict[str, Any] | None = None
    scorer: Scorer = field(default_factory=Scorer)

    def __post_init__(self) -> None:
        if self.smooth < 1:
            raise SettingsError(f"smooth must be at least 1 sample, got {self.smooth}")
        for name in ("sample_period_s", "mean_period_s"):
            period = getattr(self, name)
            if period is not None and not (np.isfinite(period) and period > 0):
                raise SettingsError(f"{name} must be a positive number of seconds, got {period}")
        if self.baseline < 0 or self.baseline == 1:
            raise SettingsError(f"baseline must be 0 (off) or at least 2 samples, got {self.baseline}")
        if self.warmup < self.window:
            raise SettingsError(f"warmup ({self.warmup}) must be at least the window ({self.window})")
        if self.threshold <= 0 or not np.isfinite(self.threshold):
            raise SettingsError(f"threshold must be a positive number, got {self.threshold}")
        n = len(self.channels)
        if set(self.watched) & set(self.features) or len(set(self.watched)) != len(self.watched):
            raise SettingsError(f"watched channels {list(self.watched)} must be distinct and not model features")
        if self.stuck is not None:
            after = self.stuck.get("after")
            if not isinstance(after, list) or len(after) != n or min(after, default=0) < 0:
                raise SettingsError(f"stuck limits must be {n} counts of 0 or more, got {after}")
        if self.jump is not None and (len(self.jump) != n or min(self.jump, default=0) < 0):
            raise SettingsError(f"jump limits must be {n} steps of 0 or more, got {self.jump}")
        if self.transitions is not None:
            check_transitions(self.transitions, self.features)
        if self.sustained is not None:
            check_sustained(self.sustained)
        if self.seasonal is not None:
            check_seasonal(self.seasonal, len(self.features))
        if self.cadence is not None:
            check_cadence(self.cadence, len(self.features))
        if self.level is not None and not set(self.level[0]) <= set(self.features):
            raise SettingsError(f"tracked channels {self.level[0]} are not all among {self.features}")
        if not set(self.counts) <= set(self.features):
            raise SettingsError(f"count channels {list(self.counts)} are not all among {self.features}")

    @cached_property
    def channels(self) -> list[str]:
        """What a sample carries, in order: the model's features, then the watched channels."""
        return [*self.features, *self.watched]


def _count(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool) and v >= 0


def check_transitions(t: dict[str, Any], features: list[str]) -> None:
    """``SettingsError`` unless ``t`` is a valid ``transitions`` setting for ``features``."""
    channels = t.get("channels")
    if not isinstance(channels, list) or not channels or not set(channels) <= set(features):
        raise SettingsError(f"transitions.channels must name features, got {channels!r}")
    for key in ("low", "high"):
        levels = t.get(key)
        if not isinstance(levels, list) or len(levels) != len(channels) or not all(np.isfinite(levels)):
            raise SettingsError(f"transitions.{key} must be {len(channels)} numbers, got {levels!r}")
    if not all(lo < hi for lo, hi in zip(t["low"], t["high"], strict=True)):
        raise SettingsError(f"transitions.low must lie below transitions.high, got {t['low']} and {t['high']}")
    zone, bound = t.get("zone"), t.get("bound")
    if not isinstance(zone, int) or zone < 1:
        raise SettingsError(f"transitions.zone must be a positive number of samples, got {zone!r}")
    if not isinstance(bound, int | float) or not np.isfinite(bound) or bound < 0:
        raise SettingsError(f"transitions.bound must be a score of 0 or more, got {bound!r}")
    settled = t.get("settled")
    if settled is not None:
        if not isinstance(settled, dict):
            raise SettingsError(f"transitions.settled must hold 'after' and 'threshold', got {settled!r}")
        after, level = settled.get("after"), settled.get("threshold")
        if not isinstance(after, int) or isinstance(after, bool) or after < zone:
            raise SettingsError(
                f"transitions.settled.after must be a number of samples of at least the zone ({zone}), got {after!r}"
            )
        if not isinstance(level, int | float) or not np.isfinite(level) or level <= 0:
            raise SettingsError(f"transitions.settled.threshold must be a positive score, got {level!r}")
    shortest = t.get("shortest")
    if shortest is not None and (
        not isinstance(shortest, list)
        or len(shortest) != len(channels)
        or not all(isinstance(p, list) and len(p) == 2 and all(_count(v) for v in p) for p in shortest)
    ):
        raise SettingsError(
            f"transitions.shortest must be {len(channels)} pairs of run lengths of 0 or more, got {shortest!r}"
        )
