"""MQTT payloads -> sample values in the bundle's feature order.

Formats:
* ``json``: an object with one number per feature, named by ``fields`` (default: the feature names);
* ``json_array``: a list of numbers in ``fields`` order;
* ``csv``: one line of comma-separated numbers in ``fields`` order.
Missing readings (``null``, ``"nan"``, ``"NA"``, empty CSV cells: see ``core.samples``) become NaN:
the detector skips and counts such samples, it never reads them as 0. For arrays and CSV,
``timestamp_field = "first"`` means the first element is the timestamp; for objects it names the key.
Timestamps are seconds since the epoch or ISO 8601.
"""

from __future__ import annotations

import json
from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

from edge_lstm.core.samples import parse_number, timestamp_of
from edge_lstm.errors import ConfigError, FrameError


class PayloadParser:
    """Parses one stream's payloads (``json``, ``json_array`` or ``csv``) into values in the bundle's
    feature order; ``fields`` maps payload names or positions to features. ``ConfigError`` if they
    do not cover every feature."""

    def __init__(
        self,
        format: str,
        features: tuple[str, ...],
        fields: tuple[str, ...] | None = None,
        timestamp_field: str | None = None,
    ) -> None:
        self.format = format
        self.features = features
        self.timestamp_field = timestamp_field
        self._names = fields or features
        missing = [f for f in features if f not in self._names]
        if missing:
            raise ConfigError(f"fields {list(self._names)} lack the model feature {missing[0]!r}")
        self._order = [self._names.index(f) for f in features]  # each feature's position in the payload

    def parse(self, payload: bytes) -> tuple[npt.NDArray[np.float64], float | None]:
        """``(values, timestamp)`` from one payload; ``FrameError`` with a counter reason if it is bad."""
        try:
            text = payload.decode("utf-8")
        except UnicodeDecodeError:
            raise FrameError("not_utf8", "payload is not UTF-8 text") from None
        if self.format == "csv":
            return self.from_items(text.strip().split(","), "csv")
        try:
            document = json.loads(text)
        except (json.JSONDecodeError, RecursionError):
            raise FrameError("not_json", f"payload is not JSON: {text[:60]!r}") from None
        if self.format == "json_array":
            if not isinstance(document, list):
                raise FrameError("wrong_type", f"expected a JSON array, got {type(document).__name__}")
            return self.from_items(document, "array")
        if not isinstance(document, dict):
            raise FrameError("wrong_type", f"expected a JSON object, got {type(document).__name__}")
        values = np.empty(len(self.features))
        for i, position in enumerate(self._order):
            key = self._names[position]
            if key not in document:
                raise FrameError("missing_field", f"missing field {key!r}")
            values[i] = parse_number(document[key], key)
        timestamp = None
        if self.timestamp_field:
            if self.timestamp_field not in document:
                raise FrameError("missing_field", f"missing timestamp field {self.timestamp_field!r}")
            timestamp = timestamp_of(document[self.timestamp_field])
        return values, timestamp

    def from_items(self, items: Sequence[object], what: str = "line") -> tuple[npt.NDArray[np.float64], float | None]:
        """``(values, timestamp)`` from fields already split, in ``fields`` order."""
        timestamp = None
        if self.timestamp_field:
            if not items:
                raise FrameError("wrong_length", f"empty {what}")
            timestamp = timestamp_of(items[0])
            items = items[1:]
        expected = len(self._names)
        if len(items) != expected:
            raise FrameError("wrong_length", f"{what} has {len(items)} values, expected {expected}")
        values = np.array([parse_number(items[j], f"#{j + 1}") for j in self._order])
        return values, timestamp
