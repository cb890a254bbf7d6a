"""The bound on the score's recent level against its longer-run level (core/sustained.py): its
calibration, the device's averages, and a detector with a fixed threshold that alerts on a long,
moderately raised stretch of scores."""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from support import small_detector

from edge_lstm.core.detector import StreamDetector
from edge_lstm.core.sustained import CEILING, FLOOR, SustainedLevel, calibrate_level
from edge_lstm.errors import SettingsError


def _levels(scores: list[float], median: float, span: int) -> list[float]:
    level, out = 0.0, []
    for s in scores:
        level += (math.log(min(max(s / median, FLOOR), CEILING)) - level) / span
        out.append(level)
    return out


def test_the_bound_is_four_times_the_largest_difference_held_out_scores_reached() -> None:
    rng = np.random.default_rng(0)
    scores = np.exp(rng.normal(size=64))
    scores[50] = 0.0  # a perfect score counts as the floor
    level = calibrate_level(scores, fast=8, slow=64)
    median = float(np.median(scores))
    assert level is not None and (level["fast"], level["slow"], level["median"]) == (8, 64, pytest.approx(median))
    fast, slow = _levels(scores.tolist(), median, 8), _levels(scores.tolist(), median, 64)
    assert level["bound"] == pytest.approx(max(f - s for f, s in zip(fast[8:], slow[8:], strict=True)) + math.log(4))
    assert calibrate_level(scores[:-1], fast=8, slow=64) is None  # fewer than one slow span: no bound
    assert calibrate_level(np.append(scores[:-1], np.nan), fast=8, slow=64) is None  # a NaN is not a score


@settings(max_examples=50, deadline=None)
@given(st.lists(st.floats(0.0, 1e30), min_size=1, max_size=60), st.integers(1, 5), st.floats(-1.0, 3.0))
def test_the_device_lifts_a_score_exactly_by_how_far_the_recent_level_is_above_the_bound(
    scores: list[float], fast: int, bound: float
) -> None:
    setting = {"fast": fast, "slow": 10, "median": 2.0, "bound": bound}
    watch, wave = SustainedLevel(setting), SustainedLevel(setting, capacity=3)  # one stream; a wave of two
    recent, longer = _levels(scores, 2.0, fast), _levels(scores, 2.0, 10)
    for score, f, s in zip(scores, recent, longer, strict=True):
        lifted = float(watch.lift(slice(0, 1), np.array([score]), 5.0)[0])
        assert lifted == pytest.approx(max(score, 5.0 * math.exp(f - s - bound)))
        both = wave.lift(np.array([2, 0]), np.array([score, score]), 5.0)
        assert both.tolist() == pytest.approx([lifted, lifted])


def test_a_fixed_threshold_misses_a_long_raised_stretch_and_the_level_catches_it() -> None:
    rng = np.random.default_rng(2)
    rows = 0.1 * rng.normal(size=(1500, 3))
    rows[900:1200] *= 4.0  # the sensors get noisier for 300 samples, and recover
    plain = small_detector()
    scores = np.array([plain.process(row, float(t)).score or np.nan for t, row in enumerate(rows)])
    threshold = 1.5 * float(np.nanmax(scores[900:1200]))  # no single score of the stretch reaches it
    level = calibrate_level(scores[20:900], fast=16, slow=256)
    assert level is not None
    runs = {}
    for name, setting in (("plain", None), ("sustained", level)):
        settings = dataclasses.replace(plain.settings, threshold=threshold, sustained=setting)
        detector = StreamDetector(settings, plain.model, stream=name)
        runs[name] = [e for t, row in enumerate(rows) for e in detector.process(row, float(t)).events]
    assert runs["plain"] == []
    assert [(e.event, 900 < e.index < 1000) for e in runs["sustained"][:1]] == [("alert_start", True)]
    assert runs["sustained"][-1].event == "alert_clear" and runs["sustained"][-1].index < 1300
    assert all(900 < e.index < 1300 for e in runs["sustained"])  # none in normal running


def test_the_level_is_left_to_the_adaptive_rule_which_follows_each_stream_already() -> None:
    rule = {"fire_z": 2.5, "clear_z": 1.0, "history": 100, "short": 3, "max_alert": 200}
    setting = {"fast": 8, "slow": 64, "median": 1.0, "bound": 0.0}
    detector = small_detector(adaptive=rule, calibration=np.ones(200), sustained=setting)
    assert detector.bank.sustained is None and small_detector(sustained=setting).bank.sustained is not None


@pytest.mark.parametrize(
    ("setting", "message"),
    [
        ([1, 2], r"sustained must be an object with fast, slow, median and bound, got \[1, 2\]"),
        (
            {"fast": 64, "slow": 64, "median": 1.0, "bound": 1.0},
            r"sustained.fast and .slow must be spans with fast < slow, got 64 and 64",
        ),
        ({"fast": 8, "slow": 64, "median": 0.0, "bound": 1.0}, r"sustained.median must be a positive score, got 0.0"),
        (
            {"fast": 8, "slow": 64, "median": 1.0, "bound": None},
            r"sustained.bound must be a number \(log units\), got None",
        ),
    ],
)
def test_sustained_settings_are_validated(setting: object, message: str) -> None:
    with pytest.raises(SettingsError, match=message):
        small_detector(sustained=setting)
