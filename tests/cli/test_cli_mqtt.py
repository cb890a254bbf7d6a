"""The user's flow, as separate processes: `run` as a service, `simulate` publishing, `alerts` watching."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from support.mqtt import Broker, Subscriber, wait_for, write_config

pytestmark = pytest.mark.slow
CLI = [sys.executable, "-m", "edge_lstm"]


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    """``edge-lstm ARGS`` run to its end, its output kept."""
    return subprocess.run([*CLI, *args], capture_output=True, text=True, timeout=60, check=False)


def test_run_simulate_and_alerts_as_a_user_would(tmp_path: Path, bundle_dir: Path) -> None:
    broker = Broker(tmp_path)
    broker.start()
    write_config(tmp_path, broker.port, bundle_dir, extra="[status]\nhealth_interval_s = 1\n")
    status = Subscriber(broker.port, "edge-lstm/test-daemon/status")
    daemon = subprocess.Popen(
        [*CLI, "run", "--config", str(tmp_path / "edge-lstm.toml")],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        wait_for(lambda: "online" in status.lines, 30, "the daemon's online status")
        watcher = subprocess.Popen(
            [*CLI, "alerts", "--port", str(broker.port), "--json", "--count", "1", "--timeout", "60"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        assert watcher.stderr is not None
        assert watcher.stderr.readline().startswith("watching edge-lstm/+/alert on localhost:")
        simulate = subprocess.run(
            [*CLI, "simulate", "--port", str(broker.port), "--rate", "2000", "--count", "3000", "--qos", "1"],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert simulate.returncode == 0, simulate.stderr
        assert "published 3000 samples to sensors/s*/pump" in simulate.stderr
        out, err = watcher.communicate(timeout=60)
        assert watcher.returncode == 0, err
        alerts = [json.loads(line) for line in out.splitlines()]
        assert [a["event"] for a in alerts] == ["alert_start"]
        assert alerts[0]["stream"] == "s1" and alerts[0]["contributions"]
        daemon.send_signal(signal.SIGTERM)
        _, log = daemon.communicate(timeout=30)
        assert daemon.returncode == 0, log
        assert "received SIGTERM: stopping" in log and "alert_start stream=s1" in log
        wait_for(lambda: status.lines[-1:] == ["offline"], 10, "the offline status")
    finally:
        if daemon.poll() is None:
            daemon.kill()
        status.close()
        broker.stop()


def test_alerts_table_and_an_unreachable_broker(tmp_path: Path) -> None:
    from support.mqtt import free_port

    result = _cli("alerts", "--port", str(free_port()), "--timeout", "1")
    assert result.returncode == 1
    assert "Error: cannot reach the broker at localhost:" in result.stderr


@pytest.mark.parametrize("batch", [1, 4])
def test_simulate_streams_a_csv_counting_the_rows_it_cannot_read(tmp_path: Path, batch: int) -> None:
    broker = Broker(tmp_path)
    broker.start()
    csv = tmp_path / "recorded.csv"
    rows = ["timestamp,a,b"] + [f"{1_700_000_000 + i},{i},{2 * i}" for i in range(20)]
    rows[5] = "1700000004,oops,8"  # not a number
    rows[9] = "1700000008,16"  # a field short
    csv.write_text("\n".join(rows) + "\n")
    received = Subscriber(broker.port, "sensors/s1/pump")
    try:
        result = subprocess.run(
            [
                *CLI,
                "simulate",
                str(csv),
                "--port",
                str(broker.port),
                "--rate",
                "0",
                "--qos",
                "1",
                "--batch",
                str(batch),
            ],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert result.returncode == 0, result.stderr
        assert "published 18 samples" in result.stderr
        assert "skipped 2 unreadable row(s) of" in result.stderr
        assert "not_a_number 1" in result.stderr and "wrong_length 1" in result.stderr
        messages = -(-18 // batch)  # the last message carries what is left
        wait_for(lambda: len(received.lines) == messages, 10, f"{messages} messages at the subscriber")
        documents = [json.loads(line) for line in received.lines]
        samples = [d for doc in documents for d in (doc if batch > 1 else [doc])]
        assert [s["a"] for s in samples] == [float(i) for i in range(20) if i not in (4, 8)]
        assert samples[0] | {"ts": 0} == {"a": 0.0, "b": 0.0, "ts": 0}
    finally:
        received.close()
        broker.stop()


def test_a_batch_is_refused_on_a_serial_line(tmp_path: Path) -> None:
    result = _cli("simulate", "--serial", str(tmp_path / "nothing"), "--batch", "2")
    assert result.returncode == 2
    assert "--batch is for MQTT messages: a serial line carries one sample" in result.stderr
