"""The ablation re-decides kept scores exactly as the detector decided them, for a fixed threshold too."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from edge_lstm.tools import synthetic


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
    device = bundle.detector_settings()
    kept = ablation.Kept(
        "t",
        "g",
        np.asarray(run.scores),
        np.zeros(len(values), dtype=np.int8),
        0,
        bundle.calibration_scores(),
        ablation.FixedRule(float(run.threshold), device.debounce, device.sustained),
        np.asarray(run.marked),
        np.asarray(run.switching),
        bundle.manifest["alerting"].get("transitions", {}).get("bound"),
        0,
    )
    assert ablation.variants_for([kept]) == ablation.FIXED_VARIANTS
    np.testing.assert_array_equal(ablation.decide(kept, kept.settings), np.asarray(run.alerting))

    table = ablation.ablate([kept], ablation.FIXED_VARIANTS)
    shipped = table[f"{ablation.FIXED}shipped"]["g"]["alert_starts_outside_events"]
    plain = table[f"{ablation.FIXED}no clearing backoff"]["g"]["alert_starts_outside_events"]
    assert 1 <= shipped < plain / 3, (shipped, plain)
