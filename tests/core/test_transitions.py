"""A normal switch between two states (a pump starting) does not page anyone: which channels have two
states, what counts as a switch, and which alerts are held back."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from support import small_detector

from edge_lstm.core.detector import StreamDetector
from edge_lstm.core.transitions import NEVER, RELEASE, ZONE, TransitionGuard, samples_since_switch, two_states
from edge_lstm.errors import SettingsError


def duty_cycle(n: int, seed: int = 0) -> np.ndarray:
    """A motor current: off near 0, on near 8, in runs of 40 to 80 samples."""
    rng = np.random.default_rng(seed)
    runs = np.repeat(np.arange(n // 40 + 1) % 2, rng.integers(40, 80, n // 40 + 1))[:n]
    return runs * 8.0 + 0.2 * rng.normal(size=n)


def test_only_a_channel_in_two_groups_has_two_states() -> None:
    rng = np.random.default_rng(1)
    n = 4000
    values = np.column_stack([duty_cycle(n), rng.normal(size=n), np.sin(np.arange(n) / 9.0), np.full(n, 3.0)])
    states = two_states(values)
    assert [s.channel for s in states] == [0]  # not noise, not a sine (Otsu explains 81 % of it), not a constant
    assert 0.5 < states[0].low < 4.0 < states[0].high < 7.5  # about the middle, a quarter of the gap each side
    rare = np.zeros(n)
    rare[:100] = 8.0  # on for 2.5 % of the time: not a state of its own
    assert two_states(rare[:, None]) == []


def test_a_switch_needs_the_reading_to_pass_the_far_level_and_the_zone_follows_it() -> None:
    (state,) = two_states(duty_cycle(2000)[:, None])
    mid = (state.low + state.high) / 2
    # Noise about the split is not a switch; off -> on is, and so is on -> off.
    readings = np.array([0.0, mid + 0.1, mid - 0.1, mid + 0.1, 0.0, 8.0, 8.0, 8.0, 8.0, 8.0, 0.0])
    since = samples_since_switch(readings[:, None], [state])
    assert since[:5].tolist() == [NEVER] * 5 and since[5:].tolist() == [0, 1, 2, 3, 4, 0]
    assert np.flatnonzero(since < ZONE).tolist() == [5, 6, 7, 8, 10]
    assert ZONE == 4


def test_the_threshold_of_settled_running_holds_from_its_sample_past_a_switch_on() -> None:
    guard = TransitionGuard([0], low=[-0.5], high=[0.5], bound=0.0, capacity=2, settled=(3, 0.1))
    plain = TransitionGuard([0], low=[-0.5], high=[0.5], bound=0.0, capacity=2)
    rows = slice(0, 2)
    seen = []
    for off, on in ((-1.0, -1.0), (-1.0, 1.0), (-1.0, 1.0), (-1.0, 1.0), (-1.0, 1.0), (1.0, 1.0)):
        guard.push_rows(rows, np.array([[off], [on]]))
        plain.push_rows(rows, np.array([[off], [on]]))
        seen.append(np.asarray(guard.threshold(rows, 2.0)).tolist())
        assert plain.threshold(rows, 2.0) == 2.0
    # the first stream never switched until the last sample: the full threshold; the second switched at
    # its second sample and runs settled from its third sample past it
    assert seen == [[2.0, 2.0], [2.0, 2.0], [2.0, 2.0], [2.0, 2.0], [2.0, 0.1], [2.0, 0.1]]


def test_a_fault_between_switches_alerts_against_the_settled_threshold() -> None:
    """A fault in settled running that scores over the settled threshold but under the full one alerts
    only where the settled threshold is calibrated; its alert names the threshold it crossed."""
    guard = {"channels": ["a"], "low": [2.0], "high": [6.0], "zone": ZONE, "bound": 0.0}
    rng = np.random.default_rng(4)
    rows = 0.1 * rng.normal(size=(400, 3))
    rows[100:, 0] += 8.0  # a switches on at 100
    rows[300:, 1] += 4.0  # and later, in settled running, b is off by 4
    plain = make_detector(None)
    scores = np.array([plain.process(row, float(t)).score or 0.0 for t, row in enumerate(rows)])
    threshold = 1.5 * float(scores.max())  # the full threshold: above everything
    calm = (float(scores[100:300].max()) + float(scores[300:].max())) / 2  # above all running but the fault
    found = {}
    for name, settled in (("one threshold", None), ("settled", {"after": 20, "threshold": calm})):
        t = {**guard, **({"settled": settled} if settled else {})}
        settings = dataclasses.replace(plain.settings, threshold=threshold, transitions=t)
        detector = StreamDetector(settings, plain.model, stream=name)
        found[name] = [e for t, row in enumerate(rows) for e in detector.process(row, float(t)).events]
        assert detector.threshold == (threshold if settled is None else calm)  # in force at the end
    assert found["one threshold"] == []
    starts = [e for e in found["settled"] if e.event == "alert_start"]
    assert len(starts) == 1 and starts[0].index >= 300 and starts[0].threshold == calm


@settings(max_examples=200, deadline=None)
@given(
    st.lists(st.tuples(st.booleans(), st.floats(0.0, 6.0), st.sampled_from([-1.0, 0.0, 1.0])), max_size=60),
)
def test_an_alert_is_held_back_while_it_lasts_only_when_it_starts_as_a_normal_transient(
    steps: list[tuple[bool, float, float]],
) -> None:
    """The array form against the plain rule: an alert that starts within the zone of a switch with a
    score at most the bound is held back until the rule clears or a score passes RELEASE times the
    bound; any other passes."""
    guard = TransitionGuard([0], low=[-0.5], high=[0.5], bound=2.0)
    side, since, fired, held = None, 10**9, False, False
    for on, score, reading in steps:
        guard.push_rows(slice(0, 1), np.array([[reading]]))
        now = 1 if reading > 0.5 else 0 if reading < -0.5 else side
        since = 0 if side is not None and now != side else since + 1
        side = now
        held = (since < ZONE and score <= 2.0) if on and not fired else held and on and score <= RELEASE * 2.0
        fired = on
        assert guard.hold(slice(0, 1), np.array([on]), np.array([score])).tolist() == [on and not held]


def make_detector(transitions: dict[str, object] | None) -> StreamDetector:
    return small_detector(transitions=transitions)  # type: ignore[no-any-return]


def test_the_detector_holds_back_a_normal_switch_and_still_alerts_on_more() -> None:
    guard = {"channels": ["a"], "low": [2.0], "high": [6.0], "zone": ZONE, "bound": 0.0}
    rng = np.random.default_rng(4)
    rows = 0.1 * rng.normal(size=(200, 3))
    rows[100:, 0] += 8.0  # a switches on at 100
    plain = make_detector(None)
    scores = [plain.process(row, float(t)).score for t, row in enumerate(rows)]
    after_switch = max(s for s in scores[100 : 100 + ZONE] if s is not None)
    threshold = 0.5 * after_switch  # the switch alone would alert
    results = {}
    for name, bound in (("normal", 2 * after_switch), ("worse than normal", 0.5 * after_switch)):
        settings = dataclasses.replace(plain.settings, threshold=threshold, transitions={**guard, "bound": bound})
        detector = StreamDetector(settings, plain.model, stream=name)
        results[name] = [e for t, row in enumerate(rows) for e in detector.process(row, float(t)).events]
    assert not any(e.event == "alert_start" and 100 <= e.index < 100 + ZONE for e in results["normal"])
    assert any(e.event == "alert_start" and 100 <= e.index < 100 + ZONE for e in results["worse than normal"])


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"channels": ["z"]}, r"transitions.channels must name features, got \['z'\]"),
        ({"low": [1.0, 2.0]}, r"transitions.low must be 1 numbers, got \[1.0, 2.0\]"),
        ({"low": [7.0]}, r"transitions.low must lie below transitions.high, got \[7.0\] and \[6.0\]"),
        ({"zone": 0}, r"transitions.zone must be a positive number of samples, got 0"),
        ({"bound": float("nan")}, r"transitions.bound must be a score of 0 or more, got nan"),
        ({"settled": 0.1}, r"transitions.settled must hold 'after' and 'threshold', got 0.1"),
        (
            {"settled": {"after": 2, "threshold": 0.1}},
            r"transitions.settled.after must be a number of samples of at least the zone \(4\), got 2",
        ),
        ({"settled": {"after": 20, "threshold": 0}}, r"transitions.settled.threshold must be a positive score, got 0"),
    ],
)
def test_transition_settings_are_validated(change: dict[str, object], message: str) -> None:
    guard = {"channels": ["a"], "low": [2.0], "high": [6.0], "zone": ZONE, "bound": 1.0}
    with pytest.raises(SettingsError, match=message):
        make_detector({**guard, **change})
