"""Daemon throughput and latency through a real broker: the figures in the README come from here.

Three processes, as on a device: mosquitto, the daemon (``edge-lstm run``, pinned to one core), and a
publisher (``edge-lstm simulate``, pinned to the other core where there is one). For each publish rate
the daemon is started fresh; its retained health message says how many samples it scored, dropped,
and its enqueue-to-scored latency. At the latency rate the publisher sends faulty streams and a
subscriber here measures publish-to-alert latency from each alert's sample timestamp.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np

from edge_lstm.config import MQTTSettings
from edge_lstm.errors import EdgeLSTMError, Unavailable
from edge_lstm.service.mqtt_client import make_client


class BenchError(EdgeLSTMError, RuntimeError):
    pass


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def temporary_broker(directory: Path) -> Iterator[int]:
    binary = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
    if not os.path.exists(binary):
        raise Unavailable("the MQTT benchmark needs mosquitto: apt-get install mosquitto")
    port = _free_port()
    conf = directory / "mosquitto.conf"
    # Queue limits raised so that the broker is not what limits the measurement.
    conf.write_text(
        f"listener {port} 127.0.0.1\nallow_anonymous true\nmax_queued_messages 1000000\nset_tcp_nodelay true\n"
    )
    process = subprocess.Popen([binary, "-c", str(conf)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            with socket.socket() as sock:
                if sock.connect_ex(("127.0.0.1", port)) == 0:
                    break
            time.sleep(0.05)
        yield port
    finally:
        process.terminate()
        process.wait(10)


def _pin(core: int) -> Callable[[], None] | None:
    if not hasattr(os, "sched_setaffinity") or os.cpu_count() is None:
        return None
    cores = sorted(os.sched_getaffinity(0))
    chosen = {cores[core % len(cores)]}
    return lambda: os.sched_setaffinity(0, chosen)


class Watcher:
    """Subscribes to the daemon's health, status and alerts; keeps the latest of each."""

    def __init__(self, port: int, client_id: str) -> None:
        self.health: dict[str, Any] = {}
        self.online = threading.Event()
        self.alert_latencies: list[float] = []
        self._client = make_client(MQTTSettings(host="127.0.0.1", port=port), client_id=f"bench-watch-{client_id}")
        self._client.on_connect = lambda c, *_: c.subscribe([(f"edge-lstm/{client_id}/#", 0), ("bench/+/alert", 1)])
        self._client.on_message = self._on_message
        self._client.connect("127.0.0.1", port)
        self._client.loop_start()

    def _on_message(self, _client: Any, _userdata: Any, message: Any) -> None:
        now = time.time()
        if message.topic.endswith("/status") and message.payload == b"online":
            self.online.set()
        elif message.topic.endswith("/health"):
            self.health = json.loads(message.payload)
        elif message.topic.endswith("/alert"):
            alert = json.loads(message.payload)
            if alert.get("timestamp"):
                self.alert_latencies.append(now - alert["timestamp"])

    def close(self) -> None:
        self._client.disconnect()
        self._client.loop_stop()


