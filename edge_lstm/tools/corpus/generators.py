"""The signal families: channels that follow a shared load, start/stop machines, and flat channels."""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

import numpy as np

from edge_lstm.tools.corpus.signals import (
    _ar1,
    _bursts,
    _Channel,
    _daily,
    _decay,
    _Frame,
    _lag,
    _regimes,
    _Signal,
    _slow,
)

# ---------------------------------------------------------------------------------------------------
# Generators


@dataclass(frozen=True)
class _Drivers:
    """The shared latent "load" of a series: a sum of components, each in roughly unit scale."""

    base: float = 0.0
    day: float = 0.0  # amplitude of the daily profile
    profile: str = "business"
    weekend: float = 1.0  # weekend activity relative to weekdays (< 1: weekly seasonality)
    trend: float = 0.0  # change over the whole series
    wander: float = 0.0  # std of a slow AR(1)
    fast: float = 0.0  # std of a fast AR(1)
    regimes: int = 0  # number of operating levels
    regime: float = 0.0  # distance between the lowest and the highest level
    cycle: float = 0.0  # amplitude of a periodic waveform on the clock (strokes, vibration)
    cycle_rows: tuple[float, float] = (12.0, 24.0)
    jobs: float = 0.0  # amplitude of periodic batch-job bumps on the clock
    job_rows: float = 12.0
    burst: float = 0.0  # weight of the multiplicative heavy-tailed bursts


@dataclass(frozen=True)
class _Link:
    """One channel as a function of the load: ``base + gain * lag(load, tau) ** power`` plus its own parts."""

    name: str
    base: float
    gain: float = 0.0
    power: float = 1.0
    tau: float = 0.0
    noise: float = 0.0  # nominal white-noise std
    own: float = 0.0  # std of the channel's own slow wander (not shared)
    day: float = 0.0  # amplitude of the channel's own sine daily profile (an ambient temperature)
    trend: float = 0.0  # the channel's own change over the series
    cap: float | None = None
    resolution: float = 0.0
    floor: float | None = None
    count: float = 0.0  # > 0: negative-binomial counts with this dispersion, the value being their mean


