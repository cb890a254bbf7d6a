"""Whatever normal data a user brings, `edge-lstm train` with no flags writes a working bundle or
refuses in one line that names the file, the reason and the fix: never a traceback."""

from __future__ import annotations

import json
import math
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from support import tensorflow_or_fail

from edge_lstm.cli import main
from edge_lstm.errors import ExitStatus

pytestmark = pytest.mark.slow


def write(path: Path, times: np.ndarray, columns: dict[str, np.ndarray]) -> Path:
    lines = ["timestamp," + ",".join(columns)]
    for i, t in enumerate(times):
        stamp = datetime.fromtimestamp(float(t), tz=UTC).strftime("%Y-%m-%dT%H:%M:%S")
        lines.append(stamp + "," + ",".join("" if math.isnan(v[i]) else f"{v[i]:.6g}" for v in columns.values()))
    path.write_text("\n".join(lines) + "\n")
    return path


def train(tmp_path: Path, csv: Path) -> tuple[int, str]:
    result = CliRunner().invoke(main, ["train", str(csv), "--out", str(tmp_path / "bundle"), "-q"])
    return result.exit_code, result.output


@pytest.fixture(autouse=True)
def _tensorflow() -> None:
    tensorflow_or_fail()


def test_150_rows_with_irregular_timestamps_train_and_replay(tmp_path: Path) -> None:
    rng = np.random.default_rng(5)
    times = 1.7e9 + np.cumsum(rng.choice([300.0, 300.0, 300.0, 600.0, 900.0, 7200.0], size=150))
    csv = write(
        tmp_path / "small.csv", times, {"requests": 50 + 10 * np.sin(np.arange(150) / 12) + rng.normal(0, 1, 150)}
    )
    code, output = train(tmp_path, csv)
    assert code == 0, output
    assert "decide: window: 8 samples" in output and "decide: sampling: irregular" in output
    replay = CliRunner().invoke(main, ["replay", str(csv), "--model", str(tmp_path / "bundle")])
    assert replay.exit_code == 0, replay.output


def test_a_flat_series_trains_an_int8_model_that_runs_and_flags_a_change(tmp_path: Path) -> None:
    times = 1.7e9 + 60.0 * np.arange(500)
    code, output = train(tmp_path, write(tmp_path / "flat.csv", times, {"level": np.full(500, 3.0)}))
    assert code == 0, output
    assert "decide: channel level: constant in the training data" in output
    # XNNPACK refuses a zero quantization range; the representative data no longer has one.
    manifest = json.loads((tmp_path / "bundle" / "manifest.json").read_text())
    assert manifest["quantization"]["deployed"] == "int8", manifest["quantization"]
    later = np.full(500, 3.0)
    later[300:305] = 3.5
    test = write(tmp_path / "later.csv", times, {"level": later})
    replay = CliRunner().invoke(main, ["replay", str(test), "--model", str(tmp_path / "bundle")])
    assert replay.exit_code == 0 and '"event":"alert_start"' in replay.output


def test_a_mostly_empty_file_is_refused_with_the_file_the_reason_and_the_fix(tmp_path: Path) -> None:
    times = 1.7e9 + np.arange(40.0)
    a = np.where(np.arange(40) % 2 == 0, 1.0, np.nan)
    b = np.where(np.arange(40) % 2 == 1, 2.0, np.nan)
    code, output = train(tmp_path, write(tmp_path / "holes.csv", times, {"a": a, "b": b}))
    assert code == ExitStatus.DATA
    assert "holes.csv: fewer than 2 complete rows" in output and "--columns" in output
    assert "Traceback" not in output


def test_a_messy_export_trains_on_what_the_device_will_see_and_says_what_it_changed(tmp_path: Path) -> None:
    # Newest first, in epoch milliseconds, with labels, a repeated row, an absurd reading and a sensor
    # that stopped reporting halfway: each is handled and said, and the bundle replays the same file.
    n = 600
    rng = np.random.default_rng(8)
    millis = (1.7e9 + 10.0 * np.arange(n)) * 1000
    flow = 5 + np.sin(np.arange(n) / 9) + rng.normal(0, 0.05, n)
    pressure = 2 + 0.5 * np.cos(np.arange(n) / 13) + rng.normal(0, 0.05, n)
    humidity = np.where(np.arange(n) < n // 2, 40 + rng.normal(0, 1, n), np.nan)
    flow[100] = 1e300
    anomaly = (np.arange(n) >= 500) & (np.arange(n) < 520)
    rows = [
        f"{t:.0f},{f:.6g},{p:.6g},{'' if math.isnan(h) else f'{h:.6g}'},{int(a)}"
        for t, f, p, h, a in zip(millis, flow, pressure, humidity, anomaly, strict=True)
    ]
    rows.insert(200, rows[200])
    csv = tmp_path / "export.csv"
    csv.write_text("ts,flow,pressure,humidity,anomaly\n" + "\n".join(reversed(rows)) + "\n")
    code, output = train(tmp_path, csv)
    assert code == 0, output
    for said in (
        "rows are newest first; read oldest first",
        "1 rows repeat the timestamp of the row before",
        "1 readings beyond ±1e+30 read as missing",
        "anomaly: labels, not sensors; the 20 rows they mark are left out",
        "decide: channel humidity: left out: missing in 48 % of the rows",  # of those not labelled
    ):
        assert said in output, output
    manifest = json.loads((tmp_path / "bundle" / "manifest.json").read_text())
    assert manifest["features"] == ["flow", "pressure"] and manifest["sample_period_s"] == 10.0
    kept = manifest["training"]["data_notes"]  # the bundle keeps what training changed, with the counts
    assert len(kept) == 4 and all(str(csv) in note for note in kept), kept
    info = CliRunner().invoke(main, ["info", str(tmp_path / "bundle")])
    assert info.exit_code == 0 and f"training data: {csv}: rows are newest first; read oldest first" in info.output
    replay = CliRunner().invoke(main, ["replay", str(csv), "--model", str(tmp_path / "bundle")])
    assert replay.exit_code == 0 and "rows are newest first" in replay.output
