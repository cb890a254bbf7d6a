"""SIGHUP: a new threshold keeps each stream's state, a new model resets only its streams, a broken
bundle or config is rejected and the running model keeps serving; systemd hears RELOADING and READY."""

from __future__ import annotations

import gc
import json
import shutil
import signal
import socket
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from support.mqtt import Broker, Subscriber, wait_for, write_config

from edge_lstm.config import load_config
from edge_lstm.service import heap
from edge_lstm.service.worker import Daemon
from edge_lstm.tools import synthetic
from edge_lstm.tools.simulate import encode


def frames(start: int, stop: int, topic: str = "m/pump") -> list[tuple[str, bytes, float]]:
    data = synthetic.normal_stream(stop, seed=2, start_index=10_000)
    rows = zip(data.timestamps[start:stop], data.values[start:stop], strict=True)
    return [(topic, encode(v, synthetic.FEATURES, "json", float(t)).encode(), 0.0) for t, v in rows]


def retrained(bundle: Path, directory: Path, model_id: str = "retrained-1") -> Path:
    """A copy of ``bundle`` under another model id: to the daemon, another model."""
    copy = directory / model_id
    shutil.copytree(bundle, copy)
    manifest = json.loads((copy / "manifest.json").read_text())
    manifest["model_id"] = model_id
    (copy / "manifest.json").write_text(json.dumps(manifest))
    return copy


def config(tmp_path: Path, bundle: Path, extra: str = "", fan_bundle: Path | None = None) -> Path:
    path = tmp_path / "c.toml"
    fan = f'[[streams]]\ntopic = "f/+"\ntimestamp_field = "ts"\nbundle = "{fan_bundle}"\n' if fan_bundle else ""
    path.write_text(f'[model]\nbundle = "{bundle}"\n[[streams]]\ntopic = "m/+"\ntimestamp_field = "ts"\n{extra}{fan}')
    return path


def test_a_threshold_change_keeps_state_and_a_model_change_resets_only_its_streams(
    tmp_path: Path, bundle_dir: Path
) -> None:
    fan = retrained(bundle_dir, tmp_path, "fan-1")
    daemon = Daemon(load_config(config(tmp_path, bundle_dir, fan_bundle=fan)))
    daemon.process(frames(0, 300) + frames(0, 300, "f/fan"))
    pump = daemon.streams[(0, "pump")]
    state = [s.copy() for s in pump.detector.state]

    config(tmp_path, bundle_dir, "threshold_quantile = 0.995\n", fan_bundle=retrained(bundle_dir, tmp_path, "fan-2"))
    assert daemon.reload()
    pump_after, fan_after = daemon.streams[(0, "pump")], daemon.streams[(1, "fan")]
    assert pump_after.detector is not pump.detector and pump_after.detector.counters.samples == 300
    assert all((a == b).all() for a, b in zip(pump_after.detector.state, state, strict=True))  # carried over
    assert fan_after.detector.settings.model_id == "fan-2" and fan_after.detector.counters.samples == 0  # reset
    assert daemon.models_in_use() == sorted(["fan-2", pump.detector.settings.model_id])

    assert daemon.reload()  # nothing changed: every stream carries on untouched
    assert daemon.streams[(0, "pump")].detector is pump_after.detector
    daemon.process(frames(300, 400))
    assert daemon.streams[(0, "pump")].detector.counters.samples == 400 and daemon.counters["reloads"] == 2


def test_a_corrupt_bundle_or_config_is_rejected_and_the_old_model_keeps_serving(
    tmp_path: Path, bundle_dir: Path, caplog: pytest.LogCaptureFixture
) -> None:
    bundle = retrained(bundle_dir, tmp_path, "current-1")
    path = config(tmp_path, bundle)
    daemon = Daemon(load_config(path))
    daemon.process(frames(0, 100))
    (bundle / "model.tflite").write_bytes(b"not a model")
    assert not daemon.reload()
    assert "reload rejected, still serving current-1" in caplog.text
    path.write_text(path.read_text() + "[mqtt]\nport = 0\n")
    assert not daemon.reload() and daemon.counters["reloads_rejected"] == 2
    daemon.process(frames(100, 200))
    assert daemon.streams[(0, "pump")].detector.counters.samples == 200


