"""The benchmark's peer detectors: harness contract, causality, NaN and constant channels, decisions
on a spike and on clean noise, and the windowed Gaussian's tail probability by hand."""

from __future__ import annotations

import importlib.util
import math
import warnings

import numpy as np
import pytest
from support import unavailable

from edge_lstm_train.peers import (
    MIN_CALIBRATION_SCORES,
    PEERS,
    PeerResult,
    WindowedGaussian,
    run_peer,
    tail_probability,
    trailing_sums,
)


@pytest.fixture(params=sorted(PEERS))
def peer(request: pytest.FixtureRequest) -> str:
    if request.param == "half-space-trees" and importlib.util.find_spec("river") is None:
        unavailable("river (the half-space-trees peer)", "pip install 'river==0.26.1'")
    return str(request.param)


def noise(rows: int, channels: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return rng.normal(10.0, 2.0, (rows, channels))


def quietly(name: str, values: np.ndarray, train_rows: int) -> PeerResult:
    """Run a peer with every warning an error (no division by zero, no NaN arithmetic noise)."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        return run_peer(name, values, None, train_rows)


def test_contract_shapes_and_types(peer: str) -> None:
    result = quietly(peer, noise(600, 3, seed=1), 400)
    assert result.scores.shape == (600,) and result.scores.dtype == np.float64
    assert result.alerting.shape == (600,) and result.alerting.dtype == np.bool_
    assert isinstance(result.threshold, float) and math.isfinite(result.threshold)
    assert result.seconds >= 0 and not result.fallback
    assert np.isfinite(result.scores[-100:]).all()  # warm-up is over long before the end
    assert np.isnan(result.scores[0])  # nothing is behind the first row
    np.testing.assert_array_equal(result.alerting, np.nan_to_num(result.scores, nan=-np.inf) > result.threshold)
    assert PEERS[peer]().name == peer


def test_one_dimensional_values_are_one_channel(peer: str) -> None:
    x = noise(400, 1, seed=2)
    np.testing.assert_array_equal(run_peer(peer, x[:, 0], None, 300).scores, run_peer(peer, x, None, 300).scores)


def test_rows_with_nan_are_skipped(peer: str) -> None:
    x = noise(700, 3, seed=3)
    bad = [5, 350, 420, 421, 699]
    x[bad[0], 0] = np.nan
    x[bad[1], 2] = np.nan
    x[bad[2]] = np.nan
    x[bad[3], 1] = np.inf
    x[bad[4], 1] = np.nan
    result = quietly(peer, x, 400)
    assert np.isnan(result.scores[bad]).all()
    assert not result.alerting[bad].any()
    kept = np.setdiff1d(np.arange(450, 699), bad)
    assert np.isfinite(result.scores[kept]).all()


def test_constant_channel(peer: str) -> None:
    x = noise(600, 3, seed=4)
    x[:, 1] = 7.25
    result = quietly(peer, x, 400)
    assert np.isfinite(result.scores[300:]).all()
    assert result.alerting[400:].mean() < 0.02
    everything_constant = quietly(peer, np.full((600, 2), 3.0), 400)
    assert not everything_constant.alerting.any()


def test_deterministic(peer: str) -> None:
    x = noise(800, 4, seed=5)
    first, second = run_peer(peer, x, None, 500), run_peer(peer, x, None, 500)
    np.testing.assert_array_equal(first.scores, second.scores)
    np.testing.assert_array_equal(first.alerting, second.alerting)
    assert first.threshold == second.threshold


def test_scores_are_causal(peer: str) -> None:
    x = noise(1000, 3, seed=6)
    altered = x.copy()
    altered[900:] = np.random.default_rng(60).normal(-50.0, 30.0, (100, 3))
    altered[950] = np.nan
    before, after = run_peer(peer, x, None, 600), run_peer(peer, altered, None, 600)
    np.testing.assert_array_equal(before.scores[:900], after.scores[:900])
    assert before.threshold == after.threshold  # calibrated on the training rows only
    assert not np.array_equal(before.scores[900:], after.scores[900:])


@pytest.mark.parametrize("channels", [1, 3])
def test_a_large_spike_is_alerted(peer: str, channels: int) -> None:
    x = noise(1500, channels, seed=7 + channels)
    x[1300] += 40.0  # 20 sigma on every channel
    result = quietly(peer, x, 1000)
    assert result.alerting[1300]
    assert result.scores[1300] > result.threshold


def test_a_spike_on_one_channel_of_three_is_alerted_by_the_gaussian_peers() -> None:
    # Half-space trees are left out on purpose: isolating one extreme feature among several takes
    # more splits than scoring descends (it stops at a tenth of the window's mass), so they often
    # score such a row no higher than the most extreme training rows.
    x = noise(1500, 3, seed=10)
    x[1300, 2] += 40.0
    for name in ("windowed-gaussian", "rolling-zscore"):
        assert quietly(name, x, 1000).alerting[1300], name


def test_clean_noise_gives_few_alerts_after_training(peer: str) -> None:
    result = quietly(peer, noise(3000, 3, seed=11), 1000)
    assert result.alerting[1000:].mean() < 0.02
    assert not result.alerting[:1000].any()  # at margin 1.0 no training row exceeds the maximum


def test_margin_scales_the_threshold() -> None:
    x = noise(800, 2, seed=12)
    plain = WindowedGaussian().run(x, None, 500)
    wider = WindowedGaussian(margin=1.5).run(x, None, 500)
    assert wider.threshold == pytest.approx(1.5 * plain.threshold)
    assert wider.alerting.sum() <= plain.alerting.sum()


def test_too_few_training_scores_fall_back(peer: str) -> None:
    x = noise(150, 2, seed=13)
    short = quietly(peer, x, 2 * MIN_CALIBRATION_SCORES - 4)  # warm-up takes half: too few scores left
    assert short.fallback and short.threshold == PEERS[peer]().fallback_threshold  # type: ignore[attr-defined]
    enough = quietly(peer, x, 40)
    assert not enough.fallback


def test_bad_arguments_are_refused() -> None:
    with pytest.raises(ValueError, match="train_rows"):
        run_peer("rolling-zscore", noise(200, 1, seed=14), None, 0)
    with pytest.raises(ValueError, match="train_rows"):
        run_peer("rolling-zscore", noise(200, 1, seed=14), None, 201)
    with pytest.raises(ValueError, match="unknown peer"):
        run_peer("isolation-forest", noise(200, 1, seed=14), None, 100)


def test_tail_probability_by_hand() -> None:
    # P(Z > 2) = 1 - Phi(2) = 0.022750131948179..., symmetric, 0.5 at zero.
    np.testing.assert_allclose(
        tail_probability(np.array([2.0, -2.0, 0.0])), [0.0227501319481792, 0.0227501319481792, 0.5]
    )
    # Window {1, 3}: mean 2, population deviation 1; the next value 4 is 2 sigma out.
    scores = WindowedGaussian(min_periods=2).run(np.array([1.0, 3.0, 4.0]), None, 3).scores
    assert np.isnan(scores[:2]).all()
    assert scores[2] == pytest.approx(-math.log10(0.0227501319481792), rel=1e-12)
    assert 1 - 10 ** -scores[2] == pytest.approx(1 - 0.0227501319481792)  # NAB's own score


def test_the_window_slides_and_holds_the_past_only() -> None:
    # window 2: row 3 sees {1, 3} (not the 10 before them, nor itself): 4 is again 2 sigma out.
    scores = WindowedGaussian(window=2, min_periods=2).run(np.array([10.0, 1.0, 3.0, 4.0]), None, 4).scores
    assert scores[3] == pytest.approx(-math.log10(0.0227501319481792), rel=1e-12)


def test_trailing_sums_match_brute_force_and_survive_a_huge_value() -> None:
    x = np.random.default_rng(15).normal(size=(53, 2))
    x[20] = 1e15
    for window in (1, 2, 7, 20, 53, 80):
        count, sums = trailing_sums(x, window)
        expected = np.array([x[max(0, i - window) : i].sum(axis=0) for i in range(len(x))])
        np.testing.assert_array_equal(count, [min(i, window) for i in range(len(x))])
        # A difference of running totals would leave errors of about 0.1 here after the 1e15.
        np.testing.assert_allclose(sums[21 + window :], expected[21 + window :], rtol=1e-12, atol=1e-12)
        np.testing.assert_allclose(sums, expected, rtol=1e-12)
