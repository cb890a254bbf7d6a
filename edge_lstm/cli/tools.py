"""Operator tools: ``demo`` and the benchmarks."""

from __future__ import annotations

from pathlib import Path

import click

from edge_lstm.cli.common import batch_option, model_option, require_training_extra, results_option


@click.command()
@click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("demo-output"),
    show_default=True,
    help="Where the data, bundle and plot go.",
)
@click.option("--epochs", default=150, show_default=True, help="Maximum training epochs.")
def demo(out: Path, epochs: int) -> None:
    """Generate sensor data, train, quantize, replay a stream with injected faults, show the alerts.

    Four faults are injected into a 5-sensor stream: a spike, a slow drift, a stuck sensor and a
    noise burst. Deterministic: the same run gives the same alerts.

    Example: edge-lstm demo --out /tmp/demo
    """
    require_training_extra()
    from edge_lstm.bundle import load_bundle
    from edge_lstm.engine.replay import replay as run_replay
    from edge_lstm.sinks.jsonl import JsonLinesSink
    from edge_lstm.sources.csv_file import read_csv
    from edge_lstm.tools import demo as demo_lib
    from edge_lstm.tools.plot import plot_replay
    from edge_lstm_train.fit import ModelConfig
    from edge_lstm_train.pipeline import TrainOptions, train_bundle

    def say(message: str) -> None:
        click.echo(message, err=True)

    say(
        f"[1/4] generating {demo_lib.NORMAL_ROWS} normal samples and a {demo_lib.TEST_ROWS}-sample test stream "
        f"with 4 faults in {out}/"
    )
    normal_csv, test_csv, test = demo_lib.generate(out)
    say("[2/4] training the LSTM autoencoder, exporting float / dynamic-range / int8 TFLite, verifying each")
    train_bundle(
        [read_csv(normal_csv)],
        out / "bundle",
        ModelConfig(epochs=epochs),
        TrainOptions(name="demo"),
        log=lambda m: say("      " + m),
        progress=True,
    )
    bundle = load_bundle(out / "bundle")
    recording = read_csv(test_csv, columns=bundle.features, optional=bundle.watched)
    say(f"[3/4] replaying {test_csv.name} one sample at a time through {bundle.model_id}; alerts (JSON lines):")
    result = run_replay(recording, bundle, stream="demo", on_event=JsonLinesSink().emit)
    plot = plot_replay(
        out / "replay.png",
        recording,
        result,
        labels=test.labels > 0,
        title="edge-lstm demo: injected faults (black bars) and alerts (red)",
    )
    tolerance = bundle.window + bundle.manifest["alerting"]["clear_n"]
    outcomes = demo_lib.fault_outcomes(test.faults, result.alerting, tolerance)
    alarms = demo_lib.false_alarms(test.faults, result.events, tolerance)
    say("[4/4] summary")
    for line in demo_lib.summary_lines(outcomes, alarms, result, len(recording)):
        say("      " + line)
    say(f"      plot: {plot}")


@click.command()
@model_option()
@click.option("--repeats", default=10_000, show_default=True, help="Timed steps per figure.")
@results_option("bench-results/runtime.json")
def bench(model_dir: Path, repeats: int, results: Path) -> None:
    """Measure the runtime side by side: invoke() alone, the hot path, batched throughput on one core,
    the sliding-window Keras baseline, memory, bundle size, first decision, payload parsing, the health
    document and the garbage collector's full pass.

    Example: edge-lstm bench --model demo-output/bundle --json bench-results/runtime.json
    """
    from edge_lstm.bundle import load_bundle
    from edge_lstm.tools.bench import run_benchmark, write_results

    figures = run_benchmark(load_bundle(model_dir), repeats, log=lambda m: click.echo(f"measuring {m}", err=True))
    write_results(figures, results)
    click.echo(f"model {figures['model_id']} (deployed: {figures['deployed_variant']}) on {figures['machine']}")
    for name, value in figures.items():
        if isinstance(value, int | float) and not isinstance(value, bool) and name != "repeats":
            click.echo(f"  {name:40s} {value:>12,.2f}")
        elif value is None:
            click.echo(f"  {name:40s} {'n/a':>12}")
    for group in ("samples_per_s_by_streams", "step_us", "parse_us", "health_ms", "gc_full_pass_ms"):
        for name, value in figures[group].items():
            if value is None:
                shown = "n/a (not installed)"
            else:
                shown = f"{value:12,}" if isinstance(value, int) else f"{value:12.3f}"
            click.echo(f"  {group + '.' + name:40s} {shown:>12}")
    click.echo(f"written to {results}")


