"""Alerts, per-stream state, Home Assistant discovery and health, published on MQTT.

Alerts go through the outbox (bounded, journalled on disk) and are handed to paho at once with QoS 1;
paho keeps unacknowledged QoS 1 messages across a reconnect and resends them, and the outbox entry is
removed only when the broker acknowledges it.
"""

from __future__ import annotations

import json
import logging
import threading
from typing import Any

from edge_lstm.config import AlertSettings
from edge_lstm.core.alerts import AlertEvent
from edge_lstm.sinks.outbox import Outbox

log = logging.getLogger(__name__)


def _compact(document: dict[str, Any]) -> str:
    return json.dumps(document, separators=(",", ":"))


class MQTTAlertSink:
    """Publishes alerts (QoS from the config, through the outbox), retained per-stream state, Home
    Assistant discovery and health on one paho client."""

    def __init__(self, client: Any, settings: AlertSettings, outbox: Outbox, status_topic: str) -> None:
        self._client = client
        self._settings = settings
        self._outbox = outbox
        self._status_topic = status_topic
        self._lock = threading.Lock()  # on_publish runs on paho's thread, publishing on the worker's
        self._in_flight: dict[int, int] = {}  # paho mid -> outbox id
        # Acks that may have overtaken the bookkeeping of an alert publish still inside publish(). Kept
        # only while such a publish is in progress, and emptied when none is: paho's mids wrap at 65,535,
        # so a kept ack of a state or health message would one day "acknowledge" a new alert at once.
        self._publishing = 0  # alert publishes inside client.publish() right now
        self._early_acks: set[int] = set()
        self.published = 0
        self.acknowledged = 0

    @property
    def outbox(self) -> Outbox:
        """The alerts not yet acknowledged by the broker."""
        return self._outbox

    # -- alerts ------------------------------------------------------------------------------------
    def alert_topic(self, stream: str) -> str:
        """The alert topic of ``stream``."""
        return self._settings.topic.format(stream=stream)

    def emit(self, event: AlertEvent) -> None:
        """Keep the event in the outbox and publish it (and the stream's retained state)."""
        topic, payload = self.alert_topic(event.stream), _compact(event.to_dict())
        key = self._outbox.add(topic, payload)
        if key is None:
            log.error(
                "outbox full (%d alerts unacknowledged): dropped %s for stream %s",
                self._outbox.capacity,
                event.event,
                event.stream,
            )
            return
        self._send(key, topic, payload)
        if self._settings.state_topic:
            state = {
                "state": "alerting" if event.event == "alert_start" else "normal",
                "score": round(event.score, 6),
                "threshold": round(event.threshold, 6),
                "timestamp": event.timestamp,
                "model_id": event.model_id,
            }
            self._client.publish(
                self._settings.state_topic.format(stream=event.stream), _compact(state), qos=1, retain=True
            )

    def resend_journal(self) -> None:
        """Alerts left unacknowledged by an earlier run (read from the on-disk journal)."""
        for key, topic, payload in self._outbox.items():
            self._send(key, topic, payload)

    def _send(self, key: int, topic: str, payload: str) -> None:
        # Never publish while holding the lock: paho calls on_publish on its network thread while it holds
        # its own message lock, and publish() waits for that lock, so holding ours across publish()
        # deadlocks the worker against an acknowledgement arriving at the same moment. An ack that
        # overtakes the bookkeeping below is caught by the early-ack set instead; the count of alert
        # publishes in progress tells on_publish when an unknown mid may be such an ack.
        with self._lock:
            self._publishing += 1
        try:
            mid = self._client.publish(topic, payload, qos=self._settings.qos).mid
        except BaseException:
            with self._lock:
                self._published_one()
            raise
        # The mid is registered (or matched with its early ack) in the same critical section that ends
        # "publishing": an ack arriving in between would otherwise be neither in flight nor kept.
        with self._lock:
            self.published += 1
            if mid in self._early_acks:
                self._early_acks.discard(mid)
                self._outbox.acknowledge(key)
                self.acknowledged += 1
            else:
                self._in_flight[mid] = key
            self._published_one()

    def _published_one(self) -> None:
        """An alert publish has left client.publish() (called with the lock held)."""
        self._publishing -= 1
        if not self._publishing:
            # Whatever is left was acked while a publish was in progress but belongs to no alert (a
            # state or health message): it must not outlive the publish it raced with.
            self._early_acks.clear()

    def on_publish(self, mid: int) -> None:
        """Paho's acknowledgement of message ``mid``: an alert leaves the outbox only now."""
        with self._lock:
            key = self._in_flight.pop(mid, None)
            if key is None:
                if self._publishing:  # perhaps the alert being published: _send will look for it
                    self._early_acks.add(mid)
                return
            self._outbox.acknowledge(key)
            self.acknowledged += 1

    # -- discovery and health ----------------------------------------------------------------------
    def announce(self, stream: str, model_id: str) -> None:
        """Publish the Home Assistant discovery config of ``stream`` (when discovery is on)."""
        if not self._settings.homeassistant_discovery or not self._settings.state_topic:
            return
        object_id = "edge_lstm_" + "".join(c if c.isalnum() else "_" for c in stream)
        config = {
            "name": f"Anomaly {stream}",
            "unique_id": object_id,
            "object_id": object_id,
            "device_class": "problem",
            "state_topic": self._settings.state_topic.format(stream=stream),
            "value_template": "{{ value_json.state }}",
            "payload_on": "alerting",
            "payload_off": "normal",
            "json_attributes_topic": self.alert_topic(stream),
            "availability_topic": self._status_topic,
            "payload_available": "online",
            "payload_not_available": "offline",
            "device": {"identifiers": ["edge-lstm"], "name": "edge-lstm", "model": model_id},
        }
        topic = f"{self._settings.discovery_prefix}/binary_sensor/{object_id}/config"
        self._client.publish(topic, _compact(config), qos=1, retain=True)

    def close(self) -> None:
        """Nothing to release: the client belongs to the service shell, and alerts still in the outbox
        stay there (and in its journal) for the next start. Idempotent."""

    def health(self, topic: str, document: dict[str, Any]) -> None:
        """Publish the health document, retained, at QoS 0."""
        self._client.publish(topic, _compact(document), qos=0, retain=True)
