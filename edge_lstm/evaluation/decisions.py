"""Decisions from a recorded score stream, for ablations: the same threshold and debounce objects the
detector uses, applied after the fact so that one model run can be judged under several rules.

A fixed threshold and the debounce are pure functions of the score sequence, so this reproduces the
detector exactly; SPOT adapts on the scores and on the alert state, which is replayed here as well.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from edge_lstm.core.adaptive import AdaptiveSettings, AdaptiveThreshold
from edge_lstm.core.calibration import ThresholdRule, calibrate
from edge_lstm.core.spot import SPOT
from edge_lstm.core.thresholds import NO_DEBOUNCE, Debounce, DebounceSettings

__all__ = ["NO_DEBOUNCE", "Rule", "decide"]


@dataclass(frozen=True)
class Rule:
    """A threshold rule and a debounce: everything that turns scores into decisions."""

    threshold: ThresholdRule
    debounce: DebounceSettings = NO_DEBOUNCE

    @property
    def label(self) -> str:
        """``1.8 x max; debounce none`` and the like."""
        d = self.debounce
        bounce = "none" if d == NO_DEBOUNCE else f"{d.fire_n}-of-{d.fire_m}, clear {d.clear_n} below {d.clear_ratio:g}"
        if d != NO_DEBOUNCE and d.clear_backoff > 1:
            bounce += f" (up to {d.clear_n * d.clear_backoff} when flapping)"
        return f"{self.threshold.label}; debounce {bounce}"


def decide(scores: npt.NDArray[np.float64], calibration: npt.NDArray[np.float64], rule: Rule) -> npt.NDArray[np.bool_]:
    """The alerting flag per sample. NaN scores (warm-up, skipped samples) leave the alert state as
    it is, as in the detector."""
    section = calibrate(calibration, rule.threshold)
    threshold = float(section["value"])
    spot = SPOT.from_state(section["spot"]) if "spot" in section else None
    debounce: Debounce | AdaptiveThreshold = Debounce(rule.debounce)
    if "adaptive" in section:  # it has its own hysteresis in place of the debounce
        debounce = AdaptiveThreshold(AdaptiveSettings.from_dict(section["adaptive"]), calibration)
    alerting = np.zeros(len(scores), dtype=bool)
    for i, score in enumerate(scores):
        if np.isfinite(score):
            limit = spot.threshold if spot is not None else threshold
            debounce.update(float(score), limit)
            if spot is not None:
                spot.observe(float(score), anomalous=debounce.active)
        alerting[i] = debounce.active
    return alerting
