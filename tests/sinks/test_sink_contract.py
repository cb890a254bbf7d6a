"""One contract for every alert sink (JSON lines, MQTT): each event arrives once, in order, as an object
that validates against the published alert schema; ``close`` can be called twice."""

from __future__ import annotations

import io
import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from support import REPO
from support.mqtt import Broker, Subscriber, wait_for

from edge_lstm.config import AlertSettings, MQTTSettings
from edge_lstm.core.alerts import AlertEvent
from edge_lstm.service.mqtt_client import make_client
from edge_lstm.sinks.jsonl import JsonLinesSink
from edge_lstm.sinks.mqtt_alerts import MQTTAlertSink
from edge_lstm.sinks.outbox import Outbox

SCHEMA = json.loads((REPO / "edge_lstm/schemas/alert.schema.json").read_text())


def events(n: int) -> list[AlertEvent]:
    return [
        AlertEvent(
            event="alert_start" if i % 2 == 0 else "alert_clear",
            stream="pump-1",
            index=100 + i,
            timestamp=1_767_225_600.0 + i,
            score=2.5 + i,
            threshold=1.0,
            severity="warning",
            model_id="contract-0000",
            sequence=i + 1,
            contributions={"flow": 0.7, "pressure": 0.3},
            peak_score=None if i % 2 == 0 else 3.0 + i,
        )
        for i in range(n)
    ]


class JsonLinesCase:
    def __init__(self, tmp_path: Path) -> None:
        self.buffer = io.StringIO()

    def sink(self) -> JsonLinesSink:
        return JsonLinesSink(self.buffer)

    def delivered(self, expected: int) -> list[dict[str, Any]]:
        return [json.loads(line) for line in self.buffer.getvalue().splitlines()]

    def close(self) -> None:
        pass


class MQTTCase:
    def __init__(self, tmp_path: Path) -> None:
        self.broker = Broker(tmp_path)
        self.broker.start()
        self.subscriber = Subscriber(self.broker.port, "edge-lstm/+/alert")
        settings = MQTTSettings(host="127.0.0.1", port=self.broker.port, client_id="sink-contract")
        self.client = make_client(settings)
        self.client.connect(settings.host, settings.port)
        self.client.loop_start()
        self.outbox = Outbox(100, tmp_path / "outbox.jsonl")
        self._sink: MQTTAlertSink | None = None
        self.client.on_publish = lambda _c, _u, mid, _rc, _p: self._sink.on_publish(mid) if self._sink else None

    def sink(self) -> MQTTAlertSink:
        time.sleep(0.3)  # mosquitto_sub subscribes
        self._sink = MQTTAlertSink(self.client, AlertSettings(), self.outbox, "edge-lstm/sink-contract/status")
        return self._sink

    def delivered(self, expected: int) -> list[dict[str, Any]]:
        wait_for(lambda: len(self.subscriber.lines) >= expected, 10, f"{expected} alerts at mosquitto_sub")
        wait_for(lambda: len(self.outbox) == 0, 10, "every alert acknowledged")
        return [json.loads(line) for line in self.subscriber.lines]

    def close(self) -> None:
        self.subscriber.close()
        self.client.disconnect()
        self.client.loop_stop()
        self.broker.stop()


@pytest.fixture(params=["jsonl", "mqtt"])
def case(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Any]:
    made = JsonLinesCase(tmp_path) if request.param == "jsonl" else MQTTCase(tmp_path)
    yield made
    made.close()


def test_every_event_arrives_once_in_order_and_schema_valid(case: Any) -> None:
    sink, sent = case.sink(), events(6)
    for event in sent:
        sink.emit(event)
    delivered = case.delivered(len(sent))
    assert [(d["sequence"], d["event"], d["index"]) for d in delivered] == [
        (e.sequence, e.event, e.index) for e in sent
    ]
    for document in delivered:
        jsonschema.validate(document, SCHEMA)
    sink.close()


def test_close_is_idempotent(case: Any) -> None:
    sink = case.sink()
    sink.emit(events(1)[0])
    case.delivered(1)
    sink.close()
    sink.close()
