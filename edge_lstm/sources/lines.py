"""Serial line protocols: bytes from a port -> complete lines -> sample values.

``LineAssembler`` turns the chunks a port returns (pyserial's reads end anywhere, mid-line included)
into whole lines, with a bounded buffer: a line longer than ``max_line`` is counted and dropped up to
its end, so a device that never sends a newline cannot grow memory.

``LineParser`` reads one stream's lines in one of three formats:

* ``forwarder``: the convention of Edge Impulse's data forwarder, which most microcontroller sketches
  already follow: one sample per line, numbers separated by commas, tabs or spaces, no header. The
  first line after the port opens is dropped (reading may have started in its middle) and the second
  sets the channel count the device sends, reported once if it differs from what the stream expects;
* ``csv``: comma-separated numbers, optionally after a header line naming the channels (the header
  maps columns to the model's features by name, in any order);
* ``json``: one JSON object per line, one number per feature (names as in ``fields``).

An optional NMEA-0183-style checksum ends a line with ``*XX``: two hex digits, the XOR of every
byte before the ``*`` (a leading ``$`` excluded). With ``checksum = "nmea"`` a line without one, or
with a wrong one, is refused.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

from edge_lstm.core.samples import word_reading
from edge_lstm.errors import ConfigError, FrameError
from edge_lstm.sources.payload import PayloadParser

LINE_FORMATS = ("forwarder", "csv", "json")
CHECKSUMS = ("none", "nmea")
LINE_ENDINGS = {"lf": b"\n", "crlf": b"\n", "cr": b"\r"}  # crlf splits on LF and drops the CR
_SEPARATORS = re.compile(r"[,\t ]+")


class LineAssembler:
    """Chunks in, complete lines out (without their ending; empty lines dropped). ``overlong`` counts
    lines longer than ``max_line`` bytes, which are dropped whole."""

    def __init__(self, max_line: int = 1024, line_ending: str = "lf") -> None:
        self.max_line = max_line
        self._end = LINE_ENDINGS[line_ending]
        self._other = b"\r" if self._end == b"\n" else b"\n"  # stripped from both sides of a line
        self._buffer = bytearray()
        self._discarding = False  # inside an overlong line: drop up to its end
        self.overlong = 0

    def feed(self, chunk: bytes) -> list[bytes]:
        """The lines completed by ``chunk``, oldest first."""
        self._buffer += chunk
        lines = []
        start = 0
        while (end := self._buffer.find(self._end, start)) >= 0:
            line = bytes(self._buffer[start:end]).strip(self._other)
            start = end + 1
            if self._discarding:
                self._discarding = False
                continue
            if len(line) > self.max_line:
                self.overlong += 1
                continue
            if line:
                lines.append(line)
        del self._buffer[:start]
        if len(self._buffer) > self.max_line:
            if not self._discarding:
                self.overlong += 1
                self._discarding = True
            self._buffer.clear()
        return lines

    def clear(self) -> None:
        """Forget a partial line (the port was closed: its rest will never come)."""
        self._buffer.clear()
        self._discarding = False


def strip_checksum(text: str) -> str:
    """``text`` without its ``*XX`` checksum; ``FrameError`` if it is missing or wrong.

    >>> strip_checksum("1.5,2.5*" + format(nmea_checksum("1.5,2.5"), "02X"))
    '1.5,2.5'
    """
    body, star, given = text.rpartition("*")
    if not star or len(given) != 2:
        raise FrameError("checksum_missing", f"line has no *XX checksum: {text[:60]!r}")
    try:
        expected = int(given, 16)
    except ValueError:
        raise FrameError("checksum_missing", f"line's checksum is not hex: {text[-6:]!r}") from None
    if nmea_checksum(body.removeprefix("$")) != expected:
        raise FrameError("checksum", f"checksum mismatch (line says {given}): {text[:60]!r}")
    return body.removeprefix("$")


def nmea_checksum(text: str) -> int:
    """The XOR of the bytes of ``text``: NMEA 0183's checksum, cheap enough for any microcontroller."""
    value = 0
    for byte in text.encode("utf-8"):
        value ^= byte
    return value


class LineParser:
    """One serial stream's lines -> ``(values, None)`` in the model's feature order (then its watched
    channels, NaN where a line lacks them), or None for a line
    that carries no sample (a header; the first forwarder line). ``FrameError`` with a counter reason
    for a bad line. ``restart`` is called when the port reopens."""

    def __init__(
        self,
        format: str,
        features: tuple[str, ...],
        fields: tuple[str, ...] | None = None,
        checksum: str = "none",
        watched: tuple[str, ...] = (),
    ) -> None:
        if format not in LINE_FORMATS:
            raise ConfigError(f"line format must be one of {', '.join(LINE_FORMATS)}, got {format!r}")
        self.format = format
        self.features = features
        self.fields = fields
        self.checksum = checksum
        self.detected_channels: int | None = None  # forwarder: what the device sends
        self.header: tuple[str, ...] | None = None  # csv: names from the device's header line
        self.watched = watched  # channels left out of the model, read when a line has them
        self._payload = PayloadParser("json" if format == "json" else "json_array", features, fields, None, watched)
        self._first = True

    def restart(self) -> None:
        """A new connection: the first line may be cut again, and a header may be sent again."""
        self._first = True

    def parse(self, line: bytes) -> tuple[npt.NDArray[np.float64], None] | None:
        """One line's values, or None if it carries no sample."""
        try:
            text = line.decode("utf-8")
        except UnicodeDecodeError:
            raise FrameError("not_utf8", f"line is not UTF-8 text: {line[:40]!r}") from None
        first, self._first = self._first, False
        if first and self.format == "forwarder":  # dropped before any check: it may be cut anywhere
            return None
        if self.checksum == "nmea":
            text = strip_checksum(text)
        if self.format == "json":
            return self._payload.parse(text.encode("utf-8"))[0], None
        if self.format == "forwarder":
            return self._forwarder(text)
        return self._csv(text.split(","))

    def _forwarder(self, text: str) -> tuple[npt.NDArray[np.float64], None] | None:
        items = _SEPARATORS.split(text.strip())
        if self.detected_channels is None:
            self.detected_channels = len(items)
        return self._payload.from_items(items)[0], None

    def _csv(self, items: Sequence[str]) -> tuple[npt.NDArray[np.float64], None] | None:
        cells = [c.strip() for c in items]
        if not any(_is_number(c) for c in cells) and all(cells):  # a header names the columns
            missing = [f for f in self.features if f not in cells]
            if missing:
                raise FrameError("header", f"header {cells} lacks the model feature {missing[0]!r}")
            self.header = tuple(cells)
            self._payload = PayloadParser("json_array", self.features, self.header, None, self.watched)
            return None
        return self._payload.from_items(cells)[0], None


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return word_reading(text) is not None  # a missing reading or an on/off state: data, not a name
    return True
