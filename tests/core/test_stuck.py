"""A reading that stops moving alerts on its own, named, and clears when the reading moves again."""

from __future__ import annotations

import numpy as np
import pytest
from support import random_reference_weights

from edge_lstm.core.detector import DetectorSettings, StreamDetector
from edge_lstm.core.scaling import StandardScaler
from edge_lstm.core.stuck import MIN_STUCK, NEVER, longest_runs, stuck_limits
from edge_lstm.errors import SettingsError
from edge_lstm.runtime.reference import NumpyStepModel


def make_detector(after: list[int]) -> StreamDetector:
    settings = DetectorSettings(
        features=["a", "b", "c"],
        window=4,
        scaler=StandardScaler(np.zeros(3, np.float32), np.ones(3, np.float32)),
        threshold=1e9,  # the score never alerts here: only a stuck reading can
        warmup=6,
        stuck={"after": after, "low": [-1e9] * 3, "high": [1e9] * 3},
    )
    return StreamDetector(settings, NumpyStepModel(random_reference_weights(), cell="lstm", window=4), stream="s1")


def test_limits_come_from_the_longest_run_of_normal_data_and_only_lively_channels_are_watched() -> None:
    noisy = np.random.default_rng(0).normal(size=500)
    coarse = np.repeat(np.arange(100) % 5, 5).astype(float)  # runs of exactly 5
    sluggish = np.repeat(np.arange(25) % 2, 20).astype(float)  # runs of 20: rests by nature
    sluggish[:30] = 0.0  # one run of 30
    constant = np.full(500, 3.0)
    values = np.column_stack([noisy, coarse, sluggish, constant])
    assert longest_runs([values]).tolist() == [1, 5, 30, 500]
    assert stuck_limits([values[:250], values[250:]]) == [MIN_STUCK, 15, NEVER, NEVER]


def test_a_frozen_channel_alerts_named_and_clears_when_it_moves() -> None:
    detector = make_detector([MIN_STUCK, MIN_STUCK, NEVER])
    rng = np.random.default_rng(1)
    rows = rng.normal(size=(80, 3))
    rows[30:60, 1] = rows[29, 1]  # b freezes for 31 samples
    rows[:, 2] = 5.0  # c never moves, and is never called stuck
    results = [detector.process(row, float(t)) for t, row in enumerate(rows)]
    events = [e for r in results for e in r.events]
    assert [e.event for e in events] == ["alert_start", "alert_clear"]
    assert events[0].index == 29 + MIN_STUCK - 1 and events[1].index == 60
    assert events[0].contributions == {"a": 0.0, "b": 1.0, "c": 0.0}
    assert detector.counters.alerts == 1


def test_stuck_limits_are_validated() -> None:
    with pytest.raises(SettingsError, match=r"stuck limits must be 3 counts of 0 or more, got \[1, 2\]"):
        make_detector([1, 2])
