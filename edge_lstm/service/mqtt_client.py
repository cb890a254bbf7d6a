"""Building paho clients the same way everywhere: callback API v2, auth, TLS, Last Will, backoff."""

from __future__ import annotations

import contextlib
import socket
import ssl
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from edge_lstm.config import MQTTSettings
from edge_lstm.errors import ConfigError


def make_client(settings: MQTTSettings, client_id: str | None = None, will: tuple[str, str] | None = None) -> Any:
    client = mqtt.Client(
        callback_api_version=CallbackAPIVersion.VERSION2,
        client_id=client_id or settings.client_id,
        protocol=mqtt.MQTTv311,
        clean_session=True,
    )
    if settings.username:
        client.username_pw_set(settings.username, settings.password)
    if settings.tls:
        client.tls_set_context(tls_context(settings))
    if will is not None:
        client.will_set(will[0], will[1], qos=1, retain=True)
    client.reconnect_delay_set(min_delay=max(1, int(settings.reconnect_min_s)), max_delay=int(settings.reconnect_max_s))
    # The outbox bounds what is kept; paho's own queue must never refuse what the outbox accepted.
    client.max_queued_messages_set(0)
    client.max_inflight_messages_set(100)
    client.on_socket_open = _no_delay
    return client


def _no_delay(_client: Any, _userdata: Any, sock: Any) -> None:
    """Small MQTT packets must not wait for Nagle's algorithm: with delayed ACKs on the other side
    that costs up to 40 ms per alert, far more than scoring it."""
    with contextlib.suppress(OSError, AttributeError):  # not a TCP socket (e.g. websockets): nothing to tune
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)


def reason_text(reason_code: Any) -> str:
    return str(getattr(reason_code, "getName", lambda: reason_code)())


def tls_context(settings: MQTTSettings) -> ssl.SSLContext:
    """The client side of TLS: the broker verified against ``tls_ca_file`` (else the system's CAs),
    its host name checked unless turned off, and our certificate presented if one is configured.
    ``ConfigError`` naming the key if a file is not what it should be."""
    try:
        context = ssl.create_default_context(cafile=settings.tls_ca_file)
    except (ssl.SSLError, ValueError) as error:
        raise ConfigError(f"[mqtt] tls_ca_file: {settings.tls_ca_file} is not a PEM CA certificate ({error})") from None
    context.check_hostname = settings.tls_check_hostname
    if settings.tls_cert_file and settings.tls_key_file:
        try:
            context.load_cert_chain(settings.tls_cert_file, settings.tls_key_file)
        except (ssl.SSLError, ValueError) as error:
            raise ConfigError(
                f"[mqtt] tls_cert_file / tls_key_file: {settings.tls_cert_file} and {settings.tls_key_file} "
                f"are not a PEM certificate and its matching key ({error})"
            ) from None
    return context


# OpenSSL's alert reasons, as a broker sends them about our certificate, in words an operator can act on.
_ALERTS = {
    "CERTIFICATE_EXPIRED": "the broker refused our client certificate: it has expired (tls_cert_file)",
    "UNKNOWN_CA": "the broker does not trust the CA that signed our client certificate (tls_cert_file)",
    "BAD_CERTIFICATE": "the broker refused our client certificate (tls_cert_file)",
    "CERTIFICATE_REQUIRED": "the broker requires a client certificate: set tls_cert_file and tls_key_file",
    "HANDSHAKE_FAILURE": "the TLS handshake failed: the broker may require a client certificate "
    "(tls_cert_file, tls_key_file)",
    "WRONG_VERSION_NUMBER": "the broker does not speak TLS on this port (a plain MQTT listener?)",
}


def explain_connection_failure(settings: MQTTSettings, timeout: float = 5.0) -> str:
    """Why a connection to the broker fails, found by connecting once more ourselves: unreachable, or
    what TLS objects to (unknown CA, expired, host name mismatch, our certificate refused)."""
    where = f"{settings.host}:{settings.port}"
    try:
        sock = socket.create_connection((settings.host, settings.port), timeout=timeout)
    except OSError as error:
        return f"cannot reach the broker at {where} ({error.strerror or error})"
    if not settings.tls:
        sock.close()
        return f"the broker at {where} accepts TCP connections, but the MQTT connection failed"
    try:
        with tls_context(settings).wrap_socket(sock, server_hostname=settings.host) as tls:
            tls.settimeout(1.0)
            with contextlib.suppress(TimeoutError, socket.timeout):
                tls.recv(1)  # TLS 1.3 reports a refused client certificate only at the first read
    except ssl.SSLCertVerificationError as error:
        return _verification_failure(settings, str(error.verify_message))
    except ssl.SSLError as error:
        reason = str(error.reason or error)
        for key, text in _ALERTS.items():
            if key in reason:
                return f"{where}: {text} ({reason})"
        return f"{where}: TLS failed ({reason})"
    except OSError as error:
        return f"{where}: the connection broke during the TLS handshake ({error})"
    return f"TLS to {where} works; the broker refused the MQTT connection"


def _verification_failure(settings: MQTTSettings, message: str) -> str:
    where = f"{settings.host}:{settings.port}"
    if "expired" in message:
        return f"{where}: the broker's certificate has expired ({message})"
    if "mismatch" in message:
        return (
            f"{where}: the broker's certificate is not valid for the name {settings.host!r} ({message}); connect "
            "by a name the certificate lists, or set tls_check_hostname = false"
        )
    if "issuer" in message or "self-signed" in message or "self signed" in message:
        ca = settings.tls_ca_file or "the system's CA store"
        return f"{where}: the broker's certificate is not signed by a CA in {ca} ({message})"
    return f"{where}: the broker's certificate was not accepted ({message})"
