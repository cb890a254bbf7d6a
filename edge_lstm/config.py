"""The daemon's configuration: one TOML file, validated up front with exact messages.

Precedence: command-line flag > environment (``EDGE_LSTM_*``) > file > default. Secrets never have
to live in the TOML: the MQTT password comes from ``EDGE_LSTM_MQTT_PASSWORD`` or ``password_file``.
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from edge_lstm.core.calibration import ThresholdRule
from edge_lstm.errors import ConfigError, SettingsError

__all__ = ["ConfigError", "DaemonConfig", "MQTTSettings", "SerialSettings", "StreamSettings", "load_config"]

FORMATS = ("json", "json_array", "csv")
LINE_FORMATS = ("forwarder", "csv", "json")  # as in sources.lines, which this module must not import
CHECKSUMS = ("none", "nmea")
LINE_ENDINGS = ("lf", "crlf", "cr")


# A stream may recalibrate its threshold from the bundle's stored calibration scores: key -> method.
THRESHOLD_KEYS = ThresholdRule.config_keys()


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


@dataclass(frozen=True)
class StreamSettings:
    topic: str  # subscription pattern, MQTT wildcards allowed
    format: str = "json"
    fields: tuple[str, ...] | None = None  # JSON names / array or CSV positions; default: bundle features
    timestamp_field: str | None = None
    bundle: str | None = None  # default: [model] bundle
    threshold: float | None = None  # an absolute threshold, or
    threshold_rule: ThresholdRule | None = None  # recalibrated from the bundle's stored scores


@dataclass(frozen=True)
class SerialSettings:
    port: str  # a device path (prefer /dev/serial/by-id/...) or a pyserial URL (loop://, rfc2217://...)
    name: str  # the stream id
    baud: int = 115200
    format: str = "forwarder"
    fields: tuple[str, ...] | None = None  # channel names in line order; default: header or bundle features
    checksum: str = "none"
    line_ending: str = "lf"
    dtr: bool | None = None  # None: leave DTR as the driver sets it on open
    rate_hz: float | None = None  # None: measured over the first second
    max_line: int = 1024
    bundle: str | None = None
    threshold: float | None = None
    threshold_rule: ThresholdRule | None = None


@dataclass(frozen=True)
class AlertSettings:
    topic: str = "edge-lstm/{stream}/alert"
    qos: int = 1
    state_topic: str | None = "edge-lstm/{stream}/state"  # retained per-stream state; "" to disable
    homeassistant_discovery: bool = False
    discovery_prefix: str = "homeassistant"


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
    outbox_size: int = 1_000
    outbox_path: str | None = None
    source: Path | None = None

    def status(self) -> str:
        return self.status_topic.format(client_id=self.mqtt.client_id)

    def health(self) -> str:
        return self.health_topic.format(client_id=self.mqtt.client_id)


_SECTIONS = {"mqtt", "model", "streams", "serial", "alerts", "status", "queue", "outbox"}
_KEYS = {
    "mqtt": {
        "host",
        "port",
        "client_id",
        "keepalive",
        "qos",
        "username",
        "password_file",
        "tls_ca_file",
        "reconnect_min_s",
        "reconnect_max_s",
    },
    "model": {"bundle"},
    "streams": {"topic", "format", "fields", "timestamp_field", "bundle", "threshold", *THRESHOLD_KEYS},
    "serial": {
        "port",
        "name",
        "baud",
        "format",
        "fields",
        "checksum",
        "line_ending",
        "dtr",
        "rate_hz",
        "max_line",
        "bundle",
        "threshold",
        *THRESHOLD_KEYS,
    },
    "alerts": {"topic", "qos", "state_topic", "homeassistant_discovery", "discovery_prefix"},
    "status": {"topic", "health_topic", "health_interval_s"},
    "queue": {"max_samples"},
    "outbox": {"max_alerts", "path"},
}


class _Reader:
    """Typed access to one table of the TOML with messages that name the file and the key."""

    def __init__(self, source: str, table: dict[str, Any], where: str) -> None:
        self.source, self.table, self.where = source, table, where
        unknown = sorted(set(table) - _KEYS[where.split("[")[0]])
        if unknown:
            allowed = ", ".join(sorted(_KEYS[where.split("[")[0]]))
            raise ConfigError(f"{source}: unknown key [{where}] {unknown[0]!r}; allowed keys: {allowed}")

    def fail(self, key: str, message: str) -> ConfigError:
        return ConfigError(f"{self.source}: [{self.where}] {key}: {message}")

    def get(self, key: str, kind: type | tuple[type, ...], default: Any = None) -> Any:
        if key not in self.table:
            return default
        value = self.table[key]
        kinds = kind if isinstance(kind, tuple) else (kind,)
        if isinstance(value, bool) and bool not in kinds:
            raise self.fail(key, f"expected {' or '.join(k.__name__ for k in kinds)}, got {value!r}")
        if not isinstance(value, kinds):
            raise self.fail(key, f"expected {' or '.join(k.__name__ for k in kinds)}, got {value!r}")
        return value

    def integer(self, key: str, default: int, low: int, high: int) -> int:
        value = self.get(key, int, default)
        if not low <= value <= high:
            raise self.fail(key, f"must be between {low} and {high}, got {value}")
        return int(value)

    def number(self, key: str, default: float | None, low: float = 0.0) -> float | None:
        value = self.get(key, (int, float), default)
        if value is not None and not value > low:
            raise self.fail(key, f"must be greater than {low:g}, got {value}")
        return None if value is None else float(value)


def _threshold_rule(r: _Reader) -> ThresholdRule | None:
    """At most one threshold choice per stream: an absolute ``threshold`` or one method's knob."""
    given = [key for key in ("threshold", *THRESHOLD_KEYS) if key in r.table]
    if len(given) > 1:
        raise r.fail(given[1], f"choose one of {', '.join(given)}, not several")
    if not given or given[0] == "threshold":
        return None
    key = given[0]
    value = r.number(key, 0.0)
    try:
        return ThresholdRule.from_config_key(key, value or 0.0)
    except SettingsError as error:
        message = str(error)
        raise r.fail(key, message[message.find("must") :]) from None


