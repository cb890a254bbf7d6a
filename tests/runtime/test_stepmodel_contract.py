"""One contract for every step model: LiteRT int8, dynamic range and float, and the numpy reference.

A step model is ``(x_t, state) -> (reconstruction, state')`` over a batch of independent streams, with
all state in the caller's hands: no state may hide in the interpreter between calls.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from edge_lstm.bundle import load_bundle
from edge_lstm.core.stepmodel import StepModel, run_sequence, zero_state

KINDS = ["int8", "dynamic", "float", "numpy"]
# Rows of a batch must not see each other. Full-integer kernels may round a row differently when the
# batch shape changes the kernel path, so int8 gets one quantization step of slack; float is exact.
ROW_TOLERANCE = {"int8": 0.05, "dynamic": 1e-5, "float": 1e-6, "numpy": 1e-6}


@pytest.fixture(params=KINDS)
def model(request: pytest.FixtureRequest, bundle_dir: Path) -> tuple[str, StepModel]:
    bundle = load_bundle(bundle_dir)
    kind = str(request.param)
    return kind, (bundle.reference_model() if kind == "numpy" else bundle.open_model(kind))


def _inputs(model: StepModel, rows: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).normal(0, 1, (rows, model.n_features)).astype(np.float32)


def test_shapes_and_dtypes(model: tuple[str, StepModel]) -> None:
    _, m = model
    state = zero_state(m, batch=3)
    recon, new_state = m.step(_inputs(m, 3), state)
    assert recon.shape == (3, m.window, m.n_features) and recon.dtype == np.float32
    assert [s.shape for s in new_state] == [(3, size) for size in m.state_sizes]
    assert all(s.dtype == np.float32 for s in new_state)


def test_batch_rows_are_independent_streams(model: tuple[str, StepModel]) -> None:
    kind, m = model
    xs = _inputs(m, 4)
    state = tuple(np.random.default_rng(1).normal(0, 0.3, (4, size)).astype(np.float32) for size in m.state_sizes)
    recon, new_state = m.step(xs, state)
    for row in range(4):
        alone, alone_state = m.step(xs[row : row + 1], tuple(s[row : row + 1] for s in state))
        np.testing.assert_allclose(recon[row], alone[0], atol=ROW_TOLERANCE[kind])
        for batched, single in zip(new_state, alone_state, strict=True):
            np.testing.assert_allclose(batched[row], single[0], atol=ROW_TOLERANCE[kind])


def test_a_reset_is_a_zero_state_nothing_hides_in_the_interpreter(model: tuple[str, StepModel]) -> None:
    _, m = model
    xs = _inputs(m, 40, seed=2)
    first, _ = run_sequence(m, xs)
    m.step(_inputs(m, 1, seed=3) * 5, zero_state(m))  # anything in between
    again, _ = run_sequence(m, xs)  # from zero_state again
    np.testing.assert_array_equal(first, again)


def test_deterministic(model: tuple[str, StepModel]) -> None:
    _, m = model
    x, state = _inputs(m, 2, seed=4), zero_state(m, batch=2)
    one = m.step(x, state)
    two = m.step(x, state)
    np.testing.assert_array_equal(one[0], two[0])
    for a, b in zip(one[1], two[1], strict=True):
        np.testing.assert_array_equal(a, b)
