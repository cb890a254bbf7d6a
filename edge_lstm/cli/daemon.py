"""The daemon's commands: ``run`` and ``check-config``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from edge_lstm.cli.common import load_daemon_config
from edge_lstm.errors import BundleError, ConfigError


def _check_streams(config: Any) -> list[str]:
    """Bundles load and every stream's payload fields cover the bundle's features; ``ConfigError`` if not."""
    from edge_lstm.bundle import load_bundle
    from edge_lstm.sources.payload import PayloadParser

    lines = []
    for i, stream in enumerate(config.streams, start=1):
        path = stream.bundle or config.bundle
        try:
            bundle = load_bundle(path)
            bundle.open_model()
            PayloadParser(
                stream.format, tuple(bundle.features), stream.fields, stream.timestamp_field, tuple(bundle.watched)
            )
            settings = bundle.detector_settings(stream.threshold, stream.threshold_rule)
        except ConfigError as error:
            raise ConfigError(f"{config.source}: [[streams]] {i} fields: {error}") from None
        except BundleError as error:  # a broken bundle in a config is a config problem for systemd
            raise ConfigError(f"{config.source}: [[streams]] {i}: {error}") from None
        how = "from config" if stream.threshold is not None else "bundle"
        if stream.threshold_rule is not None:
            how = f"{stream.threshold_rule.label}, recalibrated"
        lines.append(
            f"stream {i}: {stream.topic} ({stream.format}) -> model {bundle.model_id}, "
            f"{len(bundle.features)} features{_watching(bundle.watched)}, threshold {settings.threshold:.4g} ({how})"
            + _untimed(bundle, "its payloads" if stream.timestamp_field is None else None)
        )
    return lines + _check_serial(config)


def _untimed(bundle: Any, what: str | None) -> str:
    """What a check line adds when the bundle compares readings with a lag ago but ``what`` carries no
    time (None: it does), so that watch cannot run: said, not silently skipped."""
    if what is None or not bundle.manifest["alerting"].get("seasonal"):
        return ""
    return f"; {UNTIMED} ({what} carry no timestamp)"


# The words a check line and the daemon's start-up warning use for a watch that cannot run.
UNTIMED = "WARNING: the bundle's watch of the same time a week or a day ago is off here"


def _check_serial(config: Any) -> list[str]:
    """Every serial port's channel names cover its bundle's features, in an order the line gives."""
    from edge_lstm.bundle import load_bundle
    from edge_lstm.sources.lines import LineParser

    lines = []
    for i, port in enumerate(config.serial, start=1):
        try:
            bundle = load_bundle(port.bundle or config.bundle)
            bundle.open_model()
            LineParser(port.format, tuple(bundle.features), port.fields, port.checksum, tuple(bundle.watched))
            bundle.detector_settings(port.threshold, port.threshold_rule)
        except ConfigError as error:
            raise ConfigError(f"{config.source}: [[serial]] {i} fields: {error}") from None
        except BundleError as error:
            raise ConfigError(f"{config.source}: [[serial]] {i}: {error}") from None
        order = ", ".join(port.fields or bundle.features)
        if port.format == "csv" and not port.fields:
            order = f"as the device's header line names them, else {order}"
        lines.append(
            f"serial {i}: {port.port} at {port.baud} baud ({port.format}, checksum {port.checksum}) -> stream "
            f"{port.name}, model {bundle.model_id}; channels in line order: {order}{_watching(bundle.watched)}"
            + _untimed(bundle, "serial lines")
        )
    return lines


def _watching(watched: list[str]) -> str:
    """What a check line adds for channels outside the model that are still watched, if any."""
    return f" (also watching {', '.join(watched)} for stuck readings and leaps, when sent)" if watched else ""


@click.command("check-config")
@click.argument("config_path", type=click.Path(dir_okay=False, path_type=Path))
def check_config(config_path: Path) -> None:
    """Validate a daemon config and check it against each stream's model bundle.

    Exits 78 (EX_CONFIG) with one line naming the key when something is wrong.

    Example: edge-lstm check-config /etc/edge-lstm/config.toml
    """
    config = load_daemon_config(config_path)
    lines = _check_streams(config)
    if config.mqtt.tls:
        from edge_lstm.service.mqtt_client import tls_context

        tls_context(config.mqtt)  # the CA, certificate and key load, and the key matches the certificate
        lines.append(
            f"TLS: CA {config.mqtt.tls_ca_file or 'system store'}, client certificate "
            f"{config.mqtt.tls_cert_file or 'none'}, host name checked: {config.mqtt.tls_check_hostname}"
        )
    click.echo(f"{config_path}: OK; broker {config.mqtt.host}:{config.mqtt.port} as {config.mqtt.client_id}")
    for line in lines:
        click.echo("  " + line)
    click.echo(f"  alerts -> {config.alerts.topic} (QoS {config.alerts.qos}); status -> {config.status()}")


@click.command()
@click.option(
    "--config",
    "config_path",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="Daemon config (TOML).",
)
@click.option("--host", default=None, help="Override [mqtt] host.")
@click.option("--port", type=int, default=None, help="Override [mqtt] port.")
@click.option("--bundle", default=None, help="Override [model] bundle.")
@click.option("--client-id", default=None, help="Override [mqtt] client_id.")
@click.option(
    "--log-level", type=click.Choice(["debug", "info", "warning", "error"]), default="info", show_default=True
)
def run(
    config_path: Path, host: str | None, port: int | None, bundle: str | None, client_id: str | None, log_level: str
) -> None:
    """Run the detector daemon: subscribe to sensor topics, score every sample, publish alerts.

    Settings come from the flag, else EDGE_LSTM_* environment variables (EDGE_LSTM_MQTT_HOST,
    EDGE_LSTM_MQTT_PORT, EDGE_LSTM_MQTT_USERNAME, EDGE_LSTM_MQTT_PASSWORD, EDGE_LSTM_BUNDLE, ...),
    else the config file, else the default. Stops cleanly on SIGTERM / Ctrl-C.

    Example: edge-lstm run --config /etc/edge-lstm/config.toml
    """
    import logging

    from edge_lstm.service.shell import serve

    logging.basicConfig(level=log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s")

    def loader() -> Any:
        return load_daemon_config(config_path, host=host, port=port, bundle=bundle, client_id=client_id)

    config = loader()
    for line in _check_streams(config):
        if UNTIMED in line:
            logging.getLogger("edge_lstm.daemon").warning(line)
    serve(config, loader)
