"""sd_notify(3) without a dependency: READY, STATUS and watchdog pings for ``Type=notify`` units."""

from __future__ import annotations

import os
import socket
import time


class Notifier:
    def __init__(self) -> None:
        self._address = os.environ.get("NOTIFY_SOCKET")
        watchdog_us = os.environ.get("WATCHDOG_USEC")
        # Ping at half the watchdog period, as sd_watchdog_enabled(3) recommends.
        self._interval = int(watchdog_us) / 2e6 if watchdog_us and watchdog_us.isdigit() else None
        self._last_ping = 0.0

    @property
    def ping_interval(self) -> float | None:
        """Seconds between watchdog pings (None: no watchdog); the worker must not wait longer."""
        return self._interval

    @property
    def enabled(self) -> bool:
        return self._address is not None

    def send(self, message: str) -> None:
        if not self._address:
            return
        address = "\0" + self._address[1:] if self._address.startswith("@") else self._address
        try:
            with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
                sock.connect(address)
                sock.sendall(message.encode())
        except OSError:
            pass  # systemd went away or this is not a notify unit: nothing to tell

    def ready(self, status: str) -> None:
        self.send(f"READY=1\nSTATUS={status}")

    def watchdog(self) -> None:
        """Call from the worker loop: a hung worker stops pinging and systemd restarts the service."""
        if self._interval is None:
            return
        now = time.monotonic()
        if now - self._last_ping >= self._interval:
            self._last_ping = now
            self.send("WATCHDOG=1")

    def stopping(self) -> None:
        self.send("STOPPING=1")
