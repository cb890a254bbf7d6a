"""A fast cycle that runs faster or slower than normal alerts on its own: which channels are watched,
what range a cadence may take, and what marks a stream (and what does not: noise, a level shift, the
normal cycle's own wander)."""

from __future__ import annotations

import json

import numpy as np
import pytest
from support import small_detector

from edge_lstm.core.cadence import CYCLES, MIN_CYCLES, TOLERANCE, CadenceWatch, calibrate_cadence, check_cadence
from edge_lstm.core.snapshot import capture, restore
from edge_lstm.errors import SettingsError
from edge_lstm.evaluation.metrics import runs


def strokes(rows: int, period: float = 20.0, seed: int = 0, start: float = 0.0) -> np.ndarray:
    """A pump's pressure, standardized: a cycle of about ``period`` samples whose rate wanders by 2 %,
    with noise; the phase starts at ``start`` cycles."""
    rng = np.random.default_rng(seed)
    rate = (1.0 + 0.02 * np.sin(np.arange(rows) / 150.0)) / period
    phase = start + np.cumsum(rate)
    return np.sqrt(2.0) * np.sin(2 * np.pi * phase) + 0.1 * rng.standard_normal(rows)


def noise(rows: int, seed: int = 1) -> np.ndarray:
    return np.random.default_rng(seed).standard_normal(rows)


def run(watch: CadenceWatch, values: np.ndarray) -> np.ndarray:
    return np.array([watch.push_rows(slice(0, 1), row[None, :])[0] for row in values])


def trained() -> dict:
    setting = calibrate_cadence([np.column_stack([strokes(1200), noise(1200)])])
    assert setting is not None
    return setting


def test_a_regular_cycle_is_watched_and_noise_is_not() -> None:
    setting = trained()
    assert setting["cycles"] == CYCLES and setting["centre"][1] == 0.0  # the noise channel is not watched
    assert setting["low"][1] == setting["high"][1] == 0.0
    # The centre follows over a few periods, and five cycles of about 20 samples take about 100.
    assert 60 <= setting["centre"][0] <= 100
    assert 100 / (1 + 2 * TOLERANCE) < setting["low"][0] < 100 < setting["high"][0] < 100 * (1 + 2 * TOLERANCE)
    json.dumps(setting, allow_nan=False)  # it goes into the manifest as it is
    assert calibrate_cadence([noise(1200)[:, None]]) is None
    # Too few periods to know the cycle by: not watched.
    assert calibrate_cadence([strokes(20 * (MIN_CYCLES - 2))[:, None]]) is None


def test_a_faster_or_slower_cycle_marks_the_channel_and_the_normal_one_never_does() -> None:
    setting = trained()
    normal = np.column_stack([strokes(3000, seed=2, start=0.3), noise(3000, seed=3)])
    assert not run(CadenceWatch(setting), normal).any()
    for factor in (1.15, 0.87):  # the corpus's subtle frequency changes: 12 to 20 % faster, 10 to 15 % slower
        values = normal.copy()
        changed = strokes(400, period=20.0 / factor, seed=4)
        values[1000:1400, 0] = changed
        watch = CadenceWatch(setting)
        marks = run(watch, values)
        assert not marks[:1000].any()
        first = int(np.argmax(marks[1000:]))
        assert first < (CYCLES + 1) * 20  # within a cadence and the cycle cut where the rate changed
        assert marks[1000 + first : 1400].mean() > 0.9
        assert not marks[1400 + 2 * CYCLES * 20 :].any()  # back to normal once a cadence is normal again
    flags = CadenceWatch(setting)
    run(flags, values[:1200])
    assert flags.flagged(slice(0, 1)).tolist() == [[True, False]]


