"""Unbounded streams: the state is carried for 100,000 samples and the false-alarm rate does not drift."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from edge_lstm.bundle import load_bundle
from edge_lstm.core.stepmodel import run_sequence, zero_state
from edge_lstm.engine.replay import replay
from edge_lstm.sources.csv_file import Recording
from edge_lstm.tools import synthetic

pytestmark = pytest.mark.slow
N = 100_000


def test_false_alarm_rate_of_the_last_tenth_is_within_1_5x_of_the_first(bundle_dir: Path) -> None:
    bundle = load_bundle(bundle_dir)
    stream = synthetic.normal_stream(N, seed=42, start_index=200_000)
    result = replay(Recording(Path("long"), synthetic.FEATURES, stream.values, stream.timestamps), bundle)
    assert result.counters.scored == N - bundle.manifest["alerting"]["warmup"]
    scores = result.scores
    # Raw exceedances of a level that the first tenth crosses 1 % of the time: enough events to compare.
    tenth = N // 10
    level = np.nanquantile(scores[:tenth], 0.99)
    first = np.nanmean(scores[:tenth] > level)
    last = np.nanmean(scores[-tenth:] > level)
    assert first > 0
    assert last <= 1.5 * first, (first, last)
    # The rate can also fall with the slow regimes of the process; what must not happen is that the
    # carried state itself changes the scores. After 90,000 steps they equal a fresh start's.
    fresh = replay(
        Recording(Path("last-tenth"), synthetic.FEATURES, stream.values[-tenth:], stream.timestamps[-tenth:]), bundle
    ).scores
    warm = bundle.manifest["alerting"]["warmup"] + 200
    np.testing.assert_allclose(scores[-tenth + warm :], fresh[warm:], rtol=0.02, atol=1e-4)


def test_a_state_forced_far_off_returns_to_the_zero_started_trajectory(bundle_dir: Path) -> None:
    bundle = load_bundle(bundle_dir)
    model = bundle.open_model("float")
    scaled = bundle.scaler.transform(synthetic.normal_stream(600, seed=5, start_index=400_000).values)
    rng = np.random.default_rng(0)
    far = tuple(rng.normal(0, 3, s.shape).astype(np.float32) for s in zero_state(model))
    from_zero, _ = run_sequence(model, scaled)
    from_far, _ = run_sequence(bundle.open_model("float"), scaled, far)
    gap = np.abs(from_zero - from_far).max(axis=(1, 2))
    assert gap[0] > 1e-3  # the states really started apart
    assert gap[300:].max() < 1e-3