def _one_run(
    bundle: Path, port: int, directory: Path, rate: float, seconds: float, streams: int, faults: bool, batch: int = 1
) -> dict[str, Any]:
    client_id = f"bench{int(rate)}"
    config = directory / f"{client_id}.toml"
    config.write_text(
        f'[mqtt]\nhost = "127.0.0.1"\nport = {port}\nclient_id = "{client_id}"\nqos = 0\n'
        f'[model]\nbundle = "{bundle}"\n[[streams]]\ntopic = "bench/+/samples"\ntimestamp_field = "ts"\n'
        f'[alerts]\ntopic = "bench/{{stream}}/alert"\nstate_topic = ""\n[status]\nhealth_interval_s = 0.2\n'
        f"[queue]\nmax_samples = 100000\n"
    )
    watcher = Watcher(port, client_id)
    command = [sys.executable, "-m", "edge_lstm"]
    log_path = directory / f"{client_id}.log"
    log_file = log_path.open("w")  # a file, not a pipe: an unread pipe would block the daemon when full
    daemon = subprocess.Popen(
        [*command, "run", "--config", str(config), "--log-level", "warning"],
        preexec_fn=_pin(0),
        stdout=subprocess.DEVNULL,
        stderr=log_file,
    )
    try:
        if not watcher.online.wait(30):
            raise BenchError(f"the daemon did not come online: {log_path.read_text()[-2000:]}")
        per_stream = max(1, int(rate * seconds / streams))
        total = per_stream * streams
        started = time.perf_counter()
        subprocess.run(
            [
                *command,
                "simulate",
                "--port",
                str(port),
                "--topic",
                "bench/{stream}/samples",
                "--rate",
                str(rate),
                "--streams",
                str(streams),
                "--count",
                str(per_stream),
                "--faults" if faults else "--no-faults",
                "--batch",
                str(batch),
            ],
            preexec_fn=_pin(1),
            check=True,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        publish_s = time.perf_counter() - started
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            counters = watcher.health.get("counters", {})
            if counters.get("samples", 0) + counters.get("parse_errors", 0) + watcher.health.get("dropped", 0) >= total:
                break
            time.sleep(0.1)
        done_s = time.perf_counter() - started
        time.sleep(0.6)  # one more health message, after the last sample
        health = watcher.health
        scored = health.get("counters", {}).get("samples", 0)
        latencies = np.array(watcher.alert_latencies) * 1e3
        return {
            "target_rate": rate,
            "published": total,
            "publish_rate": round(total / publish_s, 1),
            "processed": scored,
            "lost": total - scored,
            "dropped_in_queue": health.get("dropped", 0),
            "throughput": round(scored / done_s, 1),
            "enqueue_to_scored_ms": health.get("latency_ms", {}),
            "alerts": len(latencies),
            "publish_to_alert_ms": {
                "p50": round(float(np.quantile(latencies, 0.5)), 3),
                "p99": round(float(np.quantile(latencies, 0.99)), 3),
            }
            if latencies.size
            else {},
        }
    finally:
        daemon.terminate()
        try:
            daemon.wait(20)
        except subprocess.TimeoutExpired:
            daemon.kill()
            detail = log_path.read_text()[-2000:]
            raise BenchError(f"the daemon did not stop within 20 s of SIGTERM: {detail}") from None
        finally:
            log_file.close()
            watcher.close()


def run_mqtt_benchmark(
    bundle: Path,
    rates: list[float],
    seconds: float,
    streams: int,
    latency_rate: float,
    latency_seconds: float,
    log: Callable[[str], None] = print,
    batch: int = 1,
) -> dict[str, Any]:
    """Each rate in ``rates`` (samples/s) for ``seconds`` over ``streams`` streams, ``batch`` samples of a
    stream per message; then publish-to-alert latency at ``latency_rate`` (one sample per message)."""
    results: dict[str, Any] = {
        "cores": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None,
        "streams": streams,
        "samples_per_message": batch,
        "runs": [],
    }
    with tempfile.TemporaryDirectory(prefix="edge-lstm-bench-") as tmp, temporary_broker(Path(tmp)) as port:
        for rate in rates:
            run = _one_run(bundle.resolve(), port, Path(tmp), rate, seconds, streams, False, batch)
            log(
                f"rate {rate:>7.0f}/s: published at {run['publish_rate']:>8.0f}/s, scored {run['processed']}"
                f"/{run['published']} (lost {run['lost']}), throughput {run['throughput']:.0f}/s, enqueue->scored "
                f"p50 {run['enqueue_to_scored_ms'].get('p50')} ms p99 {run['enqueue_to_scored_ms'].get('p99')} ms"
            )
            results["runs"].append(run)
        latency = _one_run(bundle.resolve(), port, Path(tmp), latency_rate, latency_seconds, 10, faults=True)
        log(
            f"latency at {latency_rate:.0f}/s over 10 faulty streams: {latency['alerts']} alerts, publish->alert "
            f"p50 {latency['publish_to_alert_ms'].get('p50')} ms p99 {latency['publish_to_alert_ms'].get('p99')} ms; "
            f"enqueue->scored p50 {latency['enqueue_to_scored_ms'].get('p50')} ms "
            f"p99 {latency['enqueue_to_scored_ms'].get('p99')} ms; lost {latency['lost']}"
        )
        results["latency"] = latency
    lossless = [r["throughput"] for r in results["runs"] if r["lost"] == 0]
    results["max_lossless_throughput"] = max(lossless) if lossless else 0.0
    return results
