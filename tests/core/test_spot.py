"""POT and SPOT (Siffer et al. 2017): the tail fit, streaming equals batch, and the false-alarm rate."""

from __future__ import annotations

import numpy as np
import pytest

from edge_lstm.core.spot import SPOT, fit_gpd, pot_threshold


def test_the_gpd_fit_recovers_known_tails() -> None:
    rng = np.random.default_rng(0)
    u = rng.uniform(size=20_000)
    heavy = fit_gpd((u**-0.2 - 1) / 0.2)  # GPD with shape 0.2, scale 1
    assert heavy.shape == pytest.approx(0.2, abs=0.03) and heavy.scale == pytest.approx(1.0, abs=0.05)
    exponential = fit_gpd(rng.exponential(2.0, size=20_000))  # shape 0, scale 2
    assert abs(exponential.shape) < 0.02 and exponential.scale == pytest.approx(2.0, abs=0.06)
    with pytest.raises(ValueError, match="at least two positive excesses"):
        fit_gpd([1.0])


def test_streaming_updates_equal_a_batch_pot_fit_on_the_same_data() -> None:
    rng = np.random.default_rng(1)
    scores = rng.gumbel(size=8_000)
    spot = SPOT(q=1e-3)
    spot.initialize(scores[:2_000])
    for score in scores[2_000:]:
        spot.observe(float(score), anomalous=False)
    excesses = scores[scores > spot.level] - spot.level
    batch = pot_threshold(fit_gpd(excesses), spot.level, 1e-3, scores.size, excesses.size)
    assert spot.n == scores.size and len(spot.excesses) == excesses.size
    assert spot.threshold == pytest.approx(batch, rel=1e-9)


@pytest.mark.slow
def test_the_tail_is_fitted_on_a_bounded_window_of_the_most_recent_peaks() -> None:
    rng = np.random.default_rng(5)
    spot = SPOT(q=1e-3)  # keeps the 1,000 most recent peaks
    spot.initialize(rng.normal(size=5_000))
    level, n_excesses = spot.level, len(spot.excesses)
    # 200,000 scores, thousands of them peaks; the tail becomes heavier halfway through.
    calm, rough = rng.normal(size=100_000), rng.standard_t(3, size=100_000)
    peaks = []
    for score in np.concatenate([calm, rough]):
        spot.observe(float(score), anomalous=False)
        assert len(spot.excesses) <= 1_000
        if score > level:
            peaks.append(float(score) - level)
        if len(peaks) == 2_000:  # half way, still on the calm tail
            calm_threshold = spot.threshold
    assert spot.n == 205_000 and spot.n_excesses == n_excesses + len(peaks) > 5_000
    assert spot.excesses == pytest.approx(peaks[-1_000:], rel=1e-12)  # the most recent, in order
    # The threshold is exactly a fresh POT fit on the kept peaks with the rate of the whole stream...
    fresh = pot_threshold(fit_gpd(peaks[-1_000:]), level, 1e-3, spot.n, spot.n_excesses)
    assert spot.threshold == pytest.approx(fresh, rel=1e-12)
    # ...so it follows the heavier tail instead of averaging it with everything seen since the start.
    everything = pot_threshold(fit_gpd(peaks), level, 1e-3, spot.n, spot.n_excesses)
    assert spot.threshold > everything > calm_threshold


def test_a_windowed_state_round_trips_and_an_older_state_still_loads() -> None:
    rng = np.random.default_rng(6)
    spot = SPOT(q=1e-3, max_peaks=50)
    spot.initialize(rng.gumbel(size=10_000))  # about 200 peaks: the 50 most recent are kept
    assert len(spot.excesses) == 50 and spot.n_excesses == 200
    again = SPOT.from_state(spot.state())
    assert (again.n_excesses, again.max_peaks) == (200, 50)
    assert again.threshold == pytest.approx(spot.threshold, rel=1e-8)  # peaks are stored to 9 decimals
    older = {k: v for k, v in spot.state().items() if k not in ("n_excesses", "max_peaks")}
    assert SPOT.from_state(older).n_excesses == 50  # before the window every counted peak was kept


