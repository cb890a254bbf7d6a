"""Peer detectors for the generalization benchmark, run through the same harness as our detector.

A peer is warmed on the first ``train_rows`` rows of a series (all normal), then streams the whole
series one sample at a time and gives every row a score (NaN while it has none: warm-up, or a row
with a NaN or infinite value, which is skipped: not scored, not learned). Scores are causal: a row's
score depends on that row, the rows before it and statistics of the training rows only.

Every peer decides with the same rule, the kind our detector uses by default: the threshold is the
largest finite training-row score times ``margin`` (1.0 by default); ``alerting = score > threshold``,
without debounce. Labels are never looked at. Timestamps are accepted and ignored by all three peers.

* ``windowed-gaussian``: the Numenta Anomaly Benchmark's baseline (Lavin and Ahmad, "Evaluating
  Real-time Anomaly Detection Algorithms - the Numenta Anomaly Benchmark", ICMLA 2015).
* ``half-space-trees``: river's ``anomaly.HalfSpaceTrees`` (Tan, Ting and Liu, "Fast Anomaly
  Detection for Streaming Data", IJCAI 2011).
* ``rolling-zscore``: a per-channel z-score against the last ``window`` samples.

Multivariate series: the Gaussian peers score every channel and keep the largest (an anomaly on one
channel of eight is not diluted eightfold, as a mean would dilute it; the threshold is calibrated on
the same maximum, so more channels do not mean more false alarms by construction).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np

# Fewer finite training scores than this and the maximum says little: the peer's fallback_threshold
# (a fixed value in its own score's units, roughly a 4-sigma event) is used instead, and
# PeerResult.fallback says so. With warm-ups capped at half the training rows (below), this only
# happens with fewer than about 20 training rows, or training rows that are mostly NaN.
MIN_CALIBRATION_SCORES = 10

# A channel constant over the training rows has no spread to scale by: this, relative to its level,
# stands in (so any later change of the channel is very surprising, but nothing divides by zero).
RELATIVE_TINY = 1e-9
# A tail probability is floored here (math.erfc underflows to 0 beyond about 38 sigma); the
# windowed Gaussian's score is therefore at most 300.
MIN_TAIL_PROBABILITY = 1e-300


@dataclass
class PeerResult:
    scores: np.ndarray  # float64 (rows,), NaN where the peer has no score
    alerting: np.ndarray  # bool (rows,), scores > threshold
    threshold: float
    seconds: float  # wall time of run()
    fallback: bool = False  # True: too few training scores, the threshold is the peer's fallback


class Peer(Protocol):
    name: str

    def run(self, values: np.ndarray, timestamps: np.ndarray | None, train_rows: int) -> PeerResult: ...


# ---------------------------------------------------------------------------------------------------
# Shared parts


def prepare(values: np.ndarray, train_rows: int) -> tuple[np.ndarray, np.ndarray]:
    """(values as float64 (rows, channels), valid rows: every value finite). 1-D means one channel."""
    x = np.asarray(values, dtype=np.float64)
    if x.ndim == 1:
        x = x[:, None]
    if x.ndim != 2 or x.shape[1] < 1:
        raise ValueError(f"values must be (rows, channels), got shape {np.shape(values)}")
    if not 1 <= train_rows <= len(x):
        raise ValueError(f"train_rows must be between 1 and the number of rows ({len(x)}), got {train_rows}")
    return x, np.asarray(np.isfinite(x).all(axis=1), dtype=bool)


def calibrate(scores: np.ndarray, train_rows: int, margin: float, fallback: float) -> tuple[float, bool]:
    """(threshold, fallback used): the largest finite training-row score times ``margin``."""
    train = scores[:train_rows]
    finite = train[np.isfinite(train)]
    if finite.size < MIN_CALIBRATION_SCORES:
        return float(fallback), True
    return float(finite.max()) * margin, False


def finish(scores: np.ndarray, train_rows: int, margin: float, fallback: float, started: float) -> PeerResult:
    threshold, used_fallback = calibrate(scores, train_rows, margin, fallback)
    alerting = np.zeros(len(scores), dtype=bool)
    finite = np.isfinite(scores)
    alerting[finite] = scores[finite] > threshold
    return PeerResult(scores, alerting, threshold, time.perf_counter() - started, used_fallback)


def warmup_rows(wanted: int, train_rows: int, least: int = 1) -> int:
    """A warm-up never takes more than half of the training rows, so that at least the other half
    is scored and can calibrate the threshold (short series have short training parts), nor fewer
    than ``least`` rows (a deviation needs two values)."""
    return max(least, min(wanted, train_rows // 2))


def trailing_sums(x: np.ndarray, window: int) -> tuple[np.ndarray, np.ndarray]:
    """(count, sum) over rows ``max(0, i - window) .. i - 1`` for every row i of ``x`` (rows, channels).

    The window excludes row i (causal). Each sum is made of at most two partial sums within blocks of
    ``window`` rows (a prefix of one block plus a suffix of the previous), never a difference of
    running totals: a huge value inflates only the windows that contain it, and nothing cancels.
    """
    rows, channels = x.shape
    count = np.minimum(np.arange(rows), window)
    sums = np.zeros((rows, channels))
    if rows < 2:
        return count, sums
    blocks = -(-rows // window)
    padded = np.zeros((blocks * window, channels))
    padded[:rows] = x
    shaped = padded.reshape(blocks, window, channels)
    prefix = np.cumsum(shaped, axis=1).reshape(-1, channels)  # x[block start .. j], inclusive
    suffix = np.cumsum(shaped[:, ::-1], axis=1)[:, ::-1].reshape(-1, channels)  # x[j .. block end]
    i = np.arange(1, rows)
    last = i - 1
    first = np.maximum(0, i - window)
    # When first and last share a block, first is that block's start (the window is either the whole
    # block or begins at row 0), so the prefix alone is the sum.
    split = (first // window) != (last // window)
    sums[1:] = prefix[last] + np.where(split[:, None], suffix[first], 0.0)
    return count, sums


def trailing_abs_z(
    x: np.ndarray, train: np.ndarray, window: int, min_periods: int, floor_fraction: float
) -> np.ndarray:
    """|z| of every row of ``x`` (valid rows only) against the mean and population standard deviation
    of the previous ``window`` rows; NaN until ``min_periods`` rows are behind. The deviation is
    floored at ``floor_fraction`` of the training rows' deviation, per channel (a flat stretch would
    otherwise make the smallest step infinitely surprising)."""
    channels = x.shape[1]
    if len(train):
        center = train.mean(axis=0)
        spread = train.std(axis=0)
    else:
        center = np.zeros(channels)
        spread = np.zeros(channels)
    floor = np.where(spread > 0, floor_fraction * spread, RELATIVE_TINY * np.maximum(1.0, np.abs(center)))
    with np.errstate(all="ignore"):
        d = x - center  # centred on the training mean: the sums of squares below keep their precision
        count, s1 = trailing_sums(d, window)
        _, s2 = trailing_sums(d * d, window)
        n = np.maximum(count, 1)[:, None]
        mean = s1 / n
        var = np.maximum(s2 / n - mean * mean, 0.0)
        z = np.asarray(np.abs(d - mean) / np.maximum(np.sqrt(var), floor), dtype=np.float64)
    z[count < min_periods] = np.nan
    return z


def spread_rows(part: np.ndarray, valid: np.ndarray) -> np.ndarray:
    """Scores of the valid rows placed back into a full-length array, NaN on the skipped rows."""
    out = np.full(len(valid), np.nan)
    out[valid] = part
    return out


_erfc = np.frompyfunc(math.erfc, 1, 1)


def tail_probability(z: np.ndarray | float) -> np.ndarray:
    """One-sided Gaussian tail probability P(Z > |z|) = erfc(|z| / sqrt 2) / 2, as NAB's baseline."""
    a = np.abs(np.asarray(z, dtype=np.float64))
    return np.asarray(0.5 * _erfc(a / math.sqrt(2.0)), dtype=np.float64)


