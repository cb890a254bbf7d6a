"""The alert sink never holds its lock while paho may be calling back into it (a real deadlock, found
when the sink contract suite hung under load)."""

from __future__ import annotations

import threading
from types import SimpleNamespace

from edge_lstm.config import AlertSettings
from edge_lstm.core.alerts import AlertEvent
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
