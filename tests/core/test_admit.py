"""A bank's ``admit`` checks and scales samples over rows of arrays; every outcome equals the plain
formulas, bit for bit: what is invalid, what is out of range, the model input, with and without smoothing."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from support import random_reference_weights

from edge_lstm.core.bank import DetectorBank
from edge_lstm.core.detector import DetectorSettings
from edge_lstm.core.rows import all_of, any_of, row_slice
from edge_lstm.core.samples import MAX_READING
from edge_lstm.core.scaling import StandardScaler
from edge_lstm.core.smoothing import TrailingMean
from edge_lstm.core.stream_rows import SKIP_REASONS
from edge_lstm.runtime.reference import NumpyStepModel

SCALER = StandardScaler(np.array([0.0, 50.0, -3.0], np.float32), np.array([1.0, 4.0, 1e-6], np.float32))
LOW, HIGH = np.array([-3.0, -2.5, -4.0], np.float32), np.array([3.0, 2.5, 4.0], np.float32)
value = st.one_of(
    st.floats(-100.0, 100.0),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([1e29, -1e29, 9.99e29, 1e30, -1e30, 1e24, 3e25, -2.9999, -3.0, 0.0, -0.0]),
)
rows = st.lists(st.tuples(value, value, value), min_size=1, max_size=30)


def reference(row: np.ndarray, smoother: TrailingMean | None) -> tuple[np.ndarray, bool] | str:
    """The formulas, one sample at a time: the checks, the affine, smoothing, the float32 cast."""
    if not (np.abs(row) < MAX_READING).all():
        return "invalid"
    center, scale = SCALER.mean.astype(np.float64), SCALER.scale.astype(np.float64)
    standardized = (row - center) / scale
    if not (np.abs(standardized) < MAX_READING).all():
        return "invalid"
    if smoother is not None:
        standardized = smoother.push(standardized)
    scaled = standardized.astype(np.float32)
    if ((scaled < LOW) | (scaled > HIGH)).any():
        return np.clip(scaled, LOW, HIGH), True
    return scaled, False


@settings(max_examples=300, deadline=None)
@given(rows, st.sampled_from([1, 3]))
def test_admit_equals_the_numpy_formulas(samples: list[tuple[float, float, float]], smooth: int) -> None:
    detector_settings = DetectorSettings(
        features=["a", "b", "c"], window=4, scaler=SCALER, threshold=1.0, input_low=LOW, input_high=HIGH, smooth=smooth
    )
    bank = DetectorBank(detector_settings, NumpyStepModel(random_reference_weights(), cell="lstm", window=4))
    one = row_slice(bank.acquire("s"))
    smoother = TrailingMean(smooth, 3) if smooth > 1 else None
    for sample in samples:
        row = np.array(sample, dtype=np.float64)
        expected = reference(row, smoother)
        got = bank.admit(one, row[None, :], np.array([np.nan]))
        if isinstance(expected, str):
            assert SKIP_REASONS[got.skipped[0]] == expected and not len(got.live)
            continue
        model_input, outside = expected
        assert got.x.dtype == np.float32 and got.x.shape == (1, 3)
        assert got.x[0].tobytes() == model_input.tobytes(), (sample, got.x, model_input)
        assert bool(got.out_of_range[0]) == outside


@settings(max_examples=200, deadline=None)
@given(st.lists(st.booleans(), max_size=40), st.integers(1, 3))
def test_any_of_and_all_of_read_bool_arrays_as_numpy_does(flags: list[bool], step: int) -> None:
    """They read a bool array's bytes: the same answers as ``any()`` and ``all()``, for one row, none,
    and a strided view."""
    array = np.array(flags, dtype=bool)[::step]
    assert any_of(array) == bool(array.any()) and all_of(array) == bool(array.all())
