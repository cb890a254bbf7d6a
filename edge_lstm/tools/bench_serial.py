"""Serial path throughput: lines written to socat pty pairs at a set rate, read, parsed and scored by
the daemon in this process (readers and worker as in ``edge-lstm run``, no broker needed).

A pty has no line speed, so these figures are the software's: at 115200 baud 8N1 a wire carries
11,520 bytes/s, e.g. 1,000 lines/s of up to 11 bytes, or 250 lines/s of the demo's 5 channels
with a checksum (46 bytes). Each scenario reports lines written, samples scored (nothing lost means
equal), the rate achieved and the process CPU time per line.
"""

from __future__ import annotations

import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from edge_lstm.config import load_config
from edge_lstm.tools.bench_engine import quiet_package_log
from edge_lstm.tools.ptys import PtyPair
from edge_lstm.tools.serial_writer import encode_line

# (ports, lines per second per port): one fast board, eight boards at 100 Hz, one board flat out.
SCENARIOS = ((1, 1000.0), (8, 100.0), (1, 0.0))


def run_serial_benchmark(bundle: Path, seconds: float = 5.0, log: Callable[[str], None] = print) -> dict[str, Any]:
    """Each scenario for ``seconds`` of writing; the figures as a dict."""
    from edge_lstm.bundle import load_bundle

    loaded = load_bundle(bundle)
    features = list(loaded.features)
    # Readings around the bundle's own operating point, so any bundle can be measured.
    rng = np.random.default_rng(7)
    rows = loaded.scaler.inverse(rng.normal(size=(5000, len(features))).astype(np.float32))
    lines = [encode_line(v, features, "forwarder", checksum=True) for v in rows]
    results = []
    bundle = bundle.resolve()  # the config lives in a temporary folder
    for ports, rate in SCENARIOS:
        with quiet_package_log():
            figures = _scenario(bundle, ports, rate, seconds, lines)
        log(
            f"{ports} port(s) at {'max' if not rate else f'{rate:.0f}'} lines/s: wrote {figures['lines_written']}, "
            f"scored {figures['samples_scored']} ({figures['lines_per_s']:.0f} lines/s, "
            f"{figures['cpu_us_per_line']:.0f} us CPU per line, lost {figures['lost']})"
        )
        results.append(figures)
    return {
        "scenarios": results,
        "line_bytes": len(lines[0]),
        "serial_lines_per_s_one_port_max": results[2]["lines_per_s"],
        "serial_lossless_1000_hz_one_port": results[0]["lost"] == 0,
        "serial_lossless_8_ports_100_hz": results[1]["lost"] == 0,
    }


def _scenario(bundle: Path, ports: int, rate: float, seconds: float, lines: list[bytes]) -> dict[str, Any]:
    from edge_lstm.service.worker import Daemon

    with tempfile.TemporaryDirectory(prefix="edge-lstm-bench-serial-") as folder:
        directory = Path(folder)
        pairs = [PtyPair(directory, f"tty{i}").start() for i in range(ports)]
        tables = "".join(
            f'[[serial]]\nport = "{p.device}"\nname = "board{i}"\nchecksum = "nmea"\n' for i, p in enumerate(pairs)
        )
        path = directory / "bench.toml"
        path.write_text(f'[model]\nbundle = "{bundle}"\n[queue]\nmax_samples = 1000000\n{tables}')
        daemon = Daemon(load_config(path))
        worker = threading.Thread(target=daemon.run, daemon=True)
        worker.start()
        try:
            _until(lambda: all(r.status.connected for r in daemon.serial.readers), 10)
            cpu, started = time.process_time(), time.perf_counter()
            written = _write(pairs, lines, rate, seconds)
            expected = written - ports  # each port's first line is dropped: it may be cut
            _until(lambda: daemon.counters["samples"] >= expected, 30)
            elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu
            scored = daemon.counters["samples"]
        finally:
            daemon.stop()
            worker.join(10)
            for pair in pairs:
                pair.stop()
    return {
        "ports": ports,
        "rate_per_port": rate,
        "lines_written": written,
        "samples_scored": scored,
        "lost": max(expected - scored, 0),
        "parse_errors": daemon.counters["parse_errors"],
        "lines_per_s": round(scored / elapsed, 1),
        "cpu_us_per_line": round(1e6 * cpu / max(scored, 1), 1),
    }


def _write(pairs: list[PtyPair], lines: list[bytes], rate: float, seconds: float) -> int:
    """Round-robin over the ports, paced at ``rate`` lines/s per port (0: as fast as possible)."""
    written, started = 0, time.perf_counter()
    tick = 0
    while time.perf_counter() - started < seconds:
        if rate > 0:
            delay = started + tick / rate - time.perf_counter()
            if delay > 0:
                time.sleep(delay)
        line = lines[tick % len(lines)]
        for pair in pairs:
            pair.write(line)
            written += 1
        tick += 1
    return written


def _until(predicate: Callable[[], bool], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not predicate() and time.monotonic() < deadline:
        time.sleep(0.01)
