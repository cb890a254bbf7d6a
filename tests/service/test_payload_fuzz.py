"""Arbitrary bytes and arbitrary JSON on a routed topic: never an exception, every sample scored or counted."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from edge_lstm.config import load_config
from edge_lstm.service.worker import Daemon

json_values = st.recursive(
    st.none() | st.booleans() | st.floats(allow_nan=False) | st.integers() | st.text(max_size=8),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4),
    max_leaves=12,
)
feature_objects = st.fixed_dictionaries(
    {},
    optional={
        name: st.one_of(st.floats(allow_nan=True, allow_infinity=True), st.none(), st.text(max_size=5))
        for name in ("vibration", "motor_current", "bearing_temp", "pressure", "flow", "ts")
    },
)
payloads = st.one_of(
    st.binary(max_size=64),
    json_values.map(lambda v: json.dumps(v).encode()),
    feature_objects.map(lambda v: json.dumps(v).encode()),
    st.lists(feature_objects, min_size=1, max_size=4).map(lambda v: json.dumps(v).encode()),  # batches
)


def carried(payload: bytes) -> int:
    """How many samples a payload stands for: each object of a batch (a JSON array of objects), else one."""
    try:
        document = json.loads(payload)
    except (ValueError, RecursionError):
        return 1
    return len(document) if isinstance(document, list) and document and isinstance(document[0], dict) else 1


@pytest.fixture(scope="module")
def daemon(bundle_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Daemon:
    path = tmp_path_factory.mktemp("fuzz") / "c.toml"
    path.write_text(f'[model]\nbundle = "{bundle_dir}"\n[[streams]]\ntopic = "f/+"\ntimestamp_field = "ts"\n')
    return Daemon(load_config(path))


@pytest.mark.slow
@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(payloads, min_size=1, max_size=20))
def test_any_payload_is_parsed_or_counted(daemon: Daemon, batch: list[bytes]) -> None:
    before = daemon.counters["samples"] + daemon.counters["parse_errors"]
    daemon.process([("f/x", payload, 0.0) for payload in batch])
    assert daemon.counters["samples"] + daemon.counters["parse_errors"] == before + sum(map(carried, batch))


@pytest.fixture(scope="module")
def serial_daemon(bundle_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Daemon:
    path = tmp_path_factory.mktemp("fuzz-serial") / "c.toml"
    ports = "".join(
        f'[[serial]]\nport = "/nonexistent/{fmt}"\nname = "{fmt}"\nformat = "{fmt}"\n{extra}'
        for fmt, extra in (("forwarder", ""), ("csv", 'checksum = "nmea"\n'), ("json", ""))
    )
    path.write_text(f'[model]\nbundle = "{bundle_dir}"\n{ports}')
    return Daemon(load_config(path))


@pytest.mark.slow
@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.binary(max_size=80), min_size=1, max_size=30), st.sampled_from(["forwarder", "csv", "json"]))
def test_any_bytes_on_a_serial_line_are_scored_or_counted(serial_daemon: Daemon, chunks: list[bytes], fmt: str) -> None:
    from edge_lstm.sources.lines import LineAssembler
    from edge_lstm.sources.serial_port import serial_topic

    assembler = LineAssembler(max_line=64)
    lines = [line for chunk in chunks for line in assembler.feed(chunk)]
    counters = serial_daemon.counters
    before = counters["samples"] + counters["parse_errors"] + counters["lines_without_sample"]
    serial_daemon.process([(serial_topic(fmt), line, 0.0) for line in lines])
    after = counters["samples"] + counters["parse_errors"] + counters["lines_without_sample"]
    assert after == before + len(lines)


def test_an_oversized_payload_is_refused_before_parsing(daemon: Daemon) -> None:
    before = daemon.counters["parse_error.too_large"]
    daemon.process([("f/x", b"[" * 70_000, 0.0)])  # deep nesting that json would have to walk
    assert daemon.counters["parse_error.too_large"] == before + 1
