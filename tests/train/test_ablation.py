"""The ablation re-decides kept scores exactly as the detector decided them, for a fixed threshold too."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

from edge_lstm.tools import synthetic


def kept_run(bundle: Any, run: Any, bound: float | None, settled: tuple[int, float] | None = None) -> Any:
    """A replay kept as a corpus run keeps it, for the bundle's fixed threshold (with ``settled``)."""
    from edge_lstm_train import ablation

    device = bundle.detector_settings()
    rule = ablation.FixedRule(device.threshold, device.debounce, device.sustained, settled)
    labels = np.zeros(len(run.scores), dtype=np.int8)
    calibration = bundle.calibration_scores()
    marked, switching = np.asarray(run.marked), np.asarray(run.switching)
    return ablation.Kept("t", "g", np.asarray(run.scores), labels, 0, calibration, rule, marked, switching, bound, 0)


@pytest.mark.slow
def test_the_fixed_threshold_ablation_re_decides_what_the_detector_decided(tmp_path: Path, bundle_dir: Path) -> None:
    from edge_lstm.bundle import load_bundle
    from edge_lstm.engine.replay import replay
    from edge_lstm.sources.csv_file import Recording
    from edge_lstm_train import ablation

    bundle = load_bundle(bundle_dir)
    assert "adaptive" not in bundle.manifest["threshold"]  # thousands of held-out scores: a fixed threshold
    stream = synthetic.normal_stream(3000, seed=5, start_index=20_000)
    values = stream.values.copy()
    # A lasting fault that shows only in part of each cycle, as on a machine that starts and stops:
    # without the clearing backoff it alerts again at every cycle.
    spread = values[:, 1].std()
    for start in range(1000, 2600, 40):
        values[start : start + 12, 1] += 6 * spread
    recording = Recording(tmp_path / "t.csv", bundle.features, values, None)
    run = replay(recording, bundle, stream="t")
    kept = kept_run(bundle, run, bundle.manifest["alerting"].get("transitions", {}).get("bound"))
    assert ablation.variants_for([kept]) == ablation.FIXED_VARIANTS
    np.testing.assert_array_equal(ablation.decide(kept, kept.settings), np.asarray(run.alerting))

    table = ablation.ablate([kept], ablation.FIXED_VARIANTS)
    shipped = table[f"{ablation.FIXED}shipped"]["g"]["alert_starts_outside_events"]
    plain = table[f"{ablation.FIXED}no clearing backoff"]["g"]["alert_starts_outside_events"]
    assert 1 <= shipped < plain / 3, (shipped, plain)


@pytest.mark.slow
def test_the_ablation_re_decides_a_settled_threshold_as_the_detector_did(tmp_path: Path, bundle_dir: Path) -> None:
    """With a threshold of settled running, re-deciding from the kept switch flags gives the detector's
    decisions exactly, and its variant without it gives those of one threshold."""
    from edge_lstm.bundle import load_bundle
    from edge_lstm.engine.replay import replay
    from edge_lstm.sources.csv_file import Recording
    from edge_lstm_train import ablation

    bundle = load_bundle(bundle_dir)
    values = synthetic.normal_stream(3000, seed=6, start_index=20_000).values.copy()
    values[1500:1700, 1] += 2.0 * values[:, 1].std()  # a fault that the lower threshold sees sooner or longer
    recording = Recording(tmp_path / "t.csv", bundle.features, values, None)
    calm = (20, 0.5 * bundle.threshold)
    guard = {"channels": [bundle.features[0]], "low": [-1.0], "high": [1.0], "zone": 4, "bound": 0.0}
    runs = {}
    for name, settled in (("settled", calm), ("one", None)):
        t = {**guard, **({"settled": {"after": calm[0], "threshold": calm[1]}} if settled else {})}
        runs[name] = replay(recording, bundle, stream="t", overrides={"transitions": t})
    assert np.asarray(runs["settled"].alerting).sum() != np.asarray(runs["one"].alerting).sum()
    kept = kept_run(bundle, runs["settled"], 0.0, calm)
    run = runs["settled"]
    np.testing.assert_array_equal(ablation.decide(kept, kept.settings), np.asarray(run.alerting))
    without = ablation._varied(kept.settings, ablation.FIXED_VARIANTS[f"{ablation.FIXED}no settled threshold"])
    np.testing.assert_array_equal(ablation.decide(kept, without), np.asarray(runs["one"].alerting))