def surprisal(z: np.ndarray | float) -> np.ndarray:
    """-log10 of the tail probability (floored at MIN_TAIL_PROBABILITY): the windowed Gaussian's score."""
    p = tail_probability(z)
    with np.errstate(invalid="ignore"):
        return np.asarray(
            -np.log10(np.where(np.isnan(p), np.nan, np.maximum(p, MIN_TAIL_PROBABILITY))), dtype=np.float64
        )


# ---------------------------------------------------------------------------------------------------
# Peers


def windowed_z(
    values: np.ndarray, train_rows: int, window: int, min_periods: int, std_floor: float
) -> tuple[np.ndarray, np.ndarray]:
    """Each usable row's |z| per channel against the trailing ``window`` usable rows, and which rows
    were usable: what the windowed Gaussian and the rolling z-score share."""
    x, valid = prepare(values, train_rows)
    ok = x[valid]
    train = ok[: int(valid[:train_rows].sum())]
    return trailing_abs_z(ok, train, window, warmup_rows(min_periods, train_rows, least=2), std_floor), valid


@dataclass(frozen=True)
class WindowedGaussian:
    """The Numenta Anomaly Benchmark's baseline detector (Lavin and Ahmad, ICMLA 2015): each new value
    is scored by its tail probability under a Gaussian fitted to a sliding window of recent values.

    As NAB's ``windowedGaussian``: population mean and standard deviation of the window, one-sided
    tail probability of |value - mean| (math.erfc), a window of 6400 values. NAB's score is
    ``1 - p``; this score is ``-log10 p``, the same order (so the same decisions at margin 1.0), but it
    does not round to 1.0 beyond 8.3 sigma and a margin above 1 still means something
    (``1 - 10 ** -score`` gives NAB's). Differences from NAB, all small: the window slides every step
    (NAB refits every 100 once full), scoring waits for ``min_periods`` values (NAB scored from the
    second, with a 1e-6 deviation floor) and the deviation is floored at ``std_floor`` of the training
    rows' (NAB: 1e-6 absolute). The window holds the past only. Channels: the largest score.

    A 6400 window is NAB's, and for series up to that length it is an expanding window over the
    whole history: the fit keeps improving and absorbs drift slowly. Tying it to the training length
    instead would make it a few dozen rows on short series, a different detector.
    """

    window: int = 6400
    min_periods: int = 30  # a deviation from fewer values is noisy (±13 % at 30) and inflates the max
    std_floor: float = 0.01  # fraction of the training rows' deviation, per channel
    margin: float = 1.0
    fallback_threshold: float = float(surprisal(4.0))  # ≈ 4.5: a 4-sigma value, p ≈ 3e-5
    name = "windowed-gaussian"

    def run(self, values: np.ndarray, timestamps: np.ndarray | None, train_rows: int) -> PeerResult:
        started = time.perf_counter()
        z, valid = windowed_z(values, train_rows, self.window, self.min_periods, self.std_floor)
        scores = spread_rows(max_over_channels(surprisal(z)), valid)
        return finish(scores, train_rows, self.margin, self.fallback_threshold, started)


