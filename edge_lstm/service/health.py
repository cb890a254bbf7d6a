"""The health document the daemon publishes (retained) every ``health_interval_s``: rates, errors by
reason, queue and outbox, latency percentiles, and each stream's age and counters."""

from __future__ import annotations

import os
import time
from collections import Counter, deque
from typing import Any

import numpy as np

from edge_lstm import __version__
from edge_lstm.engine.router import Stream
from edge_lstm.sinks.outbox import Outbox


class HealthClock:
    """Samples per second since the last report, and enqueue-to-scored latencies (last 100,000)."""

    def __init__(self) -> None:
        self.started = time.time()
        self.last_report = time.monotonic()
        self.samples_at_last_report = 0
        self.latencies: deque[float] = deque(maxlen=100_000)

    def due(self, interval_s: float) -> bool:
        """Whether a report is due."""
        return time.monotonic() - self.last_report >= interval_s

    def reported(self, samples: int) -> None:
        """Start the next rate interval."""
        self.last_report = time.monotonic()
        self.samples_at_last_report = samples


def health_document(
    clock: HealthClock,
    counters: Counter[str],
    queue_depth: int,
    outbox: Outbox | None,
    models: list[str],
    streams: list[Stream],
) -> dict[str, Any]:
    """The document; ``outbox`` may be None (no MQTT sink)."""
    now_mono, now = time.monotonic(), time.time()
    elapsed = max(now_mono - clock.last_report, 1e-9)
    samples = counters["samples"]
    latencies = np.array(clock.latencies) if clock.latencies else np.zeros(1)
    p50, p99 = np.quantile(latencies, [0.5, 0.99]).tolist()  # one partition for both
    return {
        "version": __version__,
        "pid": os.getpid(),  # tells one process's reports from the next one's after a restart
        "uptime_s": round(now - clock.started, 1),
        "samples_per_s": round((samples - clock.samples_at_last_report) / elapsed, 2),
        "samples": samples,
        "parse_errors": counters["parse_errors"],
        "dropped": counters["dropped"],
        "queue_depth": queue_depth,
        "latency_ms": {
            "p50": round(1e3 * p50, 3),
            "p99": round(1e3 * p99, 3),
        },
        "outbox": _outbox_section(outbox),
        "counters": dict(counters),
        "models": sorted(models),
        "streams": {
            s.id: {
                "age_s": round(now - s.last_sample_at, 2) if s.last_sample_at else None,
                "alerting": s.detector.alerting,
                **{k: v for k, v in s.detector.counters.as_dict().items() if v},
            }
            for s in streams
        },
    }


def _outbox_section(outbox: Outbox | None) -> dict[str, Any]:
    """Pending and dropped alerts, and the journal: a journal that cannot be written does not stop
    alerts (they are kept in memory), so it is reported here instead."""
    if outbox is None:  # not truthiness: an outbox with nothing pending has length 0
        return {"pending": 0, "dropped": 0, "journal_errors": 0, "memory_only": False}
    return {
        "pending": len(outbox),
        "dropped": outbox.dropped,
        "journal_errors": outbox.journal_errors,
        "memory_only": outbox.memory_only,
    }
