"""The frame queue every live source feeds: bounded, oldest dropped first, one waiting consumer.

Paho's network thread and each serial port's reader thread only ``submit`` here; the worker ``take``s
everything queued in one call, so streams from MQTT and from serial ports land in the same batched
wave. When full the *oldest* frame is dropped: fresh data is worth more to a live detector. Drops are
counted and logged, rate-limited.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import Counter, deque
from typing import NamedTuple

from edge_lstm.core.logpolicy import RateLimitedLog

log = logging.getLogger(__name__)


class Frame(NamedTuple):
    """One raw message as it arrived: where from, its bytes, and when (monotonic seconds). ``gap`` marks
    an interruption of the stream instead of data (a serial port that went away and came back, or went
    silent); the payload of such a frame names the cause."""

    topic: str
    payload: bytes
    received: float
    gap: bool = False


class FrameQueue:
    """At most ``capacity`` frames; ``counters`` (shared with the caller) receives ``dropped``."""

    def __init__(self, capacity: int, counters: Counter[str] | None = None) -> None:
        self.capacity = capacity
        self.counters: Counter[str] = counters if counters is not None else Counter()
        self.closing = False
        self._queue: deque[Frame] = deque()
        self._cond = threading.Condition()
        self._waiting = False  # the consumer sleeps in take(): only then is a notify worth its cost
        self._warn = RateLimitedLog(log)  # the producers' own limiter

    def submit(self, topic: str, payload: bytes, gap: bool = False) -> None:
        """Queue one frame; runs on a producer's thread and must stay cheap."""
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
            self._queue.append(Frame(topic, payload, time.monotonic(), gap))
            if self._waiting:
                self._cond.notify()

    def take(self, timeout: float) -> list[Frame]:
        """Everything queued, waiting up to ``timeout`` seconds for the first frame; nothing once closed."""
        with self._cond:
            if self.closing:
                return []
            if not self._queue:
                self._waiting = True
                self._cond.wait(timeout=timeout)
                self._waiting = False
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
        """Release a waiting ``take``; later takes return nothing. Idempotent."""
        self.closing = True
        self.wake()
