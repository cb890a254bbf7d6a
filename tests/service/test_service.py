"""The service side: systemd units verify, sd_notify works, the shipped example config is valid."""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from support import REPO, unavailable

from edge_lstm.config import load_config
from edge_lstm.service.notify import Notifier

ROOT = REPO


def test_the_example_config_is_valid(monkeypatch: pytest.MonkeyPatch) -> None:
    config = load_config(ROOT / "systemd" / "config.example.toml")
    assert config.streams[0].topic == "sensors/+/telemetry"
    assert config.alerts.homeassistant_discovery and config.outbox_path == "/var/lib/edge-lstm/outbox.jsonl"


UNITS = ["edge-lstm.service", "edge-lstm@.service", "edge-lstm-serial@.service"]


def analyzable(tmp_path: Path, unit: str) -> tuple[str, Path]:
    """systemd-analyze, and the unit (an instance of a template) with the console script of this venv."""
    analyze = shutil.which("systemd-analyze")
    if analyze is None:
        unavailable("systemd-analyze", "apt-get install systemd")
    executable = str(Path(sys.executable).parent / "edge-lstm")
    assert os.access(executable, os.X_OK), "the edge-lstm console script must be installed beside python"
    text = (ROOT / "systemd" / unit).read_text().replace("/opt/edge-lstm/bin/edge-lstm", executable)
    name = unit.replace("@.", "@pumps.")
    (tmp_path / unit).write_text(text)
    target = tmp_path / name
    if name != unit:
        target.symlink_to(tmp_path / unit)
    return analyze, target


@pytest.mark.parametrize("unit", UNITS)
def test_units_pass_systemd_analyze_verify(tmp_path: Path, unit: str) -> None:
    analyze, target = analyzable(tmp_path, unit)
    name = target.name
    result = subprocess.run([analyze, "verify", str(target)], capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr
    # verify exits 0 on unknown keys and only warns: a warning about our unit is a failure too.
    ours = [line for line in result.stderr.splitlines() if unit in line or name in line]
    assert ours == [], ours


@pytest.mark.parametrize("unit", UNITS)
def test_units_expose_little(tmp_path: Path, unit: str) -> None:
    analyze, target = analyzable(tmp_path, unit)
    command = [analyze, "security", "--offline=true", "--no-pager", str(target)]
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    found = re.search(r"Overall exposure level for \S+: ([0-9.]+)", result.stdout)
    assert found, result.stdout[-500:] + result.stderr
    assert float(found.group(1)) <= 2.0, result.stdout


def test_sd_notify_ready_and_watchdog(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    address = str(tmp_path / "notify.sock")
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as server:
        server.bind(address)
        server.settimeout(2)
        monkeypatch.setenv("NOTIFY_SOCKET", address)
        monkeypatch.setenv("WATCHDOG_USEC", "2000000")
        notifier = Notifier()
        notifier.ready("serving 1 stream pattern(s)")
        assert server.recv(256) == b"READY=1\nSTATUS=serving 1 stream pattern(s)"
        notifier.watchdog()
        assert server.recv(256) == b"WATCHDOG=1"
        notifier.watchdog()  # within half the watchdog period: no second ping
        server.settimeout(0.2)
        with pytest.raises(TimeoutError):
            server.recv(256)


def test_without_systemd_the_notifier_is_silent(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NOTIFY_SOCKET", raising=False)
    notifier = Notifier()
    assert not notifier.enabled
    notifier.ready("x")
    notifier.watchdog()
