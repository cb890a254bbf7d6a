"""A machine that short-cycles alerts on its own: what a run is, which runs are short, and when the
channel is marked (two short runs in a row, for as long as the cycling goes on)."""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pytest
from support import small_detector

from edge_lstm.core.cycling import MIN_RUNS, SHORT_FACTOR, SHORT_RUNS, CycleWatch, completed_runs, short_limits
from edge_lstm.core.detector import StreamDetector
from edge_lstm.core.snapshot import capture, restore
from edge_lstm.core.transitions import ZONE, TwoStates
from edge_lstm.errors import SettingsError

STATE = TwoStates(0, low=-0.5, high=0.5)


def cycling(*runs: int, start_on: bool = False) -> np.ndarray:
    """Readings (rows, 1) that alternate off (-1) and on (+1) in runs of these lengths."""
    sides = [(k % 2 == 0) == start_on for k in range(len(runs))]
    return np.concatenate([np.full(n, 1.0 if on else -1.0) for n, on in zip(runs, sides, strict=True)])[:, None]


def marks(watch: CycleWatch, readings: np.ndarray) -> list[bool]:
    return [watch.push(row.tolist()) for row in readings]


def test_a_run_is_counted_from_switch_to_switch_and_the_first_one_is_not_known() -> None:
    off, on = completed_runs(cycling(7, 5, 9, 4, 6), STATE)
    assert (off, on) == ([9], [5, 4])  # the first off run began before the data did; the last has not ended
    noisy = np.array([-1.0, 0.4, -1.0, 0.0, 1.0, 1.0, 0.2, 1.0, -1.0])[:, None]  # between the levels: no switch
    assert completed_runs(noisy, STATE) == ([], [4])


def test_limits_are_a_share_of_the_shortest_normal_run_and_need_enough_runs() -> None:
    many = cycling(*([20, 30] * MIN_RUNS), 20, 30)  # enough off runs of 20 and on runs of 30
    assert short_limits([many], [STATE]) == [[int(SHORT_FACTOR * 20), int(SHORT_FACTOR * 30)]]
    few = cycling(30, 20, 30, 20, 30, 20, 30, start_on=True)  # 3 off runs and 2 on runs end in each
    assert MIN_RUNS == 5
    assert short_limits([few, few], [STATE]) == [[int(SHORT_FACTOR * 20), 0]]
    assert short_limits([few], [STATE]) == [[0, 0]]


def test_short_cycling_marks_the_channel_once_and_for_as_long_as_it_lasts() -> None:
    watch = CycleWatch([0], [-0.5], [0.5], [[16, 24]], width=2)
    assert not any(marks(watch, cycling(20, 30, 20, 30, 20, 30)))
    flags = marks(watch, cycling(10, 8, 10, 8, 10, 8, 10, 8))  # off 10, on 8, ...
    first = flags.index(True)
    assert first == 10 + 8  # the second short run in a row ends here
    assert all(flags[first:])  # one alert while it keeps cycling
    assert watch.flagged(slice(0, 1)).tolist() == [[True, False]]
    after = marks(watch, cycling(30, 20, 30, 20, 30))  # normal again: the mark runs out
    assert after[0] and not any(after[2 * 24 :])
    assert SHORT_RUNS == 2


def test_one_short_run_is_a_trip_not_cycling_and_a_gap_breaks_the_count() -> None:
    watches = [CycleWatch([0], [-0.5], [0.5], [[16, 24]], width=1) for _ in range(2)]
    for watch in watches:  # a trip (one short on run), then off for 5 samples before the stream goes quiet
        assert not any(marks(watch, cycling(20, 30, 20, 5, 20, 30, 20, 30, 5)))
    gap, no_gap = watches
    gap.forget(slice(0, 1))  # the off run in progress went on for an unknown time
    after = cycling(3, 30, start_on=True)  # on for 3 samples, then off for 30
    assert not any(marks(gap, after))
    assert any(marks(no_gap, after))  # without the gap: off 5 and on 3, short twice


def test_a_state_that_is_not_watched_neither_counts_nor_breaks_the_streak() -> None:
    watch = CycleWatch([0], [-0.5], [0.5], [[16, 0]], width=1)  # on runs: too few to know
    flags = marks(watch, cycling(20, 30, 20, 40, 10, 40, 10, 40))
    assert not any(flags[: 20 + 30 + 20 + 40 + 10]) and flags[-40]  # off 10, (on 40), off 10: two in a row


def test_the_detector_alerts_on_short_cycling_naming_the_channel() -> None:
    guard = {"channels": ["a"], "low": [-0.5], "high": [0.5], "zone": ZONE, "bound": 1e9}
    normal, short = cycling(*([20, 30] * 6)), cycling(*([6, 8] * 8))
    readings = np.vstack([normal, short, normal])
    rows = np.column_stack([readings[:, 0], np.zeros(len(readings)), np.zeros(len(readings))])
    plain = small_detector()
    settings = dataclasses.replace(plain.settings, transitions={**guard, "shortest": [[16, 24]]})
    detector = StreamDetector(settings, plain.model, stream="pump")
    events = [e for t, row in enumerate(rows) for e in detector.process(row, float(t)).events]
    assert [e.event for e in events] == ["alert_start", "alert_clear"]
    start, clear = events
    assert len(normal) < start.index < len(normal) + len(short) < clear.index
    assert start.contributions == {"a": 1.0, "b": 0.0, "c": 0.0}
    unwatched = StreamDetector(dataclasses.replace(plain.settings, transitions=guard), plain.model, stream="old")
    assert not any(unwatched.process(row, float(t)).events for t, row in enumerate(rows))  # older bundles


def test_a_restored_detector_carries_its_runs_and_streaks_over() -> None:
    guard = {"channels": ["a"], "low": [-0.5], "high": [0.5], "zone": ZONE, "bound": 1e9, "shortest": [[16, 24]]}
    readings = np.vstack([cycling(*([20, 30] * 4)), cycling(*([6, 8] * 4))])
    rows = np.column_stack([readings[:, 0], np.zeros(len(readings)), np.zeros(len(readings))])
    settings = dataclasses.replace(small_detector().settings, transitions=guard)
    model = small_detector().model
    uninterrupted, first = StreamDetector(settings, model, "s"), StreamDetector(settings, model, "s")
    cut = 200 + 6 + 3  # inside the second short run: one short run counted, the next under way
    for t in range(cut):
        uninterrupted.process(rows[t], float(t))
        first.process(rows[t], float(t))
    resumed = StreamDetector(settings, model, "s")
    restore(resumed, json.loads(json.dumps(capture(first))))
    later = [
        (uninterrupted.process(rows[t], float(t)).events, resumed.process(rows[t], float(t)).events)
        for t in range(cut, len(rows))
    ]
    assert all(a == b for a, b in later) and [e.index for a, _ in later for e in a] == [200 + 6 + 8]


@pytest.mark.parametrize("shortest", [[[16]], [[16, -1]], [[16, 2.5]], [[16, True]], [[1, 2], [3, 4]], "16"])
def test_short_cycling_settings_are_validated(shortest: object) -> None:
    guard = {"channels": ["a"], "low": [-0.5], "high": [0.5], "zone": ZONE, "bound": 1.0, "shortest": shortest}
    message = r"transitions.shortest must be 1 pairs of run lengths of 0 or more, got "
    with pytest.raises(SettingsError, match=message):
        small_detector(transitions=guard)
