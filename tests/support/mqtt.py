"""A real mosquitto broker on a free loopback port, a real mosquitto_sub, and a daemon in a thread."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from paho.mqtt import publish

from edge_lstm.config import DaemonConfig, load_config
from edge_lstm.service.worker import Daemon
from support import unavailable


def require(tool: str) -> str:
    path = shutil.which(tool) or (f"/usr/sbin/{tool}" if os.path.exists(f"/usr/sbin/{tool}") else None)
    if path is None:
        unavailable(tool, "apt-get install mosquitto mosquitto-clients")
    return path


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for(predicate: Callable[[], bool], timeout: float = 10.0, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.02)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")


class Broker:
    def __init__(self, directory: Path) -> None:
        self.binary = require("mosquitto")
        self.port = free_port()
        self.directory = directory
        self.config = directory / "mosquitto.conf"
        self.config.write_text(
            f"listener {self.port} 127.0.0.1\nallow_anonymous true\n"
            f"persistence true\npersistence_location {directory}/\nautosave_interval 1\n"
            # Tests publish bursts faster than real sensors; the default per-client queue (1000)
            # would let the broker drop samples, which is the broker's policy, not the daemon's.
            "max_queued_messages 100000\n"
        )
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        log = (self.directory / "mosquitto.log").open("ab")
        self.process = subprocess.Popen([self.binary, "-c", str(self.config)], stdout=log, stderr=log)
        wait_for(self._accepting, 10, f"mosquitto on port {self.port}")

    def _accepting(self) -> bool:
        with socket.socket() as sock:
            return sock.connect_ex(("127.0.0.1", self.port)) == 0

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait(10)
            self.process = None


class Subscriber:
    """An independent ``mosquitto_sub`` process, collecting payloads line by line. It is subscribed when
    the constructor returns: otherwise a message published at once (a journalled alert the daemon
    sends as it connects) could reach the broker before the subscription, and be missed on a busy
    machine."""

    def __init__(self, port: int, topic: str, persistent_id: str | None = None) -> None:
        # A private probe topic in the same SUBSCRIBE: once a probe comes back, ``topic`` is live too.
        self._token = f"subscribed-{uuid.uuid4().hex}"
        probe = f"edge-lstm-test/{self._token}"
        command = [require("mosquitto_sub"), "-h", "127.0.0.1", "-p", str(port), "-t", topic, "-t", probe, "-q", "1"]
        if persistent_id:
            command += ["-c", "-i", persistent_id]  # a persistent session: queued while we are away
        self.process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
        self.lines: list[str] = []
        self._subscribed = threading.Event()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()
        deadline = time.monotonic() + 15.0
        while not self._subscribed.wait(0.2):
            if time.monotonic() > deadline:
                self.close()
                raise AssertionError(f"mosquitto_sub did not subscribe to {topic} within 15 s")
            publish.single(probe, self._token, qos=0, hostname="127.0.0.1", port=port)

    def _read(self) -> None:
        assert self.process.stdout is not None
        for raw in self.process.stdout:
            line = raw.decode().rstrip("\n")
            if line == self._token:
                self._subscribed.set()
            else:
                self.lines.append(line)

    def close(self) -> None:
        self.process.terminate()
        self.process.wait(5)


def write_config(directory: Path, port: int, bundle: Path, extra: str = "", reconnect_s: int = 1) -> DaemonConfig:
    path = directory / "edge-lstm.toml"
    path.write_text(
        f'[mqtt]\nhost = "127.0.0.1"\nport = {port}\nclient_id = "test-daemon"\nreconnect_min_s = {reconnect_s}\n'
        f'reconnect_max_s = {reconnect_s + 1}\n\n[model]\nbundle = "{bundle}"\n\n'
        '[[streams]]\ntopic = "sensors/+/pump"\nformat = "json"\ntimestamp_field = "ts"\n\n'
        f'[outbox]\npath = "{directory}/outbox.jsonl"\nmax_alerts = 500\n' + extra
    )
    return load_config(path)


@contextmanager
def running_daemon(config: DaemonConfig) -> Iterator[Daemon]:
    from edge_lstm.service.shell import shutdown, start

    daemon, client = start(config)
    worker = threading.Thread(target=daemon.run, daemon=True)
    worker.start()
    try:
        wait_for(daemon.connected.is_set, 10, "the daemon to connect")
        yield daemon
    finally:
        daemon.stop()
        worker.join(10)
        shutdown(daemon, client, flush_s=1.0)