def test_samples_since_a_switch_come_back_from_the_kept_zone_flags() -> None:
    from edge_lstm.core.transitions import NEVER, ZONE, TwoStates, samples_since_switch
    from edge_lstm_train import ablation

    rng = np.random.default_rng(2)
    readings = np.repeat(rng.choice([-2.0, 2.0], size=60), rng.integers(1, 30, size=60))[:, None]
    since = samples_since_switch(readings, [TwoStates(0, -1.0, 1.0)])
    back = ablation._since_switch(since < ZONE)
    far = since >= ZONE
    np.testing.assert_array_equal(back[far], since[far])  # NEVER before the first switch too
    assert (back[~far] < ZONE).all() and (since == NEVER).any()


@pytest.mark.slow
def test_a_new_finding_in_a_lasting_alert_is_a_start_the_replay_the_ablation_and_the_judge_all_count(
    tmp_path: Path, bundle_dir: Path
) -> None:
    """Through the real model: a fault that lasts keeps one alert on; a reading that then freezes ends it
    and starts another in the same sample. The replay flags it, the ablation re-decides it from the kept
    marks, and judging counts it as a detection of the freeze."""
    from edge_lstm.bundle import load_bundle
    from edge_lstm.core.stuck import MIN_STUCK
    from edge_lstm.engine.replay import replay
    from edge_lstm.sources.csv_file import Recording
    from edge_lstm_train import ablation
    from edge_lstm_train.generalization import judge

    bundle = load_bundle(bundle_dir)
    values = synthetic.normal_stream(3000, seed=7, start_index=20_000).values.copy()
    offset = 8.0 * values[:, 1].std() * np.minimum(np.arange(2000) / 200, 1.0)
    values[1000:, 1] += offset  # a drift whose offset stays (no leap): one alert to the end
    values[2000:2200, 0] = values[1999, 0]  # then another sensor freezes
    n = len(bundle.features)
    stuck = {"after": [MIN_STUCK] * n, "low": [-1e9] * n, "high": [1e9] * n}
    run = replay(
        Recording(tmp_path / "t.csv", bundle.features, values, None), bundle, stream="t", overrides={"stuck": stuck}
    )
    alerting, restarts = np.asarray(run.alerting), np.asarray(run.restarts)
    assert alerting[1100:].all() and np.flatnonzero(restarts).tolist() == [1999 + MIN_STUCK - 1]
    kinds = [(e.event, e.index) for e in run.events if e.index >= 1100]
    assert kinds == [("alert_clear", 1999 + MIN_STUCK - 1), ("alert_start", 1999 + MIN_STUCK - 1)]

    kept = kept_run(bundle, run, bundle.manifest["alerting"].get("transitions", {}).get("bound"))
    np.testing.assert_array_equal(ablation.restarts_of(kept, ablation.decide(kept, kept.settings)), restarts)
    names = [f"{ablation.FIXED}shipped", f"{ablation.FIXED}no new findings"]
    table = ablation.ablate([kept], {name: ablation.FIXED_VARIANTS[name] for name in names})
    starts = [table[name]["g"]["alert_starts_outside_events"] for name in names]
    assert starts[0] == starts[1] + 1  # the variant without it has one start fewer: the restart's
    labels = np.zeros(3000, dtype=np.int8)
    labels[1000:1100] = labels[2000:2200] = 1
    with_it, without = judge("t", labels, alerting, 500, restarts), judge("t", labels, alerting, 500)
    # the freeze's window is caught (at least 1 up from the -1 of a miss), nothing else changes
    assert with_it.nab["standard"].raw - without.nab["standard"].raw > 1.0
