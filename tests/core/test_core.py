"""The pure core: thresholds, debounce, scoring, and the detector's input policy."""

from __future__ import annotations

import numpy as np
import pytest
from support import random_reference_weights

from edge_lstm.core.detector import DetectorSettings, StreamDetector
from edge_lstm.core.scaling import StandardScaler
from edge_lstm.core.scoring import TrailingWindow, contributions, sensor_errors, sequence_sensor_errors
from edge_lstm.core.stepmodel import run_sequence
from edge_lstm.core.thresholds import Debounce, DebounceSettings, Transition, quantile_threshold
from edge_lstm.runtime.reference import NumpyStepModel

FEATURES = ["a", "b", "c"]


def make_detector(threshold: float = 1.0, **overrides: object) -> StreamDetector:
    model = NumpyStepModel(random_reference_weights(), cell="lstm", window=4)
    settings = DetectorSettings(
        features=FEATURES,
        window=4,
        scaler=StandardScaler(np.zeros(3, np.float32), np.ones(3, np.float32)),
        threshold=threshold,
        warmup=6,
        **overrides,
    )  # type: ignore[arg-type]
    return StreamDetector(settings, model, stream="s1")


def test_quantile_threshold_ignores_nan_and_rejects_bad_quantiles() -> None:
    assert quantile_threshold([1.0, 2.0, np.nan, 3.0, 4.0], 0.5) == pytest.approx(2.5)
    with pytest.raises(ValueError, match=r"quantile must be between 0 and 1 \(exclusive\), got 1.0"):
        quantile_threshold([1.0], 1.0)
    with pytest.raises(ValueError, match="zero finite scores"):
        quantile_threshold([np.nan], 0.5)


def test_debounce_needs_n_of_m_and_clears_below_the_lower_level() -> None:
    d = Debounce(DebounceSettings(fire_n=3, fire_m=5, clear_n=2, clear_ratio=0.5))
    seen = [d.update(s, 1.0) for s in [2, 0, 2, 0, 0, 0, 2, 2, 2]]
    # 2,0,2 is only two of five; the run 0,0,0,2,2,2 fires on the sixth over-threshold sample's third hit.
    assert seen[:8] == [None] * 8 and seen[8] is Transition.START
    # 0.9 is under the threshold but above the clearing level: stays active (hysteresis).
    assert [d.update(s, 1.0) for s in [0.9, 0.9, 0.9]] == [None, None, None] and d.active
    assert [d.update(s, 1.0) for s in [0.4, 0.4]] == [None, Transition.CLEAR] and not d.active


def test_an_alert_clears_on_quiet_at_its_clearing_level_even_while_the_threshold_is_higher() -> None:
    """As in settled running: a switch raises the threshold in force for a while, and the transient's
    scores under it must not count as quiet for an alert that began between switches."""
    d = Debounce(DebounceSettings(fire_n=1, fire_m=1, clear_n=2, clear_ratio=0.5))
    start, _ = d.update_rows(slice(0, 1), np.array([0.2]), 0.1, 0.1)
    assert start.tolist() == [True]
    for _ in range(5):  # a transient: 0.3 under the raised threshold of 1.0, but far above the clearing level
        _, clear = d.update_rows(slice(0, 1), np.array([0.3]), 1.0, 0.1)
        assert clear.tolist() == [False]
    _, first = d.update_rows(slice(0, 1), np.array([0.01]), 0.1, 0.1)
    _, second = d.update_rows(slice(0, 1), np.array([0.01]), 0.1, 0.1)
    assert (first.tolist(), second.tolist()) == ([False], [True])
    plain = Debounce(DebounceSettings(fire_n=1, fire_m=1, clear_n=2, clear_ratio=0.5))
    plain.update_rows(slice(0, 1), np.array([0.2]), 0.1)
    assert [plain.update_rows(slice(0, 1), np.array([0.3]), 1.0)[1].tolist() for _ in range(2)] == [[False], [True]]


def test_an_alert_that_keeps_coming_back_clears_later_each_time_until_a_quiet_spell() -> None:
    """A lasting fault seen in only part of each machine cycle: one long alert, not one per cycle."""
    d = Debounce(DebounceSettings(fire_n=1, fire_m=1, clear_n=2, clear_ratio=1.0, clear_backoff=4))

    def lows_to_clear() -> int:
        assert d.update(5.0, 1.0) is Transition.START
        for n in range(1, 100):
            if d.update(0.0, 1.0) is Transition.CLEAR:
                return n
        raise AssertionError("never cleared")

    # Each start within 10 clearing times of the last clear doubles the clearing time, up to 4 x 2.
    assert [lows_to_clear() for _ in range(5)] == [2, 4, 8, 8, 8]
    for _ in range(10 * 8):  # a quiet spell longer than the flap window
        assert d.update(0.0, 1.0) is None
    assert lows_to_clear() == 2


