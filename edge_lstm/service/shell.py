"""``edge-lstm run``: the daemon as a service, with signals, Last Will and a clean shutdown."""

from __future__ import annotations

import logging
import signal
import sys
import threading
import time
from typing import Any

from edge_lstm.config import DaemonConfig, MQTTSettings
from edge_lstm.service.mqtt_client import explain_connection_failure, make_client
from edge_lstm.service.worker import Daemon

log = logging.getLogger(__name__)


def start(config: DaemonConfig) -> tuple[Daemon, Any]:
    """Load the models, connect (asynchronously: an absent broker is retried with backoff)."""
    # Two busy threads share the GIL: paho's network thread and the worker. At the default 5 ms
    # switch interval a sample can wait several intervals for the worker; 0.5 ms keeps the p99
    # queueing delay in single milliseconds at 10,000 samples/s for a small cost in switching.
    sys.setswitchinterval(0.0005)
    daemon = Daemon(config)
    client = make_client(config.mqtt, will=(config.status(), "offline"))
    daemon.attach(client)
    client.on_connect_fail = _explained(config.mqtt)
    client.connect_async(config.mqtt.host, config.mqtt.port, keepalive=config.mqtt.keepalive)
    client.loop_start()
    return daemon, client


def _explained(settings: MQTTSettings, every_s: float = 60.0) -> Any:
    """An ``on_connect_fail`` that says why (unreachable, TLS: unknown CA, expired, wrong host name, our
    certificate refused) at the first failure and then at most once a minute; paho keeps retrying."""
    last = [-every_s]

    def on_connect_fail(_client: Any, _userdata: Any) -> None:
        now = time.monotonic()
        if now - last[0] >= every_s:
            last[0] = now
            log.warning("cannot connect: %s; retrying with backoff", explain_connection_failure(settings))

    return on_connect_fail


def shutdown(daemon: Daemon, client: Any, flush_s: float = 5.0) -> None:
    """Say goodbye: publish health and 'offline', give unacknowledged alerts a moment, disconnect."""
    daemon.publish_health()
    deadline = time.monotonic() + flush_s
    outbox = daemon.sink.outbox if daemon.sink else None
    while outbox is not None and len(outbox) and daemon.connected.is_set() and time.monotonic() < deadline:
        time.sleep(0.05)
    if outbox is not None and len(outbox):
        log.warning(
            "%d alert(s) not yet acknowledged; kept in the outbox%s",
            len(outbox),
            f" journal {outbox.path}" if outbox.path else " (no journal configured: lost)",
        )
    info = client.publish(daemon.config.status(), "offline", qos=1, retain=True)
    if daemon.connected.is_set():
        info.wait_for_publish(timeout=2.0)
    client.disconnect()
    client.loop_stop()


def serve(config: DaemonConfig, loader: Any = None) -> None:
    """Run until SIGTERM or SIGINT; SIGHUP reloads through ``loader`` (which keeps the flags)."""
    daemon, client = start(config)
    daemon.config_loader = loader

    def on_signal(signum: int, _frame: Any) -> None:
        log.info("received %s: stopping", signal.Signals(signum).name)
        daemon.stop()

    def on_hangup(_signum: int, _frame: Any) -> None:
        log.info("received SIGHUP: reloading the config and the bundles")
        daemon.request_reload()

    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, on_signal)
        signal.signal(signal.SIGINT, on_signal)
        signal.signal(signal.SIGHUP, on_hangup)
    try:
        daemon.run()
    finally:
        shutdown(daemon, client)
