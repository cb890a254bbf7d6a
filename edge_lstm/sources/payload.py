"""MQTT payloads -> sample values in the bundle's feature order.

Formats:
* ``json``: an object with one number per feature, named by ``fields`` (default: the feature names);
* ``json_array``: a list of numbers in ``fields`` order;
* ``csv``: one line of comma-separated numbers in ``fields`` order.
``null``, ``"nan"`` and empty CSV cells become NaN: the detector skips and counts such samples, it
never reads them as 0. For arrays and CSV, ``timestamp_field = "first"`` means the first element is the
timestamp; for objects it names the key. Timestamps are seconds since the epoch or ISO 8601.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

from edge_lstm.sources.csv_file import parse_timestamp


class PayloadError(ValueError):
    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason  # a short counter key: not_utf8, not_json, missing_field, ...


class PayloadParser:
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
            raise ValueError(f"fields {list(self._names)} lack the model feature {missing[0]!r}")
        self._order = [self._names.index(f) for f in features]  # each feature's position in the payload

    def parse(self, payload: bytes) -> tuple[npt.NDArray[np.float64], float | None]:
        try:
            text = payload.decode("utf-8")
        except UnicodeDecodeError:
            raise PayloadError("not_utf8", "payload is not UTF-8 text") from None
        if self.format == "csv":
            return self._from_list(text.strip().split(","), "csv")
        try:
            document = json.loads(text)
        except (json.JSONDecodeError, RecursionError):
            raise PayloadError("not_json", f"payload is not JSON: {text[:60]!r}") from None
        if self.format == "json_array":
            if not isinstance(document, list):
                raise PayloadError("wrong_type", f"expected a JSON array, got {type(document).__name__}")
            return self._from_list(document, "array")
        if not isinstance(document, dict):
            raise PayloadError("wrong_type", f"expected a JSON object, got {type(document).__name__}")
        values = np.empty(len(self.features))
        for i, position in enumerate(self._order):
            key = self._names[position]
            if key not in document:
                raise PayloadError("missing_field", f"missing field {key!r}")
            values[i] = _number(document[key], key)
        timestamp = None
        if self.timestamp_field:
            if self.timestamp_field not in document:
                raise PayloadError("missing_field", f"missing timestamp field {self.timestamp_field!r}")
            timestamp = _timestamp(document[self.timestamp_field])
        return values, timestamp

    def _from_list(self, items: Sequence[object], what: str) -> tuple[npt.NDArray[np.float64], float | None]:
        timestamp = None
        if self.timestamp_field:
            if not items:
                raise PayloadError("wrong_length", f"empty {what}")
            timestamp = _timestamp(items[0])
            items = items[1:]
        expected = len(self._names)
        if len(items) != expected:
            raise PayloadError("wrong_length", f"{what} has {len(items)} values, expected {expected}")
        values = np.array([_number(items[j], f"#{j + 1}") for j in self._order])
        return values, timestamp


def _number(value: object, name: str) -> float:
    if value is None:
        return math.nan
    if isinstance(value, bool):
        raise PayloadError("not_a_number", f"field {name} is a boolean")
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        text = value.strip()
        if text.lower() in ("", "nan", "null", "none"):
            return math.nan
        try:
            return float(text)
        except ValueError:
            pass
    raise PayloadError("not_a_number", f"field {name} is not a number: {str(value)[:40]!r}")


def _timestamp(value: object) -> float:
    if isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value):
        return float(value)
    if isinstance(value, str):
        try:
            result = parse_timestamp(value)
            if math.isfinite(result):
                return result
        except ValueError:
            pass
    raise PayloadError("bad_timestamp", f"timestamp is not epoch seconds or ISO 8601: {str(value)[:40]!r}")


def stream_id(pattern: str, topic: str) -> str | None:
    """The stream id a topic belongs to under a subscription pattern, or None if it does not match.

    The id is made of the topic levels matched by wildcards, joined by '/'; a pattern without
    wildcards names one stream, identified by its last level.
    """
    want, got = pattern.split("/"), topic.split("/")
    matched: list[str] = []
    for i, level in enumerate(want):
        if level == "#":
            rest = got[i:]
            if not rest:
                return None
            matched.extend(rest)
            return "/".join(matched)
        if i >= len(got):
            return None
        if level == "+":
            matched.append(got[i])
        elif level != got[i]:
            return None
    if len(got) != len(want):
        return None
    return "/".join(matched) if matched else got[-1]
