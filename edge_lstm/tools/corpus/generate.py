"""One series in memory: its timestamps, its signal, and its faults, from ``(seed, index)`` alone."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import numpy.typing as npt

from edge_lstm.tools.corpus.faults import _choose_faults, _finish, _glitch, _inject, _place, _slide_stuck
from edge_lstm.tools.corpus.manifest import PROPERTIES, START, FaultInfo, GeneratedSeries, SeriesInfo
from edge_lstm.tools.corpus.plans import _NAMES, _NOISE, _PLANS, SERIES_COUNT
from edge_lstm.tools.corpus.signals import _Frame

# ---------------------------------------------------------------------------------------------------
# Timestamps


def _timeline(
    rng: np.random.Generator, rows: int, period_s: int, irregular: bool, spacing: tuple[int, int] | None = None
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    """The slot of every row and its timestamp in seconds after ``START``. An irregular series loses
    short runs of 1-4 samples (about one run per 300 rows) and 2-3 outages (30 min to 6 h, 8 to 200
    samples), and each sample arrives up to a quarter period early or late (whole seconds, in order).
    With ``spacing`` each reading comes that many slots after the last instead, mostly near the short
    end (a sensor that is usually on time and sometimes late): at (4, 10) the mean interval is then
    about 18 % longer than the median."""
    if spacing is not None:
        steps = spacing[0] + np.floor((spacing[1] - spacing[0] + 1) * rng.random(rows) ** 2).astype(np.int64)
        slots = np.cumsum(steps) - steps[0]
        return slots, slots * period_s
    if not irregular:
        slots = np.arange(rows, dtype=np.int64)
        return slots, slots * period_s
    short = max(3, round(rows / 300))
    long = int(rng.integers(2, 4))
    missing = np.concatenate(
        [
            rng.integers(1, 5, size=short),
            np.clip(np.round(rng.uniform(1800, 21_600, size=long) / period_s), 8, 200).astype(np.int64),
        ]
    )
    where = rng.integers(1, rows, size=missing.size)  # the row each gap comes before
    skipped = np.zeros(rows, dtype=np.int64)
    np.add.at(skipped, where, missing)
    slots = np.arange(rows, dtype=np.int64) + np.cumsum(skipped)
    jitter = int(period_s * rng.uniform(0.1, 0.25))  # < period / 2: consecutive samples keep their order
    return slots, slots * period_s + rng.integers(-jitter, jitter + 1, size=rows)


# ---------------------------------------------------------------------------------------------------
# Public API


def series_name(index: int) -> str:
    """The name of series ``index`` (``seasonal-01``, ``multi-07``, ...)."""
    return _NAMES[index]


def generate_series(
    index: int, seed: int = 0, sizes: tuple[int, int] | None = None, glitch: bool = False
) -> GeneratedSeries:
    """Series ``index`` of the corpus for ``seed``, in memory, with its fault-free counterpart.

    Three independent streams come from ``(seed, index)``: the layout (sizes, timestamps), the signal
    and the faults. The clean counterpart is the same signal stream with no faults applied. ``sizes``
    (training rows, rows) replaces the series' own ranges: the same machine, recorded for longer.
    ``glitch`` adds one unlabelled glitch to the training rows (``faults._glitch``), from a fourth
    stream, so everything else stays as it was.
    """
    if not 0 <= index < SERIES_COUNT:
        raise IndexError(f"series index {index} out of range 0..{SERIES_COUNT - 1}")
    if seed < 0:
        raise ValueError("seed must be >= 0")
    plan = _PLANS[index]
    machine = 0  # the frame's own training part sets the machine's time scales
    if sizes is not None:
        machine = sum(plan.train) // 2  # the machine of the short series, recorded for longer
        if not 0 < sizes[0] < sizes[1]:
            raise ValueError(f"sizes must be (training rows, rows) with 0 < training rows < rows, got {sizes}")
        plan = replace(plan, train=(sizes[0], sizes[0]), rows=(sizes[1], sizes[1]))
    layout_seed, signal_seed, fault_seed, glitch_seed = np.random.SeedSequence([seed, index]).spawn(4)
    layout = np.random.default_rng(layout_seed)
    rows = int(layout.integers(plan.rows[0], plan.rows[1] + 1))
    train = int(layout.integers(plan.train[0], plan.train[1] + 1))
    slots, seconds = _timeline(layout, rows, plan.period_s, plan.irregular, plan.spacing)
    n = int(slots[-1]) + 1
    clock = np.arange(n, dtype=np.float64)
    frame = _Frame(n, int(slots[train]), float(plan.period_s), _NOISE[plan.noise], clock, machine)
    signal = plan.make(np.random.default_rng(signal_seed), frame)
    clean = signal.values[slots]

    fault_rng = np.random.default_rng(fault_seed)
    faults = _choose_faults(fault_rng, plan.faults, signal, clean, train)
    gap = _place(fault_rng, faults, rows, train)
    _slide_stuck(faults, clean, rows, train, gap)
    values = clean.copy()
    warps = [f for f in faults if f.kind == "frequency_change"]
    if warps:
        rate = np.ones(n)
        for f in warps:
            first = int(slots[f.start])
            rate[first : first + f.slot_length] = f.rate
            f.end = int(np.searchsorted(slots, first + f.slot_length))  # a gap inside shortens the span in rows
        clock = np.concatenate([[0.0], np.cumsum(rate[:-1])])
        values = plan.make(np.random.default_rng(signal_seed), replace(frame, clock=clock)).values[slots]
    _inject(fault_rng, faults, signal, clean, values, train)
    glitched = _glitch(np.random.default_rng(glitch_seed), signal.channels, values, train) if glitch else None

    labels = np.zeros(rows, dtype=np.int8)
    for f in faults:
        labels[f.start : f.end] = 1
    properties = set(signal.properties)
    if plan.irregular:
        properties.add("irregular_timestamps")
    if plan.noise != "mid":
        properties.add(f"{plan.noise}_noise")
    name = _NAMES[index]
    info = SeriesInfo(
        name=name,
        file=f"{name}.csv",
        channels=tuple(c.name for c in signal.channels),
        rows=rows,
        train_rows=train,
        # A series read every few slots reports its median interval, what a user would call its period.
        period_s=float(plan.period_s) if plan.spacing is None else float(np.median(np.diff(seconds))),
        kind=plan.family,
        properties=tuple(p for p in PROPERTIES if p in properties),
        faults=tuple(
            FaultInfo(f.kind, None if f.channel < 0 else signal.channels[f.channel].name, f.start, f.end, f.difficulty)
            for f in faults
        ),
        glitch=None if glitched is None else (signal.channels[glitched[0]].name, glitched[1], glitched[2]),
    )
    return GeneratedSeries(
        info=info,
        timestamps=seconds + int(START.astype(np.int64)),
        values=_finish(values, signal.channels),
        clean=_finish(clean, signal.channels),
        labels=labels,
    )
