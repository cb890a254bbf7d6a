"""Commands that use a bundle on the device: ``replay`` and ``info``."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import click

from edge_lstm.cli.common import csv_options, model_option, variant_option
from edge_lstm.cli.progress import progress
from edge_lstm.core.adaptive import GATE_QUANTILE, AdaptiveSettings, samples_per_day
from edge_lstm.core.calibration import ThresholdRule
from edge_lstm.core.cycling import SHORT_RUNS
from edge_lstm.core.seasonal import BUDGET_CAP, BUDGET_STARTS, BUDGET_STEP, BUDGET_WINDOW, lag_name


@click.command()
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@model_option()
@csv_options
@click.option("--threshold", type=float, default=None, help="Override the bundle's threshold.")
@variant_option()
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
    from edge_lstm.engine.replay import replay as run_replay
    from edge_lstm.sinks.jsonl import JsonLinesSink
    from edge_lstm.sources.csv_file import read_csv

    bundle = load_bundle(model_dir)
    recording = read_csv(file, sep=sep, timestamp=timestamp_col, columns=bundle.features, optional=bundle.watched)
    for note in recording.notes:
        click.echo(note, err=True)
    sink = JsonLinesSink()
    model = bundle.open_model(variant) if variant else None
    with progress("replaying", length=len(recording)) as bar:
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
    for note in _skipped_most(c, recording):
        click.echo(f"warning: {file}: {note}", err=True)
    if scores_path:
        _write_scores(scores_path, result)
        click.echo(f"scores: {scores_path}", err=True)
    if plot_path:
        from edge_lstm.tools.plot import plot_replay

        labels = recording.labels.get("anomaly")
        click.echo(
            f"plot: {plot_replay(plot_path, recording, result, labels=None if labels is None else labels > 0)}",
            err=True,
        )


def _skipped_most(c: Any, recording: Any) -> list[str]:
    """Why most of a file went unscored, when it did: the summary's counts say it, this says what to do."""
    notes = []
    if 2 * (c.duplicates + c.out_of_order) > c.samples:
        notes.append(
            f"{c.duplicates + c.out_of_order} of {c.samples} samples repeat or go back in time and were skipped, "
            "as the device skips them; sort the file by its timestamp"
        )
    if 2 * c.invalid > c.samples:
        import numpy as np

        missing = (~np.isfinite(recording.values)).mean(axis=0).tolist()
        shares = zip(recording.features, missing, strict=True)
        sparse = [f"{name} ({100 * share:.0f} %)" for name, share in shares if share > 0.2]
        fix = (
            f"missing most in {', '.join(sparse)}: a sample is scored only with every modelled reading, so a "
            "channel that reports this rarely needs a model without it (edge-lstm train --exclude)"
            if sparse
            else "check that the file has the bundle's channels (edge-lstm info lists them)"
        )
        notes.append(
            f"{c.invalid} of {c.samples} samples were invalid (a modelled reading missing, non-numeric or beyond "
            f"1e30); {fix}"
        )
    return notes