def _gen_multi(drivers: _Drivers, links: tuple[_Link, ...], rng: np.random.Generator, frame: _Frame) -> _Signal:
    """Channels that follow one shared load. Every random draw has a size fixed by the plan and the
    frame, never by the clock, so a clock-warped run repeats the clean run outside the warped span."""
    d, n = drivers, frame.slots
    if (d.cycle or d.jobs) and any(link.count for link in links):
        # numpy's Poisson sampler consumes a rate-dependent number of draws: with a clock-driven
        # rate, a frequency change would reshuffle the counts after it.
        raise ValueError("count channels cannot follow a clock-driven load")
    count_rng = np.random.default_rng(int(rng.integers(2**63)))
    vary = rng.uniform(0.85, 1.15, size=8)  # per-series variation of every amplitude, in a fixed order
    properties: set[str] = set()
    cycle: float | None = None
    t = np.arange(n, dtype=np.float64)
    load = np.full(n, float(d.base))
    if d.day:
        load += d.day * vary[0] * _daily(rng, frame.seconds, d.profile, d.weekend)
        properties.add("daily_seasonality")
        if d.weekend < 1.0:
            properties.add("weekly_seasonality")
    if d.trend:
        load += d.trend * vary[1] * t / n
        properties.add("trend")
    if d.wander:
        load += d.wander * vary[2] * _ar1(rng, n, _slow(rng, frame))
    if d.fast:
        load += d.fast * vary[3] * _ar1(rng, n, rng.uniform(0.8, 0.95))
    if d.regimes:
        load += d.regime * vary[4] * _regimes(rng, frame, d.regimes)
        properties.add("regime_switch")
    if d.cycle:
        cycle = float(rng.uniform(*d.cycle_rows))
        weights = np.array([1.0, rng.uniform(0.2, 0.5), rng.uniform(0.0, 0.25)])
        phases = rng.uniform(0, 2 * np.pi, size=3)
        wave = sum(
            w * np.cos(2 * np.pi * (h + 1) * frame.clock / cycle + p)
            for h, (w, p) in enumerate(zip(weights, phases, strict=True))
        )
        load += d.cycle * vary[5] * wave / math.sqrt(float(np.sum(weights**2)) / 2.0)
        properties.add("fast_cycle")
    if d.jobs:
        cycle = d.job_rows
        offset, width = rng.uniform(0, d.job_rows), rng.uniform(1.0, 2.5)
        load += d.jobs * vary[6] * np.exp(-((frame.clock - offset) % d.job_rows) / width)
        properties.add("fast_cycle")
    if d.burst:
        load *= 1.0 + d.burst * vary[7] * _bursts(rng, n)
        properties.add("heavy_tailed")
    columns, channels = [], []
    for link in links:
        x = _lag(load, link.tau * rng.uniform(0.8, 1.25)) if link.tau else load
        if link.power != 1.0:
            x = np.maximum(x, 0.0) ** link.power
        v = link.base + link.gain * rng.uniform(0.9, 1.1) * x
        if link.own:
            v = v + link.own * _ar1(rng, n, _slow(rng, frame))
        if link.day:
            v = v + link.day * _daily(rng, frame.seconds, "sine", 1.0)
            properties.add("daily_seasonality")
        if link.trend:
            v = v + link.trend * t / n
            properties.add("trend")
        if link.cap is not None:
            v = np.minimum(v, link.cap)
        if link.count:
            mean = np.maximum(v, 0.0)
            v = count_rng.poisson(count_rng.gamma(link.count, 1.0, size=n) * mean / link.count).astype(np.float64)
            properties.add("quantized")
        elif link.noise:
            v = v + link.noise * frame.noise * rng.normal(size=n)
        flat = not (link.gain or link.own or link.day or link.trend or link.noise or link.count)
        quiet = not (link.noise or link.count)
        resolution = 1.0 if link.count else link.resolution
        if resolution:
            properties.add("quantized")
        if flat:
            properties.add("flat_channel")
        columns.append(v)
        channels.append(
            _Channel(
                name=link.name,
                role="flat" if flat else "signal",
                coupled=bool(link.gain) and not quiet,
                quiet=quiet,
                count=bool(link.count),
                resolution=resolution,
                floor=0.0 if link.count else link.floor,
            )
        )
    return _Signal(np.column_stack(columns), channels, properties, cycle)


