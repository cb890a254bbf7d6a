"""The alert sink and paho's network thread: the sink never holds its lock while paho may be calling back
into it (a real deadlock, found when the sink contract suite hung under load), and an acknowledgement
is matched only to the alert it belongs to, also after paho's message ids wrap around."""

from __future__ import annotations

import threading
import time
from pathlib import Path
from types import SimpleNamespace

from support.mqtt import Broker, Subscriber, wait_for

from edge_lstm.config import AlertSettings, MQTTSettings
from edge_lstm.core.alerts import AlertEvent
from edge_lstm.service.mqtt_client import make_client
from edge_lstm.sinks.mqtt_alerts import MQTTAlertSink
from edge_lstm.sinks.outbox import Outbox


class PahoLikeClient:
    """A stand-in for the one thing that matters here: paho's publish() takes the lock that its network
    thread holds while it runs on_publish (a unit-test stand-in; the contract suite uses the real one)."""

    def __init__(self) -> None:
        self.message_lock = threading.Lock()
        self.publishing = threading.Event()
        self.mid = 0

    def publish(self, _topic: str, _payload: str, qos: int = 0, retain: bool = False) -> SimpleNamespace:
        self.publishing.set()
        if not self.message_lock.acquire(timeout=5):
            raise TimeoutError("publish() waited 5 s for the message lock: deadlock")
        self.message_lock.release()
        self.mid += 1
        return SimpleNamespace(mid=self.mid)


def test_an_acknowledgement_arriving_during_a_publish_does_not_deadlock() -> None:
    client = PahoLikeClient()
    sink = MQTTAlertSink(client, AlertSettings(state_topic=""), Outbox(10), "status")
    acked = threading.Event()

    def network_thread() -> None:  # holds paho's lock and calls back, as paho's loop does
        with client.message_lock:
            client.publishing.wait(5)
            sink.on_publish(99)  # an ack for some other message
            acked.set()

    thread = threading.Thread(target=network_thread)
    thread.start()
    event = AlertEvent("alert_start", "s1", 1, None, 2.0, 1.0, "warning", "m", 1)
    sink.emit(event)  # raises TimeoutError if the sink held its lock across publish()
    thread.join(5)
    assert acked.is_set() and not thread.is_alive()
    assert sink.published == 1 and len(sink.outbox) == 1


class WrappingClient:
    """paho's message ids, as a stand-in: 1..65535, then 1 again; acknowledgements come when the test
    says (a unit-test stand-in for a corner the real broker needs hours of traffic to reach)."""

    def __init__(self) -> None:
        self.last_mid = 0

    def publish(self, _topic: str, _payload: str, qos: int = 0, retain: bool = False) -> SimpleNamespace:
        self.last_mid = self.last_mid % 65535 + 1
        return SimpleNamespace(mid=self.last_mid)


def test_a_new_alert_reusing_the_id_of_an_old_health_message_waits_for_its_own_ack() -> None:
    client = WrappingClient()
    sink = MQTTAlertSink(client, AlertSettings(state_topic=""), Outbox(10), "status")
    sink.health("edge-lstm/d/health", {"samples": 0})  # mid 1
    sink.on_publish(1)  # acknowledged long after publish() returned: not an alert's early ack
    event = AlertEvent("alert_start", "s1", 1, None, 2.0, 1.0, "warning", "m", 1)
    for _ in range(65_534):  # alerts, each acknowledged, until the ids wrap
        sink.emit(event)
        sink.on_publish(client.last_mid)
    assert len(sink.outbox) == 0 and client.last_mid == 65_535
    sink.emit(event)  # mid 1 again: the broker has not acknowledged this one yet
    assert client.last_mid == 1
    assert len(sink.outbox) == 1 and sink.acknowledged == 65_534
    sink.on_publish(1)
    assert len(sink.outbox) == 0 and sink.acknowledged == 65_535


def test_an_ack_that_overtakes_the_publish_bookkeeping_still_counts() -> None:
    class AckingClient(WrappingClient):  # the ack arrives before publish() has returned the mid
        def publish(self, topic: str, payload: str, qos: int = 0, retain: bool = False) -> SimpleNamespace:
            info = super().publish(topic, payload, qos, retain)
            sink.on_publish(info.mid)
            return info

    sink = MQTTAlertSink(AckingClient(), AlertSettings(), Outbox(10), "status")
    for sequence in range(1, 4):
        sink.emit(AlertEvent("alert_start", "s1", sequence, None, 2.0, 1.0, "warning", "m", sequence))
    sink.health("edge-lstm/d/health", {"samples": 0})
    assert len(sink.outbox) == 0 and sink.published == sink.acknowledged == 3
    assert not sink._early_acks  # only alert publishes in progress are tracked; nothing is left over


def test_on_a_real_broker_every_alert_is_acknowledged_and_other_acks_leave_nothing_behind(tmp_path: Path) -> None:
    broker = Broker(tmp_path)
    broker.start()
    settings = MQTTSettings(host="127.0.0.1", port=broker.port, client_id="early-acks")
    client = make_client(settings)
    sink = MQTTAlertSink(
        client, AlertSettings(homeassistant_discovery=True), Outbox(500, tmp_path / "outbox.jsonl"), "status"
    )
    client.on_publish = lambda _c, _u, mid, _rc, _p: sink.on_publish(mid)
    collector = Subscriber(broker.port, "edge-lstm/+/alert")
    try:
        client.connect(settings.host, settings.port)
        client.loop_start()
        time.sleep(0.3)  # mosquitto_sub subscribes
        for sequence in range(1, 301):  # alerts with state, discovery and health messages between them
            stream = f"s{sequence % 7}"
            sink.announce(stream, "m")
            sink.emit(AlertEvent("alert_start", stream, sequence, None, 2.0, 1.0, "warning", "m", sequence))
            sink.health("edge-lstm/early-acks/health", {"sequence": sequence})
        wait_for(lambda: len(collector.lines) >= 300, 15, "300 alerts at mosquitto_sub")
        wait_for(lambda: len(sink.outbox) == 0, 10, "every alert acknowledged")
        assert sink.published == sink.acknowledged == 300
        assert not sink._early_acks  # the acks of 900 other messages were not kept
    finally:
        collector.close()
        client.disconnect()
        client.loop_stop()
        broker.stop()
