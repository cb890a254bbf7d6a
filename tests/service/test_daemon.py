"""The daemon against a real mosquitto broker: end to end, broker outage, bad payloads, many streams."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion
from support import REPO
from support.mqtt import Broker, Subscriber, running_daemon, wait_for, write_config

from edge_lstm.tools import synthetic
from edge_lstm.tools.simulate import encode

pytestmark = pytest.mark.slow
SCHEMA = json.loads((REPO / "edge_lstm/schemas/alert.schema.json").read_text())


def publisher(port: int) -> mqtt.Client:
    client = mqtt.Client(callback_api_version=CallbackAPIVersion.VERSION2, client_id="test-publisher")
    client.connect("127.0.0.1", port)
    client.loop_start()
    return client


def faulty_payloads(n: int = 2500, seed: int = 4, start: int = 30_000, faults: bool = True) -> list[str]:
    make = synthetic.faulty_stream if faults else synthetic.normal_stream
    stream = make(n, seed=seed, start_index=start)
    rows = zip(stream.timestamps, stream.values, strict=True)
    return [encode(v, synthetic.FEATURES, "json", float(t)) for t, v in rows]


def publish_all(client: mqtt.Client, topic: str, payloads: list[str]) -> None:
    infos = [client.publish(topic, p, qos=1) for p in payloads]
    for info in infos:
        info.wait_for_publish(10)


def wait_until_quiet(daemon: object, total: int, timeout: float = 30) -> None:
    wait_for(
        lambda: daemon.counters["samples"] + daemon.counters["parse_errors"] >= total,
        timeout,  # type: ignore[attr-defined]
        f"{total} samples to be processed",
    )


def test_samples_in_alerts_out_to_an_independent_subscriber(tmp_path: Path, broker: Broker, bundle_dir: Path) -> None:
    import jsonschema

    config = write_config(tmp_path, broker.port, bundle_dir)
    collector = Subscriber(broker.port, "edge-lstm/+/alert")
    status = Subscriber(broker.port, "edge-lstm/test-daemon/status")
    try:
        with running_daemon(config) as daemon:
            client = publisher(broker.port)
            payloads = faulty_payloads()
            publish_all(client, "sensors/pump7/pump", payloads)
            wait_until_quiet(daemon, len(payloads))
            raised = daemon.counters["alert_start"] + daemon.counters["alert_clear"]
            wait_for(lambda: len(collector.lines) >= raised, 10, f"{raised} alerts at mosquitto_sub")
            client.disconnect()
            assert daemon.counters["alert_start"] >= 2
            daemon.publish_health()
        alerts = [json.loads(line) for line in collector.lines]
        for alert in alerts:
            jsonschema.validate(alert, SCHEMA)
        assert {a["stream"] for a in alerts} == {"pump7"}
        assert [a["sequence"] for a in alerts] == list(range(1, len(alerts) + 1))
        assert alerts[0]["event"] == "alert_start"
        wait_for(lambda: status.lines[-1:] == ["offline"], 5, "the offline status after shutdown")
        assert "online" in status.lines
    finally:
        collector.close()
        status.close()


def test_a_watched_channel_outside_the_model_alerts_through_the_broker(
    tmp_path: Path, broker: Broker, bundle_copy: Path
) -> None:
    """A bundle that watches a channel left out of its model: payloads that carry it are read by name,
    and its reading freezing reaches a subscriber as an alert naming it; payloads without it still score."""
    from edge_lstm.bundle import write_manifest

    manifest = json.loads((bundle_copy / "manifest.json").read_text())
    alerting, n = manifest["alerting"], len(manifest["features"])
    alerting["watched"] = ["spare"]
    alerting["stuck"] = {"after": [0] * n + [10], "low": [0.0] * (n + 1), "high": [0.0] * (n + 1)}
    alerting["jump"] = [0.0] * (n + 1)
    write_manifest(bundle_copy, manifest, list(manifest["files"]))
    config = write_config(tmp_path, broker.port, bundle_copy)
    collector = Subscriber(broker.port, "edge-lstm/+/alert")
    stream = synthetic.normal_stream(600, seed=6, start_index=40_000)
    spare = np.cumsum(np.random.default_rng(6).normal(size=600))
    spare[300:360] = spare[299]  # frozen
    payloads = []
    for i, (t, v) in enumerate(zip(stream.timestamps, stream.values, strict=True)):
        document = json.loads(encode(v, synthetic.FEATURES, "json", float(t)))
        if i < 500:  # the last 100 lack it: still scored
            document["spare"] = float(spare[i])
        payloads.append(json.dumps(document))
    try:
        with running_daemon(config) as daemon:
            client = publisher(broker.port)
            publish_all(client, "sensors/pump7/pump", payloads)
            wait_until_quiet(daemon, len(payloads))
            wait_for(lambda: any('"spare":1.0' in line for line in collector.lines), 10, "the spare channel's alert")
            client.disconnect()
            assert daemon.counters["samples"] == 600 and daemon.counters["invalid"] == 0
        start = next(json.loads(line) for line in collector.lines if '"spare":1.0' in line)
        assert start["event"] == "alert_start" and start["index"] == 299 + 9
    finally:
        collector.close()


def test_alerts_raised_during_a_broker_outage_are_delivered_after_reconnect(
    tmp_path: Path, broker: Broker, bundle_dir: Path
) -> None:
    # The daemon retries after 3 s, the collector (mosquitto_sub) after 1 s: the collector is back
    # and subscribed before the daemon delivers, whatever the broker restored of its session.
    config = write_config(tmp_path, broker.port, bundle_dir, reconnect_s=3)
    collector = Subscriber(broker.port, "edge-lstm/+/alert", persistent_id="outage-collector")
    try:
        with running_daemon(config) as daemon:
            client = publisher(broker.port)
            publish_all(client, "sensors/probe/pump", faulty_payloads(100, seed=2, faults=False))  # subscribed
            wait_until_quiet(daemon, 100)
            client.disconnect()
            broker.stop()
            wait_for(lambda: not daemon.connected.is_set(), 10, "the daemon to notice the outage")
            # Samples keep arriving on the device side (the queue) while the broker is down.
            payloads = faulty_payloads(2500, seed=4)
            for payload in payloads:
                daemon.submit("sensors/pump7/pump", payload.encode())
            wait_until_quiet(daemon, 100 + len(payloads))
            raised = daemon.counters["alert_start"] + daemon.counters["alert_clear"]
            assert raised >= 2 and len(daemon.sink.outbox) == raised  # type: ignore[union-attr]
            broker.start()
            wait_for(daemon.connected.is_set, 15, "the daemon to reconnect")
            wait_for(lambda: len(collector.lines) >= raised, 15, f"{raised} alerts after the outage")
            wait_for(lambda: len(daemon.sink.outbox) == 0, 5, "the outbox to drain")  # type: ignore[union-attr]
            # Subscriptions were restored in on_connect: new samples are scored again.
            before = daemon.counters["samples"]
            client = publisher(broker.port)
            publish_all(client, "sensors/pump8/pump", faulty_payloads(50, seed=3))
            wait_for(lambda: daemon.counters["samples"] >= before + 50, 10, "samples after the reconnect")
            client.disconnect()
            assert daemon.counters["connects"] == 2
        alerts = [json.loads(line) for line in collector.lines]
        assert [a["sequence"] for a in alerts if a["stream"] == "pump7"] == list(range(1, raised + 1))
    finally:
        collector.close()


REST = b'"motor_current": 1, "bearing_temp": 1, "pressure": 1, "flow": 1'
BAD_PAYLOADS = {
    b"not json at all": "parse_error.not_json",
    b"\xff\xfe\x00binary": "parse_error.not_utf8",
    b"[1, 2, 3]": "parse_error.wrong_type",
    b'{"vibration": 1.0}': "parse_error.missing_field",
    b'{"vibration": "loud", ' + REST + b', "ts": 5}': "parse_error.not_a_number",
    b'{"vibration": 1, ' + REST + b', "ts": "soon"}': "parse_error.bad_timestamp",
    b'{"vibration": null, ' + REST + b', "ts": 7}': "skipped.invalid",
    b'{"vibration": "NaN", ' + REST + b', "ts": 8}': "skipped.invalid",
    b'{"vibration": 1e300, ' + REST + b', "ts": 9}': "skipped.invalid",
    b"": "parse_error.not_json",
    b"{" * 5000: "parse_error.not_json",
}


def test_a_corpus_of_malformed_payloads_is_counted_and_crashes_nothing(
    tmp_path: Path, broker: Broker, bundle_dir: Path
) -> None:
    config = write_config(tmp_path, broker.port, bundle_dir)
    with running_daemon(config) as daemon:
        client = publisher(broker.port)
        good = faulty_payloads(40, seed=6)
        stream = [p.encode() for p in good[:20]] + list(BAD_PAYLOADS) * 3 + [p.encode() for p in good[20:]]
        for payload in stream:
            client.publish("sensors/bad/pump", payload, qos=1).wait_for_publish(5)
        wait_until_quiet(daemon, len(stream))
        client.disconnect()
        expected: dict[str, int] = {}
        for reason in BAD_PAYLOADS.values():
            expected[reason] = expected.get(reason, 0) + 3
        for key, count in expected.items():
            assert daemon.counters[key] == count, key
        assert daemon.counters["parse_errors"] == sum(v for k, v in expected.items() if k.startswith("parse_error."))
        detector = daemon.streams[(0, "bad")].detector
        assert detector.counters.samples == 40 + 9 and detector.counters.invalid == 9
        health = daemon.health()
        assert health["parse_errors"] == daemon.counters["parse_errors"] and health["dropped"] == 0


def test_payloads_of_several_samples_score_each_as_if_it_came_alone(
    tmp_path: Path, broker: Broker, bundle_dir: Path
) -> None:
    from edge_lstm.service.worker import Daemon

    config = write_config(tmp_path, broker.port, bundle_dir)
    payloads = faulty_payloads(1500, seed=5)
    alone = Daemon(config)
    expected: list[tuple[str, int, float]] = []
    alone.listeners.append(lambda e: expected.append((e.event, e.index, e.score)))
    alone.process([("sensors/pump7/pump", p.encode(), 0.0) for p in payloads])
    # Firmware that buffers readings: ten samples per message, the last message with one bad sample.
    batches = ["[" + ",".join(payloads[i : i + 10]) + "]" for i in range(0, len(payloads), 10)]
    batches.append('[{"vibration": 1.0}, ' + payloads[0] + "]")
    with running_daemon(config) as daemon:
        seen: list[tuple[str, int, float]] = []
        daemon.listeners.append(lambda e: seen.append((e.event, e.index, e.score)))
        client = publisher(broker.port)
        publish_all(client, "sensors/pump7/pump", batches)
        wait_until_quiet(daemon, len(payloads) + 2)
        client.disconnect()
    assert len(expected) >= 2
    assert [e[:2] for e in seen] == [e[:2] for e in expected]
    np.testing.assert_allclose([e[2] for e in seen], [e[2] for e in expected], rtol=1e-6)
    assert daemon.counters["parse_error.missing_field"] == 1
    # The batch's good sample repeats an old timestamp: the detector counts it, it is not lost silently.
    assert daemon.counters["samples"] == len(payloads) + 1


def test_several_streams_at_once_give_the_same_alerts_as_each_alone(tmp_path: Path, bundle_dir: Path) -> None:
    from edge_lstm.config import load_config
    from edge_lstm.service.worker import Daemon

    config_path = tmp_path / "c.toml"
    config_path.write_text(f'[model]\nbundle = "{bundle_dir}"\n[[streams]]\ntopic = "m/+"\ntimestamp_field = "ts"\n')
    config = load_config(config_path)
    payloads = {f"m/s{i}": faulty_payloads(1500, seed=10 + i, start=40_000 + 2000 * i) for i in range(3)}

    def events_of(daemon: Daemon) -> list[tuple[str, str, int, float]]:
        seen: list[tuple[str, str, int, float]] = []
        daemon.listeners.append(lambda e: seen.append((e.stream, e.event, e.index, e.score)))
        return seen

    together = Daemon(config)
    joint = events_of(together)
    items = [(topic, p[t].encode(), 0.0) for t in range(1500) for topic, p in payloads.items()]
    for start in range(0, len(items), 97):  # arrive in uneven bursts, as from a network
        together.process(items[start : start + 97])
    alone: list[tuple[str, str, int, float]] = []
    for topic, p in payloads.items():
        single = Daemon(config)
        own = events_of(single)
        single.process([(topic, x.encode(), 0.0) for x in p])
        alone.extend(own)
    assert len(joint) >= 6
    key = lambda e: (e[0], e[2])  # noqa: E731
    assert [e[:3] for e in sorted(joint, key=key)] == [e[:3] for e in sorted(alone, key=key)]
    np.testing.assert_allclose(
        [e[3] for e in sorted(joint, key=key)], [e[3] for e in sorted(alone, key=key)], rtol=1e-4
    )


def test_a_full_queue_drops_the_oldest_and_counts_it(
    tmp_path: Path, bundle_dir: Path, caplog: pytest.LogCaptureFixture
) -> None:
    from edge_lstm.config import load_config
    from edge_lstm.service.worker import Daemon

    config_path = tmp_path / "c.toml"
    config_path.write_text(f'[model]\nbundle = "{bundle_dir}"\n[[streams]]\ntopic = "m/+"\n[queue]\nmax_samples = 10\n')
    daemon = Daemon(load_config(config_path))
    for i in range(25):
        daemon.submit("m/a", f'{{"n": {i}}}'.encode())
    assert daemon.counters["dropped"] == 15
    assert [json.loads(f.payload)["n"] for f in daemon.source.queued()] == list(range(15, 25))
    assert daemon.health()["queue_depth"] == 10
    warnings = [r.getMessage() for r in caplog.records if "sample queue full" in r.getMessage()]
    assert len(warnings) == 1  # rate-limited: the first drop is reported, the rest are counted
    assert "dropped the oldest sample (from m/a)" in warnings[0]


def test_discovery_state_topics_and_alerts_left_from_a_previous_run(
    tmp_path: Path, broker: Broker, bundle_dir: Path
) -> None:
    from edge_lstm.sinks.outbox import Outbox

    # An alert that an earlier run could not deliver before it was stopped.
    Outbox(10, tmp_path / "outbox.jsonl").add("edge-lstm/old/alert", '{"left": "over"}')
    config = write_config(tmp_path, broker.port, bundle_dir, extra="[alerts]\nhomeassistant_discovery = true\n")
    alerts = Subscriber(broker.port, "edge-lstm/+/alert")
    with running_daemon(config) as daemon:
        wait_for(lambda: '{"left": "over"}' in alerts.lines, 10, "the journalled alert")
        client = publisher(broker.port)
        publish_all(client, "sensors/pump9/pump", faulty_payloads(2500, seed=4))
        wait_until_quiet(daemon, 2500)
        client.disconnect()
        alerting_at_end = daemon.streams[(0, "pump9")].detector.alerting
    # Retained messages: a subscriber that arrives later still gets them.
    discovery = Subscriber(broker.port, "homeassistant/binary_sensor/+/config")
    state = Subscriber(broker.port, "edge-lstm/pump9/state")
    try:
        wait_for(lambda: bool(discovery.lines) and bool(state.lines), 10, "retained discovery and state")
        config_message = json.loads(discovery.lines[0])
        assert config_message["state_topic"] == "edge-lstm/pump9/state"
        assert config_message["availability_topic"] == "edge-lstm/test-daemon/status"
        assert config_message["device_class"] == "problem" and config_message["unique_id"] == "edge_lstm_pump9"
        assert json.loads(state.lines[0])["state"] == ("alerting" if alerting_at_end else "normal")
        assert len(Outbox(10, tmp_path / "outbox.jsonl")) == 0
    finally:
        for sub in (alerts, discovery, state):
            sub.close()


def test_a_stream_learns_its_baseline_quietly_then_scores(
    tmp_path: Path, broker: Broker, bundle_copy: Path, caplog: pytest.LogCaptureFixture
) -> None:
    import logging

    manifest = json.loads((bundle_copy / "manifest.json").read_text())
    manifest["preprocessing"]["baseline"] = 50
    (bundle_copy / "manifest.json").write_text(json.dumps(manifest))
    config = write_config(tmp_path, broker.port, bundle_copy)
    caplog.set_level(logging.INFO, logger="edge_lstm")
    with running_daemon(config) as daemon:
        client = publisher(broker.port)
        payloads = faulty_payloads(120, seed=8, faults=False)
        publish_all(client, "sensors/new/pump", payloads)
        wait_until_quiet(daemon, len(payloads))
        client.disconnect()
        detector = daemon.streams[(0, "new")].detector
        assert detector.counters.baseline == 50 and detector.baseline is not None
        assert detector.counters.scored == 120 - 50 - detector.settings.warmup
        assert not [k for k in daemon.counters if k.startswith("skipped.")]  # learning is not an error
    assert "stream new: baseline learned from 50 samples" in caplog.text
    assert "sample skipped" not in caplog.text


@pytest.mark.parametrize("trouble", ["full", "read-only"])
def test_alerts_keep_flowing_when_the_outbox_journal_cannot_be_written(
    tmp_path: Path, broker: Broker, bundle_dir: Path, trouble: str
) -> None:
    from support.disk import fill, read_only, small_tmpfs

    from edge_lstm.sinks.outbox import Outbox

    collector = Subscriber(broker.port, "edge-lstm/+/alert")
    with small_tmpfs(tmp_path / "state", size_kb=64) as state:
        config = write_config(state, broker.port, bundle_dir)  # the journal: state/outbox.jsonl
        # Left by an earlier run, big enough that rewriting it at start needs pages a full disk lacks.
        left_over = json.dumps({"left": "over", "padding": "x" * 6000})
        Outbox(10, state / "outbox.jsonl").add("edge-lstm/old/alert", left_over)
        if trouble == "full":
            fill(state)
        else:
            read_only(state)
        try:
            with running_daemon(config) as daemon:
                wait_for(lambda: left_over in collector.lines, 10, "the journalled alert")
                client = publisher(broker.port)
                for batch, seed in enumerate((4, 5)):  # the worker keeps going after the first alerts
                    publish_all(client, f"sensors/pump{seed}/pump", faulty_payloads(2500, seed=seed))
                    wait_until_quiet(daemon, 2500 * (batch + 1))
                client.disconnect()
                raised = daemon.counters["alert_start"] + daemon.counters["alert_clear"]
                wait_for(lambda: len(collector.lines) >= 1 + raised, 10, f"{raised} alerts at mosquitto_sub")
                wait_for(lambda: len(daemon.sink.outbox) == 0, 10, "every alert acknowledged")  # type: ignore[union-attr]
                outbox = daemon.health()["outbox"]
                assert raised >= 4 and outbox["memory_only"] and outbox["journal_errors"] >= 1
        finally:
            collector.close()
