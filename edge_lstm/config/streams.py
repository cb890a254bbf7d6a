"""The input tables: [[streams]] (MQTT topic patterns) and [[serial]] (serial ports)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from edge_lstm.config.reader import Reader, choice, fields_of, relative_to, threshold_rule
from edge_lstm.core.calibration import ThresholdRule
from edge_lstm.errors import ConfigError

FORMATS = ("json", "json_array", "csv")
LINE_FORMATS = ("forwarder", "csv", "json")  # as in sources.lines, which the config must not import
CHECKSUMS = ("none", "nmea")
LINE_ENDINGS = ("lf", "crlf", "cr")


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


def array_of_tables(raw: dict[str, Any], name: str, source: str) -> list[Reader]:
    """Readers for an array of tables (``[[streams]]``, ``[[serial]]``), absent meaning none."""
    entries = raw.get(name, [])
    if not isinstance(entries, list):
        raise ConfigError(f"{source}: [{name}] must be an array of tables: write [[{name}]]")
    readers = []
    for i, table in enumerate(entries):
        if not isinstance(table, dict):
            raise ConfigError(f"{source}: [[{name}]] entry {i + 1} must be a table")
        readers.append(Reader(source, table, f"{name}[{i + 1}]"))
    return readers


def stream_settings(r: Reader, path: Path) -> StreamSettings:
    topic = r.get("topic", str)
    if not topic:
        raise r.fail("topic", "required (an MQTT topic pattern, e.g. 'sensors/+/pump')")
    check_pattern(topic, r)
    return StreamSettings(
        topic=topic,
        format=choice(r, "format", "json", FORMATS),
        fields=fields_of(r),
        timestamp_field=r.get("timestamp_field", str),
        bundle=relative_to(path, r.get("bundle", str)),
        threshold=r.number("threshold", None),
        threshold_rule=threshold_rule(r),
    )


def serial_settings(r: Reader, path: Path) -> SerialSettings:
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
        format=choice(r, "format", "forwarder", LINE_FORMATS),
        fields=fields_of(r),
        checksum=choice(r, "checksum", "none", CHECKSUMS),
        line_ending=choice(r, "line_ending", "lf", LINE_ENDINGS),
        dtr=r.get("dtr", bool),
        rate_hz=r.number("rate_hz", None),
        max_line=r.integer("max_line", 1024, 16, 1_000_000),
        bundle=relative_to(path, r.get("bundle", str)),
        threshold=r.number("threshold", None),
        threshold_rule=threshold_rule(r),
    )


def check_pattern(topic: str, reader: Reader) -> None:
    levels = topic.split("/")
    for i, level in enumerate(levels):
        if "#" in level and (level != "#" or i != len(levels) - 1):
            raise reader.fail("topic", f"'#' must be a whole last level, got {topic!r}")
        if "+" in level and level != "+":
            raise reader.fail("topic", f"'+' must be a whole level, got {topic!r}")
