"""A pump whose strokes speed up: with ``--cadence`` training finds the cycle and measures its cadence,
says so and stores it, `info` shows it, and replaying the faster strokes through the deployed model
alerts on them; without the flag there is no watch."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from support import tensorflow_or_fail


def pressure(rows: int, period: float, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return 4.0 + 1.5 * np.sin(2 * np.pi * np.arange(rows) / period) + 0.03 * rng.standard_normal(rows)


def test_training_watches_a_pumps_cadence_and_faster_strokes_alert(tmp_path: Path) -> None:
    tensorflow_or_fail()
    from click.testing import CliRunner

    from edge_lstm.bundle import load_bundle
    from edge_lstm.cli import main
    from edge_lstm.engine.replay import replay
    from edge_lstm.sources.csv_file import Recording

    path = tmp_path / "pump.csv"
    normal = pressure(1500, 20.0, seed=1)
    path.write_text("pressure_bar\n" + "".join(f"{v:.3f}\n" for v in normal))
    out, without = tmp_path / "bundle", tmp_path / "without"
    result = CliRunner().invoke(main, ["train", str(path), "--out", str(out), "--epochs", "5", "--cadence"])
    assert result.exit_code == 0, result.output
    assert "cadence: 5 cycles that take a time outside these samples alert: pressure_bar " in result.output
    bundle = load_bundle(out)
    setting = bundle.manifest["alerting"]["cadence"]
    assert setting["cycles"] == 5 and setting["low"][0] < 100 < setting["high"][0]
    info = CliRunner().invoke(main, ["info", str(out)]).output
    assert "cadence: an alert while the last 5 cycles take a time outside (samples) pressure_bar " in info
    off = CliRunner().invoke(main, ["train", str(path), "--out", str(without), "--epochs", "5"])  # off by default
    assert off.exit_code == 0 and "cadence" not in load_bundle(without).manifest["alerting"]

    test = pressure(1500, 20.0, seed=2)
    test[800:1100] = pressure(300, 20.0 / 1.15, seed=3)  # 15 % faster for 300 samples
    result_ = replay(Recording(path, ["pressure_bar"], test[:, None], None), bundle)
    starts = [e for e in result_.events if e.event == "alert_start"]
    inside = [e for e in starts if 800 <= e.index < 1100]
    assert inside and inside[0].contributions == {"pressure_bar": 1.0}, [(e.index, e.contributions) for e in starts]
    assert result_.alerting[900:1100].mean() > 0.9
