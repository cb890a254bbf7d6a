"""``admit`` checks and scales a sample on Python floats; every outcome equals the numpy formulas it
replaced, bit for bit: what is invalid, what is out of range, the model input, with and without smoothing."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from support import random_reference_weights

from edge_lstm.core.detector import DetectorSettings, StepResult, StreamDetector
from edge_lstm.core.samples import MAX_READING
from edge_lstm.core.scaling import StandardScaler
from edge_lstm.core.smoothing import TrailingMean
from edge_lstm.runtime.reference import NumpyStepModel

SCALER = StandardScaler(np.array([0.0, 50.0, -3.0], np.float32), np.array([1.0, 4.0, 1e-6], np.float32))
LOW, HIGH = np.array([-3.0, -2.5, -4.0], np.float32), np.array([3.0, 2.5, 4.0], np.float32)
value = st.one_of(
    st.floats(-100.0, 100.0),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([1e29, -1e29, 9.99e29, 1e30, -1e30, 1e24, 3e25, -2.9999, -3.0, 0.0, -0.0]),
)
rows = st.lists(st.tuples(value, value, value), min_size=1, max_size=30)


def reference(row: np.ndarray, smoother: TrailingMean | None) -> np.ndarray | str:
    """The numpy formulas ``admit`` used before: the checks, the affine, smoothing, the float32 cast."""
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
        return np.clip(scaled, LOW, HIGH)
    return scaled


@settings(max_examples=300, deadline=None)
@given(rows, st.sampled_from([1, 3]))
def test_admit_equals_the_numpy_formulas(samples: list[tuple[float, float, float]], smooth: int) -> None:
    detector_settings = DetectorSettings(
        features=["a", "b", "c"], window=4, scaler=SCALER, threshold=1.0, input_low=LOW, input_high=HIGH, smooth=smooth
    )
    detector = StreamDetector(detector_settings, NumpyStepModel(random_reference_weights(), cell="lstm", window=4))
    smoother = TrailingMean(smooth, 3) if smooth > 1 else None
    for sample in samples:
        row = np.array(sample, dtype=np.float64)
        expected = reference(row, smoother)
        got = detector.admit(row)
        if isinstance(expected, str):
            assert isinstance(got, StepResult) and got.skipped == expected
            continue
        assert isinstance(got, np.ndarray) and got.dtype == np.float32
        assert got.tobytes() == expected.tobytes(), (sample, got, expected)
        detector.complete(np.zeros((4, 3), np.float32))
