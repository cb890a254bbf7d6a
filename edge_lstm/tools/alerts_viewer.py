"""``edge-lstm alerts``: watch live alerts from the broker, as a table or as JSON lines."""

from __future__ import annotations

import json
import queue
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from edge_lstm.config import MQTTSettings
from edge_lstm.service.mqtt_client import make_client

TABLE_HEADER = (
    f"{'time':19s}  {'stream':14s} {'event':11s} {'severity':8s} {'score':>9s} {'threshold':>9s}  top sensors"
)


def table_row(alert: dict[str, Any]) -> str:
    """One alert as a row under ``TABLE_HEADER``: time, stream, event, severity, score, top sensors."""
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
