"""Two small MQTT companions of the daemon: a stream simulator and a live alert viewer."""

from __future__ import annotations

import json
import queue
import time
from collections import deque
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any

import numpy as np

from edge_lstm import synthetic
from edge_lstm.config import MQTTSettings
from edge_lstm.mqtt_client import make_client


def encode(values: np.ndarray, features: list[str], fmt: str, timestamp: float | None) -> str:
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
) -> int:
    """Publish rows to ``topic`` (``{stream}`` is replaced by s1, s2, ...) at ``rate`` messages/s
    (0 = as fast as possible). Timestamps are the wall clock at publish time. Returns the count."""
    client = make_client(settings, client_id=f"edge-lstm-simulate-{time.time_ns() % 10**9}")
    client.connect(settings.host, settings.port, keepalive=settings.keepalive)
    client.loop_start()
    sent, started = 0, time.perf_counter()
    recent: deque[Any] = deque(maxlen=1000)  # the last messages handed to paho, to wait for at the end
    try:
        for stream, values in rows:
            if rate > 0:
                delay = started + sent / rate - time.perf_counter()
                if delay > 0:
                    time.sleep(delay)
            info = client.publish(
                topic.format(stream=f"s{stream + 1}"), encode(values, features, fmt, time.time()), qos=qos
            )
            recent.append(info)
            sent += 1
            if progress is not None and sent % 100 == 0:
                progress(100)
        # Disconnecting at once would throw away what paho still holds in its queue.
        for info in recent:
            info.wait_for_publish(timeout=30)
    finally:
        client.disconnect()
        client.loop_stop()
    return sent


TABLE_HEADER = (
    f"{'time':19s}  {'stream':14s} {'event':11s} {'severity':8s} {'score':>9s} {'threshold':>9s}  top sensors"
)


def table_row(alert: dict[str, Any]) -> str:
    ts = alert.get("timestamp")
    when = datetime.fromtimestamp(ts, tz=UTC).strftime("%Y-%m-%d %H:%M:%S") if ts else "-"
    top = ", ".join(f"{k} {100 * v:.0f}%" for k, v in list(alert.get("contributions", {}).items())[:3])
    return (
        f"{when:19s}  {alert.get('stream', '?')!s:14.14s} {alert.get('event', '?')!s:11s} "
        f"{alert.get('severity', '?')!s:8s} {alert.get('score', float('nan')):9.4g} "
        f"{alert.get('threshold', float('nan')):9.4g}  {top}"
    )


def watch_alerts(
    settings: MQTTSettings,
    topic: str,
    on_alert: Callable[[dict[str, Any] | None, bytes], None],
    count: int | None = None,
    timeout: float | None = None,
    on_subscribed: Callable[[], None] | None = None,
) -> int:
    """Subscribe and call ``on_alert(parsed or None, raw)`` per message until ``count`` or ``timeout``."""
    messages: queue.Queue[bytes] = queue.Queue()
    client = make_client(settings, client_id=f"edge-lstm-alerts-{time.time_ns() % 10**9}")
    client.on_connect = lambda c, _u, _f, rc, _p: None if rc.is_failure else c.subscribe(topic, qos=1)
    if on_subscribed is not None:
        client.on_subscribe = lambda *_: on_subscribed()
    client.on_message = lambda _c, _u, message: messages.put(message.payload)
    client.connect(settings.host, settings.port, keepalive=settings.keepalive)
    client.loop_start()
    seen = 0
    deadline = None if timeout is None else time.monotonic() + timeout
    try:
        while count is None or seen < count:
            wait = 0.5 if deadline is None else deadline - time.monotonic()
            if deadline is not None and wait <= 0:
                break
            try:
                raw = messages.get(timeout=min(wait, 0.5))
            except queue.Empty:
                continue
            try:
                parsed = json.loads(raw)
            except ValueError:
                parsed = None
            on_alert(parsed if isinstance(parsed, dict) else None, raw)
            seen += 1
    finally:
        client.disconnect()
        client.loop_stop()
    return seen
