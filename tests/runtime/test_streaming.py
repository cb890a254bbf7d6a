"""Streaming equals batch: Keras sequence model, Keras step model, numpy reference and LiteRT agree."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from support import tensorflow_or_fail

from edge_lstm.bundle import load_bundle
from edge_lstm.core.stepmodel import run_sequence, zero_state
from edge_lstm.runtime.reference import NumpyStepModel
from edge_lstm.tools import synthetic

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module", params=["lstm", "gru"])
def keras_pair(request: pytest.FixtureRequest) -> tuple[object, object, str]:
    """A briefly trained sequence model (weights away from their initial values) and its step form."""
    tensorflow_or_fail()
    from edge_lstm_train.data import crops
    from edge_lstm_train.fit import ModelConfig, fit_sequence_model
    from edge_lstm_train.model import build_step_model

    cell = request.param
    values = synthetic.normal_stream(3000, seed=3).values
    scaled = ((values - values.mean(0)) / values.std(0)).astype(np.float32)
    config = ModelConfig(window=8, state_size=16, bottleneck=4, cell=cell, epochs=2, seq_len=64, stride=32)
    train = crops([scaled[:2400]], 64, 32, 8)
    val = crops([scaled[2400:]], 64, 64, 8)
    sequence_model, _ = fit_sequence_model(config, train, val, progress=False)
    return sequence_model, build_step_model(sequence_model, cell), cell


def _stream(n: int, seed: int = 11) -> np.ndarray:
    values = synthetic.normal_stream(n, seed=seed).values
    return ((values - values.mean(0)) / values.std(0)).astype(np.float32)


def test_step_by_step_equals_the_keras_sequence_model(keras_pair: tuple[object, object, str]) -> None:
    from edge_lstm_train.model import reference_weights

    sequence_model, step_model, cell = keras_pair
    xs = _stream(2000)
    batch = np.asarray(sequence_model(xs[None], training=False))[0]  # type: ignore[operator]
    reference = NumpyStepModel(reference_weights(sequence_model), cell=cell, window=8)
    streamed, _ = run_sequence(reference, xs)
    assert np.abs(streamed - batch).max() < 1e-4
    # The Keras step model itself, on the first steps (it is slow per call; the numpy cell covers the rest).
    state = [np.zeros((1, 16), np.float32) for _ in reference.state_sizes]
    for t in range(50):
        out = step_model([xs[t : t + 1], *state], training=False)  # type: ignore[operator]
        recon, state = np.asarray(out[0]), [np.asarray(s) for s in out[1:]]
        assert np.abs(recon.reshape(8, -1) - batch[t]).max() < 1e-4


def test_litert_float_matches_the_numpy_reference(bundle_dir: Path) -> None:
    bundle = load_bundle(bundle_dir)
    xs = _stream(3000)
    litert, _ = run_sequence(bundle.open_model("float"), xs)
    reference, _ = run_sequence(bundle.reference_model(), xs)
    assert np.abs(litert - reference).max() < 1e-5


def test_one_batched_invoke_equals_each_stream_alone(bundle_dir: Path) -> None:
    bundle = load_bundle(bundle_dir)
    model = bundle.open_model()
    streams = [_stream(300, seed=s) for s in (1, 2, 3, 4)]
    alone = [run_sequence(bundle.open_model(), s)[0] for s in streams]
    state = zero_state(model, batch=4)
    for t in range(300):
        recon, state = model.step(np.stack([s[t] for s in streams]), state)
        for k in range(4):
            np.testing.assert_allclose(recon[k], alone[k][t], atol=1e-6)


def test_state_is_a_plain_value_that_can_be_saved_and_restored(bundle_dir: Path) -> None:
    bundle = load_bundle(bundle_dir)
    model = bundle.open_model()
    xs = _stream(200)
    _, state = run_sequence(model, xs[:100])
    saved = tuple(s.copy() for s in state)
    continued, _ = run_sequence(model, xs[100:], state)
    restored, _ = run_sequence(bundle.open_model(), xs[100:], saved)  # a fresh interpreter, as after a restart
    np.testing.assert_array_equal(continued, restored)