@click.command("bench-mqtt")
@model_option()
@click.option(
    "--rates",
    default="2000,5000,10000,15000,20000",
    show_default=True,
    help="Comma-separated publish rates (samples/s) to try.",
)
@click.option("--seconds", default=5.0, show_default=True, help="Publishing time per rate.")
@click.option("--streams", default=4, show_default=True, help="Streams the samples are spread over.")
@batch_option(" in the throughput runs")
@click.option("--latency-rate", default=1000.0, show_default=True, help="Rate for the latency run.")
@click.option("--latency-seconds", default=20.0, show_default=True)
@results_option("bench-results/mqtt.json")
def bench_mqtt(
    model_dir: Path,
    rates: str,
    seconds: float,
    streams: int,
    batch: int,
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

    from edge_lstm.bundle import load_bundle
    from edge_lstm.tools.bench_mqtt import run_mqtt_benchmark

    load_bundle(model_dir)
    figures = run_mqtt_benchmark(
        model_dir,
        [float(r) for r in rates.split(",")],
        seconds,
        streams,
        latency_rate,
        latency_seconds,
        log=click.echo,
        batch=batch,
    )
    results.parent.mkdir(parents=True, exist_ok=True)
    results.write_text(json.dumps(figures, indent=2) + "\n", encoding="utf-8")
    click.echo(f"max lossless throughput {figures['max_lossless_throughput']:.0f} samples/s; written to {results}")


@click.command("bench-serial")
@model_option()
@click.option("--seconds", default=5.0, show_default=True, help="Writing time per scenario.")
@results_option("bench-results/serial.json")
def bench_serial(model_dir: Path, seconds: float, results: Path) -> None:
    """Measure the serial path: lines written to socat pty pairs, read, parsed and scored in process.

    Scenarios: one port at 1,000 lines/s, eight ports at 100 lines/s each, one port as fast as the
    reader keeps up. Needs socat (apt-get install socat).

    Example: edge-lstm bench-serial --model demo-output/bundle
    """
    import json

    from edge_lstm.bundle import load_bundle
    from edge_lstm.tools.bench_serial import run_serial_benchmark

    load_bundle(model_dir)  # a bad bundle is a clear error before any pty is made
    figures = run_serial_benchmark(model_dir, seconds, log=click.echo)
    results.parent.mkdir(parents=True, exist_ok=True)
    results.write_text(json.dumps(figures, indent=2) + "\n", encoding="utf-8")
    click.echo(f"written to {results}")


@click.command("bench-train")
@click.option("--rows", default=1_000_000, show_default=True, help="Rows of normal data to train on.")
@click.option(
    "--workdir",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("bench-results/train"),
    show_default=True,
    help="Where the data, the bundle and the training log go.",
)
@results_option("bench-results/train.json")
def bench_train(rows: int, workdir: Path, results: Path) -> None:
    """Measure `edge-lstm train FILE --out DIR` with default flags on a large file of normal data.

    Writes ROWS rows of the demo machine's normal operation, trains on them as a user would (the
    command in a child process, its log kept), and reports wall time, peak memory, epochs run, whether
    the time budget stopped training, and what training decided. About 5 minutes at 1,000,000 rows.

    Example: edge-lstm bench-train --rows 1000000
    """
    require_training_extra()
    import json

    from edge_lstm.tools.bench_train import run_training_benchmark

    figures = run_training_benchmark(rows, workdir, log=lambda m: click.echo(m, err=True))
    results.parent.mkdir(parents=True, exist_ok=True)
    results.write_text(json.dumps(figures, indent=2) + "\n", encoding="utf-8")
    for name, value in figures.items():
        if name != "decisions":
            click.echo(f"  {name:26s} {value}")
    for note in figures["decisions"]:
        click.echo(f"  decided: {note}")
    click.echo(f"written to {results}")
