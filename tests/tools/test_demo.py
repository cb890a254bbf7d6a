"""The front door: `edge-lstm demo` on built-in defaults, end to end."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from click.testing import CliRunner
from support import tensorflow_or_fail

from edge_lstm.cli import main

pytestmark = pytest.mark.slow


def test_demo_catches_the_injected_faults_and_draws_the_plot(tmp_path: Path) -> None:
    tensorflow_or_fail()
    result = CliRunner().invoke(main, ["demo", "--out", str(tmp_path)])
    assert result.exit_code == 0, result.output
    output = result.output
    events = [json.loads(line) for line in output.splitlines() if line.startswith("{")]
    assert any(e["event"] == "alert_start" for e in events)
    caught = re.search(r"faults caught: (\d)/4; false alarms: (\d+) in 6000 samples", output)
    assert caught, output
    assert int(caught.group(1)) >= 3 and int(caught.group(2)) <= 2
    assert (tmp_path / "replay.png").read_bytes()[:4] == b"\x89PNG"
    assert (tmp_path / "bundle" / "manifest.json").is_file()
