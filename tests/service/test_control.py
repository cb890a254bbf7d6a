"""Runtime control over MQTT through a real mosquitto: off unless enabled, commands answered on the
response topic, a token when configured, and a threshold change that keeps the stream's state."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
from support.mqtt import Broker, Subscriber, require, running_daemon, wait_for, write_config

from edge_lstm.tools import synthetic
from edge_lstm.tools.simulate import encode

pytestmark = pytest.mark.slow
CONTROL = "edge-lstm/test-daemon/control"


def command(port: int, document: dict[str, object]) -> None:
    subprocess.run(
        [
            require("mosquitto_pub"),
            "-h",
            "127.0.0.1",
            "-p",
            str(port),
            "-t",
            CONTROL,
            "-q",
            "1",
            "-m",
            json.dumps(document),
        ],
        check=True,
    )


def feed(daemon: object, n: int, start: int = 10_000) -> None:
    """``n`` samples from ``start`` on; returns once the daemon has taken in all it was sent."""
    total = daemon.counters["samples"] + n  # type: ignore[attr-defined]
    data = synthetic.normal_stream(n, seed=3, start_index=start)
    for t, v in zip(data.timestamps, data.values, strict=True):
        daemon.submit("sensors/pump7/pump", encode(v, synthetic.FEATURES, "json", float(t)).encode())  # type: ignore[attr-defined]
    wait_for(lambda: daemon.counters["samples"] >= total, 20, f"{n} samples")  # type: ignore[attr-defined]


def test_commands_are_answered_and_a_threshold_change_keeps_the_state(
    tmp_path: Path, broker: Broker, bundle_dir: Path
) -> None:
    (tmp_path / "token").write_text("let-me-in\n")
    config = write_config(tmp_path, broker.port, bundle_dir, '[control]\nenabled = true\ntoken_file = "token"\n')
    responses = Subscriber(broker.port, CONTROL + "/response")
    try:
        with running_daemon(config) as daemon:
            feed(daemon, 200)
            old = daemon.streams[(0, "pump7")].detector
            state = [s.copy() for s in old.state]
            command(broker.port, {"id": 1, "command": "status", "token": "let-me-in"})
            command(broker.port, {"id": 2, "command": "status", "token": "guess"})
            rule = {"command": "set_threshold", "stream": "pump7", "rule": "quantile:0.999", "token": "let-me-in"}
            command(broker.port, {"id": 3, **rule})
            command(
                broker.port,
                {"id": 4, "command": "set_threshold", "stream": "nope", "threshold": 1, "token": "let-me-in"},
            )
            command(broker.port, {"id": 5, "command": "fly", "token": "let-me-in"})
            wait_for(lambda: len(responses.lines) >= 5, 10, "five responses")
            assert daemon.reload()  # a reload keeps listening on the command topic
            assert CONTROL in daemon.source.topics
            after = daemon.streams[(0, "pump7")].detector
            assert after is not old and after.counters.samples == 200
            assert all((a == b).all() for a, b in zip(after.state, state, strict=True))
    finally:
        responses.close()
    answers = {r["id"]: r for r in map(json.loads, responses.lines)}
    assert answers[1]["ok"] and answers[1]["streams"]["pump7"]["samples"] == 200
    assert answers[2] == {"ok": False, "error": "not authorized: a missing or wrong token", "id": 2}
    assert answers[3]["ok"] and answers[3]["threshold"] > 0
    assert answers[4]["error"] == "no live stream 'nope'"
    assert "unknown command 'fly'" in answers[5]["error"]


def test_control_is_off_unless_enabled(tmp_path: Path, broker: Broker, bundle_dir: Path) -> None:
    config = write_config(tmp_path, broker.port, bundle_dir)
    responses = Subscriber(broker.port, CONTROL + "/response")
    try:
        with running_daemon(config) as daemon:
            feed(daemon, 50)
            command(broker.port, {"command": "reset", "stream": "pump7"})
            feed(daemon, 100, start=10_050)
            counters = daemon.streams[(0, "pump7")].detector.counters
            assert daemon.control is None and (counters.samples, counters.warming_up) == (150, 32)  # never reset
    finally:
        responses.close()
    assert responses.lines == []