@pytest.mark.slow
@pytest.mark.parametrize("distribution", ["normal", "gumbel"])
def test_false_alarm_rate_on_a_long_normal_stream_is_near_the_target(distribution: str) -> None:
    rng = np.random.default_rng(2)
    scores = getattr(rng, distribution)(size=100_000)
    spot = SPOT(q=1e-3)
    spot.initialize(scores[:5_000])
    over = 0
    for score in scores[5_000:]:
        over += spot.exceeds(float(score))
        spot.observe(float(score), anomalous=False)
    rate = over / 95_000
    assert 0.6e-3 < rate < 1.5e-3, rate


def test_classic_spot_keeps_exceedances_out_of_the_tail() -> None:
    rng = np.random.default_rng(3)
    spot = SPOT(q=1e-3)
    spot.initialize(rng.normal(size=2_000))
    n, fitted = spot.n, len(spot.excesses)
    assert spot.update(spot.threshold + 10.0) is True
    assert (spot.n, len(spot.excesses)) == (n, fitted)
    assert spot.update(spot.level + 1e-3) is False
    assert (spot.n, len(spot.excesses)) == (n + 1, fitted + 1)
    with pytest.raises(ValueError, match=r"q must be in \(0, 0.02\), got 0.5"):
        SPOT(q=0.5)


def test_the_detector_adapts_its_spot_threshold_and_keeps_alerts_out_of_the_tail() -> None:
    from test_core import make_detector

    rng = np.random.default_rng(4)
    calibrate = make_detector(threshold=1e9)
    calibration = [calibrate.process(x, None).score for x in rng.normal(size=(3_000, 3))]
    initial = SPOT(q=1e-2, level_quantile=0.95)
    initial.initialize([s for s in calibration if s is not None])
    detector = make_detector(threshold=initial.threshold, spot=initial.state())
    mirror = SPOT.from_state(initial.state())  # fed by hand with what the detector should feed it
    moved = False
    for x in rng.normal(size=(3_000, 3)):
        result = detector.process(x, None)
        if result.score is None:
            continue
        mirror.observe(result.score, anomalous=detector.alerting)  # alert samples stay out of the tail
        assert detector.threshold == pytest.approx(mirror.threshold, rel=1e-12)
        moved |= detector.threshold != initial.threshold
    assert moved and detector.counters.alerts >= 1


@pytest.mark.slow
def test_a_spot_bundle_round_trips_and_replays(tmp_path, normal_csv) -> None:  # type: ignore[no-untyped-def]
    from click.testing import CliRunner

    from edge_lstm.bundle import load_bundle
    from edge_lstm.cli import main
    from edge_lstm.engine.replay import replay
    from edge_lstm.sources.csv_file import Recording
    from edge_lstm.tools import synthetic

    out = tmp_path / "spot-bundle"
    result = CliRunner().invoke(
        main,
        [
            "train",
            str(normal_csv),
            "--out",
            str(out),
            "--epochs",
            "8",
            "--quiet",
            "--threshold-method",
            "spot",
            "--spot-q",
            "0.001",
        ],
    )
    assert result.exit_code == 0, result.output
    bundle = load_bundle(out)
    section = bundle.manifest["threshold"]
    assert section["method"] == "spot" and section["q"] == 0.001 and len(section["spot"]["excesses"]) > 10
    assert SPOT.from_state(section["spot"]).threshold == pytest.approx(section["value"], rel=1e-6)
    stream = synthetic.faulty_stream(3000, seed=13, start_index=90_000)
    run = replay(Recording(out, synthetic.FEATURES, stream.values, stream.timestamps), bundle)
    assert run.thresholds is not None and np.ptp(run.thresholds[100:]) > 0  # it adapted
    assert any(e.event == "alert_start" and 600 <= e.index < 640 for e in run.events)  # the spike