def _env(name: str) -> str | None:
    value = os.environ.get(f"EDGE_LSTM_{name}")
    return value if value not in (None, "") else None


def _mqtt_settings(m: _Reader, overrides: dict[str, Any], folder: Path) -> MQTTSettings:
    """[mqtt] with the flag > environment > file > default precedence; every source validated alike."""
    password = _env("MQTT_PASSWORD")
    password_file = _relative_to(folder / "config", m.get("password_file", str))
    if password is None and password_file:
        try:
            password = Path(password_file).read_text(encoding="utf-8").strip()
        except OSError as error:
            raise m.fail("password_file", f"cannot read {password_file} ({error.strerror})") from None
    return MQTTSettings(
        host=overrides.get("host") or _env("MQTT_HOST") or m.get("host", str, "localhost"),
        port=_port(overrides.get("port"), "--port")
        or _port(_env("MQTT_PORT"), "EDGE_LSTM_MQTT_PORT")
        or m.integer("port", 1883, 1, 65535),
        client_id=overrides.get("client_id") or _env("MQTT_CLIENT_ID") or m.get("client_id", str, "edge-lstm"),
        keepalive=m.integer("keepalive", 30, 5, 3600),
        qos=m.integer("qos", 1, 0, 2),
        username=_env("MQTT_USERNAME") or m.get("username", str),
        password=password,
        tls_ca_file=_relative_to(folder / "config", m.get("tls_ca_file", str)),
        reconnect_min_s=m.number("reconnect_min_s", 1.0) or 1.0,
        reconnect_max_s=m.number("reconnect_max_s", 30.0) or 30.0,
    )


def _port(value: object, where: str) -> int | None:
    """A port from a flag or the environment, checked as strictly as one in the file."""
    if value is None or value == "":
        return None
    try:
        port = int(str(value))
    except ValueError:
        raise ConfigError(f"{where}: the MQTT port must be an integer between 1 and 65535, got {value!r}") from None
    if not 1 <= port <= 65535:
        raise ConfigError(f"{where}: the MQTT port must be between 1 and 65535, got {port}")
    return port


def _relative_to(config_path: Path, value: str | None) -> str | None:
    """A path from the config file, relative to the file's folder (a service runs with its working
    directory at /, so the working directory is never what a relative path in a config means)."""
    if not value:
        return value
    candidate = Path(value).expanduser()
    return str(candidate if candidate.is_absolute() else config_path.parent / candidate)


def mqtt_settings_from(path: Path | None, overrides: dict[str, Any] | None = None) -> MQTTSettings:
    """Broker settings for the operator tools: from a daemon config when one is given, else from the
    ``EDGE_LSTM_MQTT_*`` environment and the defaults; flags in ``overrides`` win either way."""
    overrides = {k: v for k, v in (overrides or {}).items() if v is not None}
    if path is not None:
        return load_config(path, overrides).mqtt
    return _mqtt_settings(_Reader("environment", {}, "mqtt"), overrides, Path.cwd())


