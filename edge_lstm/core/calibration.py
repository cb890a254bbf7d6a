"""A threshold from held-out normal scores, by one of four methods, each with one knob.

* ``adaptive`` (knob: ``z``, how many spreads above the stream's own recent scores): judges each
  stream against its own score history and keeps adapting on the device (``core/adaptive.py``,
  after Ahmad et al. 2017's anomaly likelihood); the default.
* ``quantile`` (knob: the quantile): the classic; needs many scores to reach far into the tail.
* ``max`` (knob: a multiplier of the largest score): for short calibration sets, where a high
  quantile is just the maximum and the margin above it is the real choice.
* ``spot`` (knob: the target false-alarm probability per sample): an extreme-value fit of the tail
  that keeps adapting on the stream (Siffer et al. 2017, "Anomaly Detection in Streams with Extreme
  Value Theory"); needs at least 100 scores.

Training stores the scores it calibrated on in the bundle, so a deployment can choose another
method or knob in its config without retraining.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from edge_lstm.core.adaptive import GATE_QUANTILE, AdaptiveSettings, AdaptiveThreshold
from edge_lstm.core.spot import SPOT
from edge_lstm.core.thresholds import quantile_threshold
from edge_lstm.errors import DataError, SettingsError

MIN_THRESHOLD = 1e-3  # in score units (squared scaled error): far below any fault worth an alert
# method -> the name of its knob. ``adaptive`` keeps adapting on each stream (core/adaptive.py).
METHODS = {"adaptive": "z", "quantile": "quantile", "max": "multiplier", "spot": "q"}
CONFIG_KNOB = {"spot": "spot_q", "adaptive": "adaptive_z"}  # where a config key names the knob differently


@dataclass(frozen=True)
class ThresholdRule:
    """A threshold method with its one knob; the single place that knows which knob goes with which method.

    >>> rule = ThresholdRule.parse("max:1.8")
    >>> rule, rule.label, rule.knob_name
    (ThresholdRule(method='max', knob=1.8), '1.8 x max', 'multiplier')
    >>> ThresholdRule.from_config_key("threshold_spot_q", 0.001).label
    'SPOT q=0.001'
    """

    method: str  # quantile | max | spot
    knob: float  # the quantile, the multiplier, or SPOT's q

    def __post_init__(self) -> None:
        if self.method not in METHODS:
            raise SettingsError(f"threshold method must be one of {', '.join(METHODS)}, got {self.method!r}")
        if not self.knob > 0:
            raise SettingsError(f"{self.knob_name} must be positive, got {self.knob}")
        if self.method in ("quantile", "spot") and not self.knob < 1:
            raise SettingsError(f"{self.knob_name} must be between 0 and 1 (exclusive), got {self.knob}")

    @property
    def knob_name(self) -> str:
        """``quantile``, ``multiplier`` or ``q``: the knob's name in a bundle's manifest."""
        return METHODS[self.method]

    @property
    def config_key(self) -> str:
        """The daemon config key that sets this rule for a stream (e.g. ``threshold_multiplier``)."""
        return f"threshold_{CONFIG_KNOB.get(self.method, self.knob_name)}"

    @property
    def label(self) -> str:
        """A short human name: ``quantile 0.999``, ``1.8 x max``, ``SPOT q=0.001``."""
        labels = {
            "max": f"{self.knob:g} x max",
            "quantile": f"quantile {self.knob:g}",
            "spot": f"SPOT q={self.knob:g}",
            "adaptive": f"adaptive z={self.knob:g}",
        }
        return labels[self.method]

    @classmethod
    def parse(cls, text: str) -> ThresholdRule:
        """``METHOD:KNOB``, as on the command line (``quantile:0.999``, ``max:1.8``, ``spot:0.001``)."""
        method, _, knob = text.partition(":")
        try:
            value = float(knob)
        except ValueError:
            value = float("nan")
        if method not in METHODS or value != value:
            raise SettingsError(
                f"threshold rule {text!r}: expected METHOD:KNOB with METHOD one of {', '.join(METHODS)}, e.g. max:1.8"
            )
        return cls(method, value)

    @classmethod
    def from_section(cls, section: dict[str, Any]) -> ThresholdRule:
        """The rule a manifest's threshold section was calibrated with."""
        return cls(str(section["method"]), float(section[METHODS[str(section["method"])]]))

    @staticmethod
    def config_keys() -> dict[str, str]:
        """Daemon config key -> method, for every method."""
        return {f"threshold_{CONFIG_KNOB.get(m, k)}": m for m, k in METHODS.items()}

    @classmethod
    def from_config_key(cls, key: str, knob: float) -> ThresholdRule:
        """The rule a daemon config key (``threshold_quantile``, ...) sets."""
        return cls(cls.config_keys()[key], knob)


def calibrate(scores: npt.ArrayLike, rule: ThresholdRule, gate_quantile: float = GATE_QUANTILE) -> dict[str, Any]:
    """The manifest's threshold section from held-out normal scores: method, knob, value (and SPOT's state).
    ``gate_quantile``: the adaptive rule's gate (``adaptive.gate_for``: higher where the bundle reads counts)."""
    values = np.asarray(scores, dtype=np.float64)
    values = values[np.isfinite(values)]
    if values.size < 2:  # the adaptive rule's spread needs two; one number is no distribution for any rule
        raise DataError(
            f"cannot calibrate a threshold from {values.size} held-out score{'' if values.size == 1 else 's'} (2 at "
            "least); train on more normal data (a few hundred rows), with no long gaps near its end"
        )
    section: dict[str, Any] = {
        "method": rule.method,
        rule.knob_name: rule.knob,
        "calibration_samples": int(values.size),
    }
    if rule.method == "adaptive":
        settings = AdaptiveSettings(fire_z=rule.knob, gate_quantile=gate_quantile)
        section["value"] = AdaptiveThreshold(settings, values).threshold  # where each stream starts
        section["adaptive"] = settings.to_dict()
    elif rule.method == "spot":
        spot = SPOT(q=rule.knob)
        section["value"] = spot.initialize(values)
        section["spot"] = spot.state()
    elif rule.method == "max":
        section["value"] = rule.knob * float(values.max())
    else:
        section["value"] = quantile_threshold(values, rule.knob)
    # A channel that never moved scores exactly 0; a threshold must still be a positive level.
    section["value"] = max(float(section["value"]), MIN_THRESHOLD)
    return section
