"""Whatever arrives, the detector neither raises nor loses count (property-based)."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from test_core import make_detector

values = st.floats(allow_nan=True, allow_infinity=True, width=32)
rows = st.one_of(st.lists(values, min_size=3, max_size=3), st.lists(values, min_size=0, max_size=6))
timestamps = st.one_of(st.none(), st.floats(min_value=-1e9, max_value=1e10, allow_nan=False))


@settings(max_examples=150, deadline=None)
@given(st.lists(st.tuples(rows, timestamps), min_size=1, max_size=60))
def test_any_sequence_of_samples_is_processed_and_counted(samples: list[tuple[list[float], float | None]]) -> None:
    low, high = np.full(3, -5, np.float32), np.full(3, 5, np.float32)
    detector = make_detector(threshold=0.5, input_low=low, input_high=high, sample_period_s=1.0)
    for row, timestamp in samples:
        result = detector.process(row, timestamp)
        assert result.score is None or np.isfinite(result.score)
    c = detector.counters
    assert c.samples == len(samples)
    assert c.samples == c.invalid + c.duplicates + c.out_of_order + c.warming_up + c.scored
    assert all(np.isfinite(s).all() for s in detector.state)
