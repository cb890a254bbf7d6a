"""Signal building blocks: the frame a generator fills, channel facts, and the random processes
(AR(1) wanders, lags, daily profiles, regimes, bursts) the generators combine."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from edge_lstm.tools.corpus.manifest import Array

# ---------------------------------------------------------------------------------------------------
# Signal building blocks


@dataclass(frozen=True)
class _Frame:
    """What a generator needs to know about the series it fills. Generators work on *slots*: the
    regular sampling grid, including the samples an irregular series later loses to gaps."""

    slots: int
    train: int  # slots before the judged part
    period_s: float
    noise: float  # multiplier on the nominal noise
    clock: Array  # phase time of the fast cycle, in slots: arange(slots) unless a frequency change warps it
    # slots of the plan's own training part: the machine's time scales (its on/off cycle) come from it,
    # so a series recorded for longer (``sizes``) is the same machine running through more cycles
    machine: int = 0

    @property
    def machine_train(self) -> int:
        return self.machine or self.train

    @property
    def seconds(self) -> Array:
        """Seconds since ``START`` of every slot."""
        return np.arange(self.slots, dtype=np.float64) * self.period_s


@dataclass(frozen=True)
class _Channel:
    """What the fault injector needs to know about one generated channel."""

    name: str
    role: str = "signal"  # signal | flat (constant or nearly) | binary (a 0/1 state)
    coupled: bool = False  # follows a driver another channel follows too: a correlation break can hit it
    quiet: bool = False  # no measurement noise (a command, a register): a frozen value would not show
    count: bool = False  # non-negative counts: shifts scale the rate rather than add to it
    resolution: float = 0.0  # quantization step, 0 for continuous
    floor: float | None = None  # physical lower bound


@dataclass
class _Signal:
    """A generator's output: values per slot, channel facts, properties, and the fast cycle's period."""

    values: Array  # (slots, channels)
    channels: list[_Channel]
    properties: set[str]
    cycle: float | None = None  # period of the clock-driven part in slots (duty cycles: mean cycle)
    realign: bool = True  # a frequency change can end in phase (strict periods), not for random schedules


_Make = Callable[[np.random.Generator, _Frame], _Signal]


def _ar1(rng: np.random.Generator, n: int, phi: float) -> Array:
    """A stationary AR(1) with unit variance (a Python loop: n is a few thousand, and it stays exact)."""
    shocks = (rng.normal(size=n) * math.sqrt(1.0 - phi * phi)).tolist()
    x = float(rng.normal())
    out = []
    for shock in shocks:
        x = phi * x + shock
        out.append(x)
    return np.asarray(out, dtype=np.float64)


def _slow(rng: np.random.Generator, frame: _Frame) -> float:
    """The AR(1) coefficient of a slow wander whose correlation time is 5-12 % of the training part:
    slow, yet the training part sees its whole range (it is meant to be representative)."""
    return math.exp(-1.0 / max(2.0, frame.train * rng.uniform(0.05, 0.12)))


def _lag(u: Array, tau: float) -> Array:
    """First-order lag (time constant ``tau`` samples), starting settled on the mean of the first
    ``tau`` inputs (a lagged cycle starts at its mean, not at its first phase)."""
    if tau <= 0:
        return u.copy()
    a = 1.0 / max(tau, 1.0)
    y = float(np.mean(u[: max(1, math.ceil(tau))]))
    out = []
    for v in u.tolist():
        y += a * (v - y)
        out.append(y)
    return np.asarray(out, dtype=np.float64)


def _decay(impulses: Array, factor: float) -> Array:
    """y[t] = factor * y[t-1] + impulses[t]."""
    y = 0.0
    out = []
    for v in impulses.tolist():
        y = factor * y + v
        out.append(y)
    return np.asarray(out, dtype=np.float64)


def _daily(rng: np.random.Generator, seconds: Array, profile: str, weekend: float) -> Array:
    """A daily profile in [0, 1] on wall-clock time: ``business`` (quiet nights, busy days with a
    lunch dip) or ``sine`` (an ambient temperature). ``weekend`` < 1 scales Saturdays and Sundays."""
    hours = (seconds / 3600.0) % 24.0
    if profile == "business":
        start, end = rng.uniform(7.0, 9.0), rng.uniform(17.0, 20.0)
        rise, fall = rng.uniform(0.5, 1.5, size=2)
        shape = 1.0 / (1.0 + np.exp(-(hours - start) / rise)) - 1.0 / (1.0 + np.exp(-(hours - end) / fall))
        shape = shape * (1.0 - rng.uniform(0.0, 0.15) * np.exp(-0.5 * ((hours - 12.5) / 0.7) ** 2))
    else:
        peak = rng.uniform(13.0, 16.0)
        shape = 0.5 + 0.5 * np.cos(2 * np.pi * (hours - peak) / 24.0)
    if weekend < 1.0:
        weekday = (seconds // 86_400 + 6) % 7  # START is a Sunday; Monday = 0
        shape = np.where(weekday >= 5, shape * weekend, shape)
    return np.asarray(shape, dtype=np.float64)


def _regimes(rng: np.random.Generator, frame: _Frame, k: int) -> Array:
    """Operating levels in [0, 1] held for random durations, with smooth transitions. Durations scale
    with the training part so that every level is visited there: switching itself is normal."""
    levels = np.clip(np.linspace(0.0, 1.0, k) + rng.uniform(-0.08, 0.08, size=k), 0.0, 1.0)
    longest = frame.train / (k + 0.5)
    durations = rng.uniform(longest / 3.0, longest, size=int(frame.slots / (longest / 3.0)) + k + 2)
    steps = rng.integers(1, k, size=durations.size)  # the next level differs from the current one
    states = [int(s) for s in rng.permutation(k)]
    while len(states) < durations.size:
        states.append((states[-1] + int(steps[len(states)])) % k)
    ends = np.cumsum(durations)
    held = levels[np.asarray(states)[np.searchsorted(ends, np.arange(frame.slots), side="right")]]
    return _lag(held, rng.uniform(2.0, 10.0))


def _bursts(rng: np.random.Generator, n: int) -> Array:
    """A heavy-tailed burst process: Poisson-timed events (one per 60-150 samples) of Pareto size
    1-10 that decay over a few samples (request storms, social-media cascades). Normal data holds
    them, the training part a dozen or more; the cap keeps a normal burst from outgrowing every fault."""
    rate = rng.uniform(1 / 150, 1 / 60)
    factor = math.exp(-1.0 / rng.uniform(3.0, 12.0))
    alpha = rng.uniform(1.5, 2.5)
    events = rng.random(n) < rate
    sizes = np.minimum(rng.pareto(alpha, size=n) + 1.0, 10.0)
    return _decay(np.where(events, sizes, 0.0), factor)
