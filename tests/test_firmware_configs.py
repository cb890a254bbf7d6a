"""The sensor-side configs in firmware_configs/ and the daemon configs beside them agree: channel names
and order, topics, baud rate, sample rate and checksum; and both pass check-config against a bundle."""

from __future__ import annotations

import re
from pathlib import Path

from support import REPO

from edge_lstm.bundle import load_bundle
from edge_lstm.cli.daemon import _check_streams
from edge_lstm.config import load_config
from edge_lstm.core.topics import stream_id

FIRMWARE = REPO / "firmware_configs"


def sketch() -> dict[str, object]:
    text = (FIRMWARE / "arduino-pump/arduino-pump.ino").read_text()
    channels = re.search(r"CHANNELS\[\]\s*=\s*\{([^}]*)\}", text)
    baud = re.search(r"BAUD\s*=\s*(\d+)", text)
    period = re.search(r"PERIOD_MS\s*=\s*(\d+)", text)
    values = re.search(r"float values\[\]\s*=\s*\{([^}]*)\}", text)
    assert channels and baud and period and values
    return {
        "channels": tuple(re.findall(r'"([^"]+)"', channels.group(1))),
        "reads": tuple(re.findall(r"read_(\w+)\(\)", values.group(1))),
        "baud": int(baud.group(1)),
        "rate_hz": 1000 / int(period.group(1)),
        "checksum": "checksum ^= line[i]" in text and "Serial.print('*')" in text,
    }


def esphome() -> dict[str, object]:
    text = (FIRMWARE / "esphome-pump.yaml").read_text()
    topic = re.search(r"topic:\s*(\S+)", text)
    interval = re.search(r"- interval:\s*(\d+)s", text)
    assert topic and interval
    keys = tuple(re.findall(r'root\["([^"]+)"\]', text))
    return {"topic": topic.group(1), "keys": keys, "period_s": int(interval.group(1))}


def test_the_arduino_sketch_matches_its_daemon_config(bundle_dir: Path) -> None:
    board = sketch()
    config = load_config(FIRMWARE / "serial-pump.toml", {"bundle": str(bundle_dir)})
    (port,) = config.serial
    assert port.fields == board["channels"] == board["reads"]  # names, order, and what is sent in that order
    assert port.baud == board["baud"] and port.rate_hz == board["rate_hz"]
    assert port.format == "forwarder" and port.checksum == "nmea" and board["checksum"]
    assert port.fields == tuple(load_bundle(bundle_dir).features)
    assert "serial 1: /dev/ttyACM0 at 115200 baud" in _check_streams(config)[0]


def test_the_esphome_config_matches_its_daemon_config(bundle_dir: Path) -> None:
    device = esphome()
    config = load_config(FIRMWARE / "esphome-pump.toml", {"bundle": str(bundle_dir)})
    (stream,) = config.streams
    assert stream_id(stream.topic, str(device["topic"])) == "pump7"
    assert stream.timestamp_field in device["keys"]  # type: ignore[operator]
    assert stream.fields == tuple(k for k in device["keys"] if k != stream.timestamp_field)  # type: ignore[union-attr]
    assert stream.fields == tuple(load_bundle(bundle_dir).features)
    assert "stream 1: sensors/+/telemetry (json)" in _check_streams(config)[0]


def test_both_boards_send_the_same_channels() -> None:
    assert sketch()["channels"] == tuple(k for k in esphome()["keys"] if k != "ts")  # type: ignore[union-attr]
