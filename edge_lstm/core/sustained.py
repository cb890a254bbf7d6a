"""A score that stays raised: the score's recent level against the stream's own longer-run level.

A fixed threshold is set by the rare high scores of normal running: on a start/stop machine, the few
samples after each start score hundreds of times a steady sample, and the threshold sits above them.
A fault that lifts every score a little for a while (a sensor going noisy, a slow drift, a small
offset) never reaches that threshold, although normal running never held its scores that high for
that long. So beside the score, each stream watches two exponentially weighted moving averages of
``log(score / median)`` (a fault multiplies a reconstruction error; the log keeps one huge score from
standing for a long raised stretch): a fast one over ``FAST`` samples, the recent level, and a slow
one over ``SLOW`` samples, the stream's own longer-run level. Their difference is an EWMA control
chart (Roberts, "Control chart tests based on geometric moving averages", Technometrics 1959) whose
centre line follows the stream, as the anomaly likelihood of Ahmad et al. (Neurocomputing 2017)
compares a short window of scores with a long one: a machine whose normal score level wanders over
days (a season, a load) moves the slow average with it. A fixed centre line was measured and dropped:
on a second draw of the long duty-cycle recordings such wander held it in alert for long stretches.

Training runs both averages over the held-out normal scores in their order and stores the largest
difference, plus ``MARGIN`` (four times that level: held-out data is shorter than a deployment), as
the bound; the median of those scores is the unit. On the device, while a stream's difference lies
above the bound a sample counts as over the threshold for the debounce, and the alert clears like any
other, once the difference has fallen back (below ``clear_ratio`` of the bound, in score terms). It
comes with a fixed threshold only (the adaptive rule and SPOT follow each stream's scores already) and
needs ``MIN_SCORES`` held-out scores, one slow span.

>>> level = SustainedLevel({"fast": 4, "slow": 100, "median": 1.0, "bound": 0.7})  # scores of 3 stay under 10
>>> [bool(level.lift(slice(0, 1), np.array([s]), 10.0)[0] > 10.0) for s in (1.0, 3.0, 3.0, 3.0, 3.0, 3.0, 3.0)]
[False, False, False, False, True, True, True]
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import numpy.typing as npt

from edge_lstm.core.rows import RowArrays, Rows
from edge_lstm.errors import SettingsError

FAST = 32  # samples: the recent level's time constant (1 / its weight)
SLOW = 1024  # samples: the stream's own longer-run level
MARGIN = math.log(4.0)  # the bound is four times the largest difference the held-out scores reached
MIN_SCORES = SLOW  # held-out scores needed; fewer cannot show how the level moves in normal running
FLOOR = 1e-3  # of the median: a perfect score counts as this, so the log stays finite
CEILING = 1e12  # of the median: an absurd score counts as this, so one sample cannot swamp the averages


def calibrate_level(
    scores: npt.ArrayLike, fast: int = FAST, slow: int = SLOW, margin: float = MARGIN
) -> dict[str, Any] | None:
    """The ``sustained`` setting from held-out normal scores in their order, or None when there are
    fewer than one slow span of them (``MIN_SCORES`` with the defaults). The averages run through the
    device's own recurrence, from the same start, so training and the device agree."""
    x = np.asarray(scores, dtype=np.float64)
    x = x[np.isfinite(x)]
    if len(x) < slow:
        return None
    setting = {"fast": fast, "slow": slow, "median": max(float(np.median(x)), 1e-12), "bound": 0.0}
    level = SustainedLevel(setting)
    differences = [level.step_one(0, v) for v in x.tolist()]
    return {**setting, "bound": max(differences[fast:]) + margin}


def check_sustained(setting: Any) -> None:
    """``SettingsError`` unless ``setting`` is a valid ``sustained`` setting."""
    if not isinstance(setting, dict):
        raise SettingsError(f"sustained must be an object with fast, slow, median and bound, got {setting!r}")
    fast, slow, median, bound = (setting.get(k) for k in ("fast", "slow", "median", "bound"))
    if not isinstance(fast, int) or not isinstance(slow, int) or not 1 <= fast < slow:
        raise SettingsError(f"sustained.fast and .slow must be spans with fast < slow, got {fast!r} and {slow!r}")
    if not isinstance(median, int | float) or not math.isfinite(median) or median <= 0:
        raise SettingsError(f"sustained.median must be a positive score, got {median!r}")
    if not isinstance(bound, int | float) or not math.isfinite(bound):
        raise SettingsError(f"sustained.bound must be a number (log units), got {bound!r}")


class SustainedLevel(RowArrays):
    """Every stream's recent and longer-run score levels, one row per stream; ``lift`` takes the scores
    of a wave."""

    def __init__(self, setting: dict[str, Any], capacity: int = 1) -> None:
        check_sustained(setting)
        self._fast, self._slow = 1.0 / setting["fast"], 1.0 / setting["slow"]
        self.weights = np.array([self._fast, self._slow])
        self.median, self.bound = float(setting["median"]), float(setting["bound"])
        self.levels: npt.NDArray[np.float64]  # per row: the fast and the slow average
        self._allocate(capacity, {"levels": ((2,), np.float64)})

    def lift(
        self, rows: Rows, scores: npt.NDArray[np.float64], threshold: float | npt.NDArray[np.float64]
    ) -> npt.NDArray[np.float64]:
        """Take one score per row of ``rows``; each score, or more where the stream's recent level lies
        above its longer-run level by more than the bound: the threshold scaled by how far above (so the
        debounce's fire and clear rules see the difference as they see a score)."""
        if isinstance(rows, slice) and len(scores) == 1:  # one stream: on Python floats, a sixth of the cost
            one = threshold if isinstance(threshold, float) else float(threshold[0])
            return self._lift_one(rows.start, scores, one)
        levels = self.levels[rows]
        levels += self.weights * (np.log(np.clip(scores / self.median, FLOOR, CEILING))[:, None] - levels)
        self.levels[rows] = levels
        return np.maximum(scores, threshold * np.exp(levels[:, 0] - levels[:, 1] - self.bound))

    def _lift_one(self, row: int, scores: npt.NDArray[np.float64], threshold: float) -> npt.NDArray[np.float64]:
        score = float(scores[0])
        lifted = threshold * math.exp(self.step_one(row, score) - self.bound)
        return scores if score >= lifted else np.array([lifted])

    def step_one(self, row: int, score: float) -> float:
        """Take one score for ``row`` (on Python floats); how far its recent level now lies above its
        longer-run level, in log units."""
        x = math.log(min(max(score / self.median, FLOOR), CEILING))
        fast, slow = self.levels[row].tolist()
        fast += self._fast * (x - fast)
        slow += self._slow * (x - slow)
        self.levels[row] = fast, slow
        return float(fast - slow)
