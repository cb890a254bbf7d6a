"""Training is seeded and reproducible, and its configuration is validated up front."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from support import tensorflow_or_fail

from edge_lstm.tools import synthetic

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
    with pytest.raises(ValueError, match=r"^dropout must be in \[0, 1\), got 1.5$"):
        ModelConfig(dropout=1.5)
    with pytest.raises(ValueError, match=r"^quantization must be auto, float, dynamic or int8, got 'int4'$"):
        TrainOptions(quantization="int4")


def test_a_single_sensor_stream_trains_and_detects(tmp_path: Path) -> None:
    tensorflow_or_fail()
    from click.testing import CliRunner

    from edge_lstm.bundle import load_bundle
    from edge_lstm.cli import main
    from edge_lstm.engine.replay import replay
    from edge_lstm.sources.csv_file import Recording

    stream = synthetic.normal_stream(6000, seed=0)
    csv_path = tmp_path / "flow.csv"
    csv_path.write_text(
        "timestamp,flow\n" + "".join(f"{t},{v}\n" for t, v in zip(stream.timestamps, stream.values[:, 4], strict=True))
    )
    out = tmp_path / "flow-bundle"
    result = CliRunner().invoke(
        main,
        ["train", str(csv_path), "--out", str(out), "--epochs", "20", "--quiet", "--l2", "1e-5", "--dropout", "0.05"],
    )
    assert result.exit_code == 0, result.output
    bundle = load_bundle(out)
    assert bundle.features == ["flow"]
    assert (
        bundle.manifest["training"]["config"]["l2"] == 1e-5 and bundle.manifest["training"]["config"]["dropout"] == 0.05
    )
    test = synthetic.normal_stream(1500, seed=5, start_index=50_000)
    values = test.values[:, 4:5].copy()
    values[800:806] += 60.0  # a burst far outside the normal flow (about 10 sigma)
    run = replay(Recording(csv_path, ["flow"], values, test.timestamps), bundle)
    starts = [e for e in run.events if e.event == "alert_start"]
    assert any(800 <= e.index < 830 for e in starts)
    assert starts[0].contributions == {"flow": 1.0}
