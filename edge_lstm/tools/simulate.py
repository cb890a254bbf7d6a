"""``edge-lstm simulate``: publish a recorded CSV or the built-in synthetic machine to MQTT at a set rate."""

from __future__ import annotations

import json
import time
from collections import deque
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np

from edge_lstm.config import MQTTSettings
from edge_lstm.service.mqtt_client import make_client
from edge_lstm.tools import synthetic


def encode(values: np.ndarray, features: list[str], fmt: str, timestamp: float | None) -> str:
    """One sample as a payload in the daemon's ``fmt`` (json, json_array or csv), with ``ts`` if given."""
    if fmt == "json":
        document: dict[str, Any] = {name: round(float(v), 6) for name, v in zip(features, values, strict=True)}
        if timestamp is not None:
            document["ts"] = timestamp
        return json.dumps(document, separators=(",", ":"))
    items = ([timestamp] if timestamp is not None else []) + [round(float(v), 6) for v in values]
    if fmt == "json_array":
        return json.dumps(items, separators=(",", ":"))
    return ",".join(str(v) for v in items)


def synthetic_rows(streams: int, count: int, faults: bool) -> Iterator[tuple[int, np.ndarray]]:
    """Interleaved rows of ``streams`` independent synthetic machines (seeds 100, 101, ...)."""
    make = synthetic.faulty_stream if faults else synthetic.normal_stream
    data = [make(count, seed=100 + i, start_index=1_000_000).values for i in range(streams)]  # type: ignore[operator]
    for t in range(count):
        for i in range(streams):
            yield i, data[i][t]


def publish_stream(
    settings: MQTTSettings,
    topic: str,
    rows: Iterator[tuple[int, np.ndarray]],
    features: list[str],
    rate: float,
    fmt: str = "json",
    qos: int = 0,
    progress: Callable[[int], None] | None = None,
    batch: int = 1,
) -> int:
    """Publish rows to ``topic`` (``{stream}`` is replaced by s1, s2, ...) at ``rate`` samples/s
    (0 = as fast as possible), ``batch`` samples of a stream per message, as firmware that buffers
    readings sends them. Each sample's timestamp is the wall clock when it is taken (not when its
    message leaves). Returns the count of samples."""
    client = make_client(settings, client_id=f"edge-lstm-simulate-{time.time_ns() % 10**9}")
    client.connect(settings.host, settings.port, keepalive=settings.keepalive)
    client.loop_start()
    sent, started = 0, time.perf_counter()
    recent: deque[Any] = deque(maxlen=1000)  # the last messages handed to paho, to wait for at the end
    buffered: dict[int, list[str]] = {}

    def send(stream: int) -> None:
        items = buffered.pop(stream)
        payload = items[0] if batch == 1 else join(items, fmt)
        recent.append(client.publish(topic.format(stream=f"s{stream + 1}"), payload, qos=qos))

    try:
        for stream, values in rows:
            if rate > 0:
                delay = started + sent / rate - time.perf_counter()
                if delay > 0:
                    time.sleep(delay)
            buffered.setdefault(stream, []).append(encode(values, features, fmt, time.time()))
            if len(buffered[stream]) >= batch:
                send(stream)
            sent += 1
            if progress is not None and sent % 100 == 0:
                progress(100)
        for stream in list(buffered):
            send(stream)
        # Disconnecting at once would throw away what paho still holds in its queue.
        for info in recent:
            info.wait_for_publish(timeout=30)
    finally:
        client.disconnect()
        client.loop_stop()
    return sent


def join(payloads: list[str], fmt: str) -> str:
    """Several encoded samples as one payload: a JSON array of them, or CSV lines."""
    return "\n".join(payloads) if fmt == "csv" else "[" + ",".join(payloads) + "]"
