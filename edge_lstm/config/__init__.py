"""The daemon's configuration: one TOML file, validated up front with exact messages.

Precedence: command-line flag > environment (``EDGE_LSTM_*``) > file > default. Secrets never have
to live in the TOML: the MQTT password comes from ``EDGE_LSTM_MQTT_PASSWORD`` or ``password_file``.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from edge_lstm.config.mqtt import MQTTSettings, mqtt_settings
from edge_lstm.config.reader import SECTIONS, THRESHOLD_KEYS, Reader, env, relative_to
from edge_lstm.config.streams import SerialSettings, StreamSettings, array_of_tables, serial_settings, stream_settings
from edge_lstm.errors import ConfigError

__all__ = [
    "THRESHOLD_KEYS",
    "AlertSettings",
    "ConfigError",
    "ControlSettings",
    "DaemonConfig",
    "MQTTSettings",
    "SerialSettings",
    "StreamSettings",
    "load_config",
    "mqtt_settings_from",
]


@dataclass(frozen=True)
class AlertSettings:
    topic: str = "edge-lstm/{stream}/alert"
    qos: int = 1
    state_topic: str | None = "edge-lstm/{stream}/state"  # retained per-stream state; "" to disable
    homeassistant_discovery: bool = False
    discovery_prefix: str = "homeassistant"


@dataclass(frozen=True)
class ControlSettings:
    """Runtime commands over MQTT (off by default): protect ``topic`` with the broker's ACL."""

    enabled: bool = False
    topic: str = "edge-lstm/{client_id}/control"
    response_topic: str = "edge-lstm/{client_id}/control/response"
    token: str | None = field(default=None, repr=False)  # from token_file: every command must carry it


@dataclass(frozen=True)
class DaemonConfig:
    bundle: str
    streams: tuple[StreamSettings, ...]
    serial: tuple[SerialSettings, ...] = ()
    mqtt: MQTTSettings = field(default_factory=MQTTSettings)
    alerts: AlertSettings = field(default_factory=AlertSettings)
    status_topic: str = "edge-lstm/{client_id}/status"
    health_topic: str = "edge-lstm/{client_id}/health"
    health_interval_s: float = 30.0
    queue_size: int = 10_000
    max_payload_bytes: int = 65_536  # a sample is tens of bytes: anything near this is not a sample
    outbox_size: int = 1_000
    outbox_path: str | None = None
    control: ControlSettings = field(default_factory=ControlSettings)
    state_directory: str | None = None  # stream snapshots; None: every start is a fresh start
    snapshot_interval_s: float = 300.0
    source: Path | None = None

    def status(self) -> str:
        return self.status_topic.format(client_id=self.mqtt.client_id)

    def health(self) -> str:
        return self.health_topic.format(client_id=self.mqtt.client_id)


def mqtt_settings_from(path: Path | None, overrides: dict[str, Any] | None = None) -> MQTTSettings:
    """Broker settings for the operator tools: from a daemon config when one is given, else from the
    ``EDGE_LSTM_MQTT_*`` environment and the defaults; flags in ``overrides`` win either way."""
    overrides = {k: v for k, v in (overrides or {}).items() if v is not None}
    if path is not None:
        return load_config(path, overrides).mqtt
    return mqtt_settings(Reader("environment", {}, "mqtt"), overrides, Path.cwd())


