"""The MQTT source: subscribed topics in, raw frames out, through a bounded queue.

Paho's network thread runs the callbacks here and they only enqueue (parsing and scoring happen on the
worker), so slow inference can never stall the broker connection. The queue is bounded and drops the
*oldest* frame when full: fresh data is worth more to a live detector. Drops are counted and logged,
rate-limited. Subscribing happens in ``on_connect``, so every reconnect restores the subscriptions.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import Counter, deque
from collections.abc import Callable
from typing import Any, NamedTuple

from edge_lstm.core.logpolicy import RateLimitedLog

log = logging.getLogger(__name__)


class Frame(NamedTuple):
    """One raw message as it arrived: where from, its bytes, and when (monotonic seconds)."""

    topic: str
    payload: bytes
    received: float


class MQTTSource:
    """Subscribes ``topics`` on ``client`` and queues every message as a ``Frame`` (at most ``capacity``).

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
    ) -> None:
        self.topics = topics
        self.qos = qos
        self.capacity = capacity
        self.counters: Counter[str] = counters if counters is not None else Counter()
        self.on_connected = on_connected
        self.connected = threading.Event()
        self.closing = False
        self._queue: deque[Frame] = deque()
        self._cond = threading.Condition()
        self._warn = RateLimitedLog(log)  # the network thread's own limiter
        self._where = ""

    # -- wiring --------------------------------------------------------------------------------------
    def attach(self, client: Any, where: str = "") -> None:
        """Install the callbacks on a paho client (callback API v2). ``where`` names the broker in logs."""
        self._where = where
        client.on_connect = self._on_connect
        client.on_disconnect = self._on_disconnect
        client.on_message = lambda _c, _u, message: self.submit(message.topic, message.payload)

    def _on_connect(self, client: Any, _userdata: Any, _flags: Any, reason_code: Any, _properties: Any) -> None:
        if reason_code.is_failure:
            log.error("broker refused the connection: %s", reason_code)
            return
        client.subscribe([(topic, self.qos) for topic in self.topics])
        self.counters["connects"] += 1
        self.connected.set()
        if self.on_connected is not None:
            self.on_connected()
        log.info("connected to %s; subscribed to %s", self._where, ", ".join(self.topics))

    def _on_disconnect(self, _client: Any, _userdata: Any, _flags: Any, reason_code: Any, _properties: Any) -> None:
        self.connected.clear()
        if not self.closing:
            self.counters["disconnects"] += 1
            log.warning("lost the broker connection (%s); reconnecting with backoff", reason_code)

    # -- the queue -----------------------------------------------------------------------------------
    def submit(self, topic: str, payload: bytes) -> None:
        """Queue one message; runs on paho's thread and must stay cheap."""
        with self._cond:
            if len(self._queue) >= self.capacity:
                dropped = self._queue.popleft().topic
                self.counters["dropped"] += 1
                self._warn.warning(
                    "dropped",
                    "sample queue full (%d): dropped the oldest sample (from %s); the worker is "
                    "behind the incoming rate",
                    self.capacity,
                    dropped,
                )
            self._queue.append(Frame(topic, payload, time.monotonic()))
            self._cond.notify()

    def take(self, timeout: float) -> list[Frame]:
        """Everything queued, waiting up to ``timeout`` seconds for the first frame; nothing once closed."""
        with self._cond:
            if self.closing:
                return []
            if not self._queue:
                self._cond.wait(timeout=timeout)
            frames = list(self._queue)
            self._queue.clear()
        return frames

    def wake(self) -> None:
        """Return from a waiting ``take`` at once (used when stopping)."""
        with self._cond:
            self._cond.notify()

    def queued(self) -> list[Frame]:
        """A copy of what is waiting, oldest first."""
        with self._cond:
            return list(self._queue)

    def __len__(self) -> int:
        return len(self._queue)

    def close(self) -> None:
        """Stop counting disconnects as losses and release a waiting ``take``. Idempotent."""
        self.closing = True
        self.wake()
