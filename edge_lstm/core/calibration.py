"""A threshold from held-out normal scores, by one of three methods, each with one knob.

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

from typing import Any

import numpy as np
import numpy.typing as npt

from edge_lstm.core.spot import SPOT
from edge_lstm.core.thresholds import quantile_threshold

METHODS = {"quantile": "quantile", "max": "multiplier", "spot": "q"}  # method -> its knob


def calibrate(scores: npt.ArrayLike, method: str, knob: float) -> dict[str, Any]:
    """The manifest's threshold section: method, knob, value (and SPOT's state for ``spot``)."""
    if method not in METHODS:
        raise ValueError(f"threshold method must be one of {', '.join(METHODS)}, got {method!r}")
    values = np.asarray(scores, dtype=np.float64)
    values = values[np.isfinite(values)]
    if values.size == 0:
        raise ValueError("cannot calibrate a threshold from zero finite scores")
    section: dict[str, Any] = {"method": method, METHODS[method]: knob, "calibration_samples": int(values.size)}
    if method == "spot":
        spot = SPOT(q=knob)
        section["value"] = spot.initialize(values)
        section["spot"] = spot.state()
    elif method == "max":
        if not knob > 0:
            raise ValueError(f"multiplier must be positive, got {knob}")
        section["value"] = knob * float(values.max())
    else:
        section["value"] = quantile_threshold(values, knob)
    return section
