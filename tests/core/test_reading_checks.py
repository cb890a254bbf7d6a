"""Checks on the raw readings that need no model: a reading that stops moving, or leaps, alerts on its
own, named, and clears when it moves again (or the leap's hold ends)."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from support import small_detector

from edge_lstm.core.detector import StreamDetector
from edge_lstm.core.jumps import JUMP_FACTOR, JUMP_HOLD, JumpWatch, jump_limits
from edge_lstm.core.stuck import MIN_STUCK, NEVER, STUCK_HOLD, StuckWatch, longest_runs, stuck_limits
from edge_lstm.errors import SettingsError


def make_detector(after: list[int] | None = None, jump: list[float] | None = None) -> StreamDetector:
    # the score never alerts here (the threshold is out of reach): only a stuck or leaping reading can
    stuck = None if after is None else {"after": after, "low": [-1e9] * 3, "high": [1e9] * 3}
    return small_detector(stuck=stuck, jump=jump)  # type: ignore[no-any-return]


def test_limits_come_from_the_longest_run_of_normal_data_and_only_lively_channels_are_watched() -> None:
    noisy = np.random.default_rng(0).normal(size=500)
    coarse = np.repeat(np.arange(100) % 5, 5).astype(float)  # runs of exactly 5
    sluggish = np.repeat(np.arange(25) % 2, 20).astype(float)  # runs of 20: rests by nature
    sluggish[:30] = 0.0  # one run of 30
    constant = np.full(500, 3.0)
    values = np.column_stack([noisy, coarse, sluggish, constant])
    assert longest_runs([values]).tolist() == [1, 5, 30, 500]
    assert stuck_limits([values[:250], values[250:]]) == [MIN_STUCK, 15, NEVER, NEVER]


def test_runs_resting_at_the_floor_or_ceiling_do_not_make_a_channel_sluggish() -> None:
    """An occupancy count rests at 0 every night, far longer than ``LIVELY_RUN``; by day it moves. The
    watch never counts a run at the floor, so training does not either: the channel is watched, and a
    count frozen at 2 alerts while the nightly zeros do not."""
    rng = np.random.default_rng(4)
    day = np.concatenate([np.zeros(40), rng.poisson(12.0, size=56) + 1.0])  # 96 samples: night, then day
    counts = np.tile(day, 6)[:, None]
    counts[100, 0] = 60.0  # the busiest reading: the ceiling
    counts[300:330, 0] = 60.0  # resting there is no sign of a fault either
    low, high = counts.min(axis=0), counts.max(axis=0)
    assert longest_runs([counts]).tolist() == [40]  # counted as before without the floor and ceiling
    away = int(longest_runs([counts], low, high)[0])
    assert away < 5
    limit = stuck_limits([counts], low, high)
    assert limit == [max(MIN_STUCK, 3 * away)] and stuck_limits([counts]) == [NEVER]
    watch = StuckWatch(limit, low=low.tolist(), high=high.tolist())
    assert not any(watch.push(row) for row in counts)  # the normal days, nights and ceiling included
    frozen = [watch.push([2.0]) for _ in range(limit[0] + 1)]
    assert frozen.index(True) == limit[0] - 1
    # A setpoint at 21.5 that flickers to 22.0 now and then, and a constant, rest at their floor or
    # ceiling in most rows: nothing lively to measure, so not watched (a new value there is the model's).
    setpoint = np.where(rng.random(500) < 0.05, 22.0, 21.5)
    resting = np.column_stack([setpoint, np.full(500, 3.0)])
    assert stuck_limits([resting], resting.min(axis=0), resting.max(axis=0)) == [NEVER, NEVER]


def test_a_frozen_channel_alerts_named_and_clears_when_it_moves() -> None:
    detector = make_detector([MIN_STUCK, MIN_STUCK, NEVER])
    rng = np.random.default_rng(1)
    rows = rng.normal(size=(80, 3))
    rows[30:60, 1] = rows[29, 1]  # b freezes for 31 samples
    rows[:, 2] = 5.0  # c never moves, and is never called stuck
    results = [detector.process(row, float(t)) for t, row in enumerate(rows)]
    events = [e for r in results for e in r.events]
    assert [e.event for e in events] == ["alert_start", "alert_clear"]
    # it clears once the reading has moved for STUCK_HOLD samples
    assert events[0].index == 29 + MIN_STUCK - 1 and events[1].index == 60 + STUCK_HOLD - 1
    assert events[0].contributions == {"a": 0.0, "b": 1.0, "c": 0.0}
    assert detector.counters.alerts == 1


def test_a_watched_channel_outside_the_model_alerts_named_and_may_be_missing() -> None:
    """A channel training left out of the model (``watched``) follows the features in a sample: its
    readings are watched for freezing and leaps, and a sample that lacks it still reaches the model."""
    plain = make_detector([MIN_STUCK] * 3, [50.0] * 3).settings
    settings = dataclasses.replace(
        plain,
        watched=("d",),
        stuck={"after": [MIN_STUCK] * 4, "low": [-1e9] * 4, "high": [1e9] * 4},
        jump=[50.0, 50.0, 50.0, 8.0],
    )
    detector = StreamDetector(settings, make_detector().model, stream="s1")
    rng = np.random.default_rng(3)
    rows = rng.normal(size=(120, 4))
    rows[30:60, 3] = rows[29, 3]  # d freezes
    rows[80, 3] += 20.0  # then leaps, and back
    rows[90:100, 3] = np.nan  # then goes missing: the model's samples still count
    results = [detector.process(row, float(t)) for t, row in enumerate(rows)]
    events = [e for r in results for e in r.events]
    assert [(e.event, e.index) for e in events] == [
        ("alert_start", 29 + MIN_STUCK - 1),
        ("alert_clear", 60 + STUCK_HOLD - 1),
        ("alert_start", 80),
        ("alert_clear", 80 + JUMP_HOLD + 1),
    ]
    assert events[0].contributions == events[2].contributions == {"a": 0.0, "b": 0.0, "c": 0.0, "d": 1.0}
    assert detector.counters.invalid == 0 and detector.counters.scored == 120 - settings.warmup
    # The model's readings alone decide whether a sample is valid.
    assert detector.process([np.nan, 0.0, 0.0, 0.0], 200.0).score is None
    assert detector.counters.invalid == 1
    with pytest.raises(SettingsError, match=r"watched channels \['a'\] must be distinct and not model features"):
        dataclasses.replace(settings, watched=("a",))
    with pytest.raises(SettingsError, match=r"stuck limits must be 4 counts"):
        dataclasses.replace(settings, stuck=plain.stuck)


def test_a_reading_frozen_beyond_the_training_range_is_stuck_and_one_at_its_floor_rests() -> None:
    watch = StuckWatch([MIN_STUCK], low=[1.0], high=[2.0])
    assert not any(watch.push([1.0]) for _ in range(3 * MIN_STUCK))  # resting at the floor
    assert [watch.push([0.9]) for _ in range(MIN_STUCK)][-2:] == [False, True]  # frozen below it


def test_stuck_and_jump_limits_are_validated() -> None:
    with pytest.raises(SettingsError, match=r"stuck limits must be 3 counts of 0 or more, got \[1, 2\]"):
        make_detector([1, 2])
    with pytest.raises(SettingsError, match=r"jump limits must be 3 steps of 0 or more, got \[1.0, -1.0, 0.0\]"):
        make_detector(jump=[1.0, -1.0, 0.0])


def test_jump_limits_are_twice_the_largest_normal_step_and_never_for_a_still_channel() -> None:
    values = np.column_stack([[0.0, 1.0, 0.5, 0.7], [2.0, 2.0, 2.0, 2.0]])
    assert jump_limits([values[:2], values[2:]]) == [JUMP_FACTOR * 1.0, 0.0]  # steps within each segment


def test_a_leap_alerts_named_for_its_hold_and_a_step_across_a_gap_does_not() -> None:
    detector = make_detector(jump=[0.5, 0.5, 0.0])
    rng = np.random.default_rng(2)
    rows = 0.01 * rng.normal(size=(60, 3))
    rows[30, 0] += 5.0  # a one-sample spike on a
    times = [float(t) for t in range(60)]
    results = [detector.process(row, times[t]) for t, row in enumerate(rows)]
    events = [e for r in results for e in r.events]
    assert [(e.event, e.index) for e in events] == [("alert_start", 30), ("alert_clear", 30 + JUMP_HOLD + 1)]
    assert events[0].contributions == {"a": 1.0, "b": 0.0, "c": 0.0}
    # A stream that resumes at another level after a gap has not leapt.
    gapped = dataclasses.replace(detector.settings, sample_period_s=1.0)
    resumed = StreamDetector(gapped, detector.model, stream="s2")
    rows[40:, 1] += 5.0
    times = [t + (1000.0 if t >= 40 else 0.0) for t in range(60)]
    assert not any(resumed.process(row, times[t]).events for t, row in enumerate(rows) if t != 30)


@settings(max_examples=300, deadline=None)
@given(
    st.lists(
        st.lists(st.sampled_from([0.0, 1.0, 1.5, 4.0, -3.0, 2, 5.0, -4.0]), min_size=3, max_size=3),
        min_size=1,
        max_size=40,
    ),
    st.lists(st.sampled_from([0, 1, 2, 10]), min_size=3, max_size=3),
    st.lists(st.sampled_from([0.0, 0.4, 2.0, 6.0]), min_size=3, max_size=3),
)
def test_the_watches_decide_as_the_rules_say(rows: list[list[float]], after: list[int], steps: list[float]) -> None:
    """What the array forms decide must be the plain rules': a run of equal readings other than low or
    high (held for STUCK_HOLD samples after it ends), a step beyond the limit (held for JUMP_HOLD)."""
    stuck, jumps = StuckWatch(after, [-3.0] * 3, [4.0] * 3), JumpWatch(steps)
    runs, held, stuck_held, last = [0, 0, 0], [0, 0, 0], [0, 0, 0], None
    for row in rows:
        if last is None:
            runs = [1, 1, 1]
            held = [max(h - 1, 0) for h in held]
        else:
            runs = [r + 1 if x == p and x not in (-3.0, 4.0) else 1 for x, p, r in zip(row, last, runs, strict=True)]
            held = [
                JUMP_HOLD if 0 < s < abs(x - p) else max(h - 1, 0)
                for x, p, s, h in zip(row, last, steps, held, strict=True)
            ]
        last = row
        stuck_now = [r >= (a if a > 0 else 10**9) for r, a in zip(runs, after, strict=True)]
        stuck_held = [STUCK_HOLD if now else max(h - 1, 0) for now, h in zip(stuck_now, stuck_held, strict=True)]
        expected_stuck = [h > 0 for h in stuck_held]
        assert stuck.push(row) == any(expected_stuck) and stuck.marked == expected_stuck
        assert jumps.push(row) == any(h > 0 for h in held) and jumps.marked == [h > 0 for h in held]