def _gen_duty(specs: tuple[tuple[str, str], ...], rng: np.random.Generator, frame: _Frame) -> _Signal:
    """A machine that starts and stops: off near zero, on at a running level after a start-up
    transient, temperatures that follow with a lag. 4-7 cycles fall in the plan's training part (many
    more in a long recording), so a start is normal. The on/off schedule runs on the clock: a frequency
    change is short cycling."""
    n = frame.slots
    cycle = frame.machine_train / rng.uniform(4.0, 7.0)
    share = rng.uniform(0.3, 0.7)
    count = int((2 * n + 2000) / (0.6 * cycle)) + 8  # enough segments for a clock that runs ahead
    durations = np.empty(2 * count)
    durations[0::2] = rng.uniform(0.6, 1.4, size=count) * cycle * (1 - share)  # off
    durations[1::2] = rng.uniform(0.6, 1.4, size=count) * cycle * share  # on
    edges = np.cumsum(durations) - rng.uniform(0, cycle)
    on = (np.searchsorted(edges, frame.clock, side="right") % 2 == 1).astype(np.float64)
    starts = np.diff(on, prepend=on[0]) > 0
    # the start-up transient: a kick at each start that decays over a few samples, cut when switched off
    inrush = on * _decay(starts.astype(np.float64), math.exp(-1.0 / rng.uniform(1.5, 4.0)))
    heat = _lag(on, cycle * rng.uniform(0.2, 0.4))
    wander, fast = _ar1(rng, n, _slow(rng, frame)), _ar1(rng, n, 0.9)
    noise = frame.noise * rng.normal(size=(n, len(specs)))
    columns, channels = [], []
    for j, (name, kind) in enumerate(specs):
        e = noise[:, j]
        channel = _Channel(name=name, coupled=True, floor=0.0)
        if kind in ("current", "power"):
            run = rng.uniform(5.0, 20.0) if kind == "current" else rng.uniform(80.0, 150.0)
            v = on * run * (1 + 0.03 * wander) + inrush * run * rng.uniform(2.0, 4.0) + e * run * (0.01 * on + 0.002)
            if kind == "power":
                channel = replace(channel, resolution=1.0)
        elif kind in ("temperature", "cooling"):
            ambient = rng.uniform(18.0, 25.0)
            rise = rng.uniform(15.0, 35.0) if kind == "temperature" else -rng.uniform(8.0, 12.0)
            v = ambient + 0.5 * wander + rise * heat + 0.08 * e
            channel = replace(channel, floor=None)
        elif kind == "return_air":
            v = rng.uniform(22.0, 25.0) + 0.4 * wander - rng.uniform(1.5, 3.0) * _lag(heat, cycle * 0.5) + 0.05 * e
            channel = replace(channel, floor=None)
        elif kind == "vibration":
            level = rng.uniform(2.0, 6.0)
            v = on * level * (1 + 0.08 * fast) + 0.05 + e * (0.04 * level * on + 0.005)
        elif kind == "flow":
            full = rng.uniform(20.0, 60.0)
            v = full * _lag(on, rng.uniform(2.0, 5.0)) * (1 + 0.02 * wander) + 0.01 * full * e
        elif kind == "pressure":
            v = rng.uniform(1.0, 2.0) + rng.uniform(3.0, 5.0) * _lag(on, rng.uniform(3.0, 8.0)) + 0.02 * e
        elif kind == "voltage":  # the supply: its own wander, a dip at each start; not a coupled channel
            v = 230.0 + 1.5 * _ar1(rng, n, _slow(rng, frame)) - rng.uniform(2.0, 5.0) * inrush + 0.4 * e
            channel = replace(channel, coupled=False, floor=None)
        elif kind == "running":
            v = on.copy()
            channel = replace(channel, role="binary", coupled=False, quiet=True, resolution=1.0)
        elif kind == "setpoint":
            v = np.full(n, round(rng.uniform(19.0, 23.0) * 2) / 2)
            channel = replace(channel, role="flat", coupled=False, quiet=True, floor=None)
        else:
            raise ValueError(f"unknown duty-cycle channel kind {kind!r}")
        columns.append(np.asarray(v, dtype=np.float64))
        channels.append(channel)
    properties = {"duty_cycle"}
    properties |= {"quantized" for c in channels if c.resolution}
    properties |= {"flat_channel" for c in channels if c.role == "flat"}
    return _Signal(np.column_stack(columns), channels, properties, cycle, realign=False)


def _gen_flat(
    variant: str, name: str, level: float, resolution: float, rng: np.random.Generator, frame: _Frame
) -> _Signal:
    """A (nearly) constant channel: ``constant`` (a setpoint), ``steps`` (rare small steps, two of them
    in training), ``flicker`` (a quantized reading that now and then tips to the next step) or
    ``tiny`` (a regulated voltage with noise near its resolution)."""
    n = frame.slots
    quiet = variant in ("constant", "steps")
    if variant == "constant":
        v = np.full(n, level)
    elif variant == "steps":
        later = rng.integers(frame.train, n, size=max(1, int(rng.poisson((n - frame.train) / 1500))))
        times = np.sort(np.concatenate([rng.integers(frame.train // 5, frame.train * 9 // 10, size=2), later]))
        sizes = rng.integers(1, 4, size=times.size) * resolution
        v = np.full(n, level)
        for when, size in zip(times.tolist(), sizes.tolist(), strict=True):
            v[when:] += size if v[when] <= level else -size  # steps wander around the level, not away
    elif variant == "flicker":
        sigma = 0.04
        boundary = level + resolution / 2  # the rounding edge between two readings
        v = boundary - rng.uniform(2.2, 2.8) * sigma + sigma * _ar1(rng, n, 0.9)
    elif variant == "tiny":
        v = level + resolution * 0.8 * frame.noise * rng.normal(size=n)
    else:
        raise ValueError(f"unknown flat variant {variant!r}")
    channel = _Channel(name=name, role="flat", quiet=quiet, resolution=resolution)
    properties = {"flat_channel"} | ({"quantized"} if resolution else set())
    return _Signal(v[:, None].astype(np.float64), [channel], properties)
