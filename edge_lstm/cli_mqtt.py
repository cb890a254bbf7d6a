"""The MQTT-side commands: ``run``, ``check-config``, ``alerts`` and ``simulate``."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import click

from edge_lstm.cli import EXIT_CONFIG, CLIError, main, translated_errors


def _load_config(path: Path, **overrides: Any) -> Any:
    from edge_lstm.config import ConfigError, load_config

    try:
        return load_config(path, {k: v for k, v in overrides.items() if v is not None})
    except ConfigError as error:
        raise CLIError(str(error), EXIT_CONFIG) from None


def _check_streams(config: Any) -> list[str]:
    """Bundles load and every stream's payload fields cover the bundle's features. Exit 78 if not."""
    from edge_lstm.bundle import BundleError, load_bundle
    from edge_lstm.sources.payload import PayloadParser

    lines = []
    for i, stream in enumerate(config.streams, start=1):
        path = stream.bundle or config.bundle
        try:
            bundle = load_bundle(path)
            bundle.open_model()
            PayloadParser(stream.format, tuple(bundle.features), stream.fields, stream.timestamp_field)
        except BundleError as error:
            raise CLIError(f"{config.source}: [[streams]] {i}: {error}", EXIT_CONFIG) from None
        except ValueError as error:
            raise CLIError(f"{config.source}: [[streams]] {i} fields: {error}", EXIT_CONFIG) from None
        try:
            settings = bundle.detector_settings(stream.threshold, stream.threshold_rule)
        except BundleError as error:
            raise CLIError(f"{config.source}: [[streams]] {i}: {error}", EXIT_CONFIG) from None
        how = "from config" if stream.threshold is not None else "bundle"
        if stream.threshold_rule is not None:
            how = f"{stream.threshold_rule[0]} {stream.threshold_rule[1]:g}, recalibrated"
        lines.append(
            f"stream {i}: {stream.topic} ({stream.format}) -> model {bundle.model_id}, "
            f"{len(bundle.features)} features, threshold {settings.threshold:.4g} ({how})"
        )
    return lines


def _mqtt_options(fn: Callable[..., Any]) -> Callable[..., Any]:
    fn = click.option(
        "--config",
        "config_path",
        type=click.Path(dir_okay=False, path_type=Path),
        default=None,
        help="Take the broker settings from this daemon config.",
    )(fn)
    fn = click.option("--port", type=int, default=None, help="Broker port (default 1883).")(fn)
    fn = click.option("--host", default=None, help="Broker host (default localhost).")(fn)
    return fn


def _mqtt_settings(config_path: Path | None, host: str | None, port: int | None) -> Any:
    from dataclasses import replace

    from edge_lstm.config import MQTTSettings

    settings = _load_config(config_path).mqtt if config_path else MQTTSettings()
    return replace(settings, host=host or settings.host, port=port or settings.port)


@main.command("check-config")
@click.argument("config_path", type=click.Path(dir_okay=False, path_type=Path))
def check_config(config_path: Path) -> None:
    """Validate a daemon config and check it against each stream's model bundle.

    Exits 78 (EX_CONFIG) with one line naming the key when something is wrong.

    Example: edge-lstm check-config /etc/edge-lstm/config.toml
    """
    config = _load_config(config_path)
    lines = _check_streams(config)
    click.echo(f"{config_path}: OK; broker {config.mqtt.host}:{config.mqtt.port} as {config.mqtt.client_id}")
    for line in lines:
        click.echo("  " + line)
    click.echo(f"  alerts -> {config.alerts.topic} (QoS {config.alerts.qos}); status -> {config.status()}")


@main.command()
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

    from edge_lstm.service import serve

    logging.basicConfig(level=log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    config = _load_config(config_path, host=host, port=port, bundle=bundle, client_id=client_id)
    _check_streams(config)
    serve(config)


@main.command()
@_mqtt_options
@click.option("--topic", default="edge-lstm/+/alert", show_default=True, help="Alert topic pattern.")
@click.option("--json", "as_json", is_flag=True, help="Print each alert as a JSON line instead of a table row.")
@click.option("--count", type=int, default=None, help="Stop after this many alerts.")
@click.option("--timeout", type=float, default=None, help="Stop after this many seconds.")
def alerts(
    config_path: Path | None,
    host: str | None,
    port: int | None,
    topic: str,
    as_json: bool,
    count: int | None,
    timeout: float | None,
) -> None:
    """Show live alerts from the broker, as a table or as JSON lines.

    Example: edge-lstm alerts --host raspberrypi.local
    """
    from edge_lstm.mqtt_tools import TABLE_HEADER, table_row, watch_alerts

    settings = _mqtt_settings(config_path, host, port)
    if not as_json:
        click.echo(TABLE_HEADER)

    def show(alert: dict[str, Any] | None, raw: bytes) -> None:
        if as_json:
            click.echo(raw.decode(errors="replace"))
        elif alert is None:
            click.echo(f"(not an alert object: {raw[:60]!r})")
        else:
            click.echo(table_row(alert))

    try:
        watch_alerts(
            settings,
            topic,
            show,
            count=count,
            timeout=timeout,
            on_subscribed=lambda: click.echo(
                f"watching {topic} on {settings.host}:{settings.port} (Ctrl-C to stop)", err=True
            ),
        )
    except OSError as error:
        raise CLIError(f"cannot reach the broker at {settings.host}:{settings.port} ({error})") from None
    except KeyboardInterrupt:
        pass


@main.command()
@click.argument("csv_file", required=False, type=click.Path(dir_okay=False, path_type=Path))
@_mqtt_options
@click.option(
    "--topic", default="sensors/{stream}/pump", show_default=True, help="Topic template; {stream} becomes s1, s2, ..."
)
@click.option(
    "--rate", type=float, default=10.0, show_default=True, help="Messages per second (0: as fast as possible)."
)
@click.option("--streams", type=int, default=1, show_default=True, help="Synthetic streams to interleave.")
@click.option("--count", type=int, default=6000, show_default=True, help="Samples per synthetic stream.")
@click.option("--faults/--no-faults", default=True, show_default=True, help="Inject the four demo faults.")
@click.option("--format", "fmt", type=click.Choice(["json", "json_array", "csv"]), default="json", show_default=True)
@click.option("--qos", type=click.IntRange(0, 2), default=0, show_default=True)
def simulate(
    csv_file: Path | None,
    config_path: Path | None,
    host: str | None,
    port: int | None,
    topic: str,
    rate: float,
    streams: int,
    count: int,
    faults: bool,
    fmt: str,
    qos: int,
) -> None:
    """Publish a CSV file, or the built-in synthetic machine, to MQTT at a chosen rate.

    Without a CSV, publishes --streams synthetic 5-sensor streams (with the demo's injected faults
    unless --no-faults). Each JSON payload carries the sensor values and "ts" (publish time).

    Example: edge-lstm simulate --rate 50 --streams 3
    """
    from edge_lstm.mqtt_tools import publish_stream, synthetic_rows
    from edge_lstm.synthetic import FEATURES

    settings = _mqtt_settings(config_path, host, port)
    with translated_errors():
        if csv_file is not None:
            from edge_lstm.sources.csv_file import read_csv

            recording = read_csv(csv_file)
            rows: Iterator[tuple[int, Any]] = ((0, row) for row in recording.values)
            features, total = recording.features, len(recording)
        else:
            rows, features, total = synthetic_rows(streams, count, faults), FEATURES, streams * count
    try:
        with click.progressbar(length=total, label="publishing", file=sys.stderr) as bar:
            sent = publish_stream(settings, topic, rows, features, rate, fmt=fmt, qos=qos, progress=bar.update)
    except OSError as error:
        raise CLIError(f"cannot reach the broker at {settings.host}:{settings.port} ({error})") from None
    click.echo(f"published {sent} samples to {topic.format(stream='s*')}", err=True)


@main.command("bench-mqtt")
@click.option("--model", "model_dir", required=True, type=click.Path(path_type=Path), help="Model bundle directory.")
@click.option(
    "--rates",
    default="2000,5000,10000,15000,20000",
    show_default=True,
    help="Comma-separated publish rates (samples/s) to try.",
)
@click.option("--seconds", default=5.0, show_default=True, help="Publishing time per rate.")
@click.option("--streams", default=4, show_default=True, help="Streams the samples are spread over.")
@click.option("--latency-rate", default=1000.0, show_default=True, help="Rate for the latency run.")
@click.option("--latency-seconds", default=20.0, show_default=True)
@click.option(
    "--results",
    type=click.Path(dir_okay=False, path_type=Path),
    default=Path("bench-results/mqtt.json"),
    show_default=True,
    help="JSON file the figures are written to.",
)
def bench_mqtt(
    model_dir: Path,
    rates: str,
    seconds: float,
    streams: int,
    latency_rate: float,
    latency_seconds: float,
    results: Path,
) -> None:
    """Measure daemon throughput and latency through a real mosquitto broker on loopback.

    Starts its own broker, runs the daemon pinned to one core and a publisher on another, and
    reports, per publish rate, what was scored and lost, and publish-to-alert latency.

    Example: edge-lstm bench-mqtt --model demo-output/bundle
    """
    import json

    from edge_lstm.bench_mqtt import BenchError, run_mqtt_benchmark
    from edge_lstm.bundle import load_bundle

    with translated_errors():
        load_bundle(model_dir)
        try:
            figures = run_mqtt_benchmark(
                model_dir,
                [float(r) for r in rates.split(",")],
                seconds,
                streams,
                latency_rate,
                latency_seconds,
                log=click.echo,
            )
        except BenchError as error:
            raise CLIError(str(error)) from None
    results.parent.mkdir(parents=True, exist_ok=True)
    results.write_text(json.dumps(figures, indent=2) + "\n", encoding="utf-8")
    click.echo(f"max lossless throughput {figures['max_lossless_throughput']:.0f} samples/s; written to {results}")
