"""The daemon reading a real pty (socat) and a real mosquitto: lines in, alerts out at mosquitto_sub."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from support import REPO
from support.mqtt import Broker, Subscriber, running_daemon, wait_for, write_config
from support.pty import PtyPair

from edge_lstm.tools import synthetic
from edge_lstm.tools.serial_writer import encode_line

pytestmark = pytest.mark.slow
SCHEMA = json.loads((REPO / "edge_lstm/schemas/alert.schema.json").read_text())


def serial_table(device: Path, extra: str = "", checksum: str = "nmea") -> str:
    table = f'[[serial]]\nport = "{device}"\nname = "bench7"\nbaud = 115200\nchecksum = "{checksum}"\ndtr = false\n'
    return "\n" + table + extra


def lines(n: int, seed: int = 4, faults: bool = True) -> list[bytes]:
    make = synthetic.faulty_stream if faults else synthetic.normal_stream
    stream = make(n, seed=seed, start_index=30_000)
    return [encode_line(v, synthetic.FEATURES, "forwarder", checksum=True) for v in stream.values]


def test_lines_on_a_pty_raise_alerts_at_an_independent_subscriber(
    tmp_path: Path, broker: Broker, bundle_dir: Path
) -> None:
    import jsonschema

    pty = PtyPair(tmp_path).start()
    config = write_config(tmp_path, broker.port, bundle_dir, serial_table(pty.device))
    collector = Subscriber(broker.port, "edge-lstm/+/alert")
    try:
        with running_daemon(config) as daemon:
            wait_for(lambda: daemon.serial.readers[0].status.connected, 10, "the port to open")
            sent = lines(2500)
            pty.write(b"0.31,2.")  # the port opened in the middle of a line
            pty.write(b"".join(sent))
            # The cut line is joined to the first whole one and dropped as the forwarder's first line.
            wait_for(lambda: daemon.counters["samples"] >= len(sent) - 1, 60, "every line to be scored")
            raised = daemon.counters["alert_start"] + daemon.counters["alert_clear"]
            wait_for(lambda: len(collector.lines) >= raised, 10, f"{raised} alerts at mosquitto_sub")
            health = daemon.health()
        alerts = [json.loads(line) for line in collector.lines]
    finally:
        collector.close()
        pty.stop()
    assert daemon.counters["alert_start"] >= 2 and daemon.counters["parse_errors"] == 0
    for alert in alerts:
        jsonschema.validate(alert, SCHEMA)
    assert {a["stream"] for a in alerts} == {"bench7"} and alerts[0]["event"] == "alert_start"
    port = health["serial"]["bench7"]
    assert port["connects"] == 1 and port["lines"] == len(sent) and port["device"] == str(pty.device)
    assert health["streams"]["bench7"]["samples"] == len(sent) - 1


def test_a_replugged_port_resets_the_stream_and_shows_in_health(
    tmp_path: Path, broker: Broker, bundle_dir: Path
) -> None:
    pty = PtyPair(tmp_path).start()
    config = write_config(tmp_path, broker.port, bundle_dir, serial_table(pty.device))
    try:
        with running_daemon(config) as daemon:
            wait_for(lambda: daemon.serial.readers[0].status.connected, 10, "the port to open")
            pty.write(b"".join(lines(300, faults=False)))
            wait_for(lambda: daemon.counters["samples"] >= 299, 30, "the first lines")
            pty.stop()
            wait_for(lambda: daemon.health()["serial"]["bench7"]["disconnects"] == 1, 10, "the unplug")
            pty.start()
            wait_for(lambda: daemon.health()["serial"]["bench7"]["connects"] == 2, 15, "the replug")
            pty.write(b"".join(lines(100, seed=5, faults=False)))
            wait_for(lambda: daemon.counters["samples"] >= 299 + 99, 30, "the lines after the replug")
            health = daemon.health()
    finally:
        pty.stop()
    stream = health["streams"]["bench7"]
    assert stream["gaps"] == 1 and stream["warming_up"] >= 2 * 32  # warmed up twice
    assert health["serial"]["bench7"]["gaps"] == 1 and daemon.counters["lines_without_sample"] == 2


CORRUPT = [
    (b"1,2,3,4,5*00", "checksum"),
    (b"1,2,3,4,5", "checksum_missing"),
    (b"\xff\xfe\xfd", "not_utf8"),
    (encode_line(np.ones(4), ["a", "b", "c", "d"], "forwarder", checksum=True).strip(), "wrong_length"),
    (encode_line(np.ones(6), list("abcdef"), "forwarder", checksum=True).strip(), "wrong_length"),
    (
        b"1,2,x,4,5*" + format(0x31 ^ 0x2C ^ 0x32 ^ 0x2C ^ 0x78 ^ 0x2C ^ 0x34 ^ 0x2C ^ 0x35, "02X").encode(),
        "not_a_number",
    ),
]


def test_corrupt_lines_are_counted_exactly_by_reason(
    tmp_path: Path, broker: Broker, bundle_dir: Path, caplog: pytest.LogCaptureFixture
) -> None:
    pty = PtyPair(tmp_path).start()
    config = write_config(tmp_path, broker.port, bundle_dir, serial_table(pty.device, extra="max_line = 200\n"))
    good = lines(400, faults=False)
    rng = np.random.default_rng(3)
    stream: list[bytes] = [b"first line\n"]
    expected: Counter[str] = Counter()
    for i, line in enumerate(good):
        stream.append(line)
        if i % 7 == 3:
            bad, reason = CORRUPT[int(rng.integers(len(CORRUPT)))]
            stream.append(bad + b"\r\n")
            expected[reason] += 1
    stream.insert(50, b"9" * 500 + b"\n")  # overlong: dropped by the reader, counted there
    try:
        with running_daemon(config) as daemon:
            wait_for(lambda: daemon.serial.readers[0].status.connected, 10, "the port to open")
            pty.write(b"".join(stream))
            total = len(good) + sum(expected.values())
            wait_for(lambda: daemon.counters["samples"] + daemon.counters["parse_errors"] >= total, 30, "every line")
            health = daemon.health()
    finally:
        pty.stop()
    counted = {k.split(".", 1)[1]: v for k, v in daemon.counters.items() if k.startswith("parse_error.")}
    assert counted == dict(expected) and daemon.counters["parse_errors"] == sum(expected.values())
    assert daemon.counters["samples"] == len(good) and health["serial"]["bench7"]["overlong"] == 1
    assert "serial bench7: a line longer than 200 bytes was dropped (1 so far)" in caplog.text


def test_serial_and_mqtt_streams_share_one_batched_wave(tmp_path: Path, bundle_dir: Path) -> None:
    from edge_lstm.service.worker import Daemon
    from edge_lstm.sources.queue import Frame
    from edge_lstm.sources.serial_port import serial_topic
    from edge_lstm.tools.simulate import encode

    config = write_config(tmp_path, 1883, bundle_dir, serial_table(tmp_path / "absent", checksum="none"))
    daemon = Daemon(config)
    model = next(iter(daemon.models.values()))
    batches: list[int] = []

    class Spy:
        def __getattr__(self, name: str) -> Any:
            return getattr(model, name)

        def step(self, x: np.ndarray, state: Any) -> Any:
            batches.append(len(x))
            return model.step(x, state)

    for key in daemon.models:
        daemon.models[key] = Spy()
    daemon.router.models = daemon.models
    for pattern, bank in zip(daemon.router.patterns, daemon.router.banks, strict=True):  # banks step the states
        bank.model = daemon.models[pattern.model_key]
    values = synthetic.normal_stream(3, seed=1).values
    frames = [Frame(serial_topic("bench7"), b"first line", 0.0)]
    for t, v in enumerate(values):
        frames.append(Frame("sensors/pump7/pump", encode(v, synthetic.FEATURES, "json", 1000.0 + t).encode(), 0.0))
        frames.append(Frame(serial_topic("bench7"), encode_line(v, synthetic.FEATURES, "forwarder").strip(), 0.0))
    daemon.process(frames)
    assert batches == [2, 2, 2]
    assert {s.id for s in daemon.streams.values()} == {"pump7", "bench7"}
