"""Extreme-value thresholds: POT (batch) and SPOT (streaming), after Siffer, Fouque, Termier and
Largouet, "Anomaly Detection in Streams with Extreme Value Theory", KDD 2017.

The excesses of a score over a high initial level ``t`` follow a generalized Pareto distribution
(GPD). Fitting it gives the level ``z_q`` that a normal score exceeds with probability ``q``: one
knob, a false-alarm probability, instead of a raw threshold. The GPD is fitted by maximum likelihood
with Grimshaw's reduction to a one-dimensional root search. SPOT keeps adapting on the stream: a
score above ``t`` but below ``z_q`` is a new normal excess and refits the tail; a score above ``z_q``
is an anomaly and is kept out of the fit.

Bounded cost on an unbounded stream: the paper's SPOT refits on every peak seen since the start, so the
cost of an update grows with uptime. Here the GPD is fitted on the most recent ``max_peaks`` peaks
only, while the exceedance rate ``N_t / n`` in the paper's threshold formula still counts every peak
and every sample (two integers). That is how the authors' own library (libspot, ``max_excess``) bounds
it, and a sliding window of peaks also lets the tail follow slow change, the concern of the paper's
drift variant DSPOT. Each update costs O(``max_peaks``) whatever the uptime.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

from edge_lstm.errors import DataError, SettingsError


@dataclass(frozen=True)
class GPD:
    """A generalized Pareto distribution fitted to the excesses over SPOT's level."""

    shape: float  # gamma
    scale: float  # sigma


def _log_likelihood(excesses: npt.NDArray[np.float64], gpd: GPD) -> float:
    n = excesses.size
    if gpd.scale <= 0:
        return -math.inf
    if abs(gpd.shape) < 1e-12:
        return float(-n * math.log(gpd.scale) - excesses.sum() / gpd.scale)
    terms = 1.0 + gpd.shape / gpd.scale * excesses
    if (terms <= 0).any():
        return -math.inf
    return float(-n * math.log(gpd.scale) - (1.0 + 1.0 / gpd.shape) * np.log(terms).sum())


def _roots(f: Callable[[float], float], low: float, high: float, points: int = 64) -> list[float]:
    """Sign changes of ``f`` on a grid over [low, high], refined by bisection."""
    grid = np.linspace(low, high, points)
    values = np.array([f(float(x)) for x in grid])
    roots = []
    for i in np.flatnonzero(np.sign(values[:-1]) * np.sign(values[1:]) < 0):
        a, b, fa = grid[i], grid[i + 1], values[i]
        for _ in range(60):
            mid = 0.5 * (a + b)
            fm = f(float(mid))
            if np.sign(fm) == np.sign(fa):
                a, fa = mid, fm
            else:
                b = mid
        roots.append(float(0.5 * (a + b)))
    return roots


def fit_gpd(excesses: npt.ArrayLike) -> GPD:
    """Maximum-likelihood GPD of positive excesses (Grimshaw's method, as in Siffer et al.)."""
    y = np.asarray(excesses, dtype=np.float64)
    if y.size < 2 or not (y > 0).all():
        raise DataError("need at least two positive excesses to fit a GPD")
    y_min, y_max, y_mean = float(y.min()), float(y.max()), float(y.mean())

    def w(x: float) -> float:
        s = 1.0 + x * y
        return float(np.mean(1.0 / s) * (1.0 + np.mean(np.log(s))) - 1.0)

    epsilon = 1e-8 / y_mean
    candidates = [
        *_roots(w, -1.0 / y_max + epsilon, -epsilon),
        *_roots(w, epsilon, 2.0 * (y_mean - y_min) / (y_mean * y_min) if y_min > 0 else 2.0 / y_mean),
    ]
    fits = [GPD(0.0, y_mean)]  # the exponential tail, gamma = 0
    for x in candidates:
        shape = float(np.mean(np.log(1.0 + x * y)))
        fits.append(GPD(shape, shape / x))
    return max(fits, key=lambda g: _log_likelihood(y, g))


def pot_threshold(gpd: GPD, level: float, q: float, n: int, n_excesses: int) -> float:
    """The score exceeded with probability ``q``, from ``n_excesses`` excesses over ``level`` among ``n``."""
    ratio = q * n / n_excesses
    if abs(gpd.shape) < 1e-12:
        return level - gpd.scale * math.log(ratio)
    return float(level + gpd.scale / gpd.shape * (ratio ** (-gpd.shape) - 1.0))


