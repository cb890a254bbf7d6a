"""Reading one value of a sample, the same way for every source (CSV files, MQTT payloads, serial lines).

A missing reading is NaN, never 0: the detector skips and counts a sample with NaN. These spellings
of "no reading" are accepted, in any letter case: the empty string, ``nan``, ``null``, ``none``,
``na`` and ``n/a``; a JSON ``null`` too.

>>> parse_number(" 2.5 ")
2.5
>>> parse_number("NULL"), parse_number("NA"), parse_number(None)
(nan, nan, nan)
>>> parse_timestamp("2026-01-01T00:00:00")
1767225600.0
"""

from __future__ import annotations

import math
from datetime import UTC, datetime

from edge_lstm.errors import FrameError

NAN_TOKENS = frozenset({"", "nan", "null", "none", "na", "n/a"})


def parse_number(value: object, name: str = "value") -> float:
    """One reading as a float: a number, a numeric string, or NaN for a missing reading.

    Raises ``FrameError`` (reason ``not_a_number``) for anything else, booleans included.
    """
    if value is None:
        return math.nan
    if isinstance(value, bool):
        raise FrameError("not_a_number", f"field {name} is a boolean")
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        text = value.strip()
        if text.lower() in NAN_TOKENS:
            return math.nan
        try:
            return float(text)
        except ValueError:
            pass
    raise FrameError("not_a_number", f"field {name} is not a number: {str(value)[:40]!r}")


def parse_timestamp(text: str) -> float:
    """Seconds since the epoch from ISO 8601 (naive times are taken as UTC) or a plain number.

    Raises ``ValueError`` when the text is neither.
    """
    try:
        return float(text)
    except ValueError:
        pass
    moment = datetime.fromisoformat(text.strip())
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.timestamp()


def timestamp_of(value: object) -> float:
    """A frame's timestamp (epoch seconds or ISO 8601) as finite epoch seconds, else ``FrameError``."""
    if isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value):
        return float(value)
    if isinstance(value, str):
        try:
            result = parse_timestamp(value)
            if math.isfinite(result):
                return result
        except ValueError:
            pass
    raise FrameError("bad_timestamp", f"timestamp is not epoch seconds or ISO 8601: {str(value)[:40]!r}")


MAX_READING = 1e30  # |value| at or above this (or NaN / inf) makes a sample invalid
