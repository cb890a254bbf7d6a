"""The alert record: what a subscriber receives when an alert starts or clears."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

ALERT_SCHEMA_VERSION = 1


@dataclass(frozen=True)
class AlertEvent:
    """One alert transition of one stream (start or clear), as published; see ``schemas/alert.schema.json``."""

    event: str  # "alert_start" | "alert_clear"
    stream: str
    index: int  # sample number in the stream, from 0
    timestamp: float | None  # the sample's own time (seconds since the epoch), when it has one
    score: float
    threshold: float
    severity: str
    model_id: str
    sequence: int  # per-stream event counter, so a subscriber can spot a missed event
    contributions: dict[str, float] = field(default_factory=dict)
    peak_score: float | None = None  # on clear: the highest score seen during the alert

    def to_dict(self) -> dict[str, Any]:
        """The JSON object subscribers receive (schema version, event, stream, scores, top sensors)."""
        record: dict[str, Any] = {
            "schema": ALERT_SCHEMA_VERSION,
            "event": self.event,
            "stream": self.stream,
            "index": self.index,
            "timestamp": self.timestamp,
            "score": round(self.score, 6),
            "threshold": round(self.threshold, 6),
            "severity": self.severity,
            "model_id": self.model_id,
            "sequence": self.sequence,
            "contributions": self.contributions,
        }
        if self.peak_score is not None:
            record["peak_score"] = round(self.peak_score, 6)
        return record


def severity_of(score: float, threshold: float) -> str:
    """'critical' at twice the threshold or more, else 'warning'."""
    return "critical" if score >= 2.0 * threshold else "warning"
