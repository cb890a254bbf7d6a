"""``edge-lstm evaluate``: detection quality on labelled files, through the device path."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click

from edge_lstm.cli.common import CLIError, model_option, variant_option
from edge_lstm.cli.progress import progress
from edge_lstm.cli.skab import skab_options
from edge_lstm.core.calibration import ThresholdRule


@click.command()
@click.argument("files", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option(
    "--protocol",
    type=click.Choice(["files", "skab", "corpus", "ablation"]),
    default="files",
    show_default=True,
    help="files: score FILES with --model. skab: FILES is the SKAB data directory; train and score both "
    "SKAB protocols (leaderboard: a bundle per file; fleet: one bundle for all files). corpus: FILES are "
    "corpus folders (generated there if new), the SKAB data directory and/or folders of labelled CSV files "
    "(an anomaly column; each trains on its first 15 percent, at least 150 rows, at most half); every "
    "series trained with default settings only and judged beside peers. ablation: FILES is a folder a "
    "corpus run kept (--keep-bundles); its scores are re-decided under variants of the adaptive alert rule, "
    "without training again.",
)
@model_option(required=False)
@variant_option("Evaluate")
@click.option(
    "--threshold-rule",
    default=None,
    metavar="METHOD:KNOB",
    help="Recalibrate the threshold from the bundle's stored scores, as the daemon config can: "
    "quantile:0.999, max:1.8 or spot:0.001.",
)
@click.option(
    "--window-s", default=60.0, show_default=True, help="Changepoint window to the right of each changepoint."
)
@click.option(
    "--json",
    "json_path",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Write per-file and pooled results as JSON.",
)
@click.option(
    "--markdown",
    "md_path",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Write the results table as Markdown.",
)
@click.option(
    "--plots",
    "plot_dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Write one PNG per file: signals, score, threshold, labels, alerts.",
)
@click.option(
    "--train-option",
    "train_options",
    multiple=True,
    metavar="KEY=VALUE",
    help="corpus: a training or model setting over the defaults, repeatable (drifting=track, score=residual, "
    "adaptive_z=3.0, stuck=false, seed=1, bottleneck=8, ...), to measure a variant with the same harness.",
)
@skab_options
def evaluate(
    files: tuple[Path, ...],
    protocol: str,
    model_dir: Path | None,
    variant: str | None,
    threshold_rule: str | None,
    window_s: float,
    json_path: Path | None,
    md_path: Path | None,
    plot_dir: Path | None,
    train_options: tuple[str, ...],
    **skab: Any,
) -> None:
    """Score labelled CSV files (with an `anomaly` column) through the deployed model, one sample at a time.

    Reports point-wise F1, FAR and MAR, event-level precision and recall, mean detection delay and the
    NAB changepoint score (standard, low-FP and low-FN profiles), per file and pooled over all files.

    Example: edge-lstm evaluate test_with_faults.csv --model bundle/ --markdown results.md --plots plots/

    Example (SKAB benchmark, about 8 minutes): edge-lstm evaluate --protocol skab data/skab --json skab.json
    """
    if protocol == "corpus":
        from edge_lstm.cli.generalization import run_corpus

        run_corpus(files, json_path, md_path, skab["limit"], skab["keep_bundles"], train_options)
        return
    if train_options:
        raise click.UsageError("--train-option is for --protocol corpus")
    if protocol == "ablation":
        from edge_lstm.cli.generalization import run_ablation

        if len(files) != 1 or not (files[0] / "runs").is_dir():
            raise click.UsageError(
                "--protocol ablation takes one argument: a folder kept by --protocol corpus --keep-bundles"
            )
        run_ablation(files[0], json_path, md_path)
        return
    if protocol == "skab":
        if len(files) != 1 or not files[0].is_dir():
            raise click.UsageError("--protocol skab takes one argument: the SKAB data directory")
        from edge_lstm.cli.skab import run_skab

        run_skab(files[0], json_path, md_path, **skab)
        return
    if model_dir is None:
        raise click.UsageError("--model is required (or use --protocol skab)")
    for path in files:
        if path.is_dir():
            raise click.UsageError(f"{path} is a directory; for the SKAB data directory use --protocol skab")
    from edge_lstm.bundle import load_bundle
    from edge_lstm.evaluation.evaluate import evaluate_recording, markdown, pooled
    from edge_lstm.sources.csv_file import read_csv

    bundle = load_bundle(model_dir)
    rule = ThresholdRule.parse(threshold_rule) if threshold_rule else None
    model = bundle.open_model(variant) if variant else None
    results = []
    with progress("evaluating", iterable=files) as bar:
        for path in bar:
            recording = read_csv(path, columns=bundle.features, optional=bundle.watched)
            result, run = evaluate_recording(recording, bundle, window_s, model=model, rule=rule)
            results.append(result)
            if plot_dir is not None:
                from edge_lstm.tools.plot import plot_replay

                plot_replay(
                    plot_dir / f"{path.stem}.png",
                    recording,
                    run,
                    labels=recording.labels["anomaly"] > 0,
                    title=_plot_title(path.name, result),
                )
    if not results:
        raise CLIError("no files to evaluate")
    total = pooled(results)
    title = f"{bundle.model_id} ({variant or bundle.manifest['quantization']['deployed']})"
    if threshold_rule:
        title += f", threshold {threshold_rule}"
    table = markdown(results, total, title)
    click.echo(table)
    if json_path is not None:
        json_path.parent.mkdir(parents=True, exist_ok=True)
        document = {
            "model_id": bundle.model_id,
            "variant": variant or bundle.manifest["quantization"]["deployed"],
            "threshold_rule": threshold_rule,
            "window_s": window_s,
            "pooled": total,
            "files": [r.as_dict() for r in results],
        }
        json_path.write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")
    if md_path is not None:
        md_path.parent.mkdir(parents=True, exist_ok=True)
        md_path.write_text(table, encoding="utf-8")


def _plot_title(name: str, result: Any) -> str:
    """The file's figures in the plot's title; a file with no labelled event has no F1 or MAR to show."""
    points = result.points
    if not result.events.events:
        return f"{name}: no labelled anomaly; {result.events.alert_runs} alerts, FAR {points.far:.1f} %"
    return f"{name}: F1 {points.f1:.3f}, FAR {points.far:.1f} %, MAR {points.mar:.1f} %"
