"""Daemon configuration: validation with exact messages, precedence, and `check-config`."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from edge_lstm.cli import main
from edge_lstm.config import ConfigError, load_config
from edge_lstm.core.calibration import ThresholdRule
from edge_lstm.core.topics import stream_id
from edge_lstm.errors import ExitStatus, FrameError
from edge_lstm.sources.payload import PayloadParser

MINIMAL = '[model]\nbundle = "b"\n[[streams]]\ntopic = "sensors/+/pump"\n'


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(text)
    return path


def test_defaults_and_resolved_topics(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, MINIMAL))
    assert (config.mqtt.host, config.mqtt.port, config.mqtt.qos) == ("localhost", 1883, 1)
    assert config.status() == "edge-lstm/edge-lstm/status"
    assert config.streams[0].format == "json" and config.queue_size == 10_000


def test_a_serial_port_alone_is_a_config(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, SERIAL + 'fields = ["a", "b"]\ndtr = false\n'))
    assert config.streams == () and len(config.serial) == 1
    port = config.serial[0]
    assert (port.name, port.baud, port.format, port.checksum, port.dtr) == (
        "ttyUSB0",
        115200,
        "forwarder",
        "none",
        False,
    )
    assert port.fields == ("a", "b")


SERIAL = '[model]\nbundle = "b"\n[[serial]]\nport = "/dev/ttyUSB0"\n'


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[mqtt]\nport = 70000\n" + MINIMAL, r"\[mqtt\] port: must be between 1 and 65535, got 70000$"),
        ('[mqtt]\nport = "x"\n' + MINIMAL, r"\[mqtt\] port: expected int, got 'x'$"),
        ("[mqtt]\nqos = true\n" + MINIMAL, r"\[mqtt\] qos: expected int, got True$"),
        ('[mqtt]\nhots = "a"\n' + MINIMAL, r"unknown key \[mqtt\] 'hots'; allowed keys: client_id, host, "),
        ("[extra]\n" + MINIMAL, r"unknown section \[extra\]; known sections: "),
        ('[[streams]]\ntopic = "a"\n', r"\[model\] bundle: required \(the model bundle directory\)$"),
        ('[model]\nbundle = "b"\n', r"at least one \[\[streams\]\] or \[\[serial\]\] table is required$"),
        (MINIMAL + 'format = "xml"\n', r"\[streams\[1\]\] format: must be one of json, json_array, csv, got 'xml'$"),
        ('[model]\nbundle = "b"\n[[streams]]\ntopic = "a/b#"\n', r"'#' must be a whole last level, got 'a/b#'$"),
        (MINIMAL + "threshold = -1\n", r"\[streams\[1\]\] threshold: must be greater than 0, got -1$"),
        (MINIMAL + "threshold = inf\n", r"\[streams\[1\]\] threshold: must be a finite number, got inf$"),
        (
            MINIMAL + "threshold = 0.1\nthreshold_quantile = 0.99\n",
            r"\[streams\[1\]\] threshold_quantile: choose one of threshold, threshold_quantile, not several$",
        ),
        (
            MINIMAL + "threshold_quantile = 1.5\n",
            r"threshold_quantile: must be between 0 and 1 \(exclusive\), got 1.5$",
        ),
        (MINIMAL + "threshold_multiplier = 0\n", r"threshold_multiplier: must be greater than 0, got 0$"),
        ('[alerts]\ntopic = "alerts"\n' + MINIMAL, r"\[alerts\] topic: must contain \{stream\}"),
        ("[mqtt\n", r"not valid TOML"),
        ('[model]\nbundle = "b"\n[[serial]]\nbaud = 9600\n', r"\[serial\[1\]\] port: required"),
        (SERIAL + "baud = 10\n", r"\[serial\[1\]\] baud: must be between 50 and 4000000, got 10$"),
        (SERIAL + 'format = "xml"\n', r"\[serial\[1\]\] format: must be one of forwarder, csv, json, got 'xml'$"),
        (SERIAL + 'checksum = "crc"\n', r"\[serial\[1\]\] checksum: must be one of none, nmea, got 'crc'$"),
        (SERIAL + 'line_ending = "\\n"\n', r"\[serial\[1\]\] line_ending: must be one of lf, crlf, cr, got"),
        (SERIAL + 'dtr = "no"\n', r"\[serial\[1\]\] dtr: expected bool, got 'no'$"),
        (SERIAL + 'name = "a/b"\n', r"\[serial\[1\]\] name: must not contain '/', '\+' or '#'"),
        (SERIAL + 'parity = "N"\n', r"unknown key \[serial\[1\]\] 'parity'; allowed keys: baud, bundle, "),
        (SERIAL + '[[serial]]\nport = "/dev/ttyUSB1"\nname = "ttyUSB0"\n', r"name 'ttyUSB0' is used by more than one"),
        (
            '[model]\nbundle = "b"\n[serial]\nport = "x"\n',
            r"\[serial\] must be an array of tables: write \[\[serial\]\]$",
        ),
    ],
)
def test_invalid_configs_name_the_key(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        load_config(write(tmp_path, text))


def test_a_config_file_in_another_encoding_is_named_or_read(tmp_path: Path) -> None:
    """Windows editors save TOML with a byte-order mark (read as it is meant) or in Latin-1 / UTF-16
    (refused by name: TOML is UTF-8), never an internal error."""
    path = tmp_path / "config.toml"
    path.write_bytes(b"\xef\xbb\xbf" + MINIMAL.encode())
    assert load_config(path).streams[0].topic
    path.write_bytes(("# Temperatur in \u00b0C\n" + MINIMAL).encode("latin-1"))
    latin = r"config.toml: not UTF-8 text \(byte 16: b'\\xb0'\); TOML files are UTF-8: save"
    with pytest.raises(ConfigError, match=latin):
        load_config(path)
    path.write_bytes(MINIMAL.encode("utf-16"))
    with pytest.raises(ConfigError, match=r"config.toml: not UTF-8 text \(byte 0: b'\\xff'\)"):
        load_config(path)


def test_precedence_flag_over_env_over_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = write(tmp_path, '[mqtt]\nhost = "file-host"\nport = 1000\npassword_file = "pw"\n' + MINIMAL)
    (tmp_path / "pw").write_text("from-file\n")
    monkeypatch.chdir(tmp_path)
    assert load_config(path).mqtt.host == "file-host" and load_config(path).mqtt.password == "from-file"
    monkeypatch.setenv("EDGE_LSTM_MQTT_HOST", "env-host")
    monkeypatch.setenv("EDGE_LSTM_MQTT_PASSWORD", "from-env")
    assert load_config(path).mqtt.host == "env-host" and load_config(path).mqtt.password == "from-env"
    assert load_config(path, {"host": "flag-host"}).mqtt.host == "flag-host"
    assert "from-env" not in repr(load_config(path).mqtt)


def test_unreadable_password_file(tmp_path: Path) -> None:
    path = write(tmp_path, f'[mqtt]\npassword_file = "{tmp_path}/absent"\n' + MINIMAL)
    with pytest.raises(ConfigError, match=r"\[mqtt\] password_file: cannot read .*absent \(No such file"):
        load_config(path)


def test_check_config_exits_78_for_a_bad_config_and_a_missing_bundle(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["check-config", str(write(tmp_path, "[mqtt]\nport = 0\n" + MINIMAL))])
    assert result.exit_code == ExitStatus.CONFIG
    assert result.output.strip().endswith("[mqtt] port: must be between 1 and 65535, got 0")
    result = CliRunner().invoke(main, ["check-config", str(write(tmp_path, MINIMAL))])
    assert result.exit_code == ExitStatus.CONFIG
    # A relative bundle path in a config means the config file's folder, not the working directory.
    assert f"[[streams]] 1: {tmp_path / 'b'}: bundle directory not found" in result.output


@pytest.mark.slow
def test_check_config_against_the_bundle_features(tmp_path: Path, bundle_dir: Path) -> None:
    good = f'[model]\nbundle = "{bundle_dir}"\n[[streams]]\ntopic = "s/+"\n'
    result = CliRunner().invoke(main, ["check-config", str(write(tmp_path, good))])
    assert result.exit_code == 0, result.output
    assert "5 features" in result.output
    bad = good + 'format = "csv"\nfields = ["vibration", "flow"]\n'
    result = CliRunner().invoke(main, ["check-config", str(write(tmp_path, bad))])
    assert result.exit_code == ExitStatus.CONFIG
    assert "lack the model feature 'motor_current'" in result.output


@pytest.mark.slow
def test_check_config_says_when_a_bundle_compares_with_a_lag_ago_but_samples_carry_no_time(
    tmp_path: Path, bundle_dir: Path
) -> None:
    """The watch of the same time a week or a day ago needs each sample's time: a stream without a
    timestamp field, or a serial port (its lines carry none), is told that the watch is off there."""
    import json
    import shutil

    bundle = tmp_path / "bundle"
    shutil.copytree(bundle_dir, bundle)
    manifest = json.loads((bundle / "manifest.json").read_text())
    manifest["alerting"]["seasonal"] = {"lag_s": 86400.0, "bins": 288, "span": 16, "after": 4, "bound": [0.5] * 5}
    (bundle / "manifest.json").write_text(json.dumps(manifest))
    streams = f'[model]\nbundle = "{bundle}"\n[[streams]]\ntopic = "s/+"\n'
    timed = streams + 'timestamp_field = "ts"\n[[serial]]\nport = "/dev/ttyUSB0"\nname = "pump"\n'
    result = CliRunner().invoke(main, ["check-config", str(write(tmp_path, timed))])
    assert result.exit_code == 0, result.output
    lines = [line for line in result.output.splitlines() if "WARNING" in line]
    warning = "WARNING: the bundle's watch of the same time a week or a day ago is off here"
    assert len(lines) == 1 and lines[0].strip().startswith("serial 1:")
    assert lines[0].endswith(f"; {warning} (serial lines carry no timestamp)")
    result = CliRunner().invoke(main, ["check-config", str(write(tmp_path, streams))])
    assert result.output.splitlines()[1].endswith(f"; {warning} (its payloads carry no timestamp)")


def test_stream_ids_come_from_the_topic() -> None:
    assert stream_id("sensors/+/pump", "sensors/p7/pump") == "p7"
    assert stream_id("plant/#", "plant/line1/pump2") == "line1/pump2"
    assert stream_id("a/b", "a/b") == "b"
    assert stream_id("sensors/+/pump", "sensors/p7/fan") is None
    assert stream_id("sensors/+/pump", "sensors/p7/pump/x") is None


def test_payload_formats_map_fields_to_the_feature_order() -> None:
    features = ("a", "b")
    parse = PayloadParser("json", features, timestamp_field="ts").parse
    values, ts = parse(b'{"b": 2, "a": "1.5", "ts": "2026-01-01T00:00:01"}')
    assert list(values) == [1.5, 2.0] and ts == 1767225601.0
    values, ts = PayloadParser("csv", features, fields=("b", "a"), timestamp_field="first").parse(b"10,2,1\n")
    assert list(values) == [1.0, 2.0] and ts == 10.0
    values, _ = PayloadParser("json_array", features).parse(b"[1, null]")
    assert values[0] == 1.0 and values[1] != values[1]  # null is NaN, never 0
    with pytest.raises(FrameError, match=r"array has 3 values, expected 2"):
        PayloadParser("json_array", features).parse(b"[1, 2, 3]")


def test_a_stream_recalibrates_its_threshold_from_the_bundle_scores(tmp_path: Path, bundle_dir: Path) -> None:
    import json
    import shutil

    from edge_lstm.bundle import BundleError, load_bundle

    bundle = load_bundle(bundle_dir)
    own = bundle.manifest["threshold"]
    assert own["method"] == "quantile"  # thousands of calibration scores: training keeps a fixed level
    adaptive = bundle.detector_settings(rule=ThresholdRule("adaptive", 3.0))
    assert adaptive.adaptive is not None and adaptive.calibration is not None and adaptive.spot is None
    assert bundle.recalibrated(ThresholdRule.from_section(own))["value"] == pytest.approx(own["value"])
    loose = bundle.detector_settings(rule=ThresholdRule("max", 2.0))
    assert loose.threshold == pytest.approx(2.0 * float(bundle.calibration_scores().max()))
    assert loose.spot is None and loose.adaptive is None
    spot = bundle.detector_settings(rule=ThresholdRule("spot", 1e-3))
    assert spot.spot is not None and spot.spot["q"] == 1e-3

    config = f'[model]\nbundle = "{bundle_dir}"\n[[streams]]\ntopic = "s/+"\nthreshold_multiplier = 2.0\n'
    result = CliRunner().invoke(main, ["check-config", str(write(tmp_path, config))])
    assert result.exit_code == 0, result.output
    assert f"threshold {loose.threshold:.4g} (2 x max, recalibrated)" in result.output

    # A bundle from before calibration scores were stored says what to do instead.
    old = tmp_path / "old"
    shutil.copytree(bundle_dir, old)
    manifest = json.loads((old / "manifest.json").read_text())
    del manifest["files"]["calibration_scores.npy"]
    (old / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(BundleError, match=r"stores no calibration scores .* set an absolute threshold instead"):
        load_bundle(old).detector_settings(rule=ThresholdRule("quantile", 0.99))


@pytest.mark.parametrize(
    ("env", "args", "message"),
    [
        (
            {"EDGE_LSTM_MQTT_PORT": "abc"},
            [],
            "EDGE_LSTM_MQTT_PORT: the MQTT port must be an integer between 1 and 65535, got 'abc'",
        ),
        ({}, ["--port", "70000"], "--port: the MQTT port must be between 1 and 65535, got 70000"),
    ],
)
def test_a_port_from_a_flag_or_the_environment_is_validated_like_one_from_the_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, env: dict[str, str], args: list[str], message: str
) -> None:
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    result = CliRunner().invoke(main, ["run", "--config", str(write(tmp_path, MINIMAL)), *args])
    assert result.exit_code == ExitStatus.CONFIG  # systemd does not restart-loop on 78
    assert result.output.strip().endswith(message)


def test_the_operator_tools_read_the_environment_without_a_config(monkeypatch: pytest.MonkeyPatch) -> None:
    from edge_lstm.config import mqtt_settings_from

    monkeypatch.setenv("EDGE_LSTM_MQTT_HOST", "broker.lan")
    monkeypatch.setenv("EDGE_LSTM_MQTT_PORT", "1884")
    monkeypatch.setenv("EDGE_LSTM_MQTT_USERNAME", "viewer")
    settings = mqtt_settings_from(None)
    assert (settings.host, settings.port, settings.username) == ("broker.lan", 1884, "viewer")
    assert mqtt_settings_from(None, {"host": "other", "port": None}).host == "other"  # a flag still wins
    monkeypatch.setenv("EDGE_LSTM_MQTT_PORT", "0")
    result = CliRunner().invoke(main, ["alerts", "--timeout", "1"])
    assert result.exit_code == ExitStatus.CONFIG
    assert "EDGE_LSTM_MQTT_PORT: the MQTT port must be between 1 and 65535, got 0" in result.output


def test_relative_paths_in_a_config_mean_the_config_files_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = tmp_path / "etc"
    folder.mkdir()
    (folder / "secret").write_text("s3cret\n")
    text = '[mqtt]\npassword_file = "secret"\n[outbox]\npath = "state/outbox.jsonl"\n' + MINIMAL
    monkeypatch.chdir(tmp_path)  # a service runs elsewhere (systemd: /)
    config = load_config(write(folder, text))
    assert config.bundle == str(folder / "b") and config.outbox_path == str(folder / "state/outbox.jsonl")
    assert config.mqtt.password == "s3cret"
    monkeypatch.setenv("EDGE_LSTM_BUNDLE", "from-env")  # given on the command line or environment: as given
    assert load_config(folder / "config.toml").bundle == "from-env"
