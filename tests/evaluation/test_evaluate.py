"""`edge-lstm evaluate` end to end on a small labelled file, through LiteRT."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from edge_lstm.cli import main
from edge_lstm.core.calibration import ThresholdRule
from edge_lstm.errors import ExitStatus
from edge_lstm.tools import synthetic

pytestmark = pytest.mark.slow


def test_evaluate_writes_json_markdown_and_plots(tmp_path: Path, bundle_dir: Path) -> None:
    from edge_lstm.bundle import load_bundle
    from edge_lstm.engine.replay import replay
    from edge_lstm.sources.csv_file import read_csv

    stream = synthetic.faulty_stream(3000, seed=12, start_index=70_000)
    labelled = tmp_path / "labelled.csv"
    synthetic.write_csv(str(labelled), stream, with_labels=True)
    out = tmp_path / "out"
    result = CliRunner().invoke(
        main,
        [
            "evaluate",
            str(labelled),
            "--model",
            str(bundle_dir),
            "--json",
            str(out / "r.json"),
            "--markdown",
            str(out / "r.md"),
            "--plots",
            str(out),
        ],
    )
    assert result.exit_code == 0, result.output
    document = json.loads((out / "r.json").read_text())
    pooled = document["pooled"]
    assert set(pooled) >= {
        "f1",
        "far",
        "mar",
        "event_precision",
        "event_recall",
        "mean_delay_samples",
        "cp_standard",
        "cp_low_fp",
        "cp_low_fn",
    }
    # The counts agree with a replay of the same file through the same deployed model.
    run = replay(read_csv(labelled, columns=synthetic.FEATURES), load_bundle(bundle_dir))
    labels = stream.labels > 0
    assert pooled["counts"]["tp"] == int(np.sum(labels & run.alerting))
    assert pooled["counts"]["fp"] == int(np.sum(~labels & run.alerting))
    assert pooled["events"] == 4 and pooled["event_recall"] >= 0.5
    assert 0 <= pooled["cp_standard"] <= 100
    assert "| **pooled** | 3000 |" in (out / "r.md").read_text()
    assert (out / "labelled.png").read_bytes()[:4] == b"\x89PNG"


def test_evaluate_needs_labels(tmp_path: Path, bundle_dir: Path) -> None:
    unlabelled = tmp_path / "plain.csv"
    synthetic.write_csv(str(unlabelled), synthetic.normal_stream(200, seed=1))
    result = CliRunner().invoke(main, ["evaluate", str(unlabelled), "--model", str(bundle_dir)])
    assert result.exit_code == ExitStatus.DATA
    assert f"{unlabelled}: no 'anomaly' column; evaluate needs labelled data" in result.output


def test_evaluate_recalibrates_the_threshold_like_the_daemon_config(tmp_path: Path, bundle_dir: Path) -> None:
    from edge_lstm.bundle import load_bundle
    from edge_lstm.engine.replay import replay
    from edge_lstm.sources.csv_file import read_csv

    stream = synthetic.faulty_stream(2000, seed=13, start_index=80_000)
    labelled = tmp_path / "labelled.csv"
    synthetic.write_csv(str(labelled), stream, with_labels=True)
    out = tmp_path / "r.json"
    args = ["evaluate", str(labelled), "--model", str(bundle_dir), "--json", str(out)]
    result = CliRunner().invoke(main, [*args, "--threshold-rule", "max:2"])
    assert result.exit_code == 0, result.output
    pooled = json.loads(out.read_text())["pooled"]
    recording = read_csv(labelled, columns=synthetic.FEATURES)
    run = replay(recording, load_bundle(bundle_dir), rule=ThresholdRule("max", 2.0))
    assert pooled["counts"]["tp"] + pooled["counts"]["fp"] == int(np.sum(run.alerting))
    assert run.threshold == pytest.approx(2.0 * float(np.max(np.load(bundle_dir / "calibration_scores.npy"))))
    result = CliRunner().invoke(main, [*args, "--threshold-rule", "median:3"])
    assert result.exit_code == 2
    assert "expected METHOD:KNOB with METHOD one of adaptive, quantile, max, spot, e.g. max:1.8" in result.output
