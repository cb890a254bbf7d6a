"""Reading one value of a sample, the same way for every source (CSV files, MQTT payloads, serial lines).

A missing reading is NaN, never 0: the detector skips and counts a sample with NaN. These spellings
of "no reading" are accepted, in any letter case: the empty string, ``nan``, ``null``, ``none``,
``na`` and ``n/a``; a JSON ``null`` too. A two-state reading (a pump's running flag, a Home Assistant
binary sensor's state) is 1 or 0: ``true`` and ``on``, ``false`` and ``off``, in any letter case, and a
JSON ``true`` or ``false``.

>>> parse_number(" 2.5 ")
2.5
>>> parse_number("NULL"), parse_number("NA"), parse_number(None)
(nan, nan, nan)
>>> parse_number("ON"), parse_number("off"), parse_number(True)
(1.0, 0.0, 1.0)
>>> parse_timestamp("2026-01-01T00:00:00")
1767225600.0

A number is seconds since the epoch, unless it is too large to be: milliseconds (what JavaScript's
``Date.now()``, and so Node-RED, sends), microseconds and nanoseconds are told apart by magnitude, as a
count of seconds above 1e11 would be a date 3,000 years away.

>>> parse_timestamp("1767225600000"), epoch_seconds(1767225600000000)
(1767225600.0, 1767225600.0)
"""

from __future__ import annotations

import math
from datetime import UTC, datetime

from edge_lstm.errors import FrameError

NAN_TOKENS = frozenset({"", "nan", "null", "none", "na", "n/a"})
STATE_TOKENS = {"true": 1.0, "on": 1.0, "false": 0.0, "off": 0.0}


def word_reading(text: str) -> float | None:
    """What a reading spelled as a word means (NaN for none, 1 or 0 for a state), or None if it means
    nothing. ``text`` is stripped."""
    lowered = text.lower()
    if lowered in NAN_TOKENS:
        return math.nan
    return STATE_TOKENS.get(lowered)


def parse_number(value: object, name: str = "value") -> float:
    """One reading as a float: a number, a numeric string, or NaN for a missing reading.

    Raises ``FrameError`` (reason ``not_a_number``) for anything else.
    """
    if value is None:
        return math.nan
    if isinstance(value, int | float):  # a JSON true or false too: bool is an int
        return float(value)
    if isinstance(value, str):
        text = value.strip()
        try:
            return float(text)
        except ValueError:
            word = word_reading(text)
            if word is not None:
                return word
    raise FrameError("not_a_number", f"field {name} is not a number: {str(value)[:40]!r}")


# Numbers at or above these are epoch milli-, micro- and nanoseconds (1e11 s is the year 5138; 1e11 ms
# is 1973).
_EPOCH_UNITS = ((1e17, 1e-9), (1e14, 1e-6), (1e11, 1e-3))


def epoch_seconds(number: float) -> float:
    """A numeric timestamp in seconds since the epoch, whichever of s, ms, us or ns it was sent in."""
    if -1e11 < number < 1e11:  # seconds: every sample of most streams
        return number
    for limit, scale in _EPOCH_UNITS:
        if abs(number) >= limit:
            return number * scale
    return number


def parse_timestamp(text: str) -> float:
    """Seconds since the epoch from ISO 8601 (naive times are taken as UTC) or a plain number
    (``epoch_seconds``).

    Raises ``ValueError`` when the text is neither.
    """
    try:
        return epoch_seconds(float(text))
    except ValueError:
        pass
    moment = datetime.fromisoformat(text.strip())
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.timestamp()


def timestamp_of(value: object) -> float:
    """A frame's timestamp (epoch seconds or ISO 8601) as finite epoch seconds, else ``FrameError``."""
    if isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value):
        return epoch_seconds(float(value))
    if isinstance(value, str):
        try:
            result = parse_timestamp(value)
            if math.isfinite(result):
                return result
        except ValueError:
            pass
    raise FrameError("bad_timestamp", f"timestamp is not epoch seconds or ISO 8601: {str(value)[:40]!r}")


MAX_READING = 1e30  # |value| at or above this (or NaN / inf) makes a sample invalid
