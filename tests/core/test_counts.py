"""Count channels read through a square root: what the transform keeps, and which channels are counts."""

from __future__ import annotations

import numpy as np
import pytest

from edge_lstm.core.counts import is_count, root
from edge_lstm.core.scaling import StandardScaler
from edge_lstm.core.settings import DetectorSettings
from edge_lstm.errors import SettingsError


def test_the_root_keeps_zero_order_and_sign_and_leaves_other_channels_alone() -> None:
    x = np.column_stack([np.linspace(-50, 50, 101), np.linspace(-50, 50, 101)])
    out = root(x, np.array([True, False]))
    np.testing.assert_array_equal(out[:, 1], x[:, 1])
    assert out[50, 0] == 0.0 and (np.diff(out[:, 0]) > 0).all()  # 0 stays 0; order is kept
    np.testing.assert_allclose(out[::-1, 0], -out[:, 0])  # mirrored below 0: a negative reading stands out
    assert np.isnan(root(np.array([[np.nan]]), np.array([True]))).all()  # a gap stays a gap


def test_the_root_evens_out_the_spread_of_quiet_and_busy_counts() -> None:
    rng = np.random.default_rng(0)
    quiet, busy = rng.poisson(5, 20_000).astype(float), rng.poisson(500, 20_000).astype(float)
    assert busy.std() / quiet.std() > 9  # the raw spread grows as the square root of the mean
    mask = np.array([True])
    spreads = [root(c[:, None], mask).std() for c in (quiet, busy)]
    assert spreads[1] / spreads[0] == pytest.approx(1.0, abs=0.1)


@pytest.mark.parametrize(
    ("column", "expected"),
    [
        (np.random.default_rng(1).poisson(np.random.default_rng(2).gamma(2.0, 10.0, 3000)), True),  # bursty counts
        (np.random.default_rng(1).poisson(np.random.default_rng(2).gamma(2.0, 10.0, 3000)) - 5, False),  # below 0
        (np.round(np.random.default_rng(3).normal(100, 10, 3000)), False),  # integers, but symmetric
        (np.random.default_rng(4).gamma(2.0, 10.0, 3000), False),  # skewed, but not integers
        (np.random.default_rng(5).poisson(0.3, 3000), False),  # a handful of values: 0, 1, 2, ...
        (np.zeros(3000), False),
        (np.where(np.arange(3000) % 100 < 25, np.round(np.random.default_rng(6).gamma(9.0, 20.0, 3000)), 0.0), False),
    ],
)
def test_a_count_is_a_skewed_non_negative_integer_with_many_values(column: np.ndarray, expected: bool) -> None:
    """The last: a machine's power in whole watts, 0 when off: skewed integers, but a switch."""
    assert is_count(column) is expected


def test_the_detector_settings_refuse_counts_that_are_not_features() -> None:
    scaler = StandardScaler(np.zeros(1, np.float32), np.ones(1, np.float32))
    with pytest.raises(SettingsError, match=r"^count channels \['rate'\] are not all among \['flow'\]$"):
        DetectorSettings(features=["flow"], window=4, scaler=scaler, threshold=1.0, counts=("rate",))