def test_reload_tells_systemd(tmp_path: Path, bundle_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    address = str(tmp_path / "notify.sock")
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as server:
        server.bind(address)
        server.settimeout(2)
        monkeypatch.setenv("NOTIFY_SOCKET", address)
        daemon = Daemon(load_config(config(tmp_path, bundle_dir)))
        assert daemon.reload()
        assert [server.recv(256), server.recv(256)] == [b"RELOADING=1", b"READY=1"]


def test_a_reload_freezes_the_heap_again(tmp_path: Path, bundle_dir: Path) -> None:
    """The old config's objects are thawed (they may be garbage now), what serves is frozen again."""
    daemon = Daemon(load_config(config(tmp_path, bundle_dir)))
    heap.thaw()
    try:
        assert gc.get_freeze_count() == 0
        assert daemon.reload()
        assert gc.get_freeze_count() > 0
    finally:
        heap.thaw()  # the rest of the test session collects as usual


@pytest.mark.slow
def test_sighup_swaps_the_model_of_a_running_daemon(tmp_path: Path, broker: Broker, bundle_dir: Path) -> None:
    live = tmp_path / "bundle"
    shutil.copytree(bundle_dir, live)
    write_config(tmp_path, broker.port, live, "[status]\nhealth_interval_s = 0.2\n")
    health = Subscriber(broker.port, "edge-lstm/test-daemon/health")
    log = tmp_path / "daemon.log"
    with log.open("ab") as out:
        command = [sys.executable, "-m", "edge_lstm", "run", "--config", str(tmp_path / "edge-lstm.toml")]
        process = subprocess.Popen(command, stdout=out, stderr=out)
    try:
        wait_for(lambda: b"confirmed the subscription" in log.read_bytes(), 20, "the daemon")
        old_id = json.loads((live / "manifest.json").read_text())["model_id"]
        shutil.rmtree(live)
        shutil.copytree(retrained(bundle_dir, tmp_path / "new", "swapped-1"), live)
        process.send_signal(signal.SIGHUP)
        wait_for(lambda: b"reloaded: serving swapped-1" in log.read_bytes(), 20, "the reload")
        wait_for(lambda: any('"swapped-1"' in line for line in health.lines), 10, "health with the new model")
        (live / "model.tflite").write_bytes(np.random.default_rng(0).bytes(2000))
        process.send_signal(signal.SIGHUP)
        wait_for(lambda: b"reload rejected, still serving swapped-1" in log.read_bytes(), 20, "the rejection")
        assert process.poll() is None and old_id != "swapped-1"
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(20)
        health.close()


def test_a_stalled_worker_stops_the_watchdog_pings(
    tmp_path: Path, bundle_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import threading
    import time

    address = str(tmp_path / "notify.sock")
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as server:
        server.bind(address)
        monkeypatch.setenv("NOTIFY_SOCKET", address)
        monkeypatch.setenv("WATCHDOG_USEC", "100000")  # a ping every 50 ms while the worker turns
        daemon = Daemon(load_config(config(tmp_path, bundle_dir)))
        process = daemon.process
        daemon.process = lambda frames: (time.sleep(1.0), process(frames))[1]  # type: ignore[method-assign]
        worker = threading.Thread(target=daemon.run, daemon=True)
        worker.start()
        pings: list[float] = []
        server.settimeout(0.5)
        deadline = time.monotonic() + 2.5
        stalled = False
        while time.monotonic() < deadline:
            try:
                message = server.recv(256)
            except TimeoutError:
                continue
            if message == b"WATCHDOG=1":
                pings.append(time.monotonic())
            if len(pings) == 5 and not stalled:
                daemon.submit("m/pump", frames(0, 1)[0][1])  # the worker now hangs for a second
                stalled = True
        daemon.stop()
        worker.join(5)
    gaps = np.diff(pings)
    assert gaps.max() >= 0.9 and np.median(gaps) < 0.2  # silent while stalled, regular otherwise