@dataclass(frozen=True)
class RollingZScore:
    """Per-channel rolling z-score, a simple strong baseline: |value - mean| / std over the last
    ``window`` samples (the past only, population std), score = the largest |z| over channels.

    A short window (100) follows the level of a drifting series, which the windowed Gaussian's long
    window does not: the two bracket the choice of memory.
    """

    window: int = 100
    min_periods: int = 30
    std_floor: float = 0.01  # fraction of the training rows' deviation, per channel
    margin: float = 1.0
    fallback_threshold: float = 4.0
    name = "rolling-zscore"

    def run(self, values: np.ndarray, timestamps: np.ndarray | None, train_rows: int) -> PeerResult:
        started = time.perf_counter()
        z, valid = windowed_z(values, train_rows, self.window, self.min_periods, self.std_floor)
        scores = spread_rows(max_over_channels(z), valid)
        return finish(scores, train_rows, self.margin, self.fallback_threshold, started)


@dataclass(frozen=True)
class HalfSpaceTrees:
    """river's ``anomaly.HalfSpaceTrees`` (Tan, Ting and Liu, IJCAI 2011), streamed as river does:
    every row is scored (``score_one``) and then learned (``learn_one``), anomalies included.

    river's defaults: 10 trees of height 8, a window of 250 (capped at half the training rows on short
    series), seeded. Features are scaled to [0, 1] by the training rows' minimum and maximum (river's
    advice when the limits are known; its online ``MinMaxScaler`` would stretch its scale at the
    first outlier). The trees' work space is [-workspace_margin, 1 + workspace_margin] per feature
    (river's ``limits``): the paper builds each tree on a work space about three times the data's
    range (each dimension's range extended by 2·max(s, 1-s) about a random s; on average one data
    range on either side), while river's default [0, 1] puts the outermost cells right at the edges
    of the normal data, so a value far outside them scores no higher than the most extreme normal
    values and, under a max-of-training threshold, is rarely alerted. ``workspace_margin=0`` is
    river's default behaviour.

    river scores 0 during the first window (no reference mass yet); those rows are NaN here. Scores
    lie in [0, 1), higher is more anomalous, and are coarse: scoring stops at nodes holding fewer than
    a tenth of the window, so many rows tie.
    """

    n_trees: int = 10
    height: int = 8
    window_size: int = 250
    workspace_margin: float = 1.0
    seed: int = 42
    margin: float = 1.0
    fallback_threshold: float = 0.99
    name = "half-space-trees"

    def run(self, values: np.ndarray, timestamps: np.ndarray | None, train_rows: int) -> PeerResult:
        river_hst = river_half_space_trees()  # importing river is not timed: it happens once
        started = time.perf_counter()
        x, valid = prepare(values, train_rows)
        train = x[:train_rows][valid[:train_rows]]
        channels = x.shape[1]
        low = train.min(axis=0) if len(train) else np.zeros(channels)
        span = train.max(axis=0) - low if len(train) else np.zeros(channels)
        span = np.where(span > 0, span, RELATIVE_TINY * np.maximum(1.0, np.abs(low)))
        with np.errstate(all="ignore"):
            scaled = (x - low) / span
        window = warmup_rows(self.window_size, train_rows)
        limits = {c: (-self.workspace_margin, 1.0 + self.workspace_margin) for c in range(channels)}
        model = river_hst(n_trees=self.n_trees, height=self.height, window_size=window, limits=limits, seed=self.seed)
        scores = np.full(len(x), np.nan)
        for learned, i in enumerate(np.flatnonzero(valid)):
            features = dict(enumerate(scaled[i].tolist()))
            if learned >= window:  # river's first window has no reference mass (it returns 0)
                scores[i] = model.score_one(features)
            model.learn_one(features)
        return finish(scores, train_rows, self.margin, self.fallback_threshold, started)


