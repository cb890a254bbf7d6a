"""Count channels read through a square root; the same rule for training and serving.

A count (requests per minute, logins per hour, packets) is noisier when it is high: a Poisson count's
spread grows as the square root of its mean, and bursty counts spread more. A model trained on raw
counts fits the quiet hours to a fraction of a count and misses the busy ones by many, so its error is
heavy-tailed and every busy hour looks like an anomaly. Anscombe's transform, 2 sqrt(x + 3/8) (F. J.
Anscombe, "The transformation of Poisson, binomial and negative-binomial data", Biometrika 1948), makes
the spread nearly the same at every level; here it is shifted so that 0 stays 0 and mirrored below
0, so that a reading a count cannot take (a negative one) still stands out instead of being folded back.

Training decides which channels are counts (``is_count``: non-negative integers, many distinct values,
skewed to the right, and not a switch between two states) and applies ``root`` to them before anything
else: the model, and the stuck and leap watches too, since a count's steps grow with its level as its
noise does. The detector applies the same to every sample.

>>> root(np.array([[0.0, 4.0], [9.0, -1.0]]), np.array([True, False])).round(3).tolist()
[[0.0, 4.0], [4.899, -1.0]]
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from edge_lstm.core.transitions import two_states

FloatArray = npt.NDArray[np.float64]

_ZERO = 2.0 * np.sqrt(3.0 / 8.0)  # the transform at 0
MIN_DISTINCT = 8  # fewer distinct values: a state or a level switch, not a count
MIN_SKEW = 0.5  # a count's busy hours make a long right tail; a symmetric integer reading is not one


def root(values: FloatArray, channels: npt.NDArray[np.bool_]) -> FloatArray:
    """``values`` (rows, channels) with Anscombe's transform on ``channels``, 0 kept at 0, odd below 0."""
    x = values[..., channels]
    out = np.array(values, dtype=np.float64)
    out[..., channels] = np.sign(x) * (2.0 * np.sqrt(np.abs(x) + 3.0 / 8.0) - _ZERO)
    return out


def is_count(column: npt.ArrayLike) -> bool:
    """Whether a training column reads as a count: finite values that are all non-negative integers,
    at least ``MIN_DISTINCT`` of them distinct, with a right tail (skewness at least ``MIN_SKEW``), and
    not two states once read through the root. A machine's power in whole watts, 0 when off, passes the
    rest; through the root its running level draws together and the two states stand apart. It is a
    switch (``core/transitions.py`` watches those), and its running level is better modelled as read."""
    v = np.asarray(column, dtype=np.float64)
    v = v[np.isfinite(v)]
    if v.size < 2 or v.min() < 0 or not np.array_equal(v, np.round(v)):
        return False
    spread = v.std()
    if np.unique(v).size < MIN_DISTINCT or ((v - v.mean()) ** 3).mean() / spread**3 < MIN_SKEW:
        return False
    return not two_states(root(v[:, None], np.array([True])))
