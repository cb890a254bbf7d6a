"""The command line: self-documenting, JSON-lines alerts, exact errors and exit codes."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from support import REPO

from edge_lstm import __version__
from edge_lstm.cli import main
from edge_lstm.errors import ExitStatus
from edge_lstm.tools import synthetic

COMMANDS = sorted(main.commands)  # type: ignore[attr-defined]


def test_the_expected_commands_exist() -> None:
    assert {"train", "replay", "demo", "bench", "info"} <= set(COMMANDS)


@pytest.mark.parametrize("command", COMMANDS)
def test_every_command_has_help_with_an_example(command: str) -> None:
    result = CliRunner().invoke(main, [command, "-h"])
    assert result.exit_code == 0, result.output
    assert "Example:" in result.output
    readme = (REPO / "README.md").read_text()
    assert f"edge-lstm {command}" in readme, f"README's CLI reference lacks `edge-lstm {command}`"


def test_version_and_group_help() -> None:
    assert CliRunner().invoke(main, ["--version"]).output.strip() == f"edge-lstm, version {__version__}"
    assert "Example: edge-lstm demo" in CliRunner().invoke(main, ["--help"]).output


@pytest.mark.slow
def test_replay_prints_alerts_as_json_lines_and_a_summary(tmp_path: Path, bundle_dir: Path) -> None:
    csv_path = tmp_path / "faulty.csv"
    synthetic.write_csv(str(csv_path), synthetic.faulty_stream(3000, seed=4, start_index=30_000))
    plot = tmp_path / "replay.png"
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "edge_lstm",
            "replay",
            str(csv_path),
            "--model",
            str(bundle_dir),
            "--plot",
            str(plot),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    events = [json.loads(line) for line in result.stdout.splitlines()]
    assert events and {e["event"] for e in events} <= {"alert_start", "alert_clear"}
    assert events[0]["event"] == "alert_start"
    for event in events:
        assert set(event) >= {
            "schema",
            "stream",
            "index",
            "timestamp",
            "score",
            "threshold",
            "severity",
            "model_id",
            "sequence",
            "contributions",
        }
    assert [e["sequence"] for e in events] == list(range(1, len(events) + 1))
    assert "3000 samples" in result.stderr and "alerts" in result.stderr
    assert plot.stat().st_size > 10_000 and plot.read_bytes()[:4] == b"\x89PNG"


@pytest.mark.slow
def test_replay_of_a_file_without_the_bundles_columns(tmp_path: Path, bundle_dir: Path) -> None:
    csv_path = tmp_path / "other.csv"
    csv_path.write_text("timestamp,x\n1,2\n")
    result = CliRunner().invoke(main, ["replay", str(csv_path), "--model", str(bundle_dir)])
    assert result.exit_code == ExitStatus.DATA
    assert result.output.strip() == (
        f"Error: {csv_path}: column 'vibration' not found; available columns: timestamp, x"
    )


@pytest.mark.slow
def test_replay_says_why_most_of_a_file_went_unscored(tmp_path: Path, bundle_dir: Path) -> None:
    csv_path = tmp_path / "stream.csv"
    synthetic.write_csv(str(csv_path), synthetic.faulty_stream(400, seed=4, start_index=30_000))
    header, *rows = csv_path.read_text().splitlines()
    shuffled = tmp_path / "shuffled.csv"
    shuffled.write_text("\n".join([header, *np.random.default_rng(0).permutation(rows)]) + "\n")
    result = CliRunner().invoke(main, ["replay", str(shuffled), "--model", str(bundle_dir)])
    assert result.exit_code == 0, result.output
    assert "samples repeat or go back in time and were skipped" in result.output
    assert "sort the file by its timestamp" in result.output
    blank = tmp_path / "blank.csv"  # the first modelled channel never reported
    blank.write_text("\n".join([header, *(_blank(r, header) for r in rows)]) + "\n")
    result = CliRunner().invoke(main, ["replay", str(blank), "--model", str(bundle_dir)])
    assert result.exit_code == 0 and "400 of 400 samples were invalid" in result.output, result.output
    assert "missing most in vibration (100 %): a sample is scored only with every modelled reading" in result.output


def _blank(row: str, header: str) -> str:
    """``row`` with the vibration reading left empty."""
    cells = row.split(",")
    cells[header.split(",").index("vibration")] = ""
    return ",".join(cells)


def test_a_broken_bundle_is_one_line_and_exit_65(tmp_path: Path) -> None:
    csv_path = tmp_path / "d.csv"
    csv_path.write_text("a\n1\n")
    result = CliRunner().invoke(main, ["replay", str(csv_path), "--model", str(tmp_path / "missing")])
    assert result.exit_code == ExitStatus.DATA
    assert result.output == f"Error: {tmp_path / 'missing'}: bundle directory not found\n"


@pytest.mark.slow
def test_info_describes_a_bundle(tmp_path: Path, bundle_dir: Path) -> None:
    result = CliRunner().invoke(main, ["info", str(bundle_dir)])
    assert result.exit_code == 0, result.output
    assert "features (5): vibration, motor_current, bearing_temp, pressure, flow" in result.output
    assert "deployed:" in result.output and "detection agreement" in result.output
    assert "agreement measured on probe steps of " in result.output
    from edge_lstm.bundle import load_bundle

    scores = load_bundle(bundle_dir).calibration_scores()
    assert f"held-out normal scores: median {np.median(scores):.4g}, " in result.output
    assert f"largest {scores.max():.4g}" in result.output
    # The session bundle has thousands of held-out scores, so a fixed threshold with its debounce.
    expected = "clears after 10 in a row under 0.8 x it, up to 160 while it keeps coming back"
    assert f"debounce: an alert starts at 3 of the last 5 scores over the threshold and {expected}" in result.output

    # A two-state channel whose switches the held-out data never saw: nothing held back, cycling watched.
    copy = tmp_path / "bundle"
    shutil.copytree(bundle_dir, copy)
    manifest = json.loads((copy / "manifest.json").read_text())
    guard = {"channels": ["flow"], "low": [-0.5], "high": [0.5], "zone": 4, "bound": 0.0, "shortest": [[12, 0]]}
    manifest["alerting"]["transitions"] = guard
    (copy / "manifest.json").write_text(json.dumps(manifest))
    result = CliRunner().invoke(main, ["info", str(copy)])
    assert "two-state channels: flow; no alert is held back (no held-out switch)" in result.output, result.output
    assert "short cycling: alerts after 2 runs in a row shorter than flow (off 12, on 0)" in result.output

    # The adaptive rule on data sampled every 10 minutes: its daily pattern, and no debounce.
    from edge_lstm.core.calibration import ThresholdRule, calibrate

    manifest["threshold"] = calibrate(scores, ThresholdRule("adaptive", 2.5))
    manifest["sample_period_s"], manifest["mean_period_s"] = 600.0, 600.0
    (copy / "manifest.json").write_text(json.dumps(manifest))
    result = CliRunner().invoke(main, ["info", str(copy)])
    assert "(adaptive z=2.5)" in result.output and "debounce:" not in result.output, result.output
    assert "daily pattern: an alert that starts again 144 samples (a day) after the last one, give or take 14" in (
        result.output
    )
    assert "sample period 600.0 s\n" in result.output  # no jitter to speak of
    # Jittered readings: a day is counted at the mean interval, and info says both.
    manifest["mean_period_s"] = 640.0
    (copy / "manifest.json").write_text(json.dumps(manifest))
    result = CliRunner().invoke(main, ["info", str(copy)])
    assert "sample period 600.0 s (median; mean interval 640 s)" in result.output
    assert "starts again 135 samples (a day) after the last one, give or take 14" in result.output
    budget = "alert budget: beyond 3 alert starts within 5000 scores, each start raises the z an alert needs by 0.25"
    assert f"{budget}, up to 1, and makes the last alert part of the stream's normal scores" in result.output


@pytest.mark.slow
def test_bench_writes_its_figures(tmp_path: Path, bundle_dir: Path) -> None:
    out = tmp_path / "bench.json"
    result = CliRunner().invoke(main, ["bench", "--model", str(bundle_dir), "--repeats", "200", "--results", str(out)])
    assert result.exit_code == 0, result.output
    figures = json.loads(out.read_text())
    assert figures["step_us"]["litert_int8_batch1"] > 0 and figures["detector_us_per_sample"] > 0
    headline = [
        "invoke_us",
        "hot_path_us_1_stream",
        "hot_path_over_invoke",
        "samples_per_s_16_streams_one_core",
        "samples_per_s_256_streams_one_core",
        "sliding_window_keras_us",
        "speedup_vs_sliding_window_keras",
        "rss_mb_idle",
        "rss_mb_256_streams",
        "bundle_kb",
        "first_decision_s",
        "mqtt_samples_per_s_zero_loss",
        "mqtt_p99_ms_at_10k",
    ]
    assert all(key in figures for key in headline)
    measured = [k for k in headline if not k.startswith("mqtt_")]
    assert all(figures[k] > 0 for k in measured), {k: figures[k] for k in measured}
    assert set(figures["health_ms"]) == {"first", "next"} and set(figures["gc_full_pass_ms"]) == {"unfrozen", "frozen"}
    assert figures["health_ms"]["first"] > 0 and figures["gc_full_pass_ms"]["unfrozen"] > 0


@pytest.mark.slow
def test_bench_serial_writes_its_figures(tmp_path: Path, bundle_dir: Path) -> None:
    out = tmp_path / "serial.json"
    command = ["bench-serial", "--model", str(bundle_dir), "--seconds", "0.5", "--results", str(out)]
    result = CliRunner().invoke(main, command)
    assert result.exit_code == 0, result.output
    figures = json.loads(out.read_text())
    assert [s["ports"] for s in figures["scenarios"]] == [1, 8, 1]
    assert all(s["samples_scored"] > 0 and s["parse_errors"] == 0 for s in figures["scenarios"])


@pytest.mark.parametrize(
    ("value", "message"),
    [("3", "--debounce '3': expected N/M, for example 3/5"), ("6/5", "--debounce '6/5': need 1 <= fire_n <= fire_m")],
)
def test_train_rejects_a_bad_debounce_with_an_exact_message(tmp_path: Path, value: str, message: str) -> None:
    csv_path = tmp_path / "x.csv"
    csv_path.write_text("a,b\n1,2\n")
    result = CliRunner().invoke(main, ["train", str(csv_path), "--out", str(tmp_path / "b"), "--debounce", value])
    assert result.exit_code == 2 and message in result.output