def river_half_space_trees() -> Any:
    try:
        from river.anomaly import HalfSpaceTrees as RiverHalfSpaceTrees
    except ImportError as error:  # pragma: no cover - depends on the environment
        raise ImportError("the half-space-trees peer needs river: pip install 'river==0.26.1'") from error
    return RiverHalfSpaceTrees


def max_over_channels(per_channel: np.ndarray) -> np.ndarray:
    """Largest score over channels, NaN only where every channel is NaN (whole rows are, here)."""
    if per_channel.shape[0] == 0:
        return np.zeros(0)
    with np.errstate(invalid="ignore"):
        out = per_channel.max(axis=1)  # NaN rows stay NaN (warm-up rows are NaN on every channel)
    return np.asarray(out, dtype=np.float64)


PEERS: dict[str, Callable[[], Peer]] = {
    WindowedGaussian.name: WindowedGaussian,
    HalfSpaceTrees.name: HalfSpaceTrees,
    RollingZScore.name: RollingZScore,
}


def run_peer(name: str, values: np.ndarray, timestamps: np.ndarray | None, train_rows: int) -> PeerResult:
    """Run the named peer with its default parameters."""
    if name not in PEERS:
        raise ValueError(f"unknown peer {name!r}; known: {', '.join(PEERS)}")
    return PEERS[name]().run(values, timestamps, train_rows)
