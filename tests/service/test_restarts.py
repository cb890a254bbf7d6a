"""Real daemon processes stopped and started again mid-stream, against a real mosquitto: a clean
SIGTERM carries on exactly, and kill -9 at twenty random points loses no alert."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion
from support.mqtt import Broker, Subscriber, wait_for, write_config

from edge_lstm.tools import synthetic
from edge_lstm.tools.simulate import encode

pytestmark = pytest.mark.slow
SAMPLES = 2500


def payloads() -> list[str]:
    data = synthetic.faulty_stream(SAMPLES, seed=4, start_index=30_000)
    return [encode(v, synthetic.FEATURES, "json", float(t)) for t, v in zip(data.timestamps, data.values, strict=True)]


class Run:
    """One daemon process with its own config; ``health`` is its latest retained health document."""

    def __init__(self, directory: Path, broker: Broker, bundle: Path) -> None:
        state = f'\n[state]\ndirectory = "{directory / "state"}"\nsnapshot_interval_s = 0.1\n'
        write_config(directory, broker.port, bundle, state + "[status]\nhealth_interval_s = 0.1\n")
        self.config = directory / "edge-lstm.toml"
        self.log = directory / "daemon.log"
        self.health = Subscriber(broker.port, "edge-lstm/test-daemon/health")
        self.process: subprocess.Popen[bytes] | None = None
        self.publisher = mqtt.Client(callback_api_version=CallbackAPIVersion.VERSION2, client_id="restart-publisher")
        self.publisher.connect("127.0.0.1", broker.port)
        self.publisher.loop_start()

    def start(self) -> None:
        with self.log.open("ab") as log:
            command = [sys.executable, "-m", "edge_lstm", "run", "--config", str(self.config)]
            self.process = subprocess.Popen(command, stdout=log, stderr=log)
        wait_for(
            lambda: b"confirmed the subscription" in self.log.read_bytes().split(b"process started")[-1],
            20,
            "the daemon",
        )

    def scored(self) -> int:
        """Samples the current process has taken in (its health document's count)."""
        for line in reversed(self.health.lines):
            document = json.loads(line)
            if document.get("pid") == self.process.pid:  # type: ignore[union-attr]
                return int(document["samples"])
        return 0

    def publish(self, items: list[str]) -> None:
        infos = [self.publisher.publish("sensors/pump7/pump", p, qos=1) for p in items]
        for info in infos:
            info.wait_for_publish(10)

    def stop(self, sig: int) -> int:
        assert self.process is not None
        self.process.send_signal(sig)
        code = self.process.wait(20)
        with self.log.open("ab") as log:
            log.write(b"\nprocess started\n")  # later waits look past this point
        return code

    def close(self) -> None:
        self.publisher.disconnect()
        self.publisher.loop_stop()
        self.health.close()


def alerts(collector: Subscriber) -> list[tuple[str, int, float, float]]:
    return [(a["event"], a["sequence"], a["timestamp"], a["score"]) for a in map(json.loads, collector.lines)]


@pytest.fixture()
def reference(tmp_path_factory: pytest.TempPathFactory, bundle_dir: Path) -> list[tuple[str, int, float, float]]:
    """The alerts of one uninterrupted run."""
    directory = tmp_path_factory.mktemp("uninterrupted")
    broker = Broker(directory)
    broker.start()
    collector = Subscriber(broker.port, "edge-lstm/+/alert")
    run = Run(directory, broker, bundle_dir)
    try:
        run.start()
        run.publish(payloads())
        wait_for(lambda: run.scored() >= SAMPLES, 60, "every sample")
        assert run.stop(signal.SIGTERM) == 0
        wait_for(lambda: len(collector.lines) >= 4, 10, "the alerts")
        time.sleep(0.5)
        return alerts(collector)
    finally:
        run.close()
        collector.close()
        broker.stop()


def test_a_clean_stop_and_start_carries_on_exactly(
    tmp_path: Path, broker: Broker, bundle_dir: Path, reference: list[tuple[str, int, float, float]]
) -> None:
    collector = Subscriber(broker.port, "edge-lstm/+/alert")
    run = Run(tmp_path, broker, bundle_dir)
    items = payloads()
    try:
        run.start()
        run.publish(items[:1200])
        wait_for(lambda: run.scored() >= 1200, 30, "the first half")
        assert run.stop(signal.SIGTERM) == 0
        run.start()
        run.publish(items[1200:])
        wait_for(lambda: run.scored() >= SAMPLES - 1200, 30, "the second half")
        assert run.stop(signal.SIGTERM) == 0
        wait_for(lambda: len(collector.lines) >= len(reference), 10, "every alert")
        time.sleep(0.5)
    finally:
        run.close()
        collector.close()
    assert alerts(collector) == reference  # same events, sequence numbers, timestamps and scores
    assert b"snapshot: restored 1 of 1 stream(s)" in run.log.read_bytes()


def test_kill_9_at_twenty_points_loses_no_alert(
    tmp_path: Path, broker: Broker, bundle_dir: Path, reference: list[tuple[str, int, float, float]]
) -> None:
    collector = Subscriber(broker.port, "edge-lstm/+/alert")
    run = Run(tmp_path, broker, bundle_dir)
    items = payloads()
    rng = np.random.default_rng(20)
    kills = sorted(int(k) for k in rng.choice(np.arange(100, SAMPLES - 100), size=20, replace=False))
    resend = 600  # a publisher that resends its recent past after a restart; the daemon skips what it has
    done = 0
    try:
        for kill in [*kills, SAMPLES]:
            run.start()
            start = max(0, done - resend)
            run.publish(items[start:kill])
            if kill == SAMPLES:
                wait_for(lambda n=kill - start: run.scored() >= n, 30, "the rest")
                assert run.stop(signal.SIGTERM) == 0
            else:
                time.sleep(float(rng.uniform(0.0, 0.3)))
                run.stop(signal.SIGKILL)
            done = kill
        wait_for(lambda: {a[:3] for a in alerts(collector)} >= {a[:3] for a in reference}, 20, "every alert")
    finally:
        run.close()
        collector.close()
    received = alerts(collector)
    assert {a[:3] for a in received} >= {a[:3] for a in reference}  # none lost
    by_sequence: dict[int, set[tuple[str, float]]] = {}
    for event, sequence, timestamp, _ in received:
        by_sequence.setdefault(sequence, set()).add((event, timestamp))
    assert all(len(v) == 1 for v in by_sequence.values()), by_sequence  # duplicates only of the same alert
    assert run.log.read_bytes().count(b"snapshot: restored 1 of 1 stream(s)") >= 15
