"""Log policy for a process that may see the same problem thousands of times a second."""

from __future__ import annotations

import logging
import time
from collections import Counter
from typing import Any

LOG_EVERY_S = 10.0


class RateLimitedLog:
    """The first occurrence of each kind is logged at once; then at most one line per kind every
    ``every_s`` seconds, with the number of occurrences held back in between. One per thread."""

    def __init__(self, logger: logging.Logger, every_s: float = LOG_EVERY_S) -> None:
        self._log, self._every = logger, every_s
        self._last: dict[str, float] = {}
        self._held: Counter[str] = Counter()

    def warning(self, kind: str, message: str, *args: Any) -> None:
        """Log ``message % args`` as a warning unless ``kind`` was logged less than ``every_s`` ago."""
        self._emit(logging.WARNING, kind, message, *args)

    def error(self, kind: str, message: str, *args: Any) -> None:
        """Log ``message % args`` as an error unless ``kind`` was logged less than ``every_s`` ago."""
        self._emit(logging.ERROR, kind, message, *args)

    def _emit(self, level: int, kind: str, message: str, *args: Any) -> None:
        now = time.monotonic()
        if now - self._last.get(kind, -1e9) >= self._every:
            held = self._held.pop(kind, 0)
            suffix = f" (and {held} more like it since the last report)" if held else ""
            self._log.log(level, message + suffix, *args)
            self._last[kind] = now
        else:
            self._held[kind] += 1
