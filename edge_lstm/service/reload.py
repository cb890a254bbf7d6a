"""SIGHUP: read the config and the bundles again and swap them in without stopping, or keep what runs.

Everything new is assembled first (``assembly.assemble``); if any of it fails (a config error, a
corrupt bundle, a model LiteRT refuses) the reload is rejected with one log line and nothing changes.
Otherwise each live stream moves to the pattern with the same topic in the new config:

* same model, same threshold settings: the stream carries on untouched;
* same model, other threshold settings: its state carries over, the threshold starts afresh;
* another model: the stream starts afresh (warm-up), since the old state means nothing to it;
* no pattern any more: the stream is dropped.

MQTT subscriptions follow the new [[streams]] topics and serial ports are reopened if [[serial]]
changed. Broker, alert, queue, state and control settings need a restart: the running ones are kept,
and said so.
"""

from __future__ import annotations

import dataclasses
import logging
from typing import TYPE_CHECKING, Any

from edge_lstm.config import DaemonConfig
from edge_lstm.core.detector import StreamDetector
from edge_lstm.engine.router import Router
from edge_lstm.service.assembly import assemble
from edge_lstm.sources.serial_port import SerialSource, serial_topic

if TYPE_CHECKING:
    from edge_lstm.service.worker import Daemon

log = logging.getLogger(__name__)

# Read once at start (the client, the sink, the queue, the state directory, the command topic).
_NEEDS_RESTART = (
    "mqtt",
    "alerts",
    "status_topic",
    "health_topic",
    "queue_size",
    "outbox_size",
    "outbox_path",
    "state_directory",
    "control",
)


def reload(daemon: Daemon, config: DaemonConfig) -> dict[str, int]:
    """Swap ``config`` in; returns how many streams were kept, carried over, reset and dropped.
    Raises whatever assembling the new config raises, with nothing changed."""
    parts = assemble(config)
    old_thresholds = _thresholds(daemon.config)
    new_thresholds = _thresholds(config)
    index = {p.topic: i for i, p in enumerate(parts.patterns)}
    router = Router(parts.patterns, parts.models, daemon.counters, daemon.router.max_streams)
    outcome = {"kept": 0, "carried_over": 0, "reset": 0, "dropped": 0}
    for (i, sid), stream in daemon.router.streams.items():
        topic = daemon.router.patterns[i].topic
        j = index.get(topic)
        if j is None:
            outcome["dropped"] += 1
            continue
        pattern = parts.patterns[j]
        model = parts.models[pattern.model_key]
        detector = stream.detector
        if detector.settings.model_id != pattern.settings.model_id:
            detector, kind = StreamDetector(pattern.settings, model, sid), "reset"
        elif old_thresholds.get(topic) != new_thresholds.get(topic):
            detector, kind = StreamDetector(pattern.settings, model, sid), "carried_over"
            detector.carry_over(stream.detector)
        else:
            kind = "kept"  # the same model, loaded again: the stream moves into the new pattern's bank
        outcome[kind] += 1
        moved = router.insert(j, sid, detector)
        moved.pending, moved.last_sample_at = stream.pending, stream.last_sample_at
    _follow_sources(daemon, config)
    restart = [k for k in _NEEDS_RESTART if getattr(config, k) != getattr(daemon.config, k)]
    if restart:
        log.warning("reload: %s changed; these take effect at the next restart", ", ".join(restart))
        config = dataclasses.replace(config, **{k: getattr(daemon.config, k) for k in restart})
    daemon.router, daemon.bundles, daemon.models, daemon.config = router, parts.bundles, parts.models, config
    return outcome


def _thresholds(config: DaemonConfig) -> dict[str, Any]:
    """Each pattern's threshold choice, by its topic."""
    out: dict[str, Any] = {s.topic: (s.threshold, s.threshold_rule) for s in config.streams}
    out.update({serial_topic(p.name): (p.threshold, p.threshold_rule) for p in config.serial})
    return out


def _follow_sources(daemon: Daemon, config: DaemonConfig) -> None:
    """Subscriptions to the new topics; serial ports reopened if their tables changed."""
    old_topics, new_topics = set(daemon.source.topics), [s.topic for s in config.streams]
    if daemon.control is not None:  # the command topic stays what the running daemon listens on
        new_topics.append(daemon.control.settings.topic)
    daemon.source.topics = new_topics
    client = daemon.client
    if client is not None and daemon.connected.is_set():
        gone, added = sorted(old_topics - set(new_topics)), [t for t in new_topics if t not in old_topics]
        if gone:
            client.unsubscribe(gone)
        if added:
            client.subscribe([(t, config.mqtt.qos) for t in added])
    if config.serial != daemon.config.serial:
        daemon.serial.close()
        daemon.serial = SerialSource(config.serial, daemon.queue)
        daemon.serial.start()
