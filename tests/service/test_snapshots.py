"""State across restarts: snapshot files that are torn, corrupt or foreign are ignored with a line in
the log; a snapshot of another model starts its streams afresh; one of the same model carries on."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest

from edge_lstm.config import load_config
from edge_lstm.service.snapshots import FILE_NAME, VERSION, read_snapshot, write_snapshot
from edge_lstm.service.worker import Daemon
from edge_lstm.tools import synthetic
from edge_lstm.tools.simulate import encode


def config_file(tmp_path: Path, bundle: Path) -> Path:
    tmp_path.mkdir(parents=True, exist_ok=True)
    path = tmp_path / "c.toml"
    path.write_text(
        f'[model]\nbundle = "{bundle}"\n[[streams]]\ntopic = "m/+"\ntimestamp_field = "ts"\n'
        f'[state]\ndirectory = "{tmp_path / "state"}"\nsnapshot_interval_s = 60\n'
    )
    return path


def frames(start: int, stop: int) -> list[tuple[str, bytes, float]]:
    data = synthetic.faulty_stream(3000, seed=4, start_index=30_000)
    return [
        ("m/pump", encode(data.values[i], synthetic.FEATURES, "json", float(data.timestamps[i])).encode(), 0.0)
        for i in range(start, stop)
    ]


def test_a_damaged_snapshot_is_ignored_with_a_reason(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)
    path = write_snapshot(tmp_path, {"s": {"detector": {"x": 1.5}}})
    assert read_snapshot(tmp_path) == {"s": {"detector": {"x": 1.5}}}
    whole = path.read_bytes()
    damaged = {
        "torn": whole[:-7],
        "checksum mismatch": whole[:-3] + b"9" + whole[-2:],
        "not a snapshot": b'{"streams": {}}',
        # An older daemon's snapshot: its streams' state may lack what this one keeps.
        f"version {VERSION - 1}, this daemon reads version {VERSION}": whole.replace(
            f'"version": {VERSION}'.encode(), f'"version": {VERSION - 1}'.encode(), 1
        ),
    }
    for reason, raw in damaged.items():
        path.write_bytes(raw)
        caplog.clear()
        assert read_snapshot(tmp_path) is None
        assert reason in caplog.text and "ignored" in caplog.text, caplog.text


def test_streams_carry_on_from_a_snapshot_of_the_same_model(tmp_path: Path, bundle_dir: Path) -> None:
    config = load_config(config_file(tmp_path, bundle_dir))
    uninterrupted = Daemon(load_config(config_file(tmp_path / "other", bundle_dir)))
    first = Daemon(config)
    events: dict[str, list[tuple[str, int, float]]] = {"whole": [], "split": []}
    uninterrupted.listeners.append(lambda e: events["whole"].append((e.event, e.sequence, e.score)))
    first.listeners.append(lambda e: events["split"].append((e.event, e.sequence, e.score)))
    uninterrupted.process(frames(0, 3000))
    first.process(frames(0, 1400))
    first.snapshot()
    second = Daemon(config)
    assert second.counters["streams_restored"] == 1
    second.listeners.append(lambda e: events["split"].append((e.event, e.sequence, e.score)))
    second.process(frames(1000, 3000))  # a resent stretch: what the snapshot has seen is skipped
    assert events["split"] == events["whole"] and len(events["whole"]) >= 2
    counters = second.streams[(0, "pump")].detector.counters
    assert (counters.out_of_order, counters.duplicates) == (399, 1)  # the last one seen is a duplicate


def test_a_snapshot_of_another_model_starts_the_streams_afresh(
    tmp_path: Path, bundle_dir: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    daemon = Daemon(load_config(config_file(tmp_path, bundle_dir)))
    daemon.process(frames(0, 300))
    daemon.snapshot()
    snapshot = tmp_path / "state" / FILE_NAME
    _, body = snapshot.read_bytes().split(b"\n", 1)
    document = json.loads(body)
    for entry in document["streams"].values():
        entry["model_id"] = "older-model"
    write_snapshot(tmp_path / "state", document["streams"])
    again = Daemon(load_config(config_file(tmp_path, bundle_dir)))
    assert again.streams == {} and again.counters["streams_restored"] == 0
    assert "stream pump was scored by older-model, now" in caplog.text and "starts afresh" in caplog.text


def test_a_snapshot_that_cannot_be_written_is_counted_not_fatal(tmp_path: Path, bundle_dir: Path) -> None:
    daemon = Daemon(load_config(config_file(tmp_path, bundle_dir)))
    daemon.process(frames(0, 100))
    (tmp_path / "state").write_text("a file where the directory should be")
    daemon.snapshot()
    assert daemon.counters["snapshot_errors"] == 1 and daemon.counters["samples"] == 100
