"""A numpy implementation of the exported step model, from the bundle's float weights.

It is the independent check that the LiteRT file computes the cell we think it does, and a fallback
where LiteRT is unavailable. Gate order follows Keras: LSTM (i, f, c, o); GRU (z, r, h) with
``reset_after=True``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import numpy.typing as npt

from edge_lstm.core.stepmodel import State
from edge_lstm.errors import SettingsError

FloatArray = npt.NDArray[np.float32]


def _sigmoid(v: FloatArray) -> FloatArray:
    return np.asarray(1.0 / (1.0 + np.exp(-v)), dtype=np.float32)


class NumpyStepModel:
    """The step model in plain numpy from the float weights: the reference every export is checked
    against, and a fallback that needs no interpreter."""

    def __init__(self, weights: dict[str, FloatArray], *, cell: str, window: int, bottleneck_activation: str = "tanh"):
        self.cell = cell
        self.window = window
        self._w = {k: np.asarray(v, dtype=np.float32) for k, v in weights.items()}
        self.n_features = int(self._w["cell_kernel"].shape[0])
        units = int(self._w["cell_recurrent_kernel"].shape[0])
        if cell == "lstm":
            self.state_sizes: tuple[int, ...] = (units, units)
        elif cell == "gru":
            self.state_sizes = (units,)
        else:
            raise SettingsError(f"unknown cell {cell!r}; expected 'lstm' or 'gru'")
        self._activation = bottleneck_activation

    @classmethod
    def from_file(cls, path: str | Path, *, cell: str, window: int) -> NumpyStepModel:
        """Load the weights a bundle stores (``reference_weights.npz``, no pickle)."""
        with np.load(path, allow_pickle=False) as data:
            return cls({k: data[k] for k in data.files}, cell=cell, window=window)

    def _lstm(self, x: FloatArray, h: FloatArray, c: FloatArray) -> tuple[FloatArray, FloatArray]:
        w = self._w
        z = x @ w["cell_kernel"] + h @ w["cell_recurrent_kernel"] + w["cell_bias"]
        i, f, g, o = np.split(z, 4, axis=-1)
        c_new = _sigmoid(f) * c + _sigmoid(i) * np.tanh(g)
        h_new = _sigmoid(o) * np.tanh(c_new)
        return h_new.astype(np.float32), c_new.astype(np.float32)

    def _gru(self, x: FloatArray, h: FloatArray) -> FloatArray:
        w = self._w
        bias = w["cell_bias"]  # (2, 3 * units) with reset_after=True: input bias, recurrent bias
        xz, xr, xh = np.split(x @ w["cell_kernel"] + bias[0], 3, axis=-1)
        hz, hr, hh = np.split(h @ w["cell_recurrent_kernel"] + bias[1], 3, axis=-1)
        z = _sigmoid(xz + hz)
        r = _sigmoid(xr + hr)
        candidate = np.tanh(xh + r * hh)
        return np.asarray(z * h + (1.0 - z) * candidate, dtype=np.float32)

    def step(self, x: FloatArray, state: State) -> tuple[FloatArray, State]:
        """Advance each row of ``x`` by one sample (see ``StepModel.step``)."""
        x = np.asarray(x, dtype=np.float32)
        if self.cell == "lstm":
            h, c = self._lstm(x, state[0], state[1])
            new_state: State = (h, c)
        else:
            h = self._gru(x, state[0])
            new_state = (h,)
        w = self._w
        code = h @ w["bottleneck_kernel"] + w["bottleneck_bias"]
        if self._activation == "tanh":
            code = np.tanh(code)
        flat = code @ w["decoder_kernel"] + w["decoder_bias"]
        return flat.reshape(x.shape[0], self.window, self.n_features).astype(np.float32), new_state
