"""Reading the daemon config's TOML tables: typed access with messages that name the file, the table
and the key; the helpers every section shares."""

from __future__ import annotations

import math
import os
from pathlib import Path
from typing import Any

from edge_lstm.core.calibration import ThresholdRule
from edge_lstm.errors import ConfigError, SettingsError

# A stream may recalibrate its threshold from the bundle's stored calibration scores: key -> method.
THRESHOLD_KEYS = ThresholdRule.config_keys()

SECTIONS = {"mqtt", "model", "streams", "serial", "alerts", "status", "queue", "outbox", "state", "control"}
KEYS = {
    "mqtt": {
        "host",
        "port",
        "client_id",
        "keepalive",
        "qos",
        "username",
        "password_file",
        "tls",
        "tls_ca_file",
        "tls_cert_file",
        "tls_key_file",
        "tls_check_hostname",
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
    "control": {"enabled", "topic", "response_topic", "token_file"},
    "status": {"topic", "health_topic", "health_interval_s"},
    "queue": {"max_samples", "max_payload_bytes"},
    "state": {"directory", "snapshot_interval_s"},
    "outbox": {"max_alerts", "path"},
}


class Reader:
    """Typed access to one table of the TOML with messages that name the file and the key."""

    def __init__(self, source: str, table: dict[str, Any], where: str) -> None:
        self.source, self.table, self.where = source, table, where
        unknown = sorted(set(table) - KEYS[where.split("[")[0]])
        if unknown:
            allowed = ", ".join(sorted(KEYS[where.split("[")[0]]))
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
        if value is not None and not math.isfinite(value):  # TOML has inf; no setting here means it
            raise self.fail(key, f"must be a finite number, got {value}")
        return None if value is None else float(value)


def threshold_rule(r: Reader) -> ThresholdRule | None:
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


def env(name: str) -> str | None:
    value = os.environ.get(f"EDGE_LSTM_{name}")
    return value if value not in (None, "") else None


def port_value(value: object, where: str) -> int | None:
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


def relative_to(config_path: Path, value: str | None) -> str | None:
    """A path from the config file, relative to the file's folder (a service runs with its working
    directory at /, so the working directory is never what a relative path in a config means)."""
    if not value:
        return value
    candidate = Path(value).expanduser()
    return str(candidate if candidate.is_absolute() else config_path.parent / candidate)


def fields_of(r: Reader) -> tuple[str, ...] | None:
    fields = r.get("fields", list)
    if fields is not None and (not fields or not all(isinstance(f, str) for f in fields)):
        raise r.fail("fields", "must be a non-empty list of strings")
    return tuple(fields) if fields else None


def choice(r: Reader, key: str, default: str, allowed: tuple[str, ...]) -> str:
    value = str(r.get(key, str, default))
    if value not in allowed:
        raise r.fail(key, f"must be one of {', '.join(allowed)}, got {value!r}")
    return value
