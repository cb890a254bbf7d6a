"""The deployed model scores like the float model, within the bound the README documents."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from edge_lstm.bundle import load_bundle
from edge_lstm.core.scoring import sequence_sensor_errors
from edge_lstm.core.stepmodel import run_sequence
from edge_lstm.tools import synthetic

pytestmark = pytest.mark.slow

# Documented in the README ("Quantization"): median relative score error of the deployed model
# against the float model on unseen normal data.
MEDIAN_SCORE_ERROR_BOUND = {"float": 1e-5, "dynamic": 0.02, "int8": 0.10}


def _scores(model: object, scaled: np.ndarray, warmup: int) -> np.ndarray:
    recons, _ = run_sequence(model, scaled)  # type: ignore[arg-type]
    return sequence_sensor_errors(recons, scaled).mean(axis=1)[warmup:]


def test_deployed_scores_stay_within_the_documented_bound(bundle_dir: Path) -> None:
    bundle = load_bundle(bundle_dir)
    deployed = bundle.manifest["quantization"]["deployed"]
    scaled = bundle.scaler.transform(synthetic.normal_stream(4000, seed=21, start_index=50_000).values)
    warmup = bundle.manifest["alerting"]["warmup"]
    reference = _scores(bundle.open_model("float"), scaled, warmup)
    for variant in ("dynamic", "int8"):
        scores = _scores(bundle.open_model(variant), scaled, warmup)
        relative = np.abs(scores - reference) / reference
        assert np.median(relative) < MEDIAN_SCORE_ERROR_BOUND[variant], variant
    assert deployed in ("dynamic", "int8")


def test_manifest_records_the_measured_fidelity_of_every_variant(bundle_dir: Path) -> None:
    variants = load_bundle(bundle_dir).manifest["quantization"]["variants"]
    assert set(variants) == {"float", "dynamic", "int8"}
    assert variants["float"]["max_abs_reconstruction_error"] < 1e-4
    for report in variants.values():
        assert 0.0 <= report["detection_agreement_f1"] <= 1.0
        assert report["bytes"] > 0
    assert variants["dynamic"]["bytes"] < variants["float"]["bytes"]


def test_deployed_detection_agrees_with_float_on_injected_faults(bundle_dir: Path) -> None:
    from edge_lstm.engine.replay import replay
    from edge_lstm.sources.csv_file import Recording

    bundle = load_bundle(bundle_dir)
    stream = synthetic.faulty_stream(6000, seed=7, start_index=80_000)
    recording = Recording(Path("faulty"), synthetic.FEATURES, stream.values, stream.timestamps)
    deployed = replay(recording, bundle)
    floating = replay(recording, bundle, model=bundle.open_model("float"))
    agree = np.mean(deployed.alerting == floating.alerting)
    assert agree > 0.98
