"""The ``edge-lstm`` command line. Library errors become one-line messages and documented exit codes:

0 success · 1 unexpected failure · 2 usage error · 65 bad data or bundle (EX_DATAERR) ·
69 a required extra is not installed (EX_UNAVAILABLE) · 78 bad configuration (EX_CONFIG)
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import click

from edge_lstm import __version__

EXIT_DATA = 65
EXIT_UNAVAILABLE = 69
EXIT_CONFIG = 78
TRAIN_HINT = "pip install 'edge-lstm[train]'  (TensorFlow 2.21; about 1.6 GB)"


class CLIError(click.ClickException):
    def __init__(self, message: str, exit_code: int = 1) -> None:
        super().__init__(message)
        self.exit_code = exit_code  # type: ignore[misc]  # click reads it per instance


@contextmanager
def translated_errors() -> Iterator[None]:
    """Known library errors -> one line on stderr and a documented exit code."""
    from edge_lstm.bundle import BundleError
    from edge_lstm.plot import PlotUnavailable
    from edge_lstm.sources.csv_file import CSVFormatError

    try:
        yield
    except (BundleError, CSVFormatError) as error:
        raise CLIError(str(error), EXIT_DATA) from None
    except PlotUnavailable as error:
        raise CLIError(str(error), EXIT_UNAVAILABLE) from None
    except ValueError as error:
        raise CLIError(str(error), EXIT_DATA) from None


def _require_training_extra() -> None:
    from edge_lstm_train import tensorflow_available

    if not tensorflow_available():
        raise CLIError(
            f"training needs TensorFlow, which is not installed. Install it with: {TRAIN_HINT}", EXIT_UNAVAILABLE
        )


def _split_names(value: str | None) -> list[str] | None:
    return [v.strip() for v in value.split(",") if v.strip()] if value else None


def _csv_options(fn: Callable[..., Any]) -> Callable[..., Any]:
    fn = click.option(
        "--sep", default=None, help="Field separator (default: sniffed from the header; 'tab' for tabs)."
    )(fn)
    fn = click.option(
        "--timestamp",
        "timestamp_col",
        default=None,
        metavar="COLUMN",
        help="Timestamp column (default: datetime/timestamp/time/ts/date if present; 'none' for none).",
    )(fn)
    return fn


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(__version__, prog_name="edge-lstm")
def main() -> None:
    """Streaming anomaly detection for sensor data on edge devices.

    Train an LSTM autoencoder on normal data, deploy it as an int8 LiteRT step model, and score a
    stream one sample at a time with its recurrent state carried forward.

    Example: edge-lstm demo
    """


@main.command()
@click.argument("data", nargs=-1, required=True, type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "--out", "out", required=True, type=click.Path(file_okay=False, path_type=Path), help="Bundle directory to write."
)
@_csv_options
@click.option(
    "--columns", default=None, help="Comma-separated sensor columns, in order (default: all numeric non-label columns)."
)
@click.option("--exclude", default=None, help="Comma-separated columns to leave out.")
@click.option("--window", default=16, show_default=True, help="Trailing samples reconstructed at each step.")
@click.option("--state-size", default=32, show_default=True, help="Recurrent state size (units).")
@click.option("--bottleneck", default=8, show_default=True, help="Bottleneck width between state and reconstruction.")
@click.option("--cell", type=click.Choice(["lstm", "gru"]), default="lstm", show_default=True)
@click.option("--dropout", default=0.0, show_default=True, help="Input dropout of the recurrent layer while training.")
@click.option(
    "--l2", default=0.0, show_default=True, help="L2 weight regularization of the recurrent and bottleneck kernels."
)
@click.option("--epochs", default=150, show_default=True, help="Maximum epochs (early stopping on validation loss).")
@click.option("--batch-size", default=32, show_default=True)
@click.option("--seq-len", default=128, show_default=True, help="Training crop length in samples.")
@click.option("--stride", default=32, show_default=True, help="Step between training crops.")
@click.option("--learning-rate", default=3e-3, show_default=True)
@click.option("--patience", default=8, show_default=True, help="Epochs without improvement before stopping.")
@click.option(
    "--quantile", default=0.999, show_default=True, help="Threshold = this quantile of held-out normal scores."
)
@click.option(
    "--threshold-method",
    type=click.Choice(["quantile", "spot"]),
    default="quantile",
    show_default=True,
    help="quantile: fixed; spot: an extreme-value threshold that keeps adapting per stream (Siffer et al. 2017).",
)
@click.option("--spot-q", default=1e-3, show_default=True, help="SPOT's target false-alarm probability per sample.")
@click.option(
    "--quantization",
    type=click.Choice(["auto", "float", "dynamic", "int8"]),
    default="auto",
    show_default=True,
    help="Deployed model: auto picks int8 where it detects like float, else dynamic (int8 weights).",
)
@click.option(
    "--val-fraction", default=0.15, show_default=True, help="Share of each file (by time) for early stopping."
)
@click.option("--calib-fraction", default=0.25, show_default=True, help="Last share of each file for the threshold.")
@click.option(
    "--max-gap-periods",
    default=5.0,
    show_default=True,
    help="A timestamp gap longer than this many sample periods cuts the data.",
)
@click.option("--name", default="model", show_default=True, help="Model name, used in the model id.")
@click.option("--seed", default=0, show_default=True)
@click.option("-q", "--quiet", is_flag=True, help="No progress bar.")
def train(
    data: tuple[Path, ...],
    out: Path,
    sep: str | None,
    timestamp_col: str | None,
    columns: str | None,
    exclude: str | None,
    window: int,
    state_size: int,
    bottleneck: int,
    cell: str,
    dropout: float,
    l2: float,
    epochs: int,
    batch_size: int,
    seq_len: int,
    stride: int,
    learning_rate: float,
    patience: int,
    quantile: float,
    threshold_method: str,
    spot_q: float,
    quantization: str,
    val_fraction: float,
    calib_fraction: float,
    max_gap_periods: float,
    name: str,
    seed: int,
    quiet: bool,
) -> None:
    """Train on normal data (CSV) and write a verified model bundle.

    The data is split by time inside each file: training, validation (early stopping) and
    calibration (threshold), in that order. Rows with NaN are dropped and cut the sequence, as do
    timestamp gaps. Every exported model is run through LiteRT and compared with Keras first.

    Example: edge-lstm train normal.csv --out bundle/

    Example (SKAB): edge-lstm train anomaly-free.csv --out pump-bundle/
    """
    _require_training_extra()
    from edge_lstm_train.fit import ModelConfig
    from edge_lstm_train.pipeline import TrainOptions, train_bundle

    from edge_lstm.sources.csv_file import read_csv

    with translated_errors():
        recordings = [
            read_csv(
                p, sep=sep, timestamp=timestamp_col, columns=_split_names(columns), exclude=_split_names(exclude) or ()
            )
            for p in data
        ]
        config = ModelConfig(
            window=window,
            state_size=state_size,
            bottleneck=bottleneck,
            cell=cell,
            dropout=dropout,
            l2=l2,
            epochs=epochs,
            batch_size=batch_size,
            seq_len=seq_len,
            stride=stride,
            learning_rate=learning_rate,
            patience=patience,
            seed=seed,
        )
        options = TrainOptions(
            val_fraction=val_fraction,
            calib_fraction=calib_fraction,
            max_gap_periods=max_gap_periods,
            quantile=quantile,
            threshold_method=threshold_method,
            spot_q=spot_q,
            quantization=quantization,
            name=name,
        )
        manifest = train_bundle(
            recordings, out, config, options, log=lambda m: click.echo(m, err=True), progress=not quiet
        )
    click.echo(
        f"wrote {out} (model {manifest['model_id']}, {manifest['quantization']['deployed']}, "
        f"threshold {manifest['threshold']['value']:.4g}) in {manifest['training']['seconds']} s",
        err=True,
    )


@main.command()
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--model", "model_dir", required=True, type=click.Path(path_type=Path), help="Model bundle directory.")
@_csv_options
@click.option("--threshold", type=float, default=None, help="Override the bundle's threshold.")
@click.option(
    "--variant",
    type=click.Choice(["float", "dynamic", "int8"]),
    default=None,
    help="Run a stored quantization variant instead of the deployed model.",
)
@click.option(
    "--plot",
    "plot_path",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Write a PNG of the signals, score, threshold and alerts.",
)
@click.option("--stream", default="replay", show_default=True, help="Stream id written into alerts.")
def replay(
    file: Path,
    model_dir: Path,
    sep: str | None,
    timestamp_col: str | None,
    threshold: float | None,
    variant: str | None,
    plot_path: Path | None,
    stream: str,
) -> None:
    """Stream a CSV through the detector one sample at a time.

    Alerts go to stdout as JSON lines (one object per line); a summary goes to stderr.

    Example: edge-lstm replay test.csv --model bundle/ --plot replay.png
    """
    from edge_lstm.bundle import load_bundle
    from edge_lstm.replay import replay as run_replay
    from edge_lstm.sinks.jsonl import JsonLinesSink
    from edge_lstm.sources.csv_file import read_csv

    with translated_errors():
        bundle = load_bundle(model_dir)
        recording = read_csv(file, sep=sep, timestamp=timestamp_col, columns=bundle.features)
        sink = JsonLinesSink()
        model = bundle.open_model(variant) if variant else None
        with click.progressbar(length=len(recording), label="replaying", file=sys.stderr) as bar:
            result = run_replay(
                recording,
                bundle,
                threshold=threshold,
                stream=stream,
                model=model,
                on_event=sink.emit,
                progress=bar.update,
            )
        c = result.counters
        click.echo(
            f"{file}: {c.samples} samples, {c.scored} scored, {c.warming_up} warming up, "
            f"{c.alerts} alerts; skipped: {c.invalid} invalid, {c.duplicates} duplicate, "
            f"{c.out_of_order} out of order; {c.gaps} gap resets, {c.out_of_range} out of range; "
            f"{result.us_per_sample:.1f} us/sample",
            err=True,
        )
        if plot_path:
            from edge_lstm.plot import plot_replay

            labels = recording.labels.get("anomaly")
            click.echo(
                f"plot: {plot_replay(plot_path, recording, result, labels=None if labels is None else labels > 0)}",
                err=True,
            )


@main.command()
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
    _require_training_extra()
    from edge_lstm_train.fit import ModelConfig
    from edge_lstm_train.pipeline import TrainOptions, train_bundle

    from edge_lstm import demo as demo_lib
    from edge_lstm.bundle import load_bundle
    from edge_lstm.plot import plot_replay
    from edge_lstm.replay import replay as run_replay
    from edge_lstm.sinks.jsonl import JsonLinesSink
    from edge_lstm.sources.csv_file import read_csv

    def say(message: str) -> None:
        click.echo(message, err=True)

    with translated_errors():
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
        recording = read_csv(test_csv, columns=bundle.features)
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


@main.command()
@click.option("--model", "model_dir", required=True, type=click.Path(path_type=Path), help="Model bundle directory.")
@click.option("--repeats", default=10_000, show_default=True, help="Timed steps per figure.")
@click.option(
    "--results",
    type=click.Path(dir_okay=False, path_type=Path),
    default=Path("bench-results/runtime.json"),
    show_default=True,
    help="JSON file the figures are written to.",
)
def bench(model_dir: Path, repeats: int, results: Path) -> None:
    """Measure the per-sample cost of the runtime (median microseconds).

    Example: edge-lstm bench --model demo-output/bundle
    """
    from edge_lstm.bench import run_benchmark, write_results
    from edge_lstm.bundle import load_bundle

    with translated_errors():
        figures = run_benchmark(load_bundle(model_dir), repeats)
    write_results(figures, results)
    click.echo(f"model {figures['model_id']} (deployed: {figures['deployed_variant']}) on {figures['machine']}")
    for name, value in figures["step_us"].items():
        click.echo(f"  {name:40s} {value:8.2f} us")
    click.echo(f"  {'detector, whole path per sample':40s} {figures['detector_us_per_sample']:8.2f} us")
    click.echo(f"written to {results}")


@main.command()
@click.argument("model_dir", type=click.Path(path_type=Path))
def info(model_dir: Path) -> None:
    """Validate a bundle and describe it: features, sizes, threshold, quantization fidelity.

    Example: edge-lstm info demo-output/bundle
    """
    from edge_lstm.bundle import load_bundle

    with translated_errors():
        bundle = load_bundle(model_dir)
        bundle.open_model()
    m = bundle.manifest
    q = m["quantization"]
    click.echo(
        f"bundle {bundle.path}: model {bundle.model_id}, schema {m['schema_version']}, "
        f"edge-lstm {m.get('package_version')}"
    )
    click.echo(f"features ({len(bundle.features)}): {', '.join(bundle.features)}")
    click.echo(
        f"cell {bundle.cell}, state {bundle.state_sizes}, window {bundle.window}, "
        f"sample period {m.get('sample_period_s')} s"
    )
    click.echo(f"threshold {bundle.threshold:.6g} ({m['threshold']['method']} {m['threshold'].get('quantile')})")
    click.echo(f"deployed: {q['deployed']}")
    for name, v in q["variants"].items():
        click.echo(
            f"  {name:8s} {v['bytes']:7d} bytes  max |recon - keras| {v['max_abs_reconstruction_error']:.2e}  "
            f"median score error {100 * v['score_rel_error_median']:.2f} %  "
            f"detection agreement {v['detection_agreement_f1']:.3f}"
        )


# The daemon-side commands (run, check-config, alerts, simulate) and `evaluate` live in their own modules and
# register themselves on `main`; imported last because they use the helpers above.
from edge_lstm import cli_evaluate, cli_mqtt  # noqa: E402, F401
