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