def test_the_clearing_backoff_of_many_rows_equals_each_row_alone() -> None:
    rng = np.random.default_rng(3)
    settings = DebounceSettings(clear_n=3, clear_backoff=8)
    many, alone = Debounce(settings, capacity=3), [Debounce(settings) for _ in range(3)]
    # Bursts over a quiet floor, each row at its own rhythm: rows flap and back off independently.
    burst = np.arange(600)[:, None] % rng.integers(15, 40, size=3) < 5
    scores = np.where(rng.random((600, 3)) < 0.7, 2.0, 0.1) * burst
    longest = 0
    for wave in scores:
        many.update_rows(np.arange(3), wave, 1.0)
        for row, single in enumerate(alone):
            single.update(float(wave[row]), 1.0)
        assert many.on.tolist() == [single.active for single in alone]
        assert many.clear_after.tolist() == [single.clear_after[0] for single in alone]
        longest = max(longest, *many.clear_after)
    assert longest > 3


def test_debounce_settings_validate_with_exact_messages() -> None:
    with pytest.raises(ValueError, match="need 1 <= fire_n <= fire_m, got fire_n=4, fire_m=3"):
        DebounceSettings(fire_n=4, fire_m=3)
    with pytest.raises(ValueError, match="fire_m must be at most 16 scores, got 17"):
        DebounceSettings(fire_n=3, fire_m=17)
    with pytest.raises(ValueError, match=r"clear_ratio must be in \(0, 1\], got 1.5"):
        DebounceSettings(clear_ratio=1.5)
    with pytest.raises(ValueError, match=r"clear_backoff must be at least 1 \(no backoff\), got 0"):
        DebounceSettings(clear_backoff=0)


def test_scaler_round_trip_and_constant_channel() -> None:
    data = np.column_stack([np.arange(10.0), np.full(10, 5.0)])
    scaler = StandardScaler.fit(data)
    assert scaler.scale[1] == pytest.approx(0.05)  # constant channel: 1 % of its value is one sigma
    np.testing.assert_allclose(scaler.inverse(scaler.transform(data)), data, atol=1e-5)
    assert StandardScaler.from_dict(scaler.to_dict()).to_dict() == scaler.to_dict()
    with pytest.raises(ValueError, match="NaN or infinity"):
        StandardScaler.fit(np.array([[1.0], [np.nan]]))


def test_scaler_scale_is_at_least_a_channels_resolution() -> None:
    rng = np.random.default_rng(0)
    counts = np.where(rng.random(400) < 0.02, 1.0, 0.0)  # mostly 0, a rare count of 1
    zero = np.zeros(400)
    scaler = StandardScaler.fit(np.column_stack([counts, rng.normal(0, 1, 400), zero]))
    assert scaler.scale[0] == pytest.approx(1.0)  # one count is one sigma, not seven
    assert scaler.scale[1] == pytest.approx(1.0, abs=0.1)  # continuous: its own spread
    assert scaler.scale[2] == pytest.approx(1e-6)  # constant at zero: any change stands out


def test_contributions_sum_to_one_largest_first() -> None:
    shares = contributions(np.array([1.0, 3.0, 0.0], np.float32), FEATURES)
    assert list(shares) == ["b", "a", "c"]
    assert sum(shares.values()) == pytest.approx(1.0)


def test_window_scores_streaming_equal_batch() -> None:
    model = NumpyStepModel(random_reference_weights(), cell="lstm", window=4)
    xs = np.random.default_rng(1).normal(size=(50, 3)).astype(np.float32)
    recons, _ = run_sequence(model, xs)
    batch = sequence_sensor_errors(recons, xs)
    window = TrailingWindow(4, 3)
    for t in range(50):
        window.push(xs[t])
        np.testing.assert_allclose(sensor_errors(recons[t], window.values), batch[t], rtol=1e-6)


def test_detector_scores_equal_batch_scores_after_warmup() -> None:
    detector = make_detector(threshold=1e9)
    xs = np.random.default_rng(2).normal(size=(40, 3)).astype(np.float32)
    scores = [detector.process(x, float(t)).score for t, x in enumerate(xs)]
    recons, _ = run_sequence(detector.model, xs)
    batch = sequence_sensor_errors(recons, xs).mean(axis=1)
    assert scores[:6] == [None] * 6  # warm-up: no decisions
    np.testing.assert_allclose(np.array(scores[6:], dtype=float), batch[6:], rtol=1e-5)


