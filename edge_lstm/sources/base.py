"""What every source offers the service: items in arrival order, counters for what was bad, a close.

A source turns bytes from somewhere (a file, a broker, a serial line) into items the worker can use.
``take`` never raises for one bad frame: the frame is counted in ``counters`` by reason and skipped.
"""

from __future__ import annotations

from collections import Counter
from typing import NamedTuple, Protocol, TypeVar

import numpy as np

Item = TypeVar("Item")


class Sample(NamedTuple):
    """One parsed sample: the values in feature order (NaN where a reading is missing) and its time."""

    values: np.ndarray
    timestamp: float | None


class Source(Protocol[Item]):
    """The contract each source keeps (checked by ``tests/sources/test_source_contract.py``)."""

    counters: Counter[str]

    def take(self, timeout: float) -> list[Item]:
        """What arrived since the last call, oldest first; waits up to ``timeout`` seconds for the first
        item, and returns an empty list when nothing came or the source is closed or exhausted."""
        ...

    def close(self) -> None:
        """Release what the source holds; calling it again does nothing."""
        ...
