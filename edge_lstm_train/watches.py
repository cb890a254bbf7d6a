"""What training measures in normal data for the detector's watches beside the model: stuck readings,
leaps, normal switches between two states, short cycling, the same time a week or a day ago and a
fast cycle's cadence (core/stuck.py, jumps.py, transitions.py, cycling.py, seasonal.py, cadence.py).
Each returns its manifest section and logs one line saying what it decided."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from edge_lstm.core.cadence import CYCLES, MAX_PERIOD_S, calibrate_cadence
from edge_lstm.core.cycling import MIN_RUNS, SHORT_RUNS, short_limits
from edge_lstm.core.jumps import jump_limits
from edge_lstm.core.scaling import StandardScaler
from edge_lstm.core.seasonal import AFTER, COVER, DAY_S, MARGIN, calibrate_seasonal, lag_name, seasonal_lag
from edge_lstm.core.stuck import stuck_limits
from edge_lstm.core.transitions import NEVER, ZONE, TwoStates, samples_since_switch, settled_after, two_states
from edge_lstm.sources.csv_file import Recording
from edge_lstm_train import data


def stuck_watch(recordings: list[Recording], log: Callable[[str], None]) -> dict[str, list[Any]]:
    """Per channel, how long an unchanged reading may last before it counts as stuck, and the floor and
    ceiling where readings rest (core/stuck.py), from the raw readings of the normal data."""
    valid = [v for v in (r.values[np.isfinite(r.values).all(axis=1)] for r in recordings) if len(v)]
    rows = np.concatenate(valid)
    low, high = rows.min(axis=0), rows.max(axis=0)
    limits = stuck_limits(valid, low, high)
    watched = [f"{f} {n}" for f, n in zip(recordings[0].features, limits, strict=True) if n]
    said = ", ".join(watched) or "no channel is lively enough to watch"
    log(f"stuck: a reading unchanged for this many samples alerts: {said}")
    return {"after": limits, "low": low.tolist(), "high": high.tolist()}


def jump_watch(recordings: list[Recording], log: Callable[[str], None]) -> list[float]:
    """Per channel, the step between consecutive readings that counts as a leap (core/jumps.py), from
    the raw readings of the normal data."""
    valid = [v for v in (r.values[np.isfinite(r.values).all(axis=1)] for r in recordings) if len(v)]
    limits = jump_limits(valid)
    watched = [f"{f} {v:.4g}" for f, v in zip(recordings[0].features, limits, strict=True) if v > 0]
    log(f"jumps: a step between readings larger than this alerts: {', '.join(watched) or 'none (nothing moved)'}")
    return limits


def transition_guard(
    splits: data.Splits,
    scaler: StandardScaler,
    calib_raw: list[np.ndarray],
    scores: np.ndarray,
    warmup: int,
    features: list[str],
    cycling: bool,
    log: Callable[[str], None],
    settled: Callable[[np.ndarray], float | None] | None = None,
    window: int = 0,
) -> dict[str, Any] | None:
    """The channels that switch between two states in normal data, and the largest held-out score within
    a few samples of a switch: what a normal transient scores (core/transitions.py); with ``cycling``,
    the runs that are short cycling too (core/cycling.py); with ``settled`` (the bundle's fixed rule over
    some scores, None where it does not apply), the threshold of settled running. None when no channel
    switches. When the held-out data never switched, nothing is held back (bound 0) and only short
    cycling is watched."""
    train = np.concatenate([scaler.transform(s) for s in data.capped(splits.train, data.MAX_CHECK_ROWS)])
    states = two_states(train.astype(np.float64))
    if not states:
        log("transitions: no channel switches between two states")
        return None
    names = [features[s.channel] for s in states]
    guard = {"channels": names, "low": [s.low for s in states], "high": [s.high for s in states], "zone": ZONE}
    since = np.concatenate([samples_since_switch(seg.astype(np.float64), states)[warmup:] for seg in calib_raw])
    zones = since < ZONE
    if len(zones) != len(scores) or not zones.any():
        log(
            f"transitions: {', '.join(names)} switch between two states, but never in the held-out data: no "
            "alert is held back"
        )
        shortest = cycle_watch(splits, scaler, states, names, log) if cycling else []
        return {**guard, "bound": 0.0, "shortest": shortest} if any(map(any, shortest)) else None
    bound = float(scores[zones].max())
    log(
        f"transitions: {', '.join(names)} switch between two states; an alert starting within {ZONE} samples "
        f"of a switch with a score of at most {bound:.4g} (the held-out switches' largest) is a normal transient"
    )
    guard["bound"] = bound
    if settled is not None:
        after = settled_after(window)
        calm = scores[(since >= after) & (since < NEVER)]
        level = settled(calm)
        if level is not None:
            guard["settled"] = {"after": after, "threshold": level}
            log(
                f"settled: from {after} samples past a switch the threshold is {level:.4g}: the same rule over the "
                f"{calm.size} held-out scores of settled running, and not below their largest"
            )
    if not cycling:
        return guard
    return {**guard, "shortest": cycle_watch(splits, scaler, states, names, log)}


def cycle_watch(
    splits: data.Splits, scaler: StandardScaler, states: list[TwoStates], names: list[str], log: Callable[[str], None]
) -> list[list[int]]:
    """Per two-state channel, the off and on runs shorter than which a run is short (core/cycling.py),
    from all the normal data: the more runs, the better their shortest is known."""
    parts = [*splits.train, *splits.validation, *splits.calibration]
    limits = short_limits(
        [scaler.transform(s).astype(np.float64) for s in data.capped(parts, data.MAX_CHECK_ROWS)], states
    )
    watched = [f"{name} (off {off}, on {on})" for name, (off, on) in zip(names, limits, strict=True) if off or on]
    if watched:
        log(f"cycling: {SHORT_RUNS} runs in a row shorter than these samples are short cycling: {', '.join(watched)}")
    else:
        log(f"cycling: not watched (no state ended {MIN_RUNS} normal runs)")
    return limits


def seasonal_watch(
    recordings: list[Recording],
    options: Any,
    scaler: StandardScaler,
    period_s: float | None,
    log: Callable[[str], None],
) -> dict[str, Any] | None:
    """The bound on how far each modelled channel's smoothed reading may lie from where it stood a week
    (or a day) earlier (core/seasonal.py), measured over the normal data as the detector reads a stream;
    None when the data is too short to compare a lag with the one before, or the watch is off."""
    if not options.seasonal:
        return None
    timed = [r for r in recordings if r.timestamps is not None and len(r) > 1]
    span = max((float(r.timestamps[-1] - r.timestamps[0]) for r in timed), default=0.0)  # type: ignore[index]
    lag = seasonal_lag(span, period_s)
    setting = None
    if lag is not None and period_s is not None:
        streamed = data.as_streamed(timed, options.level_channels, options.level_span, options.baseline)
        segments = [(scaler.transform(r.values).astype(np.float64), r.timestamps) for r in streamed]
        setting = calibrate_seasonal(segments, lag, period_s, gap_s=options.gap_reset_periods * period_s)
    if setting is None or lag is None:
        need = f"{1 + COVER:g} days, with a reading an hour or more often"
        log(f"seasonal: not watched (the normal data spans {span / DAY_S:.2f} days; it needs {need})")
        return None
    judged = [f"{f} {b:.3g}" for f, b in zip(recordings[0].features, setting["bound"], strict=True) if b > 0]
    log(
        f"seasonal: a reading that stays, {AFTER} samples in a row, further from where it stood a "
        f"{lag_name(lag)} ago than {MARGIN:g} x the largest such difference of the normal data "
        f"({setting['compared']} compared) alerts; in training spreads: {', '.join(judged) or 'none moved'}"
    )
    return setting


def cadence_watch(
    splits: data.Splits, scaler: StandardScaler, features: list[str], log: Callable[[str], None]
) -> dict[str, Any] | None:
    """Per modelled channel that cycles regularly in normal data, the range of the time its last few
    cycles take (core/cadence.py), from all the normal data; None when no channel cycles."""
    parts = [*splits.train, *splits.validation, *splits.calibration]
    segments = [scaler.transform(s).astype(np.float64) for s in data.capped(parts, data.MAX_CHECK_ROWS)]
    setting = calibrate_cadence(segments, splits.sample_period_s)
    if setting is None:
        log(f"cadence: not watched (no channel cycles regularly, faster than once in {MAX_PERIOD_S / 60:g} minutes)")
        return None
    watched = [
        f"{name} {low:g} to {high:g}"
        for name, span, low, high in zip(features, setting["centre"], setting["low"], setting["high"], strict=True)
        if span
    ]
    log(f"cadence: {CYCLES} cycles that take a time outside these samples alert: {', '.join(watched)}")
    return setting
