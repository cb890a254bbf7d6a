"""The daemon's worker: frames from the source -> parse -> route -> batched waves -> alerts to the sinks.

Threads: paho's network thread only enqueues into the source's bounded queue; the thread that calls
``run`` owns the interpreters, drains the queue, parses, and advances every stream with a pending
sample in one batched ``invoke`` per model (``engine.wave``). Everything that goes wrong with one
sample is counted by reason and logged rate-limited; nothing stops the loop.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from edge_lstm.config import DaemonConfig
from edge_lstm.core.alerts import AlertEvent
from edge_lstm.core.logpolicy import RateLimitedLog
from edge_lstm.core.rows import any_of
from edge_lstm.core.stream_rows import SKIP_REASONS
from edge_lstm.engine.router import Pending, Router, Stream
from edge_lstm.engine.wave import Wave, run_waves
from edge_lstm.errors import FrameError
from edge_lstm.service import heap
from edge_lstm.service.assembly import assemble
from edge_lstm.service.control import Control
from edge_lstm.service.health import HealthClock, health_document
from edge_lstm.service.notify import Notifier
from edge_lstm.service.snapshots import read_snapshot, restore_streams, streams_document, write_snapshot
from edge_lstm.sinks.mqtt_alerts import MQTTAlertSink
from edge_lstm.sinks.outbox import Outbox
from edge_lstm.sources.lines import LineParser
from edge_lstm.sources.mqtt import MQTTSource
from edge_lstm.sources.payload import PayloadParser
from edge_lstm.sources.queue import Frame, FrameQueue
from edge_lstm.sources.serial_port import RECONNECT, SerialSource

log = logging.getLogger(__name__)


class _Readings:
    """A sample's values for a log line, formatted only if the line is written: the rate limit holds
    most such lines back, and formatting an array costs more than scoring the sample."""

    __slots__ = ("values",)

    def __init__(self, values: np.ndarray) -> None:
        self.values = values

    def __str__(self) -> str:
        return np.array2string(self.values, precision=4)


class Daemon:
    """Everything the device process holds: bundles, models, the router, the MQTT and serial sources
    (feeding one queue) and the alert sink."""

    def __init__(self, config: DaemonConfig) -> None:
        self.config = config
        parts = assemble(config)
        self.bundles, self.models = parts.bundles, parts.models
        self.counters: Counter[str] = Counter()
        self.router = Router(parts.patterns, self.models, self.counters)
        self.queue = FrameQueue(config.queue_size, self.counters)
        topics = [s.topic for s in config.streams]
        self.control = Control(self, config.control) if config.control.enabled else None
        if self.control is not None:
            topics.append(config.control.topic)
        self.source = MQTTSource(
            topics, config.mqtt.qos, config.queue_size, self.counters, self._on_connected, self.queue
        )
        self.serial = SerialSource(config.serial, self.queue)
        self.connected = self.source.connected
        self.sink: MQTTAlertSink | None = None
        self.listeners: list[Callable[[AlertEvent], None]] = []  # called on the worker thread per event
        self._stop = threading.Event()
        self._clock = HealthClock()
        self._warn = RateLimitedLog(log)  # the worker thread's own limiter
        self._notifier = Notifier()
        self.client: Any = None
        self._reload = threading.Event()
        # How SIGHUP reads the config again (the shell passes one that keeps the command-line flags).
        self.config_loader: Callable[[], DaemonConfig] | None = None
        self._state_dir = Path(config.state_directory) if config.state_directory else None
        self._last_snapshot = time.monotonic()
        if self._state_dir is not None:
            self._restore(self._state_dir)

    @property
    def streams(self) -> dict[tuple[int, str], Stream]:
        """Live streams by (pattern index, stream id)."""
        return self.router.streams

    # -- MQTT wiring -------------------------------------------------------------------------------
    def attach(self, client: Any) -> None:
        """Use ``client`` for input (the source's callbacks) and output (the alert sink)."""
        self.client = client
        outbox = Outbox(self.config.outbox_size, self.config.outbox_path)
        self.sink = MQTTAlertSink(client, self.config.alerts, outbox, self.config.status())
        self.source.attach(client, f"{self.config.mqtt.host}:{self.config.mqtt.port}")
        client.on_publish = lambda _c, _u, mid, _rc, _p: self.sink.on_publish(mid) if self.sink else None

    def _on_connected(self) -> None:
        if self.client is not None:
            self.client.publish(self.config.status(), "online", qos=1, retain=True)
        if self.sink is not None:
            for stream in list(self.streams.values()):
                self.sink.announce(stream.id, stream.detector.settings.model_id)

    def submit(self, topic: str, payload: bytes) -> None:
        """Queue one message, as paho's ``on_message`` does."""
        self.source.submit(topic, payload)

    # -- the loop ------------------------------------------------------------------------------------
    def run(self) -> None:
        """Process until ``stop()``. The calling thread becomes the one that owns the interpreters."""
        if self.sink is not None:
            self.sink.resend_journal()
        self.serial.start()
        self._notifier.ready(
            f"serving {len(self.config.streams)} stream pattern(s) and {len(self.config.serial)} serial port(s)"
        )
        self.health()  # the first one pays numpy's first calls (`edge-lstm bench`: health_ms): not while samples wait
        heap.freeze()
        while not self._stop.is_set():
            frames = self.source.take(timeout=self._wait_s())
            if frames:
                self.process(frames)
            self._notifier.watchdog()
            if self._clock.due(self.config.health_interval_s):
                self.publish_health()
            if self._state_dir and time.monotonic() - self._last_snapshot >= self.config.snapshot_interval_s:
                self.snapshot()
            if self._reload.is_set():
                self._reload.clear()
                self.reload()
        self._notifier.stopping()
        if self._state_dir is not None:
            self.snapshot()  # on SIGTERM: the next start carries on from here

    def request_reload(self) -> None:
        """Ask ``run`` to reload the config and bundles at its next safe point (SIGHUP)."""
        self._reload.set()
        self.queue.wake()

    def reload(self) -> bool:
        """Read the config and bundles again and swap them in, or keep what runs (``service.reload``)."""
        from edge_lstm.config import load_config
        from edge_lstm.errors import EdgeLSTMError
        from edge_lstm.service.reload import reload

        self._notifier.send("RELOADING=1")
        try:
            loader = self.config_loader or (lambda: load_config(self.config.source or ""))
            outcome = reload(self, loader())
        except (EdgeLSTMError, OSError, ValueError, RuntimeError) as error:
            self.counters["reloads_rejected"] += 1
            log.error("reload rejected, still serving %s: %s", ", ".join(self.models_in_use()), error)
            return False
        finally:
            heap.thaw()  # what the old config held may be garbage now
            heap.freeze()
            self._notifier.send("READY=1")
        self.counters["reloads"] += 1
        log.info("reloaded: serving %s; streams %s", ", ".join(self.models_in_use()), outcome)
        return True

    def models_in_use(self) -> list[str]:
        """The model ids of the loaded bundles."""
        return sorted(b.model_id for b in self.bundles.values())

    def stop(self) -> None:
        """Ask ``run`` to return after the current batch."""
        self._stop.set()
        self.source.close()
        self.serial.close()

    def process(self, frames: list[Frame] | list[tuple[str, bytes, float]]) -> None:
        """Parse and route ``frames``, then advance every touched stream in batched waves."""
        touched: list[Stream] = []
        # Looked up once per batch rather than once per frame.
        command_topic = self.control.settings.topic if self.control is not None else None
        max_bytes = self.config.max_payload_bytes
        for frame in frames:
            topic, payload, received = frame[0], frame[1], frame[2]
            if topic == command_topic:
                self._advance(touched)  # what came before the command is scored under the old settings
                touched = []
                self._command(payload)
                continue
            stream = self._route(topic)
            if stream is None:
                continue
            if len(frame) > 3 and frame[3]:  # the stream was interrupted: what came before goes first
                self._advance(touched)
                touched = []
                self._interrupted(stream, reopened=payload == RECONNECT)
                continue
            try:
                if len(payload) > max_bytes:  # bounded before any parsing work
                    raise FrameError("too_large", f"{len(payload)} bytes, more than [queue] max_payload_bytes")
                parser = stream.parser
                if isinstance(parser, PayloadParser):
                    samples = parser.samples(payload)
                else:
                    line = parser.parse(payload)
                    if line is None:  # a line that carries no sample: a header, a first line cut short
                        self.counters["lines_without_sample"] += 1
                        continue
                    samples = [line]
            except FrameError as error:
                self._bad_frame(stream, topic, payload, error)
                continue
            waiting = bool(stream.pending)
            for sample in samples:
                if isinstance(sample, FrameError):  # one bad sample of a batch: the rest still count
                    self._bad_frame(stream, topic, payload, sample)
                else:
                    stream.pending.append(Pending(sample[0], sample[1], received))
            if not waiting and stream.pending:
                touched.append(stream)
        self._advance(touched)

    def _bad_frame(self, stream: Stream, topic: str, payload: bytes, error: FrameError) -> None:
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

    def _command(self, payload: bytes) -> None:
        response = self.control.handle(payload) if self.control is not None else {}
        if self.client is not None and self.control is not None:
            self.client.publish(self.control.settings.response_topic, json.dumps(response), qos=1)

    def _advance(self, touched: list[Stream]) -> None:
        if not touched:
            return
        for wave in run_waves(touched):
            self._record(wave)

    def _interrupted(self, stream: Stream, reopened: bool) -> None:
        """The stream's source was interrupted: start it over. A reopened port may first deliver the
        rest of a cut line, so its parser starts over too."""
        stream.detector.reset()
        stream.detector.counters.gaps += 1
        if reopened and isinstance(stream.parser, LineParser):
            stream.parser.restart()
        self._warn.warning(
            "gap",
            "stream %s: %s: state reset, warming up for %d samples",
            stream.id,
            "port reopened" if reopened else "silent for over ten sample periods",
            stream.detector.settings.warmup,
        )

    def _route(self, topic: str) -> Stream | None:
        # .get: a Counter's missing key goes through a Python __missing__, and this runs per frame.
        refused = self.counters.get("streams_refused", 0)
        stream, created = self.router.route(topic)
        if stream is None and self.counters.get("streams_refused", 0) != refused:
            self._warn.warning("streams", "stream limit %d reached: ignoring %s", self.router.max_streams, topic)
        if created and stream is not None:
            model_id = stream.detector.settings.model_id
            source = self.router.patterns[stream.pattern].topic
            log.info("new stream %s (from %s, model %s)", stream.id, source, model_id)
            if self.sink is not None:
                self.sink.announce(stream.id, model_id)
        return stream

    def _record(self, wave: Wave) -> None:
        """Count, log and publish what one wave's samples did: array work per wave, Python only for
        what is rare (a skipped sample, a gap, a reading out of range, an alert event)."""
        decided, streams, samples = wave.decided, wave.streams, wave.samples
        admitted = decided.admitted
        self.counters["samples"] += len(samples)
        now, clock = time.time(), time.monotonic()
        for stream in streams:
            stream.last_sample_at = now
        skipped = admitted.skipped
        if len(admitted.live) < len(samples):  # a skipped sample never goes on to the model
            for k in np.flatnonzero(skipped).tolist():
                self._skipped(streams[k], samples[k], SKIP_REASONS[skipped[k]])
        unusual = admitted.gap | admitted.out_of_range
        if any_of(unusual):
            for k in np.flatnonzero(unusual).tolist():
                self._unusual(streams[k], samples[k], bool(admitted.gap[k]), bool(admitted.out_of_range[k]))
        self._clock.latencies.extend([clock - samples[k].received for k in admitted.live.tolist()])
        for _, event in decided.events:
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

    def _unusual(self, stream: Stream, sample: Pending, gap: bool, out_of_range: bool) -> None:
        if gap:
            self._warn.warning(
                "gap",
                "stream %s: gap before the sample at %s: state reset, warming up for %d samples",
                stream.id,
                sample.timestamp,
                stream.detector.settings.warmup,
            )
        if out_of_range:
            self._warn.warning(
                "range",
                "stream %s: values %s outside the training range (clipped for the model, scored as they are)",
                stream.id,
                _Readings(sample.values),
            )

    def _skipped(self, stream: Stream, sample: Pending, reason: str | None) -> None:
        if reason is None:  # learning the stream's baseline: expected, not an error
            if stream.detector.baseline is not None:
                log.info("stream %s: baseline learned from %d samples", stream.id, stream.detector.counters.baseline)
            return
        self.counters[f"skipped.{reason}"] += 1
        self._warn.warning(
            f"skip:{reason}",
            "stream %s: sample skipped (%s): values %s, timestamp %s",
            stream.id,
            reason,
            _Readings(sample.values),
            sample.timestamp,
        )

    def _wait_s(self) -> float:
        """How long the loop may wait for frames: half a second, less when a snapshot or a watchdog ping
        falls due sooner."""
        wait = min(0.5, self._notifier.ping_interval or 0.5)
        if self._state_dir is None:
            return wait
        due = self._last_snapshot + self.config.snapshot_interval_s - time.monotonic()
        return min(wait, max(due, 0.0))

    # -- state across restarts ---------------------------------------------------------------------
    def snapshot(self) -> None:
        """Write every stream's state to the state directory (on the worker thread, which owns it).
        A failure (disk full, read-only) is counted and logged; the daemon carries on without."""
        self._last_snapshot = time.monotonic()
        if self._state_dir is None:
            return
        streams = streams_document(self.router)
        try:
            write_snapshot(self._state_dir, streams)
        except OSError as error:
            self.counters["snapshot_errors"] += 1
            self._warn.warning("snapshot", "cannot write the snapshot in %s: %s", self._state_dir, error)
            return
        self.counters["snapshots"] += 1

    def _restore(self, directory: Path) -> None:
        """Streams from the last snapshot, each only onto the same pattern and the same model."""
        saved = read_snapshot(directory) or {}
        restored = restore_streams(self.router, saved)
        if saved:
            log.info("snapshot: restored %d of %d stream(s)", restored, len(saved))
        self.counters["streams_restored"] = restored

    # -- health ------------------------------------------------------------------------------------
    def health(self) -> dict[str, Any]:
        """The health document (see ``service.health``)."""
        outbox = self.sink.outbox if self.sink else None
        models = [b.model_id for b in self.bundles.values()]
        document = health_document(
            self._clock, self.counters, len(self.queue), outbox, models, list(self.streams.values())
        )
        if self.serial.readers:
            document["serial"] = self.serial.status()
        return document

    def publish_health(self) -> None:
        """Publish the health document (retained) and start the next rate interval."""
        document = self.health()
        self._clock.reported(self.counters["samples"])
        if self.sink is not None:
            self.sink.health(self.config.health(), document)