MAX_PEAKS = 1_000  # peaks the tail is fitted on: plenty for two GPD parameters, and a bounded cost


@dataclass
class SPOT:
    """Streaming POT: ``initialize`` on normal scores, then ``update`` per score (True = anomaly)."""

    q: float = 1e-3  # target false-alarm probability per sample
    level_quantile: float = 0.98  # the initial level t, as a quantile of the initial scores
    level: float = 0.0
    threshold: float = math.inf
    n: int = 0  # samples seen (anomalies excluded)
    excesses: list[float] = field(default_factory=list)  # the most recent peaks, at most max_peaks
    gpd: GPD | None = None
    n_excesses: int = 0  # every peak seen, also those no longer kept: the N_t of the exceedance rate
    max_peaks: int = MAX_PEAKS

    def __post_init__(self) -> None:
        if not 0 < self.q < 1 - self.level_quantile:
            raise SettingsError(f"q must be in (0, {1 - self.level_quantile:g}), got {self.q}")
        if self.max_peaks < 2:
            raise SettingsError(f"max_peaks must be at least 2, got {self.max_peaks}")
        # A state from before the window kept every peak it counted.
        self.n_excesses = max(self.n_excesses, len(self.excesses))
        self._keep_recent()

    def _keep_recent(self) -> None:
        if len(self.excesses) > self.max_peaks:
            del self.excesses[: len(self.excesses) - self.max_peaks]

    def initialize(self, scores: npt.ArrayLike) -> float:
        """Fit the level and the tail on calibration scores (at least 100); returns the first threshold."""
        values = np.asarray(scores, dtype=np.float64)
        values = values[np.isfinite(values)]
        if values.size < 100:
            raise DataError(f"SPOT needs at least 100 initial scores, got {values.size}")
        self.level = float(np.quantile(values, self.level_quantile))
        self.excesses = [float(v - self.level) for v in values if v > self.level]
        self.n_excesses = len(self.excesses)
        self._keep_recent()
        self.n = int(values.size)
        self._refit()
        return self.threshold

    def _refit(self) -> None:
        self.gpd = fit_gpd(self.excesses)
        self.threshold = pot_threshold(self.gpd, self.level, self.q, self.n, self.n_excesses)

    def state(self) -> dict[str, Any]:
        """What a bundle stores to start every stream's SPOT where calibration left it."""
        return {
            "q": self.q,
            "level_quantile": self.level_quantile,
            "level": self.level,
            "n": self.n,
            "n_excesses": self.n_excesses,
            "max_peaks": self.max_peaks,
            "excesses": [round(e, 9) for e in self.excesses],
        }

    @classmethod
    def from_state(cls, state: dict[str, Any]) -> SPOT:
        """A SPOT that continues from a stored ``state()``."""
        spot = cls(
            q=float(state["q"]),
            level_quantile=float(state["level_quantile"]),
            level=float(state["level"]),
            n=int(state["n"]),
            excesses=[float(e) for e in state["excesses"]],
            n_excesses=int(state.get("n_excesses", 0)),  # absent before the window: all peaks were kept
            max_peaks=int(state.get("max_peaks", MAX_PEAKS)),
        )
        spot._refit()
        return spot

    def exceeds(self, score: float) -> bool:
        """Whether ``score`` is above the current threshold."""
        return score > self.threshold

    def observe(self, score: float, anomalous: bool) -> None:
        """Learn from a score judged normal; a score that is part of an anomaly stays out of the tail."""
        if anomalous:
            return
        self.n += 1
        if score > self.level:
            self.n_excesses += 1
            self.excesses.append(score - self.level)
            self._keep_recent()  # O(max_peaks) at worst, like the refit on them
            self._refit()
        elif self.gpd is not None:
            # The tail is unchanged but the exceedance rate N_t / n is not: closed form, no refit.
            self.threshold = pot_threshold(self.gpd, self.level, self.q, self.n, self.n_excesses)

    def update(self, score: float) -> bool:
        """Siffer et al.'s SPOT step: every score above the threshold counts as an anomaly.

        On a purely normal stream this trims the top of the tail it learns from, so the threshold
        creeps down (measured: about 3x the target rate). A detector that debounces should call
        ``exceeds`` and then ``observe(score, anomalous=<part of an alert>)`` instead, so isolated
        normal exceedances keep the tail honest.
        """
        over = self.exceeds(score)
        self.observe(score, anomalous=over)
        return over
