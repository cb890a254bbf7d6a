"""Building paho clients the same way everywhere: callback API v2, auth, TLS, Last Will, backoff."""

from __future__ import annotations

import contextlib
import socket
import ssl
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from edge_lstm.config import MQTTSettings


def make_client(settings: MQTTSettings, client_id: str | None = None, will: tuple[str, str] | None = None) -> Any:
    client = mqtt.Client(
        callback_api_version=CallbackAPIVersion.VERSION2,
        client_id=client_id or settings.client_id,
        protocol=mqtt.MQTTv311,
        clean_session=True,
    )
    if settings.username:
        client.username_pw_set(settings.username, settings.password)
    if settings.tls_ca_file:
        client.tls_set(ca_certs=settings.tls_ca_file, tls_version=ssl.PROTOCOL_TLS_CLIENT)
    if will is not None:
        client.will_set(will[0], will[1], qos=1, retain=True)
    client.reconnect_delay_set(min_delay=max(1, int(settings.reconnect_min_s)), max_delay=int(settings.reconnect_max_s))
    # The outbox bounds what is kept; paho's own queue must never refuse what the outbox accepted.
    client.max_queued_messages_set(0)
    client.max_inflight_messages_set(100)
    client.on_socket_open = _no_delay
    return client


def _no_delay(_client: Any, _userdata: Any, sock: Any) -> None:
    """Small MQTT packets must not wait for Nagle's algorithm: with delayed ACKs on the other side
    that costs up to 40 ms per alert, far more than scoring it."""
    with contextlib.suppress(OSError, AttributeError):  # not a TCP socket (e.g. websockets): nothing to tune
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)


def reason_text(reason_code: Any) -> str:
    return str(getattr(reason_code, "getName", lambda: reason_code)())