def test_a_level_shift_does_not_stop_the_count_and_a_gap_forgets_it() -> None:
    setting = trained()
    values = np.column_stack([strokes(2000, seed=5), noise(2000, seed=6)])
    values[1000:, 0] += 1.5  # a shift within the cycle's swing: the centre follows, the count goes on
    assert not run(CadenceWatch(setting), values).any()
    values[1000:, 0] += 1.5  # beyond it, the readings stay on one side while the centre catches up: the
    marks = run(CadenceWatch(setting), values)  # cycles across it look slow, for one cadence, once
    assert [(int(a), int(b)) for a, b in runs(marks)] == [(1057, 1157)]
    watch = CadenceWatch(setting)
    run(watch, values[:500])
    watch.forget(slice(0, 1))  # after a gap the cycle in progress is unknown
    assert watch.seen[0, 0] == 0 and not watch.off[0].any()
    assert not run(watch, values[600:1000]).any()  # it starts counting again, without a false cadence


def test_a_wave_of_streams_is_judged_each_on_its_own_cycles() -> None:
    setting = trained()
    normal = np.column_stack([strokes(1500, seed=7), noise(1500, seed=8)])
    fast = normal.copy()
    fast[600:, 0] = strokes(900, period=15.0, seed=9)
    watch = CadenceWatch(setting, capacity=2)
    both = np.array([0, 1])
    marks = np.array([watch.push_rows(both, np.stack([a, b])) for a, b in zip(normal, fast, strict=True)])
    assert not marks[:, 0].any() and marks[700:, 1].all() and not marks[:600, 1].any()
    alone = CadenceWatch(setting)  # one stream takes the slice path to the same marks and state
    np.testing.assert_array_equal(run(alone, fast), marks[:, 1])
    for name in watch.names:
        np.testing.assert_array_equal(getattr(alone, name)[0], getattr(watch, name)[1])


def test_settings_are_checked_with_exact_messages() -> None:
    good = {"cycles": 5, "band": 0.3, "centre": [80.0, 0.0], "low": [95.0, 0.0], "high": [105.0, 0.0]}
    check_cadence(good, 2)
    cases = {
        "cadence.cycles must be a positive whole number, got 0": {"cycles": 0},
        "cadence.band must be a number of 0 or more, got -1": {"band": -1},
        "cadence.centre must be 2 numbers of 0 or more, got [80.0]": {"centre": [80.0]},
        "cadence.high must be 2 numbers of 0 or more, got [105.0, 'x']": {"high": [105.0, "x"]},
        "cadence.low must not exceed cadence.high, got [110.0, 0.0] and [105.0, 0.0]": {"low": [110.0, 0.0]},
    }
    for message, change in cases.items():
        with pytest.raises(SettingsError) as caught:
            check_cadence({**good, **change}, 2)
        assert str(caught.value) == message
    with pytest.raises(SettingsError, match="cadence must be an object with cycles, band, centre, low and high"):
        check_cadence({"cycles": 5}, 2)


def test_the_detector_alerts_on_it_names_the_channel_and_a_snapshot_keeps_the_cycles() -> None:
    three = np.column_stack([strokes(1200), noise(1200), np.zeros(1200)])
    setting = calibrate_cadence([three])
    assert setting is not None and setting["centre"][1:] == [0.0, 0.0]
    detector = small_detector(cadence=setting)
    test = np.column_stack([strokes(2000, seed=10), noise(2000, seed=11), np.zeros(2000)])
    test[1200:1600, 0] = strokes(400, period=24.0, seed=12)  # a sixth slower
    starts = []
    for k, v in enumerate(test):
        if k == 1300:  # mid-alert, a snapshot and a fresh detector carry on from it
            fresh = small_detector(cadence=setting)
            restore(fresh, capture(detector))
            np.testing.assert_array_equal(fresh.bank.cadence.starts[0], detector.bank.cadence.starts[0])
            detector = fresh
        starts += [e for e in detector.process(v, float(k)).events if e.event == "alert_start"]
    assert len(starts) == 1 and 1200 <= starts[0].index < 1200 + CYCLES * 24
    assert starts[0].contributions == {"a": 1.0, "b": 0.0, "c": 0.0}
