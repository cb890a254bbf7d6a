"""``edge-lstm simulate --serial``: write samples as lines to a serial port or pty, as a sensor board
would, so the serial path can be shown and tested without hardware."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable

import numpy as np

from edge_lstm.sources.lines import nmea_checksum
from edge_lstm.tools.simulate import encode


def encode_line(values: np.ndarray, features: list[str], fmt: str, checksum: bool = False) -> bytes:
    """One sample as a line: ``forwarder`` (comma-separated numbers), ``csv`` (the same, after the
    header the caller sends) or ``json``; with an NMEA-style ``*XX`` checksum if asked."""
    text = encode(values, features, "json" if fmt == "json" else "csv", None)
    if checksum:
        text = f"{text}*{nmea_checksum(text):02X}"
    return (text + "\r\n").encode("ascii")


def write_serial(
    port: str,
    baud: int,
    rows: Iterable[np.ndarray],
    features: list[str],
    rate: float,
    fmt: str = "forwarder",
    checksum: bool = False,
    progress: Callable[[int], None] | None = None,
) -> int:
    """Write ``rows`` to ``port`` (a device, pty or pyserial URL) at ``rate`` lines/s (0: as fast as the
    line allows); a ``csv`` stream starts with its header. Returns the number of samples written."""
    import serial

    sent, started = 0, time.perf_counter()
    with serial.serial_for_url(port, baudrate=baud, write_timeout=10) as handle:
        if fmt == "csv":
            handle.write((",".join(features) + "\r\n").encode("ascii"))
        for values in rows:
            if rate > 0:
                delay = started + sent / rate - time.perf_counter()
                if delay > 0:
                    time.sleep(delay)
            handle.write(encode_line(values, features, fmt, checksum))
            sent += 1
            if progress is not None and sent % 100 == 0:
                progress(100)
        handle.flush()
    return sent
