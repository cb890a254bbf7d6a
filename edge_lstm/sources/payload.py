"""MQTT payloads -> sample values in the bundle's feature order.

Formats:
* ``json``: an object with one number per feature, named by ``fields`` (default: the feature names);
* ``json_array``: a list of numbers in ``fields`` order;
* ``csv``: one line of comma-separated numbers in ``fields`` order.
A payload may also carry several samples, oldest first, as firmware that buffers readings sends them:
a JSON array of such objects (``json``), an array of such arrays (``json_array``), or several CSV lines.
``samples`` returns each one's values or its own error, so one bad reading costs only itself.
Missing readings (``null``, ``"nan"``, ``"NA"``, empty CSV cells: see ``core.samples``) become NaN:
the detector skips and counts such samples, it never reads them as 0. For arrays and CSV,
``timestamp_field = "first"`` means the first element is the timestamp; for objects it names the key.
Channels that training left out of the model but still watches for stuck readings and leaps
(``watched``) follow the features, read by name (objects, or ``fields``/a header for the others) and
NaN when a payload does not carry them.
Timestamps are seconds since the epoch or ISO 8601.

JSON is decoded with msgspec, about 5 times faster than the standard library on these payloads
(``edge-lstm bench``: ``parse_us``). What msgspec refuses (``NaN`` and ``Infinity`` literals, numbers
beyond float range, lone surrogates, invalid UTF-8, nesting too deep) goes through the standard
library's ``json`` as before, so every payload gets the same values, or the same error, either way.
A ``json`` object of plain numbers, the common case, is decoded straight into a typed record, fields
in feature order (twice as fast again); anything else it refuses (a string or ``null`` reading, a
missing field, a batch) takes the general path, which gives the values or the error.
"""

from __future__ import annotations

import json
import math
import operator
from collections.abc import Callable, Sequence
from typing import Any, TypeAlias, cast

import msgspec
import numpy as np
import numpy.typing as npt

from edge_lstm.core.samples import parse_number, timestamp_of
from edge_lstm.errors import ConfigError, FrameError

_decode_json = msgspec.json.Decoder().decode

Parsed: TypeAlias = tuple[npt.NDArray[np.float64], float | None]


class PayloadParser:
    """Parses one stream's payloads (``json``, ``json_array`` or ``csv``) into values in the bundle's
    feature order, then its ``watched`` channels (left out of the model, watched for stuck readings
    and leaps); ``fields`` maps payload names or positions to features. ``ConfigError`` if they
    do not cover every feature. A watched channel may be missing (NaN); a reading of it that is not a
    number is as bad as any other."""

    def __init__(
        self,
        format: str,
        features: tuple[str, ...],
        fields: tuple[str, ...] | None = None,
        timestamp_field: str | None = None,
        watched: tuple[str, ...] = (),
    ) -> None:
        self.format = format
        self.features = features
        self.timestamp_field = timestamp_field
        self._names = fields or features
        missing = [f for f in features if f not in self._names]
        if missing:
            raise ConfigError(f"fields {list(self._names)} lack the model feature {missing[0]!r}")
        self._order = [self._names.index(f) for f in features]  # each feature's position in the payload
        self._keys = [self._names[position] for position in self._order]  # each feature's payload key
        # Each watched channel's position in an array or line (None: not sent), and its key in an object.
        self._watched = [self._names.index(w) if w in self._names else None for w in watched]
        self._watched_keys = list(watched)
        self._typed: Callable[[bytes], Any] | None = None
        if format == "json":
            self._typed, self._readings = _typed_decoder(self._keys, timestamp_field, self._watched_keys)

    def parse(self, payload: bytes) -> Parsed:
        """``(values, timestamp)`` from a payload of one sample; ``FrameError`` with a counter reason if it
        is bad (a payload of several samples is one too)."""
        if self.format == "csv":
            return self.from_items(_text(payload).strip().split(","), "csv")
        return self._one(_document(payload))

    def samples(self, payload: bytes) -> list[Parsed | FrameError]:
        """Every sample a payload carries, oldest first: each one's ``(values, timestamp)``, or in a batch
        the ``FrameError`` that one sample alone earned. ``FrameError`` if the payload as a whole is bad
        (a payload of one sample included)."""
        if self._typed is not None:
            try:
                record = self._typed(payload)
            except (msgspec.ValidationError, msgspec.DecodeError):
                pass  # not a plain object of numbers: the general path below says what it is
            else:
                timestamp = timestamp_of(record.timestamp) if self.timestamp_field else None
                return [(np.array(self._readings(record), dtype=np.float64), timestamp)]
        return self.general_samples(payload)

    def general_samples(self, payload: bytes) -> list[Parsed | FrameError]:
        """``samples`` for any payload, without the typed decoder's shortcut."""
        if self.format == "csv":
            lines = _text(payload).strip().splitlines()
            if len(lines) == 1:
                return [self.from_items(lines[0].split(","), "csv")]
            lines = [line.strip() for line in lines if line.strip()]
            if not lines:
                raise FrameError("wrong_length", "csv has no values")
            return [_caught(self.from_items, line.split(","), i, len(lines)) for i, line in enumerate(lines)]
        document = _document(payload)
        if type(document) is list and document and type(document[0]) is (list if self.format == "json_array" else dict):
            return [_caught(self._one, item, i, len(document)) for i, item in enumerate(document)]
        return [self._one(document)]

    def _one(self, document: object) -> Parsed:
        """One decoded sample (an object or an array, as ``format`` says) -> ``(values, timestamp)``."""
        if self.format == "json_array":
            if not isinstance(document, list):
                raise FrameError("wrong_type", f"expected a JSON array, got {type(document).__name__}")
            return self.from_items(document, "array")
        if not isinstance(document, dict):
            raise FrameError("wrong_type", f"expected a JSON object, got {type(document).__name__}")
        values = np.empty(len(self._keys) + len(self._watched_keys))
        for i, key in enumerate(self._keys):
            if key not in document:
                raise FrameError("missing_field", f"missing field {key!r}")
            value = document[key]
            # Most readings are plain floats: stored as they are, without the general parser's checks.
            values[i] = value if type(value) is float else parse_number(value, key)
        for i, key in enumerate(self._watched_keys, start=len(self._keys)):
            values[i] = parse_number(document.get(key), key)  # missing: NaN
        timestamp = None
        if self.timestamp_field:
            if self.timestamp_field not in document:
                raise FrameError("missing_field", f"missing timestamp field {self.timestamp_field!r}")
            timestamp = timestamp_of(document[self.timestamp_field])
        return values, timestamp

    def from_items(self, items: Sequence[object], what: str = "line") -> Parsed:
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
        values = [parse_number(items[j], f"#{j + 1}") for j in self._order]
        values += [np.nan if j is None else parse_number(items[j], f"#{j + 1}") for j in self._watched]
        return np.array(values), timestamp


