"""Operator tools that talk to the broker: ``alerts`` (watch) and ``simulate`` (publish)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import click

from edge_lstm.cli.common import CLIError, batch_option, mqtt_options, mqtt_settings
from edge_lstm.cli.progress import progress


@click.command()
@mqtt_options
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
    from edge_lstm.tools.alerts_viewer import TABLE_HEADER, table_row, watch_alerts

    settings = mqtt_settings(config_path, host, port)
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


@click.command()
@click.argument("csv_file", required=False, type=click.Path(dir_okay=False, path_type=Path))
@mqtt_options
@click.option(
    "--topic", default="sensors/{stream}/pump", show_default=True, help="Topic template; {stream} becomes s1, s2, ..."
)
@click.option(
    "--rate", type=float, default=10.0, show_default=True, help="Samples per second (0: as fast as possible)."
)
@batch_option("")
@click.option("--streams", type=int, default=1, show_default=True, help="Synthetic streams to interleave.")
@click.option("--count", type=int, default=6000, show_default=True, help="Samples per synthetic stream.")
@click.option("--faults/--no-faults", default=True, show_default=True, help="Inject the four demo faults.")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["json", "json_array", "csv", "forwarder"]),
    default=None,
    help="Payload format [default: json over MQTT, forwarder over --serial].",
)
@click.option("--qos", type=click.IntRange(0, 2), default=0, show_default=True)
@click.option("--serial", "serial_port", default=None, help="Write lines to this serial port or pty instead of MQTT.")
@click.option("--baud", type=int, default=115200, show_default=True, help="Baud rate with --serial.")
@click.option("--checksum", is_flag=True, help="With --serial: end each line with an NMEA-style *XX checksum.")
def simulate(
    csv_file: Path | None,
    config_path: Path | None,
    host: str | None,
    port: int | None,
    topic: str,
    rate: float,
    batch: int,
    streams: int,
    count: int,
    faults: bool,
    fmt: str | None,
    qos: int,
    serial_port: str | None,
    baud: int,
    checksum: bool,
) -> None:
    """Publish a CSV file, or the built-in synthetic machine, to MQTT (or a serial port) at a chosen rate.

    Without a CSV, publishes --streams synthetic 5-sensor streams (with the demo's injected faults
    unless --no-faults). Each JSON payload carries the sensor values and "ts" (publish time). With
    --serial, writes one stream as lines, as a sensor board would (forwarder format by default:
    comma-separated numbers, no header).

    Example: edge-lstm simulate --rate 50 --streams 3

    Example: edge-lstm simulate --serial /dev/ttyUSB0 --baud 115200 --rate 100 --checksum
    """
    from edge_lstm.tools.simulate import publish_stream, synthetic_rows
    from edge_lstm.tools.synthetic import FEATURES

    settings = mqtt_settings(config_path, host, port)
    if csv_file is not None:
        from edge_lstm.sources.csv_stream import CSVSource

        source = CSVSource(csv_file)
        with csv_file.open("rb") as handle:
            total = max(sum(1 for _ in handle) - 1, 0)  # for the progress bar only
        rows: Iterator[tuple[int, Any]] = ((0, sample.values) for sample in source)
        features = source.features
    else:
        source = None
        rows, features, total = synthetic_rows(streams, count, faults), FEATURES, streams * count
    if serial_port is not None:
        if batch > 1:
            raise click.UsageError("--batch is for MQTT messages: a serial line carries one sample")
        sent = _to_serial(serial_port, baud, rows, features, rate, fmt or "forwarder", checksum, total, streams)
    else:
        if fmt == "forwarder" or checksum:
            raise click.UsageError("--format forwarder and --checksum are line formats: use them with --serial")
        try:
            with progress("publishing", length=total) as bar:
                sent = publish_stream(settings, topic, rows, features, rate, fmt or "json", qos, bar.update, batch)
        except OSError as error:
            raise CLIError(f"cannot reach the broker at {settings.host}:{settings.port} ({error})") from None
        click.echo(f"published {sent} samples to {topic.format(stream='s*')}", err=True)
    if source is not None and source.counters["bad_frames"]:
        bad = {k.split(".", 1)[1]: v for k, v in source.counters.items() if k.startswith("bad_frame.")}
        reasons = ", ".join(f"{reason} {count}" for reason, count in bad.items())
        click.echo(f"skipped {source.counters['bad_frames']} unreadable row(s) of {csv_file}: {reasons}", err=True)


def _to_serial(
    port: str,
    baud: int,
    rows: Iterator[tuple[int, Any]],
    features: list[str],
    rate: float,
    fmt: str,
    checksum: bool,
    total: int,
    streams: int,
) -> int:
    """``simulate --serial``: one stream of lines to a port."""
    from edge_lstm.tools.serial_writer import write_serial

    if streams != 1:
        raise click.UsageError("--serial carries one stream: leave --streams at 1")
    if fmt == "json_array":
        raise click.UsageError("--serial writes forwarder, csv or json lines, not json_array")
    try:
        with progress("writing", length=total) as bar:
            sent = write_serial(port, baud, (v for _, v in rows), features, rate, fmt, checksum, bar.update)
    except (OSError, ValueError) as error:  # pyserial's SerialException is an OSError
        raise CLIError(f"cannot write to the serial port {port} ({error})") from None
    click.echo(f"wrote {sent} samples to {port} at {baud} baud ({fmt}{', checksummed' if checksum else ''})", err=True)
    return sent
