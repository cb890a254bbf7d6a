"""``edge-lstm bench-train``: default-flag training on a generated file, timed, with what it decided."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner
from support import tensorflow_or_fail


def test_bench_train_trains_with_defaults_and_reports_what_it_did(tmp_path: Path) -> None:
    tensorflow_or_fail()
    from edge_lstm.cli import main

    results = tmp_path / "train.json"
    args = ["bench-train", "--rows", "2000", "--workdir", str(tmp_path / "work"), "--json", str(results)]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    figures = json.loads(results.read_text())
    assert figures["rows"] == 2000 and figures["train_seconds"] > 0 and figures["peak_rss_mb"] > 0
    assert figures["epochs_run"] >= 1 and figures["deployed"] in ("int8", "dynamic", "float")
    assert any(note.startswith("validation: none") for note in figures["decisions"])  # 2,000 rows is small
    # The training log is not a terminal: progress still shows, as lines.
    assert figures["progress_lines_in_log"] >= 1
    assert (tmp_path / "work" / "bundle" / "manifest.json").is_file()