def _write_scores(path: Path, result: Any) -> None:
    """One row per sample; full float precision, so runs on different machines can be compared exactly."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8") as handle:
        handle.write("sample,score,threshold,alerting\n")
        for i, (score, alerting) in enumerate(zip(result.scores, result.alerting, strict=True)):
            limit = result.thresholds[i] if result.thresholds is not None else result.threshold
            handle.write(f"{i},{'' if score != score else repr(float(score))},{float(limit)!r},{int(alerting)}\n")


@click.command()
@click.argument("model_dir", type=click.Path(path_type=Path))
def info(model_dir: Path) -> None:
    """Validate a bundle and describe it: features, sizes, threshold, quantization fidelity.

    Example: edge-lstm info demo-output/bundle
    """
    import numpy as np

    from edge_lstm.bundle import CALIBRATION_SCORES, load_bundle

    bundle = load_bundle(model_dir)
    bundle.open_model()
    m = bundle.manifest
    q = m["quantization"]
    click.echo(
        f"bundle {bundle.path}: model {bundle.model_id}, schema {m['schema_version']}, "
        f"edge-lstm {m.get('package_version')}"
    )
    click.echo(f"features ({len(bundle.features)}): {', '.join(bundle.features)}")
    if bundle.counts:
        click.echo(f"counts, read through a square root before the model: {', '.join(bundle.counts)}")
    if bundle.watched:
        click.echo(f"watched outside the model, for stuck readings and leaps: {', '.join(bundle.watched)}")
    guard = m["alerting"].get("transitions")
    if guard and guard["bound"] > 0:
        click.echo(
            f"two-state channels: {', '.join(guard['channels'])}; an alert starting within {guard['zone']} samples "
            f"of a switch with a score of at most {guard['bound']:.4g} is held back as a normal transient"
        )
    elif guard:
        click.echo(f"two-state channels: {', '.join(guard['channels'])}; no alert is held back (no held-out switch)")
    if guard and guard.get("settled"):
        calm = guard["settled"]
        after, level = calm["after"], calm["threshold"]
        click.echo(f"settled running: from {after} samples past a switch the threshold is {level:.6g}")
    limits = zip(guard["channels"], guard.get("shortest") or [], strict=False) if guard else []
    cycling = [f"{name} (off {off}, on {on})" for name, (off, on) in limits if off or on]
    if cycling:
        click.echo(f"short cycling: alerts after {SHORT_RUNS} runs in a row shorter than {', '.join(cycling)}")
    level = m["alerting"].get("sustained")
    if level:
        click.echo(
            f"sustained level: an alert also while the score's {level['fast']}-sample moving geometric mean "
            f"stays above {math.exp(level['bound']):.4g} x its {level['slow']}-sample one (with a fixed threshold)"
        )
    seasonal = m["alerting"].get("seasonal")
    if seasonal:
        lag = lag_name(seasonal["lag_s"])
        bounds = [f"{f} {b:.3g}" for f, b in zip(bundle.features, seasonal["bound"], strict=True) if b > 0]
        click.echo(
            f"same time a {lag} ago: an alert while a channel's {seasonal['span']}-sample moving average stays "
            f"further from it than (training spreads) {', '.join(bounds) or 'nothing: no channel moved'}, "
            f"{seasonal['after']} samples in a row; each start beyond {BUDGET_STARTS} in {BUDGET_WINDOW:,} samples "
            f"raises those bounds by {BUDGET_STEP:g} of themselves, up to {1 + BUDGET_CAP:g} times"
        )
    cadence = m["alerting"].get("cadence")
    if cadence:
        ranges = zip(bundle.features, cadence["centre"], cadence["low"], cadence["high"], strict=True)
        watched = [f"{f} {low:g} to {high:g}" for f, span, low, high in ranges if span]
        click.echo(
            f"cadence: an alert while the last {cadence['cycles']} cycles take a time outside (samples) "
            + ", ".join(watched)
        )
    period, mean = m.get("sample_period_s"), m.get("mean_period_s")
    jitter = f" (median; mean interval {mean:.4g} s)" if period and mean and abs(mean / period - 1) > 0.01 else ""
    shape = f"cell {bundle.cell}, state {bundle.state_sizes}, window {bundle.window}"
    click.echo(f"{shape}, sample period {period} s{jitter}")
    t = m["threshold"]
    rule = ThresholdRule.from_section(t)
    click.echo(f"threshold {bundle.threshold:.6g} ({rule.label}); score {bundle.scorer.kind}")
    if "adaptive" not in t:  # the adaptive rule starts and clears alerts itself
        d = bundle.detector_settings().debounce
        backoff = f", up to {d.clear_n * d.clear_backoff} while it keeps coming back" if d.clear_backoff > 1 else ""
        click.echo(
            f"debounce: an alert starts at {d.fire_n} of the last {d.fire_m} scores over the threshold and clears "
            f"after {d.clear_n} in a row under {d.clear_ratio:g} x it{backoff}"
        )
    else:
        adaptive = AdaptiveSettings.from_dict(t["adaptive"])
        click.echo(
            f"gate: an alert's short-term level must also pass the {100 * adaptive.gate_quantile:g}th percentile "
            f"of the stream's own scores{' (counts burst)' if adaptive.gate_quantile > GATE_QUANTILE else ''}"
        )
        day = samples_per_day(m.get("sample_period_s"), m.get("mean_period_s"))
        if day and (tolerance := adaptive.daily_tolerance):
            click.echo(
                f"daily pattern: an alert that starts again {day} samples (a day) after the last one, "
                f"give or take {tolerance * day:.0f}, makes the last one part of the stream's normal scores"
            )
        if adaptive.budget_window:
            click.echo(
                f"alert budget: beyond {adaptive.budget_starts} alert starts within {adaptive.budget_window} scores, "
                f"each start raises the z an alert needs by {adaptive.budget_step:g}, up to {adaptive.budget_cap:g}"
                + (", and makes the last alert part of the stream's normal scores" if adaptive.budget_learns else "")
            )
    if CALIBRATION_SCORES in m["files"]:  # where the threshold stands among normal scores
        median, q99, top = np.quantile(bundle.calibration_scores(), [0.5, 0.99, 1.0])
        click.echo(f"held-out normal scores: median {median:.4g}, 0.99 quantile {q99:.4g}, largest {top:.4g}")
    click.echo(f"input smoothing: trailing mean of {bundle.smooth} sample(s)")
    for note in m.get("training", {}).get("data_notes", []):
        click.echo(f"training data: {note}")
    for note in m.get("decisions", {}).get("notes", []):
        click.echo(f"decided in training: {note}")
    if bundle.baseline:
        click.echo(f"per-stream baseline: each stream is standardized by its own first {bundle.baseline} samples")
    click.echo(f"deployed: {q['deployed']}")
    for name, v in q["variants"].items():
        if "failed" in v:
            click.echo(f"  {name:8s} not usable here: {v['failed']}")
            continue
        click.echo(
            f"  {name:8s} {v['bytes']:7d} bytes  max |recon - keras| {v['max_abs_reconstruction_error']:.2e}  "
            f"median score error {100 * v['score_rel_error_median']:.2f} %  "
            f"detection agreement {v['detection_agreement_f1']:.3f}"
        )
    if "probe" in q:  # bundles from before it was kept say nothing
        p = q["probe"]
        click.echo(
            f"  agreement measured on probe steps of {p['offset_sigma']:g} sigma: the float model flags "
            f"{p['flagged']} of {p['scores']} probe scores"
        )