def load_config(path: str | Path, overrides: dict[str, Any] | None = None) -> DaemonConfig:
    """Read, validate and resolve a daemon config. ``overrides`` come from command-line flags."""
    path = Path(path)
    source = str(path)
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"{source}: config file not found") from None
    except tomllib.TOMLDecodeError as error:
        raise ConfigError(f"{source}: not valid TOML ({error})") from None
    unknown = sorted(set(raw) - _SECTIONS)
    if unknown:
        raise ConfigError(f"{source}: unknown section [{unknown[0]}]; known sections: {', '.join(sorted(_SECTIONS))}")
    overrides = overrides or {}
    tables = {}
    for name in _SECTIONS - {"streams", "serial"}:
        value = raw.get(name, {})
        if not isinstance(value, dict):
            raise ConfigError(f"{source}: [{name}] must be a table")
        tables[name] = _Reader(source, value, name)

    mqtt = _mqtt_settings(tables["mqtt"], overrides, path.parent)
    bundle = overrides.get("bundle") or _env("BUNDLE") or _relative_to(path, tables["model"].get("bundle", str))
    if not bundle:
        raise ConfigError(f"{source}: [model] bundle: required (the model bundle directory)")

    streams = tuple(_stream(r, path) for r in _tables(raw, "streams", source))
    serial = tuple(_serial(r, path) for r in _tables(raw, "serial", source))
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
        outbox_size=tables["outbox"].integer("max_alerts", 1_000, 1, 1_000_000),
        outbox_path=_relative_to(path, tables["outbox"].get("path", str)),
        source=path,
    )


def _tables(raw: dict[str, Any], name: str, source: str) -> list[_Reader]:
    """Readers for an array of tables (``[[streams]]``, ``[[serial]]``), absent meaning none."""
    entries = raw.get(name, [])
    if not isinstance(entries, list):
        raise ConfigError(f"{source}: [{name}] must be an array of tables: write [[{name}]]")
    readers = []
    for i, table in enumerate(entries):
        if not isinstance(table, dict):
            raise ConfigError(f"{source}: [[{name}]] entry {i + 1} must be a table")
        readers.append(_Reader(source, table, f"{name}[{i + 1}]"))
    return readers


def _fields(r: _Reader) -> tuple[str, ...] | None:
    fields = r.get("fields", list)
    if fields is not None and (not fields or not all(isinstance(f, str) for f in fields)):
        raise r.fail("fields", "must be a non-empty list of strings")
    return tuple(fields) if fields else None


def _choice(r: _Reader, key: str, default: str, allowed: tuple[str, ...]) -> str:
    value = str(r.get(key, str, default))
    if value not in allowed:
        raise r.fail(key, f"must be one of {', '.join(allowed)}, got {value!r}")
    return value


def _stream(r: _Reader, path: Path) -> StreamSettings:
    topic = r.get("topic", str)
    if not topic:
        raise r.fail("topic", "required (an MQTT topic pattern, e.g. 'sensors/+/pump')")
    _check_pattern(topic, r)
    return StreamSettings(
        topic=topic,
        format=_choice(r, "format", "json", FORMATS),
        fields=_fields(r),
        timestamp_field=r.get("timestamp_field", str),
        bundle=_relative_to(path, r.get("bundle", str)),
        threshold=r.number("threshold", None),
        threshold_rule=_threshold_rule(r),
    )


def _serial(r: _Reader, path: Path) -> SerialSettings:
    port = r.get("port", str)
    if not port:
        raise r.fail("port", "required (e.g. '/dev/serial/by-id/usb-Arduino...' or '/dev/ttyACM0')")
    name = r.get("name", str) or Path(port.split("://")[-1]).name or "serial"
    if "/" in name or "+" in name or "#" in name:
        raise r.fail("name", f"must not contain '/', '+' or '#' (it names the stream in topics), got {name!r}")
    return SerialSettings(
        port=port,
        name=name,
        baud=r.integer("baud", 115200, 50, 4_000_000),
        format=_choice(r, "format", "forwarder", LINE_FORMATS),
        fields=_fields(r),
        checksum=_choice(r, "checksum", "none", CHECKSUMS),
        line_ending=_choice(r, "line_ending", "lf", LINE_ENDINGS),
        dtr=r.get("dtr", bool),
        rate_hz=r.number("rate_hz", None),
        max_line=r.integer("max_line", 1024, 16, 1_000_000),
        bundle=_relative_to(path, r.get("bundle", str)),
        threshold=r.number("threshold", None),
        threshold_rule=_threshold_rule(r),
    )


def _check_pattern(topic: str, reader: _Reader) -> None:
    levels = topic.split("/")
    for i, level in enumerate(levels):
        if "#" in level and (level != "#" or i != len(levels) - 1):
            raise reader.fail("topic", f"'#' must be a whole last level, got {topic!r}")
        if "+" in level and level != "+":
            raise reader.fail("topic", f"'+' must be a whole level, got {topic!r}")
