"""The MQTT source: subscribed topics in, raw frames out, through the bounded ``FrameQueue``.

Paho's network thread runs the callbacks here and they only enqueue (parsing and scoring happen on the
worker), so slow inference can never stall the broker connection. Subscribing happens in
``on_connect``, so every reconnect restores the subscriptions.
"""

from __future__ import annotations

import logging
import threading
from collections import Counter
from collections.abc import Callable
from typing import Any

from edge_lstm.sources.queue import Frame, FrameQueue

__all__ = ["Frame", "MQTTSource"]

log = logging.getLogger(__name__)


class MQTTSource:
    """Subscribes ``topics`` on ``client`` and queues every message as a ``Frame`` in ``queue`` (its own
    queue of ``capacity`` frames when none is shared).

    ``counters`` (shared with the caller) receives ``dropped``, ``connects`` and ``disconnects``;
    ``on_connected`` runs on paho's thread after each (re)subscription.
    """

    def __init__(
        self,
        topics: list[str],
        qos: int,
        capacity: int,
        counters: Counter[str] | None = None,
        on_connected: Callable[[], None] | None = None,
        queue: FrameQueue | None = None,
    ) -> None:
        self.topics = topics
        self.qos = qos
        self.counters: Counter[str] = counters if counters is not None else Counter()
        self.queue = queue if queue is not None else FrameQueue(capacity, self.counters)
        self.on_connected = on_connected
        self.connected = threading.Event()
        self.closing = False
        self._where = ""

    # -- wiring --------------------------------------------------------------------------------------
    def attach(self, client: Any, where: str = "") -> None:
        """Install the callbacks on a paho client (callback API v2). ``where`` names the broker in logs."""
        self._where = where
        client.on_connect = self._on_connect
        client.on_disconnect = self._on_disconnect
        client.on_subscribe = self._on_subscribe
        submit = self.queue.submit  # looked up once: this runs for every message, on paho's thread
        client.on_message = lambda _c, _u, message: submit(message.topic, message.payload)

    def _on_connect(self, client: Any, _userdata: Any, _flags: Any, reason_code: Any, _properties: Any) -> None:
        if reason_code.is_failure:
            hint = ""
            if "user name or password" in str(reason_code).lower() or "authoriz" in str(reason_code).lower():
                hint = " (check [mqtt] username and the password: EDGE_LSTM_MQTT_PASSWORD or password_file)"
            log.error("broker refused the connection: %s%s", reason_code, hint)
            return
        if self.topics:
            client.subscribe([(topic, self.qos) for topic in self.topics])
        self.counters["connects"] += 1
        self.connected.set()
        if self.on_connected is not None:
            self.on_connected()
        log.info("connected to %s; subscribing to %s", self._where, ", ".join(self.topics) or "nothing")

    def _on_subscribe(self, _client: Any, _userdata: Any, _mid: int, reason_codes: Any, _properties: Any) -> None:
        # Until the broker acknowledges, samples published to the topics are not delivered to us; a
        # refusal (an ACL, a bad filter) would otherwise leave the daemon silently idle.
        refused = [str(code) for code in reason_codes if code.is_failure]
        if refused:
            log.error(
                "broker refused %d of %d subscription(s): %s", len(refused), len(reason_codes), ", ".join(refused)
            )
        else:
            log.info("broker confirmed the subscription (%d topic filter(s))", len(reason_codes))

    def _on_disconnect(self, _client: Any, _userdata: Any, _flags: Any, reason_code: Any, _properties: Any) -> None:
        self.connected.clear()
        if not self.closing:
            self.counters["disconnects"] += 1
            log.warning("lost the broker connection (%s); reconnecting with backoff", reason_code)

    # -- the queue -----------------------------------------------------------------------------------
    def submit(self, topic: str, payload: bytes) -> None:
        """Queue one message, as paho's ``on_message`` does."""
        self.queue.submit(topic, payload)

    def take(self, timeout: float) -> list[Frame]:
        """Everything queued, waiting up to ``timeout`` seconds for the first frame; nothing once closed."""
        return self.queue.take(timeout)

    def queued(self) -> list[Frame]:
        """A copy of what is waiting, oldest first."""
        return self.queue.queued()

    def __len__(self) -> int:
        return len(self.queue)

    def close(self) -> None:
        """Stop counting disconnects as losses and release a waiting ``take``. Idempotent."""
        self.closing = True
        self.queue.close()
