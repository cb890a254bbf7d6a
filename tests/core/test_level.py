"""The tracked level of a drifting channel: one recurrence for training and serving, and what it keeps."""

from __future__ import annotations

import numpy as np
import pytest

from edge_lstm.core.level import LevelTracker, detrend
from edge_lstm.errors import SettingsError


def test_training_and_the_detector_remove_the_same_level_and_skip_the_same_rows() -> None:
    rng = np.random.default_rng(0)
    values = np.column_stack([np.linspace(0, 50, 500), rng.normal(0, 1, 500)])
    values[[10, 200], 0] = np.nan  # rows the detector would skip as invalid
    tracked = np.array([True, False])
    tracker = LevelTracker(tracked, span=40)
    streamed = np.array([tracker.push(row) if np.isfinite(row).all() else row for row in values])
    np.testing.assert_array_equal(detrend(values, tracked, span=40), streamed)
    np.testing.assert_array_equal(streamed[:, 1], values[:, 1])  # an untracked channel passes as it is


def test_a_ramp_leaves_a_small_steady_offset_and_a_spike_still_stands_out() -> None:
    ramp = 0.1 * np.arange(1000.0)[:, None]  # leaves any training range
    out = detrend(ramp, np.array([True]), span=21)  # lag of an EWMA on a ramp: slope * (span - 1) / 2
    assert np.allclose(out[200:, 0], 0.1 * 10, atol=1e-6)
    spiked = ramp.copy()
    spiked[600, 0] += 20.0
    jump = detrend(spiked, np.array([True]), span=21)[600, 0] - out[600, 0]
    assert jump > 0.9 * 20.0 * (1 - 2 / 22)  # all but the share the level takes at once


def test_a_span_below_one_is_refused() -> None:
    with pytest.raises(SettingsError, match="span must be at least 1 sample, got 0"):
        LevelTracker(np.array([True]), span=0)
