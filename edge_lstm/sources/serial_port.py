"""The serial source: one reader thread per port, whole lines into the shared ``FrameQueue``.

Each port is opened with pyserial's ``serial_for_url``, so device paths and URLs (``loop://``,
``rfc2217://host:port``, ``socket://``) all work. A reader only frames lines (parsing happens on the
worker, as for MQTT) and keeps the port alive:

* a port that is missing at start or goes away (a USB cable pulled) is retried with exponential
  backoff, counted and logged, rate-limited; the daemon never exits for it;
* when the port comes back the stream is told with a gap frame: its state resets and it warms up
  again, since the samples in between are lost;
* a silence longer than ten sample periods, and at least half a second (USB and ptys deliver in
  bursts), is a gap as well (the period is ``rate_hz`` or the rate measured over the first second);
* ``/dev/ttyUSB0`` may come back as ``ttyUSB1``: a port given by its kernel name is reopened through
  its ``/dev/serial/by-id`` link when one exists, which follows the device.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from edge_lstm.config import SerialSettings
from edge_lstm.core.logpolicy import RateLimitedLog
from edge_lstm.sources.lines import LineAssembler
from edge_lstm.sources.queue import Frame, FrameQueue

log = logging.getLogger(__name__)

# '+' cannot occur in a published MQTT topic name, so no broker message can be routed to a serial stream.
SERIAL_PREFIX = "+serial/"
BY_ID = Path("/dev/serial/by-id")
BACKOFF_MIN_S, BACKOFF_MAX_S = 0.2, 10.0
GAP_PERIODS = 10.0
GAP_MIN_S = 0.5
RECONNECT, SILENCE = b"reconnect", b"silence"  # the payload of a gap frame names its cause
READ_TIMEOUT_S = 0.05  # how long a read may wait: bounds the reaction to stop() and to silence


def serial_topic(name: str) -> str:
    """The internal topic of a serial stream named ``name``."""
    return SERIAL_PREFIX + name


def stable_path(port: str, by_id: Path = BY_ID) -> str:
    """``port`` itself, or its ``/dev/serial/by-id`` link when ``port`` is a kernel name one points at."""
    if "://" in port or not by_id.is_dir():
        return port
    target = Path(port).resolve()
    for link in sorted(by_id.iterdir()):
        if link.resolve() == target and link != Path(port):
            return str(link)
    return port


@dataclass
class PortStatus:
    """What health reports for one port."""

    device: str
    connected: bool = False
    lines: int = 0
    rate_hz: float | None = None
    connects: int = 0
    disconnects: int = 0
    open_failures: int = 0
    overlong: int = 0
    gaps: int = 0
    last_error: str | None = None

    def as_dict(self) -> dict[str, Any]:
        """The health document's form."""
        return dict(self.__dict__)


