"""The [mqtt] table: broker address, identity, credentials and TLS, with the flag > environment > file >
default precedence."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from edge_lstm.config.reader import Reader, env, port_value, relative_to


@dataclass(frozen=True)
class MQTTSettings:
    host: str = "localhost"
    port: int = 1883
    client_id: str = "edge-lstm"
    keepalive: int = 30
    qos: int = 1
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    tls_ca_file: str | None = None
    reconnect_min_s: float = 1.0
    reconnect_max_s: float = 30.0


def mqtt_settings(m: Reader, overrides: dict[str, Any], folder: Path) -> MQTTSettings:
    """[mqtt] with the flag > environment > file > default precedence; every source validated alike."""
    password = env("MQTT_PASSWORD")
    password_file = relative_to(folder / "config", m.get("password_file", str))
    if password is None and password_file:
        try:
            password = Path(password_file).read_text(encoding="utf-8").strip()
        except OSError as error:
            raise m.fail("password_file", f"cannot read {password_file} ({error.strerror})") from None
    return MQTTSettings(
        host=overrides.get("host") or env("MQTT_HOST") or m.get("host", str, "localhost"),
        port=port_value(overrides.get("port"), "--port")
        or port_value(env("MQTT_PORT"), "EDGE_LSTM_MQTT_PORT")
        or m.integer("port", 1883, 1, 65535),
        client_id=overrides.get("client_id") or env("MQTT_CLIENT_ID") or m.get("client_id", str, "edge-lstm"),
        keepalive=m.integer("keepalive", 30, 5, 3600),
        qos=m.integer("qos", 1, 0, 2),
        username=env("MQTT_USERNAME") or m.get("username", str),
        password=password,
        tls_ca_file=relative_to(folder / "config", m.get("tls_ca_file", str)),
        reconnect_min_s=m.number("reconnect_min_s", 1.0) or 1.0,
        reconnect_max_s=m.number("reconnect_max_s", 30.0) or 30.0,
    )