def test_a_tracked_channel_is_scored_as_training_detrended_it() -> None:
    from edge_lstm.core.level import detrend

    detector = make_detector(threshold=1e9, level=(["b"], 10))
    rng = np.random.default_rng(3)
    raw = rng.normal(size=(40, 3)) + np.array([0.0, 1.0, 0.0]) * np.arange(40)[:, None]  # b climbs for good
    raw[12] = np.nan  # skipped: moves no level, here or in training
    scores = [detector.process(x, float(t)).score for t, x in enumerate(raw)]
    kept = np.isfinite(raw).all(axis=1)
    xs = detrend(raw, np.array([False, True, False]), span=10)[kept].astype(np.float32)
    recons, _ = run_sequence(detector.model, xs)
    batch = sequence_sensor_errors(recons, xs).mean(axis=1)
    np.testing.assert_allclose(np.array([s for s in scores if s is not None]), batch[6:], rtol=1e-5)


def test_nan_and_wrong_length_are_skipped_counted_and_leave_state_alone() -> None:
    detector = make_detector()
    detector.process([0.1, 0.2, 0.3], 0.0)
    before = tuple(s.copy() for s in detector.state)
    assert detector.process([0.1, np.nan, 0.3], 1.0).skipped == "invalid"
    assert detector.process([0.1, 0.2], 2.0).skipped == "invalid"
    assert detector.counters.invalid == 2
    for a, b in zip(before, detector.state, strict=True):
        np.testing.assert_array_equal(a, b)


def test_duplicate_and_out_of_order_timestamps_are_skipped() -> None:
    detector = make_detector()
    detector.process([0, 0, 0], 10.0)
    assert detector.process([0, 0, 0], 10.0).skipped == "duplicate"
    assert detector.process([0, 0, 0], 9.0).skipped == "out_of_order"
    assert detector.process([0, 0, 0], 11.0).skipped is None
    assert (detector.counters.duplicates, detector.counters.out_of_order) == (1, 1)


def test_a_long_gap_resets_state_and_warms_up_again() -> None:
    detector = make_detector(sample_period_s=1.0, gap_reset_periods=10.0)
    for t in range(10):
        detector.process([0.5, 0.5, 0.5], float(t))
    assert detector.process([0.5, 0.5, 0.5], 10.0).score is not None
    result = detector.process([0.5, 0.5, 0.5], 100.0)  # 90 periods later
    assert result.score is None and detector.counters.gaps == 1


def test_out_of_range_inputs_are_counted_clipped_for_the_model_and_scored_unclipped() -> None:
    low, high = np.full(3, -3, np.float32), np.full(3, 3, np.float32)
    detector = make_detector(threshold=0.5, input_low=low, input_high=high)
    for t in range(10):
        detector.process([0, 0, 0], float(t))
    results = [detector.process([50, 0, 0], float(10 + k)) for k in range(4)]
    assert detector.counters.out_of_range == 4
    assert all(np.isfinite(s) for s in detector.state[1].ravel())
    assert results[-1].score is not None and results[-1].score > 100  # error against the real value
    assert detector.alerting
    start = next(e for r in results for e in r.events)
    assert start.event == "alert_start" and next(iter(start.contributions)) == "a"
    assert start.to_dict()["severity"] == "critical"


def test_settings_reject_warmup_shorter_than_window() -> None:
    with pytest.raises(ValueError, match=r"warmup \(2\) must be at least the window \(4\)"):
        DetectorSettings(features=FEATURES, window=4, scaler=StandardScaler.fit(np.eye(3)), threshold=1.0, warmup=2)


def test_a_threshold_is_not_calibrated_from_fewer_than_two_scores() -> None:
    from edge_lstm.core.calibration import ThresholdRule, calibrate
    from edge_lstm.errors import DataError

    for method, knob in (("adaptive", 2.5), ("quantile", 0.999), ("max", 1.5), ("spot", 1e-3)):
        one = r"^cannot calibrate a threshold from 1 held-out score \(2 at least\); train"
        with pytest.raises(DataError, match=one):
            calibrate([np.nan, 0.5], ThresholdRule(method, knob))
    with pytest.raises(DataError, match=r"from 0 held-out scores \(2 at least\); .* no long gaps near its end$"):
        calibrate([], ThresholdRule("adaptive", 2.5))
