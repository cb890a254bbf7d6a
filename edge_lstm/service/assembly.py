"""What a config assembles for the worker: its bundles, their models, and one stream pattern per
[[streams]] table and [[serial]] port, each pattern's detector settings and parser built once (a bad
threshold choice fails here, and a recalibrated threshold is not refitted for every new stream).
Built whole or not at all, so that a reload either swaps everything or keeps what runs."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from edge_lstm.bundle import Bundle, load_bundle
from edge_lstm.config import DaemonConfig
from edge_lstm.engine.router import Pattern
from edge_lstm.sources.lines import LineParser
from edge_lstm.sources.payload import PayloadParser
from edge_lstm.sources.serial_port import serial_topic


@dataclass
class Assembly:
    """Bundles and models by bundle path, and the stream patterns in config order."""

    bundles: dict[str, Bundle]
    models: dict[str, Any]
    patterns: list[Pattern]


def assemble(config: DaemonConfig) -> Assembly:
    """Load every bundle and model the config names and build its patterns; raises on the first problem."""
    bundles: dict[str, Bundle] = {}
    models: dict[str, Any] = {}
    wanted = [s.bundle for s in config.streams] + [p.bundle for p in config.serial]
    for path in {config.bundle, *(b for b in wanted if b)}:
        bundles[path] = load_bundle(path)
        models[path] = bundles[path].open_model()
    patterns = []
    for s in config.streams:
        key = s.bundle or config.bundle
        bundle = bundles[key]
        settings = bundle.detector_settings(s.threshold, s.threshold_rule)
        parser = PayloadParser(s.format, tuple(bundle.features), s.fields, s.timestamp_field, tuple(bundle.watched))
        patterns.append(Pattern(s.topic, key, settings, parser))
    for port in config.serial:
        key = port.bundle or config.bundle
        bundle = bundles[key]
        settings = bundle.detector_settings(port.threshold, port.threshold_rule)
        lines = LineParser(port.format, tuple(bundle.features), port.fields, port.checksum, tuple(bundle.watched))
        patterns.append(Pattern(serial_topic(port.name), key, settings, lines))
    return Assembly(bundles, models, patterns)
