"""Alert events as JSON lines: one object per line, flushed per event so a pipe sees it at once."""

from __future__ import annotations

import json
import sys
from typing import TextIO

from edge_lstm.core.alerts import AlertEvent


class JsonLinesSink:
    """Alert events as JSON lines on a text stream (stdout by default)."""

    def __init__(self, stream: TextIO | None = None) -> None:
        self._stream = stream if stream is not None else sys.stdout
        self.written = 0

    def emit(self, event: AlertEvent) -> None:
        """Write one event as one line and flush it."""
        self._stream.write(json.dumps(event.to_dict(), separators=(",", ":")) + "\n")
        self._stream.flush()
        self.written += 1

    def close(self) -> None:
        """Flush; the stream itself belongs to the caller. Idempotent."""
        if not self._stream.closed:
            self._stream.flush()
