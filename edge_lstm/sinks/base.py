"""What every alert sink offers: ``emit`` one event, ``close`` when done (idempotent)."""

from __future__ import annotations

from typing import Protocol

from edge_lstm.core.alerts import AlertEvent


class Sink(Protocol):
    """The contract each sink keeps (checked by ``tests/sinks/test_sink_contract.py``): every emitted
    event is delivered as one schema-valid alert object, in order; ``close`` may be called twice."""

    def emit(self, event: AlertEvent) -> None:
        """Deliver one alert event (or keep it until it can be delivered)."""
        ...

    def close(self) -> None:
        """Flush and release; calling it again does nothing."""
        ...
