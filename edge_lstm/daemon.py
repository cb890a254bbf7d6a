"""The daemon: MQTT in -> bounded queue -> one worker that owns the interpreters -> alerts out.

Threads: paho's network thread only enqueues (``on_message`` never parses or scores, so slow
inference cannot stall the broker connection); the worker drains the queue, parses, and advances all
streams that have a pending sample in one batched ``invoke`` per model. The queue is bounded and drops
the *oldest* sample when full (fresh data is worth more to a live detector), counted as ``dropped``.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import Counter, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from edge_lstm import __version__
from edge_lstm.bundle import Bundle, load_bundle
from edge_lstm.config import DaemonConfig, StreamSettings
from edge_lstm.core.alerts import AlertEvent
from edge_lstm.core.detector import StepResult, StreamDetector
from edge_lstm.sinks.mqtt_alerts import MQTTAlertSink
from edge_lstm.sinks.outbox import Outbox
from edge_lstm.sources.payload import PayloadError, PayloadParser, stream_id
from edge_lstm.systemd_notify import Notifier

log = logging.getLogger("edge_lstm.daemon")
MAX_STREAMS = 1_000  # a guard against a topic flood creating unbounded state
LOG_EVERY_S = 10.0


class RateLimitedLog:
    """The first occurrence of each kind is logged at once; then at most one line per kind every 10 s,
    with the number of occurrences held back in between."""

    def __init__(self, logger: logging.Logger, every_s: float = LOG_EVERY_S) -> None:
        self._log, self._every = logger, every_s
        self._last: dict[str, float] = {}
        self._held: Counter[str] = Counter()

    def warning(self, kind: str, message: str, *args: Any) -> None:
        now = time.monotonic()
        if now - self._last.get(kind, -1e9) >= self._every:
            held = self._held.pop(kind, 0)
            suffix = f" (and {held} more like it since the last report)" if held else ""
            self._log.warning(message + suffix, *args)
            self._last[kind] = now
        else:
            self._held[kind] += 1


@dataclass
class Stream:
    id: str
    settings: StreamSettings
    bundle_path: str
    detector: StreamDetector
    parser: PayloadParser
    pending: deque[tuple[np.ndarray, float | None, float]] = field(default_factory=deque)
    last_sample_at: float = 0.0


class Daemon:
    def __init__(self, config: DaemonConfig, client: Any = None) -> None:
        self.config = config
        self.bundles: dict[str, Bundle] = {}
        self.models: dict[str, Any] = {}
        for path in {config.bundle, *(s.bundle for s in config.streams if s.bundle)}:
            self.bundles[path] = load_bundle(path)
            self.models[path] = self.bundles[path].open_model()
        # Each stream pattern's detector settings, built once: a bad threshold choice fails at start,
        # and a recalibrated (e.g. SPOT) threshold is not refitted for every new stream.
        self._settings = [
            self.bundles[s.bundle or config.bundle].detector_settings(s.threshold, s.threshold_rule)
            for s in config.streams
        ]
        self.streams: dict[tuple[int, str], Stream] = {}
        self._by_topic: dict[str, Stream] = {}  # topic -> stream, so routing is one dict lookup
        self.counters: Counter[str] = Counter()
        self._queue: deque[tuple[str, bytes, float]] = deque()
        self._cond = threading.Condition()
        self._stop = threading.Event()
        self._latencies: deque[float] = deque(maxlen=100_000)  # enqueue -> scored, seconds
        self._started = time.time()
        self._last_health = time.monotonic()
        self._samples_at_last_health = 0
        self._warn = RateLimitedLog(log)  # used by the worker thread only
        self._ingest_warn = RateLimitedLog(log)  # used by the network thread only
        self._notifier = Notifier()
        self.client = client
        self.sink: MQTTAlertSink | None = None
        self.listeners: list[Callable[[AlertEvent], None]] = []  # called on the worker thread per event
        self.connected = threading.Event()

    # -- MQTT wiring -------------------------------------------------------------------------------
    def attach(self, client: Any) -> None:
        self.client = client
        self.sink = MQTTAlertSink(
            client, self.config.alerts, Outbox(self.config.outbox_size, self.config.outbox_path), self.config.status()
        )
        client.on_connect = self._on_connect
        client.on_disconnect = self._on_disconnect
        client.on_message = lambda _c, _u, message: self.submit(message.topic, message.payload)
        client.on_publish = lambda _c, _u, mid, _rc, _p: self.sink.on_publish(mid) if self.sink else None

    def _on_connect(self, client: Any, _userdata: Any, _flags: Any, reason_code: Any, _properties: Any) -> None:
        if reason_code.is_failure:
            log.error("broker refused the connection: %s", reason_code)
            return
        # Subscribing here (not once at start) restores subscriptions after every reconnect.
        client.subscribe([(s.topic, self.config.mqtt.qos) for s in self.config.streams])
        client.publish(self.config.status(), "online", qos=1, retain=True)
        for stream in list(self.streams.values()):
            assert self.sink is not None
            self.sink.announce(stream.id, stream.detector.settings.model_id)
        self.counters["connects"] += 1
        self.connected.set()
        log.info(
            "connected to %s:%d; subscribed to %s",
            self.config.mqtt.host,
            self.config.mqtt.port,
            ", ".join(s.topic for s in self.config.streams),
        )

    def _on_disconnect(self, _client: Any, _userdata: Any, _flags: Any, reason_code: Any, _properties: Any) -> None:
        self.connected.clear()
        if not self._stop.is_set():
            self.counters["disconnects"] += 1
            log.warning("lost the broker connection (%s); reconnecting with backoff", reason_code)

    # -- ingest: runs on paho's thread, must stay cheap ----------------------------------------------
    def submit(self, topic: str, payload: bytes) -> None:
        with self._cond:
            if len(self._queue) >= self.config.queue_size:
                dropped_topic = self._queue.popleft()[0]
                self.counters["dropped"] += 1
                self._ingest_warn.warning(
                    "dropped",
                    "sample queue full (%d): dropped the oldest sample (from %s); the worker is "
                    "behind the incoming rate",
                    self.config.queue_size,
                    dropped_topic,
                )
            self._queue.append((topic, payload, time.monotonic()))
            self._cond.notify()

    # -- the worker --------------------------------------------------------------------------------
    def run(self) -> None:
        """Process until ``stop()``. The calling thread becomes the one that owns the interpreters."""
        if self.sink is not None:
            self.sink.resend_journal()
        self._notifier.ready(f"serving {len(self.config.streams)} stream pattern(s)")
        while not self._stop.is_set():
            with self._cond:
                if not self._queue:
                    self._cond.wait(timeout=0.5)
                items = list(self._queue)
                self._queue.clear()
            if items:
                self.process(items)
            self._notifier.watchdog()
            if time.monotonic() - self._last_health >= self.config.health_interval_s:
                self.publish_health()
        self._notifier.stopping()

    def stop(self) -> None:
        self._stop.set()
        with self._cond:
            self._cond.notify()

    def process(self, items: list[tuple[str, bytes, float]]) -> None:
        touched: list[Stream] = []
        for topic, payload, received in items:
            stream = self._route(topic)
            if stream is None:
                continue
            try:
                values, timestamp = stream.parser.parse(payload)
            except PayloadError as error:
                self.counters["parse_errors"] += 1
                self.counters[f"parse_error.{error.reason}"] += 1
                self._warn.warning(
                    f"parse:{error.reason}",
                    "stream %s: bad payload on %s: %s (payload %r)",
                    stream.id,
                    topic,
                    error,
                    payload[:80],
                )
                continue
            if not stream.pending:
                touched.append(stream)
            stream.pending.append((values, timestamp, received))
        # Waves: each wave takes at most one sample per stream (a stream's samples depend on each
        # other), and advances all of them with one invoke per model.
        while touched:
            groups: dict[str, list[tuple[Stream, np.ndarray, float]]] = {}
            for stream in touched:
                values, timestamp, received = stream.pending.popleft()
                counters = stream.detector.counters
                gaps, out_of_range = counters.gaps, counters.out_of_range
                admitted = stream.detector.admit(values, timestamp)
                stream.last_sample_at = time.time()
                if isinstance(admitted, StepResult):
                    self._skipped(stream, admitted, values, timestamp)
                    continue
                if counters.gaps != gaps:
                    self._warn.warning(
                        "gap",
                        "stream %s: gap before the sample at %s: state reset, warming up for %d samples",
                        stream.id,
                        timestamp,
                        stream.detector.settings.warmup,
                    )
                if counters.out_of_range != out_of_range:
                    self._warn.warning(
                        "range",
                        "stream %s: values %s outside the training range (clipped for the model, scored as they are)",
                        stream.id,
                        np.array2string(values, precision=4),
                    )
                groups.setdefault(stream.bundle_path, []).append((stream, admitted, received))
            for path, group in groups.items():
                self._advance(self.models[path], group)
            touched = [s for s in touched if s.pending]

    def _advance(self, model: Any, group: list[tuple[Stream, np.ndarray, float]]) -> None:
        if len(group) == 1:
            stream, x, received = group[0]
            recon, stream.detector.state = model.step(x[None, :], stream.detector.state)
            self._finish(stream, recon[0], received)
            return
        x = np.stack([g[1] for g in group])
        n_state = len(group[0][0].detector.state)
        state = tuple(np.concatenate([g[0].detector.state[k] for g in group]) for k in range(n_state))
        recon, new_state = model.step(x, state)
        for i, (stream, _, received) in enumerate(group):
            stream.detector.state = tuple(s[i : i + 1] for s in new_state)
            self._finish(stream, recon[i], received)

    def _finish(self, stream: Stream, reconstruction: np.ndarray, received: float) -> None:
        result = stream.detector.complete(reconstruction)
        self.counters["samples"] += 1
        self._latencies.append(time.monotonic() - received)
        for event in result.events:
            self.counters[event.event] += 1
            log.info(
                "%s stream=%s score=%.4g threshold=%.4g top=%s",
                event.event,
                event.stream,
                event.score,
                event.threshold,
                next(iter(event.contributions), "-"),
            )
            if self.sink is not None:
                self.sink.emit(event)
            for listener in self.listeners:
                listener(event)

    def _skipped(self, stream: Stream, result: StepResult, values: np.ndarray, timestamp: float | None) -> None:
        self.counters["samples"] += 1
        if result.skipped is None:  # learning the stream's baseline: expected, not an error
            if stream.detector.baseline is not None:
                log.info("stream %s: baseline learned from %d samples", stream.id, stream.detector.counters.baseline)
            return
        reason = result.skipped
        self.counters[f"skipped.{reason}"] += 1
        self._warn.warning(
            f"skip:{reason}",
            "stream %s: sample skipped (%s): values %s, timestamp %s",
            stream.id,
            reason,
            np.array2string(values, precision=4),
            timestamp,
        )

    def _route(self, topic: str) -> Stream | None:
        known = self._by_topic.get(topic)
        if known is not None:
            return known
        stream = self._match(topic)
        if stream is not None and len(self._by_topic) < 4 * MAX_STREAMS:
            self._by_topic[topic] = stream
        return stream

    def _match(self, topic: str) -> Stream | None:
        for index, settings in enumerate(self.config.streams):
            sid = stream_id(settings.topic, topic)
            if sid is None:
                continue
            stream = self.streams.get((index, sid))
            if stream is None:
                stream = self._new_stream(index, settings, sid)
            return stream
        self.counters["unrouted"] += 1
        return None

    def _new_stream(self, index: int, settings: StreamSettings, sid: str) -> Stream | None:
        if len(self.streams) >= MAX_STREAMS:
            self.counters["streams_refused"] += 1
            self._warn.warning("streams", "stream limit %d reached: ignoring new stream %s", MAX_STREAMS, sid)
            return None
        path = settings.bundle or self.config.bundle
        bundle = self.bundles[path]
        detector = StreamDetector(self._settings[index], self.models[path], stream=sid)
        parser = PayloadParser(settings.format, tuple(bundle.features), settings.fields, settings.timestamp_field)
        stream = Stream(sid, settings, path, detector, parser)
        self.streams[(index, sid)] = stream
        log.info("new stream %s (pattern %s, model %s)", sid, settings.topic, bundle.model_id)
        if self.sink is not None:
            self.sink.announce(sid, bundle.model_id)
        return stream

    # -- health ------------------------------------------------------------------------------------
    def health(self) -> dict[str, Any]:
        now_mono, now = time.monotonic(), time.time()
        elapsed = max(now_mono - self._last_health, 1e-9)
        samples = self.counters["samples"]
        latencies = np.array(self._latencies) if self._latencies else np.zeros(1)
        outbox = self.sink._outbox if self.sink else None
        return {
            "version": __version__,
            "uptime_s": round(now - self._started, 1),
            "samples_per_s": round((samples - self._samples_at_last_health) / elapsed, 2),
            "samples": samples,
            "parse_errors": self.counters["parse_errors"],
            "dropped": self.counters["dropped"],
            "queue_depth": len(self._queue),
            "latency_ms": {
                "p50": round(1e3 * float(np.quantile(latencies, 0.5)), 3),
                "p99": round(1e3 * float(np.quantile(latencies, 0.99)), 3),
            },
            "outbox": {"pending": len(outbox) if outbox else 0, "dropped": outbox.dropped if outbox else 0},
            "counters": dict(self.counters),
            "models": sorted(b.model_id for b in self.bundles.values()),
            "streams": {
                s.id: {
                    "age_s": round(now - s.last_sample_at, 2) if s.last_sample_at else None,
                    "alerting": s.detector.alerting,
                    **{k: v for k, v in s.detector.counters.as_dict().items() if v},
                }
                for s in self.streams.values()
            },
        }

    def publish_health(self) -> None:
        document = self.health()
        self._last_health = time.monotonic()
        self._samples_at_last_health = self.counters["samples"]
        if self.sink is not None:
            self.sink.health(self.config.health(), document)
