"""Training is seeded and reproducible, and its configuration is validated up front."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import tensorflow_or_fail

from edge_lstm import synthetic

pytestmark = pytest.mark.slow


def test_the_same_seed_gives_the_same_weights() -> None:
    tensorflow_or_fail()
    from edge_lstm_train.data import crops
    from edge_lstm_train.fit import ModelConfig, fit_sequence_model

    values = synthetic.normal_stream(2000, seed=8).values
    scaled = ((values - values.mean(0)) / values.std(0)).astype(np.float32)
    config = ModelConfig(window=8, state_size=8, bottleneck=4, epochs=2, seq_len=64, stride=32, seed=3)
    data = crops([scaled[:1600]], 64, 32, 8), crops([scaled[1600:]], 64, 64, 8)
    first = fit_sequence_model(config, *data, progress=False)[0].get_weights()
    second = fit_sequence_model(config, *data, progress=False)[0].get_weights()
    for a, b in zip(first, second, strict=True):
        np.testing.assert_array_equal(a, b)


def test_model_config_rejects_bad_values_with_exact_messages() -> None:
    tensorflow_or_fail()
    from edge_lstm_train.fit import ModelConfig
    from edge_lstm_train.pipeline import TrainOptions

    with pytest.raises(ValueError, match=r"^cell must be 'lstm' or 'gru', got 'rnn'$"):
        ModelConfig(cell="rnn")
    with pytest.raises(ValueError, match=r"^seq_len \(20\) must be at least twice the window \(16\)$"):
        ModelConfig(seq_len=20)
    with pytest.raises(ValueError, match=r"^quantization must be auto, float, dynamic or int8, got 'int4'$"):
        TrainOptions(quantization="int4")
