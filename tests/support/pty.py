"""A real pty pair made by socat: the code under test opens ``device``, the test writes ``writer``."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

from support import unavailable
from support.mqtt import wait_for


class PtyPair:
    def __init__(self, directory: Path, name: str = "ttyV0") -> None:
        self.socat = shutil.which("socat") or unavailable("socat", "apt-get install socat")
        self.device = directory / name
        self.writer = directory / f"{name}-writer"
        self.process: subprocess.Popen[bytes] | None = None
        self._fd: int | None = None

    def start(self) -> PtyPair:
        link = "pty,raw,echo=0,link={}"
        self.process = subprocess.Popen(
            [self.socat, link.format(self.device), link.format(self.writer)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        wait_for(lambda: self.device.exists() and self.writer.exists(), 10, "socat's pty links")
        return self

    def write(self, data: bytes) -> None:
        if self._fd is None:
            self._fd = os.open(self.writer, os.O_WRONLY | os.O_NOCTTY)
        view = memoryview(data)
        while view:
            view = view[os.write(self._fd, view) :]

    def stop(self) -> None:
        """Close the writer and end socat: the device disappears, as a USB adapter pulled out."""
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None
        if self.process is not None:
            self.process.terminate()
            self.process.wait(10)
            self.process = None
        wait_for(lambda: not self.device.exists(), 10, "socat to remove its links")
