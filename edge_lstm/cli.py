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
@click.option(
    "--scores",
    "scores_path",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Write every sample's score, threshold and alert state as CSV (empty score: warm-up or skipped).",
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
    scores_path: Path | None,
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
        if scores_path:
            _write_scores(scores_path, result)
            click.echo(f"scores: {scores_path}", err=True)
        if plot_path:
            from edge_lstm.plot import plot_replay

            labels = recording.labels.get("anomaly")
            click.echo(
                f"plot: {plot_replay(plot_path, recording, result, labels=None if labels is None else labels > 0)}",
                err=True,
            )


def _write_scores(path: Path, result: Any) -> None:
    """One row per sample; full float precision, so runs on different machines can be compared exactly."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8") as handle:
        handle.write("sample,score,threshold,alerting\n")
        for i, (score, alerting) in enumerate(zip(result.scores, result.alerting, strict=True)):
            limit = result.thresholds[i] if result.thresholds is not None else result.threshold
            handle.write(f"{i},{'' if score != score else repr(float(score))},{float(limit)!r},{int(alerting)}\n")


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
    from edge_lstm import demo as demo_lib
    from edge_lstm.bundle import load_bundle
    from edge_lstm.plot import plot_replay
    from edge_lstm.replay import replay as run_replay
    from edge_lstm.sinks.jsonl import JsonLinesSink
    from edge_lstm.sources.csv_file import read_csv
    from edge_lstm_train.fit import ModelConfig
    from edge_lstm_train.pipeline import TrainOptions, train_bundle

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
    t = m["threshold"]
    knob = {"quantile": "quantile", "spot": "q", "max": "multiplier"}.get(t["method"], "")
    click.echo(f"threshold {bundle.threshold:.6g} ({t['method']}, {knob} {t.get(knob)}); score {bundle.scorer.kind}")
    click.echo(f"input smoothing: trailing mean of {bundle.smooth} sample(s)")
    if bundle.baseline:
        click.echo(f"per-stream baseline: each stream is standardized by its own first {bundle.baseline} samples")
    click.echo(f"deployed: {q['deployed']}")
    for name, v in q["variants"].items():
        click.echo(
            f"  {name:8s} {v['bytes']:7d} bytes  max |recon - keras| {v['max_abs_reconstruction_error']:.2e}  "
            f"median score error {100 * v['score_rel_error_median']:.2f} %  "
            f"detection agreement {v['detection_agreement_f1']:.3f}"
        )


# `train`, the daemon-side commands (run, check-config, alerts, simulate) and `evaluate` live in their own modules and
# register themselves on `main`; imported last because they use the helpers above.
from edge_lstm import cli_evaluate, cli_mqtt, cli_train  # noqa: E402, F401
