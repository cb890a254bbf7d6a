"""The adaptive alert rule: fires on a jump against the stream's own history, holds through an
anomaly, learns a change that lasts, and the detector and the offline decisions agree."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from edge_lstm.core.adaptive import AdaptiveSettings, AdaptiveThreshold, gate_for
from edge_lstm.core.calibration import ThresholdRule, calibrate
from edge_lstm.core.thresholds import Transition


def normal_scores(n: int, seed: int = 0) -> np.ndarray:
    return np.exp(np.random.default_rng(seed).normal(0.0, 0.3, n))  # log-normal, like reconstruction errors


def run(rule: AdaptiveThreshold, scores: np.ndarray) -> np.ndarray:
    active = np.zeros(len(scores), dtype=bool)
    for i, s in enumerate(scores):
        rule.update(float(s))
        active[i] = rule.active
    return active


def test_a_short_anomaly_alerts_for_its_duration_and_clears_after() -> None:
    rule = AdaptiveThreshold(AdaptiveSettings(max_alert=200), normal_scores(500))
    scores = normal_scores(600, seed=1)
    scores[200:300] *= 40.0  # a fault lasting 100 samples
    active = run(rule, scores)
    assert not active[:200].any()
    assert active[205:300].all()  # held: the anomaly stays out of its own baseline
    assert not active[310:].any()


def test_a_lasting_change_becomes_the_new_normal() -> None:
    settings = AdaptiveSettings(max_alert=100, history=400)
    rule = AdaptiveThreshold(settings, normal_scores(400))
    scores = normal_scores(1500, seed=2)
    scores[300:] *= 40.0  # a new operating point that stays
    active = run(rule, scores)
    assert active[305:400].all()
    assert not active[1000:].any()  # learned, without retraining
    again = scores.copy()
    again[1200:1210] *= 40.0  # and a fault on top of the new normal is seen again
    assert run(AdaptiveThreshold(settings, normal_scores(400)), again)[1205]


def test_transitions_and_the_threshold_it_reports() -> None:
    rule = AdaptiveThreshold(AdaptiveSettings(), normal_scores(300))
    level = rule.threshold
    transitions = [rule.update(1.0) for _ in range(5)] + [rule.update(1e3) for _ in range(5)]
    assert transitions.count(Transition.START) == 1 and rule.active
    assert 1.0 < level < 1e3
    assert [rule.update(1.0) for _ in range(10)].count(Transition.CLEAR) == 1 and not rule.active


def test_a_stream_that_never_moved_still_flags_a_change() -> None:
    rule = AdaptiveThreshold(AdaptiveSettings(), np.zeros(100))
    assert rule.update(0.0) is None
    assert rule.update(0.5) is Transition.START


def test_calibration_stores_the_rule_and_a_starting_level() -> None:
    section = calibrate(normal_scores(1000), ThresholdRule("adaptive", 4.0))
    assert section["method"] == "adaptive" and section["z"] == 4.0 and section["adaptive"]["fire_z"] == 4.0
    assert section["value"] > float(np.median(normal_scores(1000)))
    assert ThresholdRule.from_config_key("threshold_adaptive_z", 2.5).label == "adaptive z=2.5"


def test_on_a_count_stream_a_burst_as_high_as_its_normal_ones_passes_no_gate() -> None:
    """Normal bursts, 2 % of the calibration scores, are above the 99th percentile: with the plain gate a
    burst of that height alerts, with the counts gate (the 99.9th, about the largest) it does not; a
    burst beyond every normal one still alerts on either."""
    rng = np.random.default_rng(3)
    calibration = np.exp(rng.normal(0.0, 0.3, 1000))
    calibration[::50] = np.exp(rng.uniform(2.8, 3.2, 20))  # normal bursts: 2 % of the scores
    plain = calibrate(calibration, ThresholdRule("adaptive", 2.5))
    bursty = calibrate(calibration, ThresholdRule("adaptive", 2.5), gate_for(counts=True))
    assert plain["adaptive"]["gate_quantile"] == 0.99 and bursty["adaptive"]["gate_quantile"] == 0.999
    for section, fires in ((plain, True), (bursty, False)):
        rule = AdaptiveThreshold(AdaptiveSettings.from_dict(section["adaptive"]), calibration)
        burst = [rule.update(s) for s in [1.0] * 20 + [float(np.exp(3.1))] * 3]
        assert (Transition.START in burst) is fires
    rule = AdaptiveThreshold(AdaptiveSettings.from_dict(bursty["adaptive"]), calibration)
    assert Transition.START in [rule.update(s) for s in [1.0] * 20 + [float(np.exp(4.0))] * 3]


def test_settings_are_validated_with_exact_messages() -> None:
    with pytest.raises(ValueError, match=r"^fire_z \(1.0\) must be above clear_z \(1.0\)$"):
        AdaptiveSettings(fire_z=1.0)
    with pytest.raises(ValueError, match=r"^history must be at least 1, got 0$"):
        AdaptiveSettings(history=0)
    with pytest.raises(ValueError, match="at least 2 finite calibration scores"):
        AdaptiveThreshold(AdaptiveSettings(), [np.nan])


def test_the_detector_with_the_adaptive_rule_decides_as_the_offline_decisions_do() -> None:
    from support import small_detector

    from edge_lstm.core.detector import StreamDetector
    from edge_lstm.evaluation.decisions import Rule, decide

    plain = small_detector()
    base, model = plain.settings, plain.model
    # Calibrate on the model's own scores over normal data, as training does.
    rng = np.random.default_rng(6)
    calibration = np.array([r.score for r in (plain.process(v) for v in rng.normal(0, 1, (300, 3))) if r.score])
    rule = ThresholdRule("adaptive", 3.0)
    section = calibrate(calibration, rule)
    settings = dataclasses.replace(
        base, threshold=section["value"], adaptive=section["adaptive"], calibration=calibration
    )
    detector = StreamDetector(settings, model)
    values = rng.normal(0, 1, (400, 3))
    values[200:230] += 6.0
    results = [detector.process(v) for v in values]
    scores = np.array([np.nan if r.score is None else r.score for r in results])
    online = np.array([r.alerting for r in results])
    assert online[205:230].any() and not online[:150].any()
    np.testing.assert_array_equal(decide(scores, calibration, Rule(rule)), online)


def test_one_sample_spike_fires_although_the_short_mean_dilutes_it() -> None:
    heavy = np.exp(np.random.default_rng(5).normal(0.0, 1.0, 1060))  # a heavy-tailed score stream
    calibration = heavy[:1000]
    spike = 1.6 * calibration.max()
    diluted = AdaptiveThreshold(AdaptiveSettings(spike_margin=10.0), calibration)  # no spike path
    rule = AdaptiveThreshold(AdaptiveSettings(), calibration)
    scores = np.concatenate([np.minimum(heavy[1000:1050], 1.0), [spike], np.minimum(heavy[1050:], 1.0)])
    assert run(rule, scores)[50] and not run(diluted, scores).any()


def test_the_upper_mode_of_a_bimodal_normal_stream_does_not_alarm() -> None:
    rng = np.random.default_rng(4)
    # 97 % of normal scores near 1, 3 % near 20 (a pump start, say): the upper mode is normal.
    calibration = np.where(rng.random(1000) < 0.97, np.exp(rng.normal(0, 0.1, 1000)), np.exp(rng.normal(3, 0.05, 1000)))
    scores = np.concatenate([np.exp(rng.normal(0, 0.1, 40)), np.exp(np.full(4, 2.95)), np.exp(rng.normal(0, 0.1, 40))])
    ungated = AdaptiveThreshold(AdaptiveSettings(gate_quantile=0.0), calibration)
    assert run(ungated, scores).any()
    assert not run(AdaptiveThreshold(AdaptiveSettings(), calibration), scores).any()
