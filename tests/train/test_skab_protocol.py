"""`edge-lstm evaluate --protocol skab` end to end on a small SKAB-shaped directory (the real SKAB
data is GPL-3.0 and stays outside the repo): both protocols train real bundles, score through LiteRT,
and report the parts, the ablation and the published rows."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from support import tensorflow_or_fail

from edge_lstm.cli import main
from edge_lstm.tools import synthetic

pytestmark = pytest.mark.slow

HEADER = (
    "datetime;Accelerometer1RMS;Accelerometer2RMS;Current;Pressure;Temperature;Thermocouple;Voltage;"
    "Volume Flow RateRMS;anomaly;changepoint"
)


def _write_skab_like(path: Path, seed: int, rows: int, fault: tuple[int, int] | None) -> None:
    stream = synthetic.normal_stream(rows, seed=seed)
    vib, current, temp, pressure, flow = stream.values.T
    rng = np.random.default_rng(seed)
    anomaly = np.zeros(rows, dtype=int)
    changepoint = np.zeros(rows, dtype=int)
    if fault is not None:
        start, end = fault
        flow = flow.copy()
        pressure = pressure.copy()
        flow[start:end] -= 10 * flow[:400].std()  # a valve closing: flow drops, pressure rises
        pressure[start:end] += 10 * pressure[:400].std()
        anomaly[start:end] = 1
        changepoint[[start, end]] = 1
    lines = [HEADER]
    for i in range(rows):
        stamp = datetime.fromtimestamp(float(stream.timestamps[i]), tz=UTC).strftime("%Y-%m-%d %H:%M:%S")
        cells = [vib[i], 0.9 * vib[i] + 0.01 * rng.normal(), current[i], pressure[i], temp[i], temp[i] + i / 50.0]
        cells += [230 + rng.normal(), flow[i]]
        lines.append(";".join([stamp, *(f"{v:.5f}" for v in cells), str(anomaly[i]), str(changepoint[i])]))
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines) + "\n")


@pytest.fixture(scope="module")
def skab_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("skab")
    for seed, name in enumerate(["valve1/0.csv", "valve1/1.csv", "valve2/0.csv", "other/1.csv"], start=1):
        _write_skab_like(root / name, seed, 700, (520, 620))
    _write_skab_like(root / "anomaly-free" / "anomaly-free.csv", 9, 800, None)
    return root


def test_skab_protocols_end_to_end(tmp_path: Path, skab_dir: Path) -> None:
    tensorflow_or_fail()
    from edge_lstm.bundle import load_bundle
    from edge_lstm.core.calibration import ThresholdRule
    from edge_lstm.core.thresholds import DebounceSettings
    from edge_lstm.engine.replay import replay
    from edge_lstm.evaluation.decisions import Rule, decide
    from edge_lstm.evaluation.evaluate import evaluate_recording
    from edge_lstm.sources.csv_file import read_csv
    from edge_lstm_train.skab import EXCLUDED, OFF

    out, kept = tmp_path / "skab.json", tmp_path / "bundles"
    args = ["evaluate", "--protocol", "skab", str(skab_dir), "--epochs", "3", "--json", str(out)]
    result = CliRunner().invoke(main, [*args, "--keep-bundles", str(kept)])
    assert result.exit_code == 0, result.output
    assert "Conv-AE (published)" in result.output and "total time:" in result.output
    document = json.loads(out.read_text())
    from edge_lstm.cli.skab import EXCLUDED_DEFAULT

    assert document["excluded"] == list(EXCLUDED) == list(EXCLUDED_DEFAULT)
    assert document["fleet"]["recipe"]["training"]["baseline"] == 400
    assert document["leaderboard"]["recipe"]["training"]["baseline"] == 0
    assert document["fleet"]["recipe"]["training"]["threshold_method"] == "quantile"
    assert document["leaderboard"]["recipe"]["training"]["threshold_method"] == "max"
    for protocol in ("leaderboard", "fleet"):
        summary = document[protocol]
        assert {"f1", "far", "mar", "cp_standard", "cp_low_fp", "cp_low_fn"} <= set(summary)
        assert summary["parts"]["tune"]["files"] == 3 and summary["parts"]["held_out"]["files"] == 1
        assert [f["rows"] for f in summary["files"]] == [300] * 4  # judged from row 400 on
        assert summary["parts"]["all"]["event_recall"] == 1.0  # every 10-sigma valve fault is caught
        own = "residual" if protocol == "leaderboard" else "mahalanobis"
        models = {(row["model"], row["score"]) for row in summary["ablation"]}
        assert models == {
            ("deployed", "residual"),
            ("float", own),
            ("deployed", "window_mse"),
            ("deployed", "mahalanobis"),
        }
        assert summary["ablation"][0]["all"]["f1"] == summary["f1"]  # the first row is the headline, recomputed
    assert (kept / "fleet" / "fleet" / "manifest.json").is_file()

    # The leaderboard bundle of the first file: the SKAB recipe, and its figures reproduce.
    bundle = load_bundle(kept / "leaderboard" / "valve1-0.csv")
    m = bundle.manifest
    assert m["preprocessing"]["smooth"] == 5 and m["score"]["kind"] == "residual"
    assert m["threshold"]["method"] == "max" and m["training"]["split_rows"]["validation"] == 0
    assert m["training"]["split_rows"]["train"] == 300 and m["training"]["split_rows"]["calibration"] == 100
    assert bundle.features == ["Accelerometer1RMS", "Accelerometer2RMS", "Current", "Pressure", "Voltage",
                               "Volume Flow RateRMS"]  # fmt: skip
    recording = read_csv(skab_dir / "valve1" / "0.csv", exclude=EXCLUDED)
    again, _ = evaluate_recording(recording, bundle, score_from=400)
    assert again.as_dict()["counts"] == document["leaderboard"]["files"][0]["counts"]

    # Decisions made after the fact from recorded scores equal the detector's own decisions.
    debounce = DebounceSettings(fire_n=2, fire_m=3, clear_n=5, clear_ratio=0.8)
    scores = replay(recording, bundle, threshold=OFF).scores
    rule = Rule(ThresholdRule("max", 1.3), debounce)
    threshold = 1.3 * float(np.max(scores[300:400]))
    live = replay(recording, bundle, threshold=threshold, overrides={"debounce": debounce}).alerting
    np.testing.assert_array_equal(decide(scores, scores[300:400], rule), live)


def test_skab_protocol_usage_errors(tmp_path: Path, skab_dir: Path) -> None:
    runner = CliRunner()
    result = runner.invoke(main, ["evaluate", "--protocol", "skab", str(skab_dir / "valve1" / "0.csv")])
    assert result.exit_code == 2 and "--protocol skab takes one argument: the SKAB data directory" in result.output
    result = runner.invoke(main, ["evaluate", "--protocol", "skab", str(skab_dir), "--protocols", "nab"])
    assert result.exit_code == 2 and "--protocols: expected leaderboard and/or fleet, got 'nab'" in result.output
    result = runner.invoke(main, ["evaluate", "--protocol", "skab", str(tmp_path)])
    assert result.exit_code == 65 and "no SKAB files found" in result.output
    result = runner.invoke(main, ["evaluate", "--protocol", "skab", str(skab_dir), "--exclude", "Temprature"])
    assert result.exit_code == 65 and "cannot exclude Temprature" in result.output
    result = runner.invoke(main, ["evaluate", str(skab_dir)])
    assert result.exit_code == 2 and "--model is required" in result.output