def load_config(path: str | Path, overrides: dict[str, Any] | None = None) -> DaemonConfig:
    """Read, validate and resolve a daemon config. ``overrides`` come from command-line flags."""
    path = Path(path)
    source = str(path)
    try:
        # utf-8-sig: a byte-order mark (Windows Notepad's "UTF-8 with BOM") is invisible, so it is not an error
        raw = tomllib.loads(path.read_text(encoding="utf-8-sig"))
    except FileNotFoundError:
        raise ConfigError(f"{source}: config file not found") from None
    except UnicodeDecodeError as error:
        raise ConfigError(
            f"{source}: not UTF-8 text (byte {error.start}: {error.object[error.start : error.start + 1]!r}); "
            "TOML files are UTF-8: save it as UTF-8"
        ) from None
    except tomllib.TOMLDecodeError as error:
        raise ConfigError(f"{source}: not valid TOML ({error})") from None
    unknown = sorted(set(raw) - SECTIONS)
    if unknown:
        raise ConfigError(f"{source}: unknown section [{unknown[0]}]; known sections: {', '.join(sorted(SECTIONS))}")
    overrides = overrides or {}
    tables = {}
    for name in SECTIONS - {"streams", "serial"}:
        value = raw.get(name, {})
        if not isinstance(value, dict):
            raise ConfigError(f"{source}: [{name}] must be a table")
        tables[name] = Reader(source, value, name)

    mqtt = mqtt_settings(tables["mqtt"], overrides, path.parent)
    bundle = overrides.get("bundle") or env("BUNDLE") or relative_to(path, tables["model"].get("bundle", str))
    if not bundle:
        raise ConfigError(f"{source}: [model] bundle: required (the model bundle directory)")

    streams = tuple(stream_settings(r, path) for r in array_of_tables(raw, "streams", source))
    serial = tuple(serial_settings(r, path) for r in array_of_tables(raw, "serial", source))
    if not streams and not serial:
        raise ConfigError(f"{source}: at least one [[streams]] or [[serial]] table is required")
    names = [s.name for s in serial]
    for name in names:
        if names.count(name) > 1:
            raise ConfigError(f"{source}: [[serial]] name {name!r} is used by more than one port")

    a = tables["alerts"]
    alerts = AlertSettings(
        topic=a.get("topic", str, AlertSettings.topic),
        qos=a.integer("qos", 1, 0, 2),
        state_topic=a.get("state_topic", str, AlertSettings.state_topic) or None,
        homeassistant_discovery=a.get("homeassistant_discovery", bool, False),
        discovery_prefix=a.get("discovery_prefix", str, "homeassistant"),
    )
    if "{stream}" not in alerts.topic:
        raise a.fail("topic", f"must contain {{stream}} so each stream has its own topic, got {alerts.topic!r}")
    s = tables["status"]
    control = _control(tables["control"], path, mqtt.client_id)
    return DaemonConfig(
        bundle=bundle,
        streams=streams,
        serial=serial,
        mqtt=mqtt,
        alerts=alerts,
        status_topic=s.get("topic", str, DaemonConfig.status_topic),
        health_topic=s.get("health_topic", str, DaemonConfig.health_topic),
        health_interval_s=s.number("health_interval_s", 30.0) or 30.0,
        queue_size=tables["queue"].integer("max_samples", 10_000, 1, 10_000_000),
        max_payload_bytes=tables["queue"].integer("max_payload_bytes", 65_536, 64, 16_777_216),
        outbox_size=tables["outbox"].integer("max_alerts", 1_000, 1, 1_000_000),
        outbox_path=relative_to(path, tables["outbox"].get("path", str)),
        control=control,
        state_directory=relative_to(path, tables["state"].get("directory", str)),
        snapshot_interval_s=tables["state"].number("snapshot_interval_s", 300.0, 0.05) or 300.0,
        source=path,
    )


def _control(c: Reader, path: Path, client_id: str) -> ControlSettings:
    token_file = relative_to(path, c.get("token_file", str))
    token = None
    if token_file:
        try:
            token = Path(token_file).read_text(encoding="utf-8").strip()
        except OSError as error:
            raise c.fail("token_file", f"cannot read {token_file} ({error.strerror})") from None
        if not token:
            raise c.fail("token_file", f"{token_file} is empty")
    topic = c.get("topic", str, ControlSettings.topic).format(client_id=client_id)
    if "+" in topic or "#" in topic:
        raise c.fail("topic", f"must be one topic, without wildcards, got {topic!r}")
    return ControlSettings(
        enabled=c.get("enabled", bool, False),
        topic=topic,
        response_topic=c.get("response_topic", str, ControlSettings.response_topic).format(client_id=client_id),
        token=token,
    )
