"""TLS and authentication against a real mosquitto with a TLS listener, a client-certificate requirement
and a password file; the certificates are made in the test. Each way of getting it wrong is named."""

from __future__ import annotations

import logging
import os
import subprocess
import time
from pathlib import Path

import pytest
from support.certs import Authority
from support.mqtt import free_port, require, wait_for

from edge_lstm.config import load_config
from edge_lstm.config.mqtt import MQTTSettings
from edge_lstm.errors import ConfigError
from edge_lstm.service.mqtt_client import explain_connection_failure

pytestmark = pytest.mark.slow


class Pki:
    def __init__(self, directory: Path) -> None:
        self.ca = Authority(directory, "ca")
        self.other_ca = Authority(directory, "other-ca")
        self.server = self.ca.issue("broker", ("localhost", "127.0.0.1"))
        self.server_expired = self.ca.issue("broker-expired", ("localhost", "127.0.0.1"), expired=True)
        self.server_elsewhere = self.ca.issue("broker-elsewhere", ("mqtt.example.org",))
        self.client = self.ca.issue("device", client=True)
        self.client_expired = self.ca.issue("device-expired", client=True, expired=True)


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    return Pki(tmp_path_factory.mktemp("pki"))


class TLSBroker:
    """mosquitto with one TLS listener: client certificates required, users from a password file."""

    def __init__(self, directory: Path, pki: Pki, server: tuple[Path, Path]) -> None:
        self.port = free_port()
        passwords = directory / "passwd"
        subprocess.run([require("mosquitto_passwd"), "-c", "-b", str(passwords), "device", "s3cret"], check=True)
        config = directory / "tls.conf"
        # Run as root, mosquitto drops to its own user, which cannot read the test's private folders.
        user = "user root\n" if os.geteuid() == 0 else ""
        config.write_text(
            user + f"listener {self.port} 127.0.0.1\ncafile {pki.ca.path}\ncertfile {server[0]}\nkeyfile {server[1]}\n"
            f"require_certificate true\nallow_anonymous false\npassword_file {passwords}\n"
        )
        log = (directory / "mosquitto.log").open("ab")
        self.process = subprocess.Popen([require("mosquitto"), "-c", str(config)], stdout=log, stderr=log)
        time.sleep(0.3)

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(10)


@pytest.fixture()
def broker(tmp_path: Path, pki: Pki) -> TLSBroker:
    instance = TLSBroker(tmp_path, pki, pki.server)
    yield instance  # type: ignore[misc]
    instance.stop()


def settings(port: int, pki: Pki, **changes: object) -> MQTTSettings:
    base = {
        "host": "localhost",
        "port": port,
        "username": "device",
        "password": "s3cret",
        "tls": True,
        "tls_ca_file": str(pki.ca.path),
        "tls_cert_file": str(pki.client[0]),
        "tls_key_file": str(pki.client[1]),
    }
    base.update(changes)
    return MQTTSettings(**base)  # type: ignore[arg-type]


def test_mutual_tls_with_a_password_connects_and_serves(
    tmp_path: Path, broker: TLSBroker, pki: Pki, bundle_dir: Path
) -> None:
    from support.mqtt import running_daemon

    path = tmp_path / "tls.toml"
    (tmp_path / "password").write_text("s3cret\n")
    (tmp_path / "password").chmod(0o600)
    path.write_text(
        f'[mqtt]\nhost = "localhost"\nport = {broker.port}\nclient_id = "tls-daemon"\nusername = "device"\n'
        f'password_file = "password"\ntls_ca_file = "{pki.ca.path}"\ntls_cert_file = "{pki.client[0]}"\n'
        f'tls_key_file = "{pki.client[1]}"\n[model]\nbundle = "{bundle_dir}"\n[[streams]]\ntopic = "s/+"\n'
    )
    config = load_config(path)
    assert config.mqtt.tls and config.mqtt.tls_check_hostname
    with running_daemon(config) as daemon:
        daemon.submit("s/x", b'{"vibration": 1, "motor_current": 2, "bearing_temp": 3, "pressure": 4, "flow": 5}')
        wait_for(lambda: daemon.counters["samples"] == 1, 10, "a sample")
        assert daemon.counters["connects"] == 1
    assert "works" in explain_connection_failure(settings(broker.port, pki))


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({"tls_ca_file": "other"}, "the broker's certificate is not signed by a CA in"),
        ({"host": "127.0.0.2"}, "cannot reach the broker at 127.0.0.2"),
        ({"tls_cert_file": "expired", "tls_key_file": "expired"}, "refused our client certificate: it has expired"),
        ({"tls_cert_file": None, "tls_key_file": None}, "requires a client certificate"),
    ],
)
def test_each_tls_failure_is_named(broker: TLSBroker, pki: Pki, changes: dict[str, object], expected: str) -> None:
    files = {"other": str(pki.other_ca.path)}
    if changes.get("tls_cert_file") == "expired":
        changes = {"tls_cert_file": str(pki.client_expired[0]), "tls_key_file": str(pki.client_expired[1])}
    changes = {k: files.get(v, v) if isinstance(v, str) else v for k, v in changes.items()}
    assert expected in explain_connection_failure(settings(broker.port, pki, **changes))