def _typed_decoder(
    keys: list[str], timestamp_field: str | None, optional: list[str]
) -> tuple[Callable[[bytes], Any], Callable[[Any], tuple[float, ...]]]:
    """A msgspec decoder of an object with a number under each of ``keys`` (and a number or text under
    ``timestamp_field``; a number or nothing under each of ``optional``: NaN), other keys ignored; and
    the getter of its readings in ``keys`` then ``optional`` order."""
    fields: list[tuple[str, Any] | tuple[str, Any, Any]] = [(f"r{k}", float) for k in range(len(keys))]
    rename = {f"r{k}": key for k, key in enumerate(keys)}
    if timestamp_field:
        fields.append(("timestamp", float | str))
        rename["timestamp"] = timestamp_field
    for k, key in enumerate(optional, start=len(keys)):  # after every required field, as msgspec asks
        fields.append((f"r{k}", float, math.nan))
        rename[f"r{k}"] = key
    record = msgspec.defstruct("Reading", fields, rename=rename, forbid_unknown_fields=False)
    count = len(keys) + len(optional)
    getter = operator.attrgetter(*(f"r{k}" for k in range(count)))
    readings = getter if count > 1 else (lambda r: (getter(r),))  # one name: attrgetter gives no tuple
    return msgspec.json.Decoder(record).decode, cast(Callable[[Any], tuple[float, ...]], readings)


def _document(payload: bytes) -> object:
    """The decoded JSON of a payload: msgspec first, the standard library for what it refuses."""
    try:
        return _decode_json(payload)
    except (msgspec.DecodeError, RecursionError):
        return _standard_json(payload)


def _caught(parse: Callable[[Any], Parsed], item: Any, index: int, count: int) -> Parsed | FrameError:
    """``parse(item)``, or the ``FrameError`` it raised, saying which sample of the batch it was."""
    try:
        return parse(item)
    except FrameError as error:
        return FrameError(error.reason, f"sample {index + 1} of {count}: {error}")


def _text(payload: bytes) -> str:
    """``payload`` as UTF-8 text, else ``FrameError`` (reason ``not_utf8``)."""
    try:
        return payload.decode("utf-8")
    except UnicodeDecodeError:
        raise FrameError("not_utf8", "payload is not UTF-8 text") from None


def _standard_json(payload: bytes) -> object:
    """The standard library's reading of a payload msgspec refused: its value, or the reason it is bad."""
    text = _text(payload)
    try:
        return json.loads(text)
    except (json.JSONDecodeError, RecursionError):
        raise FrameError("not_json", f"payload is not JSON: {text[:60]!r}") from None
