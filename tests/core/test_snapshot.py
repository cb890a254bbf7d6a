"""A detector captured mid-stream, through JSON, restored into a fresh one, carries on exactly: every
score and every alert event the same as if it had never stopped, for every kind of state."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from edge_lstm.bundle import load_bundle
from edge_lstm.core.calibration import ThresholdRule
from edge_lstm.core.detector import StreamDetector
from edge_lstm.core.snapshot import SnapshotMismatch, capture, restore
from edge_lstm.tools import synthetic

VARIANTS: dict[str, tuple[ThresholdRule | None, dict[str, Any]]] = {
    "adaptive (default)": (None, {}),
    "SPOT": (ThresholdRule("spot", 0.001), {}),
    "quantile, debounce": (ThresholdRule("quantile", 0.999), {}),
    "baseline and smoothing": (None, {"baseline": 200, "smooth": 3}),
    "tracked level": (None, {"level": (["flow"], 50)}),
}


@pytest.mark.parametrize("variant", VARIANTS)
def test_a_restored_detector_carries_on_exactly(bundle_dir: Path, variant: str) -> None:
    bundle = load_bundle(bundle_dir)
    rule, overrides = VARIANTS[variant]
    settings = bundle.detector_settings(None, rule, **overrides)
    model = bundle.open_model()
    data = synthetic.faulty_stream(3000, seed=4, start_index=30_000)
    values = data.values.copy()
    values[1700] = np.nan  # a skipped sample after the restart too
    times = [float(t) for t in data.timestamps]
    times[2000] += 5_000.0  # and a gap
    uninterrupted, first = StreamDetector(settings, model, "s"), StreamDetector(settings, model, "s")
    for i in range(1500):
        uninterrupted.process(values[i], times[i])
        first.process(values[i], times[i])
    saved = json.loads(json.dumps(capture(first)))  # through the file format's encoding
    resumed = StreamDetector(settings, model, "s")
    restore(resumed, saved)
    for i in range(1500, 3000):
        a, b = uninterrupted.process(values[i], times[i]), resumed.process(values[i], times[i])
        assert (a.score, a.alerting, a.skipped, a.events) == (b.score, b.alerting, b.skipped, b.events), i
    assert uninterrupted.counters == resumed.counters and uninterrupted.counters.alerts > 0


def test_a_snapshot_of_other_settings_does_not_fit(bundle_dir: Path) -> None:
    bundle = load_bundle(bundle_dir)
    model = bundle.open_model()
    spot = StreamDetector(bundle.detector_settings(None, ThresholdRule("spot", 0.001)), model)
    adaptive = StreamDetector(bundle.detector_settings(), model)
    with pytest.raises(SnapshotMismatch):
        restore(adaptive, capture(spot))


def test_a_snapshot_from_before_an_upgrade_restores_and_what_it_lacks_starts_fresh(bundle_dir: Path) -> None:
    """State a later version added (here the alert's age and whether it named a reading, and the
    adaptive rule's alert starts) is missing from a snapshot written before the upgrade: the rest carries
    on, the new state starts fresh. State the detector does not have is still a mismatch."""
    bundle = load_bundle(bundle_dir)
    settings, model = bundle.detector_settings(None, ThresholdRule("adaptive", 2.5)), bundle.open_model()
    data = synthetic.normal_stream(1200, seed=8, start_index=30_000)
    uninterrupted = StreamDetector(settings, model, "s")
    for i in range(800):
        uninterrupted.process(data.values[i], float(data.timestamps[i]))
    saved = json.loads(json.dumps(capture(uninterrupted)))
    for added in ("rows.alert_age", "rows.alert_named"):
        del saved[added]
    del saved["adaptive"]["object"]["_starts"]
    resumed = StreamDetector(settings, model, "s")
    restore(resumed, saved)
    for i in range(800, 1200):
        a, b = (
            uninterrupted.process(data.values[i], float(data.timestamps[i])),
            resumed.process(data.values[i], float(data.timestamps[i])),
        )
        assert a.score == b.score, i  # the model's state, window and scaling came back whole
    saved["rows.from_the_future"] = 1
    with pytest.raises(SnapshotMismatch, match=r"fields \['rows.from_the_future'\] are not its state"):
        restore(StreamDetector(settings, model, "s"), saved)
