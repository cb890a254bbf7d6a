"""The [mqtt] table: broker address, identity, credentials and TLS, with the flag > environment > file >
default precedence.

TLS: ``tls = true`` (implied by any ``tls_*_file``) verifies the broker against ``tls_ca_file`` (else
the system's CAs) and checks its host name (``tls_check_hostname = false`` turns that off, with a
warning at every start); ``tls_cert_file`` and ``tls_key_file`` together present a client
certificate (mutual TLS). Secrets (the password file, the client key) that others can read are
reported at start: they are still used, since refusing would take a device offline over a chmod.
"""

from __future__ import annotations

import logging
import stat
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from edge_lstm.config.reader import Reader, env, port_value, relative_to

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class MQTTSettings:
    host: str = "localhost"
    port: int = 1883
    client_id: str = "edge-lstm"
    keepalive: int = 30
    qos: int = 1
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    tls: bool = False
    tls_ca_file: str | None = None
    tls_cert_file: str | None = None
    tls_key_file: str | None = None
    tls_check_hostname: bool = True
    reconnect_min_s: float = 1.0
    reconnect_max_s: float = 30.0


def mqtt_settings(m: Reader, overrides: dict[str, Any], folder: Path) -> MQTTSettings:
    """[mqtt] with the flag > environment > file > default precedence; every source validated alike."""
    password = env("MQTT_PASSWORD")
    password_file = _readable(m, "password_file", folder, secret=True)
    if password is None and password_file:
        password = Path(password_file).read_text(encoding="utf-8").strip()
    files = {key: _readable(m, key, folder, secret=key == "tls_key_file") for key in _TLS_FILES}
    if bool(files["tls_cert_file"]) != bool(files["tls_key_file"]):
        given, missing = (
            ("tls_cert_file", "tls_key_file") if files["tls_cert_file"] else ("tls_key_file", "tls_cert_file")
        )
        raise m.fail(
            missing, f"required with {given} (a client certificate needs its key, and the key its certificate)"
        )
    tls = m.get("tls", bool, any(files.values()))
    if not tls and any(files.values()):
        raise m.fail("tls", "is false, but tls_* files are given: remove them or set tls = true")
    check_hostname = m.get("tls_check_hostname", bool, True)
    if tls and not check_hostname:
        log.warning("[mqtt] tls_check_hostname = false: any certificate signed by the CA is accepted for any host")
    return MQTTSettings(
        host=overrides.get("host") or env("MQTT_HOST") or m.get("host", str, "localhost"),
        port=port_value(overrides.get("port"), "--port")
        or port_value(env("MQTT_PORT"), "EDGE_LSTM_MQTT_PORT")
        or m.integer("port", 1883, 1, 65535),
        client_id=overrides.get("client_id") or env("MQTT_CLIENT_ID") or m.get("client_id", str, "edge-lstm"),
        keepalive=m.integer("keepalive", 30, 5, 3600),
        qos=m.integer("qos", 1, 0, 2),
        username=env("MQTT_USERNAME") or m.get("username", str),
        password=password,
        tls=tls,
        tls_ca_file=files["tls_ca_file"],
        tls_cert_file=files["tls_cert_file"],
        tls_key_file=files["tls_key_file"],
        tls_check_hostname=check_hostname,
        reconnect_min_s=m.number("reconnect_min_s", 1.0) or 1.0,
        reconnect_max_s=m.number("reconnect_max_s", 30.0) or 30.0,
    )


_TLS_FILES = ("tls_ca_file", "tls_cert_file", "tls_key_file")


def _readable(m: Reader, key: str, folder: Path, secret: bool = False) -> str | None:
    """The file named by ``key`` (relative to the config's folder), checked readable now so that a
    typo is a config error at start, not a connection that fails later; a secret that group or others
    may read is reported."""
    path = relative_to(folder / "config", m.get(key, str))
    if not path:
        return None
    try:
        with open(path, "rb"):
            pass
        mode = Path(path).stat().st_mode
    except OSError as error:
        raise m.fail(key, f"cannot read {path} ({error.strerror})") from None
    if secret and mode & (stat.S_IRWXG | stat.S_IRWXO):
        log.warning(
            "[mqtt] %s: %s is readable by group or others (mode %o): chmod 600 it", key, path, stat.S_IMODE(mode)
        )
    return path
