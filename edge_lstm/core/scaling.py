"""Per-feature standardization, fitted on the training split only."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from edge_lstm.errors import DataError

FloatArray = npt.NDArray[np.float32]


@dataclass(frozen=True)
class StandardScaler:
    """x_scaled = (x - mean) / scale, one mean and scale per feature."""

    mean: FloatArray
    scale: FloatArray

    @classmethod
    def fit(cls, values: npt.ArrayLike) -> StandardScaler:
        """Mean and standard deviation per column of a (rows, features) array without NaN (at least 2 rows)."""
        data = np.asarray(values, dtype=np.float64)
        if data.ndim != 2 or data.shape[0] < 2:
            raise DataError(f"need a (rows, features) array with at least 2 rows, got shape {data.shape}")
        if not np.isfinite(data).all():
            raise DataError("cannot fit a scaler on data that contains NaN or infinity")
        mean, std = data.mean(axis=0), data.std(axis=0)
        # One step of a quantized channel (a count, a 0.5-degree sensor) must not look like many sigma:
        # the scale is at least the channel's resolution. A constant channel has none; there a change
        # of 1 % of its value (or 1e-6 at zero) counts as one sigma, so any change stands out.
        floor = np.maximum(resolution(data), 1e-6)
        constant = std <= 1e-12 * np.maximum(np.abs(mean), 1.0)
        floor[constant] = np.maximum(0.01 * np.abs(mean[constant]), 1e-6)
        return cls(mean.astype(np.float32), np.maximum(std, floor).astype(np.float32))

    @property
    def n_features(self) -> int:
        """How many features the scaler standardizes."""
        return int(self.mean.shape[0])

    def transform(self, values: npt.ArrayLike) -> FloatArray:
        """``(values - mean) / scale`` as float32."""
        return ((np.asarray(values, dtype=np.float32) - self.mean) / self.scale).astype(np.float32)

    def inverse(self, scaled: npt.ArrayLike) -> FloatArray:
        """``scaled * scale + mean`` as float32: back to sensor units."""
        return (np.asarray(scaled, dtype=np.float32) * self.scale + self.mean).astype(np.float32)

    def to_dict(self) -> dict[str, list[float]]:
        """The manifest's form: ``{"mean": [...], "scale": [...]}``."""
        return {"mean": [float(v) for v in self.mean], "scale": [float(v) for v in self.scale]}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> StandardScaler:
        """Read the manifest's form back; ``DataError`` if it is malformed."""
        mean = np.asarray(data["mean"], dtype=np.float32)
        scale = np.asarray(data["scale"], dtype=np.float32)
        if mean.shape != scale.shape or mean.ndim != 1:
            raise DataError("scaler mean and scale must be lists of the same length")
        if not (scale > 0).all():
            raise DataError("scaler scale values must all be positive")
        return cls(mean, scale)


def resolution(values: npt.ArrayLike) -> npt.NDArray[np.float64]:
    """Per column, the smallest step between distinct values when the column takes few distinct values
    (a quantized or integer sensor), else 0.

    >>> resolution([[0.0, 1.5], [2.0, 1.0], [4.0, 2.5], [2.0, 1.0]] * 4).tolist()
    [2.0, 0.5]
    """
    data = np.asarray(values, dtype=np.float64)
    out = np.zeros(data.shape[1])
    for j in range(data.shape[1]):
        distinct = np.unique(data[:, j])
        # Continuous readings have (nearly) as many distinct values as rows; quantized ones far fewer.
        if 1 < distinct.size <= max(2, data.shape[0] // 4):
            out[j] = float(np.diff(distinct).min())
    return out
