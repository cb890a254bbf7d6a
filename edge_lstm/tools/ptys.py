"""A pair of linked pseudo-terminals made by socat: one end stands for a sensor board's serial port,
the other is where a test or benchmark writes what the board would send."""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

from edge_lstm.errors import Unavailable


class PtyPair:
    """``device`` is the port the daemon opens; bytes written with ``write`` arrive there."""

    def __init__(self, directory: Path, name: str = "ttyV0") -> None:
        socat = shutil.which("socat")
        if socat is None:
            raise Unavailable("socat is not installed (apt-get install socat)")
        self.socat = socat
        self.device = directory / name
        self.writer = directory / f"{name}-writer"
        self.process: subprocess.Popen[bytes] | None = None
        self._fd: int | None = None

    def start(self, timeout: float = 10.0) -> PtyPair:
        """Create the pair; returns once both links exist."""
        link = "pty,raw,echo=0,link={}"
        self.process = subprocess.Popen(
            [self.socat, link.format(self.device), link.format(self.writer)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        _wait(lambda: self.device.exists() and self.writer.exists(), timeout, "socat's pty links")
        return self

    def write(self, data: bytes) -> None:
        """Write all of ``data`` to the board's end."""
        if self._fd is None:
            self._fd = os.open(self.writer, os.O_WRONLY | os.O_NOCTTY)
        view = memoryview(data)
        while view:
            view = view[os.write(self._fd, view) :]

    def stop(self, timeout: float = 10.0) -> None:
        """Close the writer and end socat: the device disappears, as a USB adapter pulled out."""
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None
        if self.process is not None:
            self.process.terminate()
            self.process.wait(timeout)
            self.process = None
        _wait(lambda: not self.device.exists(), timeout, "socat to remove its links")


def _wait(predicate: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(0.01)
