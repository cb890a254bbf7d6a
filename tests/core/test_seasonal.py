"""A reading far from where it stood at the same time a week or a day ago alerts on its own: which lag
the data supports, what the bound is, and what marks a stream (and what does not: a rise a few
minutes late, a sample without a time, the days it takes a lasting change to become the reference)."""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import pytest
from support import small_detector

from edge_lstm.core.seasonal import (
    AFTER,
    DAY_S,
    MARGIN,
    SPAN,
    WARM_SPANS,
    WEEK_S,
    SeasonalWatch,
    calibrate_seasonal,
    check_seasonal,
    seasonal_lag,
)
from edge_lstm.core.snapshot import capture, restore
from edge_lstm.errors import SettingsError

HOUR = 3600.0
PERIOD = 600.0  # a reading every 10 minutes: 144 a day


def daily(days: float, peak: float = 1.0, seed: int = 0, late_s: float = 0.0) -> tuple[np.ndarray, np.ndarray]:
    """Standardized readings (rows, 2) every 10 minutes: channel a peaks at noon (``peak`` high, its
    rise ``late_s`` later than usual), channel b is noise; and their times."""
    rng = np.random.default_rng(seed)
    times = np.arange(0.0, days * DAY_S, PERIOD)
    hour = ((times - late_s) % DAY_S) / HOUR
    a = peak * np.exp(-(((hour - 12.0) / 2.0) ** 2)) + 0.02 * rng.standard_normal(len(times))
    b = 0.05 * rng.standard_normal(len(times))
    return np.column_stack([a, b]), times


def run(watch: SeasonalWatch, values: np.ndarray, times: np.ndarray) -> np.ndarray:
    return np.array(
        [watch.push_rows(slice(0, 1), v[None, :], np.array([t]))[0] for v, t in zip(values, times, strict=True)]
    )


def trained(days: float = 2.0) -> dict[str, Any]:
    values, times = daily(days)
    setting = calibrate_seasonal([(values, times)], DAY_S, PERIOD)
    assert setting is not None
    return setting


def test_the_lag_is_a_week_or_a_day_that_the_normal_data_covers_and_can_resolve() -> None:
    warm = WARM_SPANS * SPAN
    assert seasonal_lag(3 * WEEK_S, HOUR) == WEEK_S
    assert seasonal_lag(1.75 * WEEK_S + warm * HOUR, HOUR) == WEEK_S
    assert seasonal_lag(1.75 * WEEK_S, HOUR) == DAY_S  # not the warm-up too: a day, which it spans many times
    assert seasonal_lag(1.75 * DAY_S + warm * PERIOD, PERIOD) == DAY_S
    assert seasonal_lag(1.7 * DAY_S, PERIOD) is None
    assert seasonal_lag(30 * DAY_S, 2 * HOUR) == WEEK_S  # 84 readings a week; a day of 12 is too coarse
    assert seasonal_lag(10 * DAY_S, 2 * HOUR) is None
    assert seasonal_lag(30 * DAY_S, None) is None


def test_the_bound_is_a_margin_over_the_largest_difference_of_normal_data() -> None:
    values, times = daily(2.0)
    setting = calibrate_seasonal([(values, times)], DAY_S, PERIOD)
    assert setting is not None
    assert (setting["lag_s"], setting["bins"], setting["span"], setting["after"]) == (DAY_S, 144, SPAN, AFTER)
    # Compared: the second day from where the first day's smoothing had warmed up (give or take the slots
    # a moment may shift by).
    assert 144 - WARM_SPANS * SPAN <= setting["compared"] <= 144 - WARM_SPANS * SPAN + 2
    watch = SeasonalWatch(setting)
    largest = np.zeros(2)
    for v, t in zip(values, times, strict=True):
        d = watch.difference(slice(0, 1), v[None, :], np.array([t]))[0]
        if np.isfinite(d).all():
            largest = np.maximum(largest, d)
    assert setting["bound"] == pytest.approx((MARGIN * largest).tolist())
    json.dumps(setting, allow_nan=False)  # it goes into the manifest as it is
    assert calibrate_seasonal([(values[:100], times[:100])], DAY_S, PERIOD) is None  # nothing a day earlier


def test_a_peak_that_no_longer_comes_marks_the_stream_and_a_normal_day_does_not() -> None:
    setting = trained()
    values, times = daily(6.0, seed=1)
    values[4 * 144 :, 0] *= 0.5  # from the fifth day on, the noon peak is half as high
    watch = SeasonalWatch(setting)
    marks = run(watch, values, times)
    assert not marks[: 4 * 144].any()  # days two to four: like the day before
    fifth = marks[4 * 144 : 5 * 144]
    assert fifth.any()
    first = int(np.argmax(fifth))
    assert 9 * 6 <= first <= 12 * 6  # on the way up to noon, where the half peak parts from yesterday's
    assert not marks[5 * 144 :].any()  # the sixth day is like the fifth: a lasting change stops differing
    flags = SeasonalWatch(setting)
    run(flags, values[: 4 * 144 + first + 1], times[: 4 * 144 + first + 1])
    assert flags.flagged(slice(0, 1)).tolist() == [[True, False]]  # channel a, not the noise


