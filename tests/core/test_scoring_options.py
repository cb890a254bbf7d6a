"""Input smoothing and the three score kinds: streaming equals batch, and the detector uses them."""

from __future__ import annotations

import numpy as np
import pytest
from support import random_reference_weights

from edge_lstm.core.detector import DetectorSettings, StreamDetector
from edge_lstm.core.scaling import StandardScaler
from edge_lstm.core.scoring import Scorer, TrailingWindow, contributions, fit_precision, mean_residuals
from edge_lstm.core.smoothing import TrailingMean, trailing_mean
from edge_lstm.core.stepmodel import run_sequence
from edge_lstm.runtime.reference import NumpyStepModel


@pytest.mark.parametrize("k", [1, 2, 5])
def test_trailing_mean_streaming_equals_batch_and_restarts_after_reset(k: int) -> None:
    xs = np.random.default_rng(k).normal(size=(30, 3))
    batch = trailing_mean(xs, k)
    smoother = TrailingMean(k, 3)
    streamed = np.array([smoother.push(x) for x in xs])
    np.testing.assert_allclose(streamed, batch, rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(batch[0], xs[0], rtol=1e-6)  # fewer samples until k have arrived
    np.testing.assert_allclose(batch[k + 3], xs[4 : k + 4].mean(axis=0), rtol=1e-6, atol=1e-6)
    smoother.clear(slice(0, 1))  # a gap: the stream's ring starts over
    np.testing.assert_allclose(smoother.push(xs[7]), xs[7])


def test_smoothing_below_one_sample_is_rejected() -> None:
    with pytest.raises(ValueError, match="smoothing must be at least 1 sample, got 0"):
        TrailingMean(0, 3)


def _model_and_sequence() -> tuple[NumpyStepModel, np.ndarray, np.ndarray]:
    model = NumpyStepModel(random_reference_weights(), cell="lstm", window=4)
    xs = np.random.default_rng(3).normal(size=(40, 3)).astype(np.float32)
    recons, _ = run_sequence(model, xs)
    return model, xs, recons


@pytest.mark.parametrize("kind", ["window_mse", "residual", "mahalanobis"])
def test_each_score_streaming_equals_batch(kind: str) -> None:
    _, xs, recons = _model_and_sequence()
    precision = fit_precision(mean_residuals(recons, xs)[4:]) if kind == "mahalanobis" else None
    scorer = Scorer(kind, precision)
    batch = scorer.sequence_terms(recons, xs)
    window = TrailingWindow(4, 3)
    for t in range(40):
        window.push(xs[t])
        if t >= 3:
            np.testing.assert_allclose(scorer.sensor_terms(recons[t], window.values), batch[t], rtol=1e-6)


def test_residual_score_is_the_squared_mean_residual_and_mahalanobis_with_identity_equals_it() -> None:
    _, xs, recons = _model_and_sequence()
    t = 20
    residual = (recons[t].astype(np.float64) - xs[t - 3 : t + 1]).mean(axis=0)
    np.testing.assert_allclose(Scorer("residual").sequence_terms(recons, xs)[t], residual**2, rtol=1e-9)
    identity = Scorer("mahalanobis", np.eye(3))
    np.testing.assert_allclose(
        identity.sequence_scores(recons, xs), Scorer("residual").sequence_scores(recons, xs), rtol=1e-12
    )


def test_mahalanobis_weighs_a_move_against_the_normal_correlation_more() -> None:
    rng = np.random.default_rng(0)
    common = rng.normal(size=2000)
    residuals = np.stack([common + 0.1 * rng.normal(size=2000), common + 0.1 * rng.normal(size=2000)], axis=1)
    scorer = Scorer("mahalanobis", fit_precision(residuals))
    window = np.zeros((4, 2), np.float32)
    along = scorer.sensor_terms(np.full((4, 2), 1.0, np.float32), window).mean()
    against = scorer.sensor_terms(np.array([[1.0, -1.0]] * 4, np.float32), window).mean()
    assert against > 10 * along  # same size of error, far less usual direction (shrinkage caps the ratio)


def test_scorer_rejects_unknown_kinds_and_a_missing_precision_and_round_trips() -> None:
    with pytest.raises(ValueError, match="score must be one of window_mse, residual, mahalanobis, got 'rms'"):
        Scorer("rms")
    with pytest.raises(ValueError, match="precision matrix is needed for, and only for"):
        Scorer("mahalanobis")
    with pytest.raises(ValueError, match="precision matrix is needed for, and only for"):
        Scorer("residual", np.eye(2))
    scorer = Scorer("mahalanobis", np.eye(2) * 2)
    again = Scorer.from_dict(scorer.to_dict())
    assert again.kind == "mahalanobis" and again.precision is not None
    np.testing.assert_array_equal(again.precision, np.eye(2) * 2)
    assert Scorer.from_dict(None).kind == "window_mse"  # bundles written before scores were a choice


def test_contributions_ignore_negative_mahalanobis_terms() -> None:
    shares = contributions(np.array([3.0, -1.0, 1.0]), ["a", "b", "c"])
    assert shares == {"a": 0.75, "c": 0.25, "b": 0.0}


def test_detector_with_smoothing_and_residual_score_equals_the_batch_computation() -> None:
    model = NumpyStepModel(random_reference_weights(), cell="lstm", window=4)
    scaler = StandardScaler(np.array([1.0, 2.0, 3.0], np.float32), np.array([2.0, 1.0, 0.5], np.float32))
    settings = DetectorSettings(
        features=["a", "b", "c"], window=4, scaler=scaler, threshold=1e9, warmup=6, smooth=3, scorer=Scorer("residual")
    )
    detector = StreamDetector(settings, model)
    raw = np.random.default_rng(4).normal(size=(50, 3)) * 2 + 1
    scores = [detector.process(x, float(t)).score for t, x in enumerate(raw)]
    smoothed = trailing_mean(scaler.transform(raw), 3)
    recons, _ = run_sequence(model, smoothed)
    batch = Scorer("residual").sequence_scores(recons, smoothed)
    np.testing.assert_allclose(np.array(scores[6:], dtype=float), batch[6:], rtol=1e-4, atol=1e-7)


def test_a_gap_restarts_the_smoothing_too() -> None:
    model = NumpyStepModel(random_reference_weights(), cell="lstm", window=4)
    scaler = StandardScaler(np.zeros(3, np.float32), np.ones(3, np.float32))
    settings = DetectorSettings(
        features=["a", "b", "c"], window=4, scaler=scaler, threshold=1e9, warmup=4, smooth=5, sample_period_s=1.0
    )
    xs = np.random.default_rng(5).normal(size=(20, 3))
    before = StreamDetector(settings, model)
    for t in range(10):
        before.process(xs[t], float(t))
    after_gap = [before.process(x, 1000.0 + t).score for t, x in enumerate(xs[10:])]
    fresh = StreamDetector(settings, model)
    fresh_scores = [fresh.process(x, float(t)).score for t, x in enumerate(xs[10:])]
    assert before.counters.gaps == 1
    assert after_gap == fresh_scores
    with pytest.raises(ValueError, match="smooth must be at least 1 sample, got 0"):
        DetectorSettings(features=["a"], window=4, scaler=scaler, threshold=1.0, warmup=4, smooth=0)


def _baseline_detector(baseline: int) -> StreamDetector:
    model = NumpyStepModel(random_reference_weights(), cell="lstm", window=4)
    scaler = StandardScaler(np.zeros(3, np.float32), np.ones(3, np.float32))
    settings = DetectorSettings(
        features=["a", "b", "c"], window=4, scaler=scaler, threshold=1e9, warmup=4, baseline=baseline,
        sample_period_s=1.0,
    )  # fmt: skip
    return StreamDetector(settings, model)


def test_each_stream_learns_its_own_operating_point_then_scores_alike() -> None:
    xs = np.random.default_rng(6).normal(size=(80, 3))
    here, there = _baseline_detector(30), _baseline_detector(30)
    offset, spread = np.array([125.0, -4.0, 0.2]), np.array([3.0, 0.5, 10.0])  # another pump, another set point
    a = [here.process(x, float(t)) for t, x in enumerate(xs)]
    b = [there.process(x * spread + offset, float(t)) for t, x in enumerate(xs)]
    assert all(r.score is None and r.skipped is None for r in a[:30])  # learning: no decisions, not an error
    assert here.counters.baseline == 30 and here.counters.invalid == 0
    np.testing.assert_allclose([r.score for r in a[34:]], [r.score for r in b[34:]], rtol=1e-4)
    learned = there.baseline
    assert learned is not None
    np.testing.assert_allclose(learned.mean, xs[:30].mean(axis=0) * spread + offset, rtol=1e-5)


def test_a_gap_keeps_the_learned_baseline_and_invalid_samples_do_not_count_toward_it() -> None:
    detector = _baseline_detector(10)
    xs = np.random.default_rng(7).normal(size=(30, 3))
    detector.process([np.nan, 0.0, 0.0], 0.0)
    for t in range(10):
        detector.process(xs[t], 1.0 + t)
    assert detector.counters.baseline == 10 and detector.counters.invalid == 1
    learned = detector.baseline
    detector.process(xs[10], 5000.0)  # a long gap: state and window reset, baseline kept
    assert detector.counters.gaps == 1 and learned is not None and detector.baseline is not None
    np.testing.assert_array_equal(detector.baseline.mean, learned.mean)
    with pytest.raises(ValueError, match="baseline must be 0 \\(off\\) or at least 2 samples, got 1"):
        _baseline_detector(1)
