"""The faults: choosing their kind, channel, difficulty and size, placing them, and injecting them."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from edge_lstm.tools.corpus.manifest import DIFFICULTIES, SPIKE_TAIL, Array
from edge_lstm.tools.corpus.signals import _Channel, _Signal

# ---------------------------------------------------------------------------------------------------
# Faults


@dataclass
class _Fault:
    kind: str
    channel: int  # -1: the whole process
    difficulty: str
    length: int  # rows reserved for the labelled span
    start: int = 0
    end: int = 0
    size: float = 0.0  # spike height, final shift, noise std (in the channel's units)
    rows: int = 0  # spike width
    rate: float = 1.0  # clock rate during a frequency change
    slot_length: int = 0  # clock span of a frequency change, in slots
    sign: float = 1.0


def _scales(column: Array, resolution: float) -> tuple[float, float]:
    """The channel's spread (std over training) and noise (from the median first difference, robust
    to steps and bursts). A channel constant in training gets a nominal spread from its level."""
    spread = float(np.std(column))
    mean = float(np.mean(column))
    if spread < 1e-9 * max(1.0, abs(mean)):
        spread = max(resolution, 0.02 * abs(mean), 0.01)
    noise = 1.4826 * float(np.median(np.abs(np.diff(column)))) / math.sqrt(2.0)
    return spread, max(noise, 0.05 * spread)


def _eligible(channels: list[_Channel], kind: str) -> list[int]:
    """Channels a fault of ``kind`` may hit: a frozen or decoupled value must be able to show."""
    signal = [i for i, c in enumerate(channels) if c.role == "signal" and not c.quiet]
    if kind == "correlation_break":
        return [i for i in signal if channels[i].coupled]
    if kind == "stuck":
        return signal
    return signal or [i for i, c in enumerate(channels) if c.role != "binary"]


# clock rates of a frequency change, per difficulty (easy, moderate, subtle)
_FASTER = ((2.0, 3.0), (1.35, 1.6), (1.12, 1.2))
_SLOWER = ((0.45, 0.6), (0.7, 0.78), (0.85, 0.9))
_SHORT_CYCLING = ((3.0, 4.0), (2.0, 2.5), (1.5, 1.7))


def _choose_faults(
    rng: np.random.Generator, kinds: Sequence[str], signal: _Signal, clean: Array, train: int
) -> list[_Fault]:
    """Kind, channel, difficulty, size and span length of every fault (placement comes after)."""
    faults = []
    for kind in [kinds[i] for i in rng.permutation(len(kinds))]:  # time order, random per series
        difficulty = str(rng.choice(DIFFICULTIES, p=[0.4, 0.35, 0.25]))
        tier = DIFFICULTIES.index(difficulty)
        if kind == "frequency_change":
            fault = _Fault(kind, -1, difficulty, 0)
            if signal.cycle is None:
                raise ValueError("a frequency change needs a fast cycle")
            if signal.realign:
                faster = bool(rng.random() < 0.5)
                change = abs(rng.uniform(*(_FASTER if faster else _SLOWER)[tier]) - 1.0)
                # the span covers a whole number of extra (or missing) cycles: after it, the cycle is
                # back in phase, so only the span itself differs from normal
                whole = max(1, math.ceil(100 * change / signal.cycle))
                fault.slot_length = round(whole * signal.cycle / change)
                fault.rate = 1.0 + (1 if faster else -1) * whole * signal.cycle / fault.slot_length
            else:  # an on/off schedule: short cycling, over at least one normal cycle
                fault.rate = rng.uniform(*_SHORT_CYCLING[tier])
                fault.slot_length = int(rng.uniform(max(150, 1.5 * signal.cycle), max(250, 2.5 * signal.cycle)))
                fault.slot_length = min(fault.slot_length, 500)
            fault.length = fault.slot_length
            faults.append(fault)
            continue
        options = _eligible(signal.channels, kind)
        if not options or (kind == "correlation_break" and len(options) < 2):
            raise ValueError(f"no channel can take a {kind} fault")
        c = int(rng.choice(options))
        spread, noise = _scales(clean[:train, c], signal.channels[c].resolution)
        step = signal.channels[c].resolution
        fault = _Fault(kind, c, difficulty, 0)
        if kind == "spike":
            size = [
                rng.uniform(6, 10) * spread,
                rng.uniform(4, 6) * spread,
                max(rng.uniform(4, 6) * noise, 1.5 * spread),
            ][tier]
            fault.rows = int(rng.integers(1, 4))
            fault.size = max(size, 2 * step)
            fault.length = fault.rows + SPIKE_TAIL
        elif kind in ("level_shift", "drift"):
            size = [
                rng.uniform(2, 3) * spread,
                rng.uniform(1, 1.5) * spread,
                max(rng.uniform(2.5, 3.5) * noise, 0.5 * spread),
            ][tier]
            fault.size = max(size, step)
            fault.length = int(rng.integers(50, 301)) if kind == "level_shift" else int(rng.integers(100, 501))
        elif kind == "variance_increase":
            base = max(noise, 0.1 * spread)
            fault.size = max([rng.uniform(5, 8), rng.uniform(3, 5), rng.uniform(2, 2.5)][tier] * base, step)
            fault.length = int(rng.integers(50, 301))
        elif kind == "stuck":
            fault.length = int(rng.integers(*((150, 301), (80, 151), (50, 81))[tier]))
        elif kind == "correlation_break":
            fault.length = int(rng.integers(*((250, 401), (150, 251), (100, 151))[tier]))
        else:
            raise ValueError(f"unknown fault kind {kind!r}")
        sign = float(rng.choice([-1.0, 1.0]))
        bounded = signal.channels[c].floor is not None or signal.channels[c].count
        if kind == "spike" and bounded:  # a downward spike would vanish into the floor
            sign = 1.0
        if kind in ("level_shift", "drift") and "duty_cycle" in signal.properties:
            # an offset of the sensor, visible while the machine is off as well (a drop would hide
            # in the off periods, possibly for the whole labelled span)
            sign = 1.0
        fault.sign = sign
        faults.append(fault)
    return faults


_MIN_LENGTH = {"level_shift": 50, "drift": 100, "stuck": 50, "variance_increase": 50, "correlation_break": 100}


def _place(rng: np.random.Generator, faults: list[_Fault], rows: int, train: int) -> int:
    """Start rows: the first after at least 10 % of the judged part, the others apart by ``gap`` rows,
    the last ending ``tail`` rows before the end. Returns the gap. Spans shrink if the room is short."""
    judged = rows - train
    gap, tail = max(120, judged // 25), 100
    lead = int(judged * rng.uniform(0.12, 0.25))
    room = judged - lead - tail - gap * max(0, len(faults) - 1)
    total = sum(f.length for f in faults)
    if total > room:
        scalable = [f for f in faults if f.kind in _MIN_LENGTH]
        fixed = total - sum(f.length for f in scalable)
        ratio = (room - fixed) / max(1, total - fixed)
        for f in scalable:
            f.length = max(_MIN_LENGTH[f.kind], int(f.length * ratio))
        total = sum(f.length for f in faults)
        lead = max(lead - max(0, total - room), math.ceil(0.1 * judged))
        room = judged - lead - tail - gap * max(0, len(faults) - 1)
        if total > room:
            raise ValueError(f"{len(faults)} faults of {total} rows do not fit in {judged} judged rows")
    # the spare rows go, at random, before each fault and after the last one
    extra: list[int] = np.floor(rng.dirichlet(np.ones(len(faults) + 1)) * (room - total)).astype(int).tolist()
    cursor = train + lead
    for f, more in zip(faults, extra, strict=False):
        f.start = cursor + more
        f.end = f.start + f.length
        cursor = f.end + gap
    return gap


def _slide_stuck(faults: list[_Fault], clean: Array, rows: int, train: int, gap: int) -> None:
    """Move each stuck fault, within the room its neighbours leave, to where the true value moves
    most: a frozen reading only shows while the process moves."""
    first = train + math.ceil(0.1 * (rows - train))
    for i, f in enumerate(faults):
        if f.kind != "stuck":
            continue
        lo = faults[i - 1].end + gap if i else first
        hi = (faults[i + 1].start - gap if i + 1 < len(faults) else rows - 100) - f.length
        if hi <= lo:
            continue
        candidates = np.unique(np.linspace(lo, hi, 25).astype(int))
        movement = [float(np.ptp(clean[s : s + f.length, f.channel])) for s in candidates]
        f.start = int(candidates[int(np.argmax(movement))])
        f.end = f.start + f.length


def _shift(values: Array, channel: _Channel, c: int, start: int, offset: Array, mean: float) -> None:
    """Add ``offset`` from ``start`` on. A count channel, and a bounded channel going down, scale
    their distance from the bound instead (+x and -x are the same factor up and down), so a drop
    stays a drop and does not pin the series to its floor."""
    floor = channel.floor
    if floor is not None and (channel.count or float(np.sum(offset)) < 0):
        factor = (1.0 + np.abs(offset) / max(mean - floor, 1e-6)) ** np.sign(offset)
        values[start:, c] = floor + (values[start:, c] - floor) * factor
    else:
        values[start:, c] += offset


def _inject(
    rng: np.random.Generator, faults: list[_Fault], signal: _Signal, clean: Array, values: Array, train: int
) -> None:
    """Apply the value faults to ``values`` in time order (a frequency change is already in them)."""
    rows = values.shape[0]
    for f in faults:
        if f.kind == "frequency_change":
            continue
        c, channel = f.channel, signal.channels[f.channel]
        sign = f.sign
        mean = float(np.mean(clean[:train, c]))
        after = np.arange(rows - f.start, dtype=np.float64)
        if f.kind == "spike":
            values[f.start : f.start + f.rows, c] += sign * f.size
        elif f.kind == "level_shift":
            _shift(values, channel, c, f.start, np.full(after.size, sign * f.size), mean)
        elif f.kind == "drift":
            _shift(values, channel, c, f.start, sign * f.size * np.minimum(after / f.length, 1.0), mean)
        elif f.kind == "stuck":
            values[f.start : f.end, c] = values[f.start - 1, c]
        elif f.kind == "variance_increase":
            values[f.start : f.end, c] += rng.normal(0.0, f.size, size=f.end - f.start)
        elif f.kind == "correlation_break":
            length = f.end - f.start
            donor = _donor(clean[:, c], f.start, length, DIFFICULTIES.index(f.difficulty))
            ramp = max(2, min(20, length // 8))  # cross-fade in and out: a decoupling, not a jump
            weight = np.ones(length)
            weight[:ramp] = np.linspace(0, 1, ramp + 2)[1:-1]
            weight[-ramp:] = weight[:ramp][::-1]
            values[f.start : f.end, c] += weight * (clean[donor : donor + length, c] - clean[f.start : f.end, c])


def _donor(column: Array, start: int, length: int, tier: int) -> int:
    """The start of the channel's own normal stretch that replaces ``[start, start + length)``: near
    in time (a trend or a season changes little), not overlapping, and far from what it replaces
    (the farthest for an easy fault, a middling one for a subtle fault), so the channel visibly
    leaves its group while staying within its own normal range."""
    step = max(1, length // 8)

    def apart(d: int) -> bool:
        return d + length <= start or d >= start + length

    near = range(max(0, start - 4 * length), min(column.size - length, start + 4 * length) + 1, step)
    candidates = [d for d in near if apart(d)] or [d for d in range(0, column.size - length + 1, step) if apart(d)]
    target = column[start : start + length]
    distance = [float(np.sqrt(np.mean((column[d : d + length] - target) ** 2))) for d in candidates]
    order = np.argsort(distance, kind="stable")
    pick = (1.0, 0.75, 0.5)[tier]
    return int(candidates[int(order[min(len(order) - 1, int(pick * len(order)))])])


def _glitch(
    rng: np.random.Generator, channels: list[_Channel], values: Array, train: int
) -> tuple[int, int, int] | None:
    """One glitch in the training rows, in place: 1-3 readings of one signal channel displaced by 4-10
    training spreads (upwards where the channel has a floor or counts), unlabelled, as the first weeks of a
    real recording can hold a bad reading. Returns (channel, start, end), or None where no channel moves."""
    moving = [c for c, ch in enumerate(channels) if ch.role == "signal" and values[:train, c].std() > 0]
    if not moving:
        return None
    c = int(rng.choice(moving))
    length = int(rng.integers(1, 4))
    start = int(rng.integers(train // 10, train - train // 10 - length))
    bounded = channels[c].floor is not None or channels[c].count
    sign = 1.0 if bounded else float(rng.choice([-1.0, 1.0]))
    values[start : start + length, c] += sign * rng.uniform(4, 10) * values[:train, c].std()
    return c, start, start + length


def _finish(values: Array, channels: list[_Channel]) -> Array:
    """Physical bounds and quantization, the same for the faulty and the clean values."""
    out = values.copy()
    for c, channel in enumerate(channels):
        if channel.floor is not None:
            out[:, c] = np.maximum(out[:, c], channel.floor)
        if channel.resolution:
            out[:, c] = np.round(out[:, c] / channel.resolution) * channel.resolution
    return out + 0.0  # no "-0" in the files