def test_a_rise_a_few_minutes_late_is_not_a_difference() -> None:
    setting = trained()
    values, times = daily(4.0, seed=2)
    late, _ = daily(4.0, seed=2, late_s=10 * 60.0)  # every day's peak comes ten minutes later than usual
    values[2 * 144 : 3 * 144] = late[2 * 144 : 3 * 144]
    assert not run(SeasonalWatch(setting), values, times).any()


def test_a_sample_without_a_time_changes_nothing_and_a_gap_restarts_the_smoothing() -> None:
    setting = trained()
    values, times = daily(3.0, seed=3)
    watch = SeasonalWatch(setting)
    run(watch, values[:200], times[:200])
    before = {name: getattr(watch, name).copy() for name in watch.names}
    assert not watch.push_rows(slice(0, 1), values[200:201] + 5.0, np.array([np.nan]))[0]
    for name in watch.names:
        np.testing.assert_array_equal(getattr(watch, name), before[name])
    watch.forget(slice(0, 1))
    assert watch.warm[0] == 0 and watch.run[0] == 0
    assert np.isfinite(watch.stamp[0]).sum() == np.isfinite(before["stamp"][0]).sum()  # the ring is kept


def test_a_wave_of_streams_is_judged_each_on_its_own_ring() -> None:
    setting = trained()
    values, times = daily(4.0, seed=4)
    shifted = values.copy()
    shifted[3 * 144 :, 0] += 1.0
    watch = SeasonalWatch(setting, capacity=2)
    both = np.array([0, 1])
    marks = np.array(
        [
            watch.push_rows(both, np.stack([a, b]), np.array([t, t]))
            for a, b, t in zip(values, shifted, times, strict=True)
        ]
    )
    assert not marks[:, 0].any() and marks[3 * 144 :, 1].any() and not marks[: 3 * 144, 1].any()
    alone = SeasonalWatch(setting)  # one stream takes a shorter path to the same marks and state
    np.testing.assert_array_equal(run(alone, shifted, times), marks[:, 1])
    for name in watch.names:
        np.testing.assert_array_equal(getattr(alone, name)[0], getattr(watch, name)[1])


def test_settings_are_checked_with_exact_messages() -> None:
    good = {"lag_s": DAY_S, "bins": 144, "span": 16, "after": 4, "bound": [0.5, 0.0]}
    check_seasonal(good, 2)
    cases = {
        "seasonal.bound must be 2 numbers of 0 or more (0: not judged), got [0.5]": {"bound": [0.5]},
        "seasonal.lag_s must be a positive number of seconds, got 0": {"lag_s": 0},
        "seasonal.bins must be a positive whole number, got 1.5": {"bins": 1.5},
        "seasonal.after must be a positive whole number, got True": {"after": True},
    }
    for message, change in cases.items():
        with pytest.raises(SettingsError) as caught:
            check_seasonal({**good, **change}, 2)
        assert str(caught.value) == message
    with pytest.raises(SettingsError, match="seasonal must be an object"):
        check_seasonal([1], 2)


def test_the_detector_alerts_on_it_names_the_channel_and_a_snapshot_keeps_the_ring() -> None:
    values, times = daily(2.0)
    three = np.column_stack([values, np.zeros(len(values))])
    setting = calibrate_seasonal([(three, times)], DAY_S, PERIOD)
    assert setting is not None and setting["bound"][2] == 0.0  # channel c never moved: not judged
    detector = small_detector(seasonal=setting)
    test, test_times = daily(4.0, seed=5)
    test = np.column_stack([test, np.zeros(len(test))])
    test[3 * 144 :, 0] *= 0.3
    starts = []
    for k, (v, t) in enumerate(zip(test, test_times, strict=True)):
        if k == 3 * 144 + 30:  # mid-stream, a snapshot and a fresh detector carry on from it
            fresh = small_detector(seasonal=setting)
            restore(fresh, capture(detector))
            np.testing.assert_array_equal(fresh.bank.seasonal.ring[0], detector.bank.seasonal.ring[0])
            detector = fresh
        starts += [e for e in detector.process(v, t).events if e.event == "alert_start"]
    assert [e.index // 144 for e in starts] == [3]
    assert starts[0].contributions == {"a": 1.0, "b": 0.0, "c": 0.0}


def test_a_stream_that_keeps_differing_raises_its_own_bound_for_a_while() -> None:
    from edge_lstm.core.seasonal import BUDGET_STARTS, BUDGET_STEP, BUDGET_WINDOW

    watch = SeasonalWatch({"lag_s": 4.0, "bins": 4, "span": 1, "after": 1, "bound": [1.0]})
    values = np.zeros(130 + BUDGET_WINDOW)
    blips = [10, 30, 50, 70, 90]  # each differs by 1.1 from the moment before it (and 1 % of a lag's leeway
    values[blips] = 1.1  # keeps the moment after from differing from it)
    values[110] = 5.0
    values[120 + BUDGET_WINDOW] = 1.1  # once the starts have aged out
    marks = run(watch, values[:, None], np.arange(len(values), dtype=float))
    starts = [int(t) for t in np.flatnonzero(marks)]
    assert BUDGET_STARTS == 3 and BUDGET_STEP == 0.25
    # Three starts, and a fourth at the bound; the fifth would need 1.25 times it; a larger one still marks.
    assert starts == [10, 30, 50, 70, 110, 120 + BUDGET_WINDOW]
