"""One contract for every source (CSV file, MQTT; serial will join): items in arrival order, bad input
counted and never raised, and a close that can be called twice."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from support.mqtt import Broker, wait_for

from edge_lstm.config import MQTTSettings
from edge_lstm.service.mqtt_client import make_client
from edge_lstm.sources.csv_stream import CSVSource
from edge_lstm.sources.mqtt import MQTTSource


class CSVCase:
    """Markers as rows of a file; bad input: rows with a non-number or the wrong number of fields."""

    bad_key = "bad_frames"

    def __init__(self, tmp_path: Path) -> None:
        self.path = tmp_path / "stream.csv"

    def open(self, markers: list[int], bad: int = 0) -> CSVSource:
        lines = ["time,a,b"]
        for i, marker in enumerate(markers):
            lines.append(f"{1_700_000_000 + i},{marker},0.5")
            if i < bad:
                lines.append("1700000000,oops,1" if i % 2 else "1700000000,1")
        self.path.write_text("\n".join(lines) + "\n")
        return CSVSource(self.path, batch=7)

    def received(self, source: Any, expected: int) -> list[int]:
        items = []
        while batch := source.take(0.0):
            items.extend(int(sample.values[0]) for sample in batch)
        return items

    def close(self) -> None:
        pass


class MQTTCase:
    """Markers as messages through a real mosquitto; bad input: more than the bounded queue holds,
    which drops the oldest and counts it."""

    bad_key = "dropped"

    def __init__(self, tmp_path: Path) -> None:
        self.broker = Broker(tmp_path)
        self.broker.start()
        self.settings = MQTTSettings(host="127.0.0.1", port=self.broker.port, client_id="contract")
        self.clients: list[Any] = []

    def open(self, markers: list[int], bad: int = 0) -> MQTTSource:
        source = MQTTSource(["contract/+"], qos=1, capacity=len(markers))
        client = make_client(self.settings)
        source.attach(client, "test broker")
        client.connect(self.settings.host, self.settings.port)
        client.loop_start()
        self.clients.append(client)
        wait_for(source.connected.is_set, 10, "the source to subscribe")
        time.sleep(0.2)  # the SUBACK
        publisher = make_client(self.settings, client_id="contract-publisher")
        publisher.connect(self.settings.host, self.settings.port)
        publisher.loop_start()
        self.clients.append(publisher)
        # ``bad`` extra messages first: with the queue full, exactly those (the oldest) are dropped.
        for marker in [-1] * bad + markers:
            publisher.publish("contract/s1", str(marker).encode(), qos=1).wait_for_publish(5)
        wait_for(lambda: len(source) + source.counters["dropped"] == bad + len(markers), 10, "every message")
        return source

    def received(self, source: Any, expected: int) -> list[int]:
        items: list[int] = []
        deadline = time.monotonic() + 10
        while len(items) < expected and time.monotonic() < deadline:
            items.extend(int(frame.payload) for frame in source.take(0.2))
        return items

    def close(self) -> None:
        for client in self.clients:
            client.disconnect()
            client.loop_stop()
        self.broker.stop()


@pytest.fixture(params=["csv", "mqtt"])
def case(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Any]:
    made = CSVCase(tmp_path) if request.param == "csv" else MQTTCase(tmp_path)
    yield made
    made.close()


def test_items_arrive_in_order(case: Any) -> None:
    markers = list(range(100, 160))
    source = case.open(markers)
    assert case.received(source, len(markers)) == markers
    assert source.counters[case.bad_key] == 0
    source.close()


def test_bad_input_is_counted_not_raised(case: Any) -> None:
    markers = list(range(20))
    source = case.open(markers, bad=6)
    assert case.received(source, len(markers)) == markers
    assert source.counters[case.bad_key] == 6
    source.close()


def test_close_is_idempotent_and_final(case: Any) -> None:
    source = case.open([1, 2, 3])
    source.close()
    source.close()
    assert source.take(0.0) == []
