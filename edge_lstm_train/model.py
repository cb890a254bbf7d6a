"""The streaming LSTM autoencoder, in two forms that share weights.

* The **sequence model** (training): samples (batch, time, features) -> for every step t, the
  reconstruction of the trailing window x[t-window+1..t], from a bottleneck of the causal recurrent
  state. Nothing after t is used at t.
* The **step model** (deployment): (x_t, h, c) -> (reconstruction, h', c') with the state as explicit
  float32 inputs and outputs. It is what gets converted to TFLite: plain FULLY_CONNECTED / LOGISTIC /
  TANH ops, constant cost per sample, no hidden variables.

The trailing-window reconstruction follows the streaming LSTM encoder-decoder idea of Malhotra et al.,
"LSTM-based Encoder-Decoder for Multi-sensor Anomaly Detection" (2016), made causal and one-step.
"""

from __future__ import annotations

from typing import Any

from edge_lstm_train import import_tensorflow_quietly

import_tensorflow_quietly()

import keras
import numpy as np
from keras import layers, ops

from edge_lstm.errors import SettingsError


def _recurrent_layer(cell: str, units: int, **options: Any) -> Any:
    if cell == "lstm":
        return layers.LSTM(units, return_sequences=True, name="encoder", **options)
    if cell == "gru":
        return layers.GRU(units, return_sequences=True, reset_after=True, name="encoder", **options)
    raise SettingsError(f"unknown cell {cell!r}; expected 'lstm' or 'gru'")


def build_sequence_model(
    n_features: int,
    window: int,
    state_size: int,
    bottleneck: int,
    cell: str = "lstm",
    dropout: float = 0.0,
    l2: float = 0.0,
) -> keras.Model:
    regularizer = keras.regularizers.L2(l2) if l2 > 0 else None
    samples = keras.Input(shape=(None, n_features), name="samples")
    states = _recurrent_layer(cell, state_size, dropout=dropout, kernel_regularizer=regularizer)(samples)
    code = layers.Dense(bottleneck, activation="tanh", name="bottleneck", kernel_regularizer=regularizer)(states)
    flat = layers.Dense(window * n_features, name="decoder")(code)
    reconstruction = layers.Reshape((-1, window, n_features), name="reconstruction")(flat)
    return keras.Model(samples, reconstruction, name="streaming_autoencoder")


def build_step_model(sequence_model: keras.Model, cell: str = "lstm") -> keras.Model:
    """The one-step form of ``sequence_model``, with its weights copied in."""
    encoder = sequence_model.get_layer("encoder")
    n_features = sequence_model.input_shape[-1]
    units = encoder.units
    window = sequence_model.output_shape[-2]
    x = keras.Input(shape=(n_features,), name="x")
    h = keras.Input(shape=(units,), name="h")
    if cell == "lstm":
        c = keras.Input(shape=(units,), name="c")
        step_cell = layers.LSTMCell(units, name="encoder_cell")
        output, (h_next, c_next) = step_cell(x, [h, c])
        inputs, state_outputs = [x, h, c], [h_next, c_next]
    else:
        step_cell = layers.GRUCell(units, reset_after=True, name="encoder_cell")
        output, h_next = step_cell(x, [h])
        h_next = h_next[0] if isinstance(h_next, list | tuple) else h_next
        inputs, state_outputs = [x, h], [h_next]
    code = layers.Dense(encoder_bottleneck(sequence_model), activation="tanh", name="bottleneck")(output)
    flat = layers.Dense(window * n_features, name="decoder")(code)
    step = keras.Model(inputs, [flat, *state_outputs], name="step_model")
    step_cell.set_weights(encoder.cell.get_weights())
    for name in ("bottleneck", "decoder"):
        step.get_layer(name).set_weights(sequence_model.get_layer(name).get_weights())
    return step


def encoder_bottleneck(sequence_model: keras.Model) -> int:
    return int(sequence_model.get_layer("bottleneck").units)


def reference_weights(sequence_model: keras.Model) -> dict[str, np.ndarray]:
    """Float weights for the numpy reference cell (``edge_lstm.runtime.reference``)."""
    kernel, recurrent, bias = sequence_model.get_layer("encoder").cell.get_weights()
    bottleneck_kernel, bottleneck_bias = sequence_model.get_layer("bottleneck").get_weights()
    decoder_kernel, decoder_bias = sequence_model.get_layer("decoder").get_weights()
    return {
        "cell_kernel": kernel,
        "cell_recurrent_kernel": recurrent,
        "cell_bias": bias,
        "bottleneck_kernel": bottleneck_kernel,
        "bottleneck_bias": bottleneck_bias,
        "decoder_kernel": decoder_kernel,
        "decoder_bias": decoder_bias,
    }


class TrailingWindowLoss(keras.losses.Loss):
    """Mean squared error of the trailing-window reconstruction, ignoring the first ``window - 1``
    steps of each crop: there the window reaches back before the crop, which the state never saw."""

    def __init__(self, window: int, name: str = "trailing_window_mse", **kwargs: Any) -> None:
        super().__init__(name=name, **kwargs)
        self.window = window

    def call(self, y_true: Any, y_pred: Any) -> Any:
        skip = self.window - 1
        return ops.mean(ops.square(y_true[:, skip:] - y_pred[:, skip:]), axis=(-1, -2))

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "window": self.window}