class SerialReader:
    """One port's reader thread: open (retrying), read chunks, frame lines, submit them to ``queue``."""

    def __init__(self, settings: SerialSettings, queue: FrameQueue, by_id: Path = BY_ID) -> None:
        self.settings = settings
        self.queue = queue
        self.topic = serial_topic(settings.name)
        self.status = PortStatus(settings.port)
        self._by_id = by_id
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"serial-{settings.name}", daemon=True)
        self._assembler = LineAssembler(settings.max_line, settings.line_ending)
        self._warn = RateLimitedLog(log)
        self._period = 1.0 / settings.rate_hz if settings.rate_hz else None
        self._silence_s = max(GAP_PERIODS * (self._period or 0.0), GAP_MIN_S)
        self._last_line = 0.0
        self._port: Any = None

    def start(self) -> None:
        """Start reading in the background."""
        self._thread.start()

    def stop(self, timeout: float = 2.0) -> None:
        """Stop and close the port. Idempotent."""
        self._stop.set()
        if self._thread.is_alive() and self._thread is not threading.current_thread():
            self._thread.join(timeout)

    # -- the thread --------------------------------------------------------------------------------
    def _run(self) -> None:
        backoff = BACKOFF_MIN_S
        while not self._stop.is_set():
            try:
                self._port = self._open()
            except Exception as error:  # pyserial raises SerialException, OSError or ValueError here
                self.status.open_failures += 1
                self.status.last_error = str(error)
                self._warn.warning(
                    "open", "serial %s: cannot open %s (%s); retrying", self.settings.name, self.settings.port, error
                )
                self._stop.wait(backoff)
                backoff = min(2 * backoff, BACKOFF_MAX_S)
                continue
            backoff = BACKOFF_MIN_S
            try:
                self._read_until_error()
            finally:
                self._close()

    def _open(self) -> Any:
        import serial

        path = stable_path(self.settings.port, self._by_id)
        port = serial.serial_for_url(path, baudrate=self.settings.baud, timeout=READ_TIMEOUT_S, do_not_open=True)
        if self.settings.dtr is not None:
            port.dtr = self.settings.dtr  # applied as the port opens (an Arduino resets on a DTR edge)
        port.open()
        s = self.status
        if s.connects:  # a reconnect: the samples in between are lost, the stream starts over
            s.gaps += 1
            self.queue.submit(self.topic, RECONNECT, gap=True)
        s.connects += 1
        s.connected, s.device, s.last_error = True, path, None
        self._assembler.clear()
        log.info("serial %s: reading %s at %d baud", self.settings.name, path, self.settings.baud)
        return port

    def _read_until_error(self) -> None:
        port, started, counted = self._port, 0.0, 0
        while not self._stop.is_set():
            try:
                chunk = port.read(port.in_waiting or 1)
            except Exception as error:  # SerialException / OSError: the device went away
                self.status.disconnects += 1
                self.status.last_error = str(error)
                log.warning("serial %s: lost %s (%s); reopening with backoff", self.settings.name, port.port, error)
                return
            if not chunk:
                continue
            now = time.monotonic()
            lines = self._assembler.feed(chunk)
            if self._assembler.overlong != self.status.overlong:
                self.status.overlong = self._assembler.overlong
                self._warn.warning(
                    "overlong",
                    "serial %s: a line longer than %d bytes was dropped (%d so far): is the baud rate right?",
                    self.settings.name,
                    self.settings.max_line,
                    self.status.overlong,
                )
            if not lines:
                continue
            if self._period and self._last_line and now - self._last_line > self._silence_s:
                self.status.gaps += 1
                self.queue.submit(self.topic, SILENCE, gap=True)
            self._last_line = now
            for line in lines:
                self.queue.submit(self.topic, line)
            self.status.lines += len(lines)
            if self.status.rate_hz is None and self.settings.rate_hz is None:
                started = started or now
                counted += len(lines)
                if now - started >= 1.0:
                    self._measured(counted - 1, now - started)

    def _measured(self, intervals: int, seconds: float) -> None:
        rate = intervals / seconds
        self.status.rate_hz = round(rate, 2)
        self._period = 1.0 / rate if rate > 0 else None
        self._silence_s = max(GAP_PERIODS * (self._period or 0.0), GAP_MIN_S)
        log.info("serial %s: %.1f lines/s measured over the first second", self.settings.name, rate)

    def _close(self) -> None:
        self.status.connected = False
        port, self._port = self._port, None
        if port is not None:
            try:
                port.close()
            except Exception as error:  # closing a vanished device may fail; nothing to keep
                log.debug("serial %s: close failed: %s", self.settings.name, error)


class SerialSource:
    """Every configured port, read into ``queue``; ``status()`` reports them for health."""

    def __init__(self, ports: tuple[SerialSettings, ...], queue: FrameQueue, by_id: Path = BY_ID) -> None:
        self.queue = queue
        self.counters: Counter[str] = queue.counters
        self.readers = [SerialReader(p, queue, by_id) for p in ports]

    def start(self) -> None:
        """Start every reader."""
        for reader in self.readers:
            reader.start()

    def take(self, timeout: float) -> list[Frame]:
        """What the ports delivered (see ``FrameQueue.take``)."""
        return self.queue.take(timeout)

    def status(self) -> dict[str, dict[str, Any]]:
        """Per-port state by stream name."""
        return {r.settings.name: r.status.as_dict() for r in self.readers}

    def close(self) -> None:
        """Stop every reader and close its port. Idempotent."""
        for reader in self.readers:
            reader.stop()
