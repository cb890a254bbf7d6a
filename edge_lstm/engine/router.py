"""The stream registry: which stream a message belongs to, and that stream's detector and parser.

A stream is created the first time one of its topics is seen (stream ids come from the wildcard levels
of the subscription pattern it matched), at most ``max_streams`` of them: a guard against a topic flood
creating unbounded state.
"""

from __future__ import annotations

from collections import Counter, deque
from dataclasses import dataclass, field
from typing import Any, NamedTuple

import numpy as np

from edge_lstm.core.bank import DetectorBank
from edge_lstm.core.detector import DetectorSettings, StreamDetector
from edge_lstm.core.topics import stream_id
from edge_lstm.sources.lines import LineParser
from edge_lstm.sources.payload import PayloadParser

MAX_STREAMS = 1_000


class Pattern(NamedTuple):
    """One subscription pattern and what its streams share: a model, detector settings, a payload parser."""

    topic: str
    model_key: str
    settings: DetectorSettings
    parser: PayloadParser | LineParser


class Pending(NamedTuple):
    """A parsed sample waiting for its stream's turn in a wave."""

    values: np.ndarray
    timestamp: float | None
    received: float


@dataclass
class Stream:
    """One live stream: its detector (a row of its pattern's ``DetectorBank``: state, window, threshold,
    debounce) and its queue of parsed samples."""

    id: str
    pattern: int
    model_key: str
    detector: StreamDetector
    parser: PayloadParser | LineParser
    pending: deque[Pending] = field(default_factory=deque)
    last_sample_at: float = 0.0


class Router:
    """Topic -> stream, creating streams on first sight. ``models`` maps a pattern's ``model_key`` to its
    step model; ``banks`` holds the state of each pattern's streams, one row per stream. Counts ``unrouted`` topics and
    ``streams_refused`` beyond ``max_streams`` in ``counters``."""

    def __init__(
        self,
        patterns: list[Pattern],
        models: dict[str, Any],
        counters: Counter[str] | None = None,
        max_streams: int = MAX_STREAMS,
    ) -> None:
        self.patterns = patterns
        self.models = models
        self.max_streams = max_streams
        self.streams: dict[tuple[int, str], Stream] = {}
        self.banks = [DetectorBank(p.settings, models[p.model_key]) for p in patterns]
        self.counters: Counter[str] = counters if counters is not None else Counter()
        self._by_topic: dict[str, Stream] = {}  # so routing a known topic is one dict lookup

    def route(self, topic: str) -> tuple[Stream | None, bool]:
        """The stream ``topic`` belongs to (None if it matches no pattern or the limit is reached), and
        whether it was created by this call."""
        known = self._by_topic.get(topic)
        if known is not None:
            return known, False
        for index, pattern in enumerate(self.patterns):
            sid = stream_id(pattern.topic, topic)
            if sid is None:
                continue
            stream = self.streams.get((index, sid))
            created = stream is None
            if stream is None:
                stream = self.create(index, sid)
                if stream is None:
                    return None, False
            if len(self._by_topic) < 4 * self.max_streams:
                self._by_topic[topic] = stream
            return stream, created
        self.counters["unrouted"] += 1
        return None, False

    def create(self, index: int, sid: str) -> Stream | None:
        """A new stream ``sid`` of pattern ``index`` (None beyond ``max_streams``, counted)."""
        if len(self.streams) >= self.max_streams:
            self.counters["streams_refused"] += 1
            return None
        return self.insert(index, sid, StreamDetector.joining(self.banks[index], sid))

    def insert(self, index: int, sid: str, detector: StreamDetector) -> Stream:
        """Stream ``sid`` of pattern ``index`` served by ``detector`` (new, or carried over by a reload),
        which moves into a row of the pattern's bank."""
        pattern = self.patterns[index]
        detector.move_to(self.banks[index])
        stream = Stream(sid, index, pattern.model_key, detector, pattern.parser)
        self.streams[(index, sid)] = stream
        return stream

    def remove(self, index: int, sid: str) -> None:
        """Forget stream ``sid`` of pattern ``index``; its bank row is free for another stream."""
        stream = self.streams.pop((index, sid))
        stream.detector.bank.release(stream.detector.row)
        self._by_topic = {t: s for t, s in self._by_topic.items() if s is not stream}