@pytest.mark.parametrize(
    ("server", "host", "expected"),
    [
        ("server_expired", "localhost", "the broker's certificate has expired"),
        ("server_elsewhere", "localhost", "the broker's certificate is not valid for the name 'localhost'"),
    ],
)
def test_a_bad_broker_certificate_is_named(tmp_path: Path, pki: Pki, server: str, host: str, expected: str) -> None:
    broker = TLSBroker(tmp_path, pki, getattr(pki, server))
    try:
        assert expected in explain_connection_failure(settings(broker.port, pki, host=host))
    finally:
        broker.stop()


def test_a_wrong_password_and_a_wrong_ca_are_logged_by_the_daemon(
    tmp_path: Path, broker: TLSBroker, pki: Pki, bundle_dir: Path, caplog: pytest.LogCaptureFixture
) -> None:
    from dataclasses import replace

    from edge_lstm.service.shell import shutdown, start

    path = tmp_path / "c.toml"
    path.write_text(f'[model]\nbundle = "{bundle_dir}"\n[[streams]]\ntopic = "s/+"\n')
    base = load_config(path)
    caplog.set_level(logging.WARNING)
    for mqtt, expected in (
        (settings(broker.port, pki, password="wrong"), "(check [mqtt] username and the password"),
        (settings(broker.port, pki, tls_ca_file=str(pki.other_ca.path)), "not signed by a CA in"),
    ):
        daemon, client = start(replace(base, mqtt=replace(mqtt, reconnect_max_s=2.0)))
        try:
            wait_for(lambda e=expected: e in caplog.text, 15, expected)  # type: ignore[misc]
        finally:
            shutdown(daemon, client, flush_s=0.1)


def test_tls_settings_are_checked_when_the_config_is_read(tmp_path: Path, pki: Pki) -> None:
    head = '[model]\nbundle = "b"\n[[streams]]\ntopic = "a/+"\n[mqtt]\n'
    cases = {
        f'tls_cert_file = "{pki.client[0]}"\n': r"\[mqtt\] tls_key_file: required with tls_cert_file",
        'tls_ca_file = "missing.pem"\n': r"\[mqtt\] tls_ca_file: cannot read .*missing.pem \(No such file",
        f'tls = false\ntls_ca_file = "{pki.ca.path}"\n': r"\[mqtt\] tls: is false, but tls_\* files are given",
    }
    for text, message in cases.items():
        (tmp_path / "c.toml").write_text(head + text)
        with pytest.raises(ConfigError, match=message):
            load_config(tmp_path / "c.toml")


def test_a_readable_secret_is_reported(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    (tmp_path / "pw").write_text("x\n")
    (tmp_path / "pw").chmod(0o644)
    (tmp_path / "c.toml").write_text(
        '[model]\nbundle = "b"\n[[streams]]\ntopic = "a/+"\n[mqtt]\npassword_file = "pw"\n'
    )
    caplog.set_level(logging.WARNING)
    assert load_config(tmp_path / "c.toml").mqtt.password == "x"
    assert "password_file" in caplog.text and "readable by group or others (mode 644): chmod 600" in caplog.text
