"""``edge-lstm evaluate --protocol skab``: train and judge both SKAB protocols, print them beside the
published results, and write the JSON and Markdown reports."""

from __future__ import annotations

import json
import shutil
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from edge_lstm.cli.common import require_training_extra
from edge_lstm.cli.progress import progress

FLEET_QUANTILE = 0.99  # chosen on the tuning files, see the README
EXCLUDED_DEFAULT = ("Temperature", "Thermocouple")  # as edge_lstm_train.skab.EXCLUDED (no TF import here)


def skab_options(fn: Callable[..., Any]) -> Callable[..., Any]:
    options = [
        click.option(
            "--protocols",
            default="leaderboard,fleet",
            show_default=True,
            help="SKAB protocols to run, comma-separated.",
        ),
        click.option("--cell", type=click.Choice(["lstm", "gru"]), default="lstm", show_default=True, help="SKAB."),
        click.option("--dropout", default=0.0, show_default=True, help="SKAB: recurrent input dropout."),
        click.option("--l2", default=0.0, show_default=True, help="SKAB: L2 weight regularization."),
        click.option("--epochs", default=30, show_default=True, help="SKAB: training epochs per bundle."),
        click.option("--smooth", default=5, show_default=True, help="SKAB: trailing-mean input smoothing."),
        click.option(
            "--score",
            type=click.Choice(["window_mse", "residual", "mahalanobis"]),
            default="residual",
            show_default=True,
            help="SKAB leaderboard: the bundles' score.",
        ),
        click.option(
            "--multiplier",
            default=1.8,
            show_default=True,
            help="SKAB leaderboard: threshold = this x max held-out score.",
        ),
        click.option("--seed", default=0, show_default=True, help="SKAB: training seed."),
        click.option(
            "--fleet-baseline",
            default=400,
            show_default=True,
            help="SKAB fleet: samples each stream spends learning its own operating point (0: one global scaler).",
        ),
        click.option(
            "--fleet-quantile",
            default=FLEET_QUANTILE,
            show_default=True,
            help="SKAB fleet: threshold = this quantile of the pooled held-out scores (thousands of them).",
        ),
        click.option(
            "--fleet-score",
            type=click.Choice(["window_mse", "residual", "mahalanobis"]),
            default="mahalanobis",
            show_default=True,
            help="SKAB fleet: the bundle's score (thousands of pooled rows fit its covariance well).",
        ),
        click.option(
            "--exclude",
            default=",".join(EXCLUDED_DEFAULT),
            show_default=True,
            help="SKAB: sensor columns to leave out, comma-separated ('' keeps all eight).",
        ),
        click.option("--limit", type=int, default=None, help="SKAB: only the first N files (a quick check)."),
        click.option(
            "--keep-bundles",
            type=click.Path(file_okay=False, path_type=Path),
            default=None,
            help="SKAB and corpus: keep the trained bundles in this directory (default: a temporary one); corpus "
            "also keeps every detector's scores there, for --protocol ablation.",
        ),
    ]
    for option in reversed(options):
        fn = option(fn)
    return fn


def run_skab(
    root: Path,
    json_path: Path | None,
    md_path: Path | None,
    protocols: str,
    limit: int | None,
    keep_bundles: Path | None,
    exclude: str,
    fleet_baseline: int,
    fleet_quantile: float,
    fleet_score: str,
    **knobs: Any,
) -> None:
    require_training_extra()
    from edge_lstm_train import skab
    from edge_lstm_train.skab_report import markdown, protocol_summary

    chosen = [p.strip() for p in protocols.split(",") if p.strip()]
    excluded = tuple(c.strip() for c in exclude.split(",") if c.strip())
    unknown = sorted(set(chosen) - {"leaderboard", "fleet"})
    if unknown or not chosen:
        raise click.UsageError(f"--protocols: expected leaderboard and/or fleet, got {protocols!r}")
    started = time.perf_counter()
    workdir = keep_bundles or Path(tempfile.mkdtemp(prefix="edge-lstm-skab-"))
    summaries: dict[str, dict[str, Any]] = {}
    n_files = len(skab.skab_files(root)[:limit])
    try:
        for protocol in chosen:
            fleet = protocol == "fleet"
            if fleet:
                fleet_knobs = {**knobs, "score": fleet_score}
                config, options = skab.recipe(**fleet_knobs, baseline=fleet_baseline, quantile=fleet_quantile)
            else:
                config, options = skab.recipe(**knobs)
            trainer = skab.Trainer(config, options)
            label = f"{protocol:>11s}"
            with progress(label, length=n_files, show_item=True) as bar:
                run = skab.run_protocol(
                    protocol,
                    root,
                    workdir / protocol,
                    trainer,
                    on_file=lambda name, bar=bar: bar.update(1, name),  # type: ignore[misc]
                    limit=limit,
                    exclude=excluded,
                )
            rows = skab.ablation(run, skab.default_rules(options.score, skab.recipe_rule(options)))
            extra = {
                "deployed_model": ", ".join(f"{v} x{n}" for v, n in sorted(run.deployed.items())),
                "seconds": round(run.seconds, 1),
                "recipe": {"model": _plain(config), "training": _plain(options)},
                "files": [r.as_dict() for r in run.results],
            }
            summaries[protocol] = protocol_summary(run.parts(run.results), rows, extra)
            s = summaries[protocol]
            click.echo(
                f"{protocol}: F1 {s['f1']:.3f}, FAR {s['far']:.2f} %, MAR {s['mar']:.2f} %, "
                f"NAB standard {s['cp_standard']:.2f} ({run.seconds:.0f} s)",
                err=True,
            )
    finally:
        if keep_bundles is None:
            shutil.rmtree(workdir, ignore_errors=True)
    total = time.perf_counter() - started
    title = f"SKAB ({n_files} files), strictly causal, deployed model through LiteRT"
    table = markdown(summaries, title)
    click.echo(table)
    click.echo(f"total time: {total:.0f} s")
    document = {
        "data": str(root),
        "excluded": list(excluded),
        "total_seconds": round(total, 1),
        **summaries,
    }
    if json_path is not None:
        json_path.parent.mkdir(parents=True, exist_ok=True)
        json_path.write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")
    if md_path is not None:
        md_path.parent.mkdir(parents=True, exist_ok=True)
        md_path.write_text(table + f"\nTotal time: {total:.0f} s.\n", encoding="utf-8")


def _plain(obj: Any) -> dict[str, Any]:
    from dataclasses import asdict

    return json.loads(json.dumps(asdict(obj), default=str))  # type: ignore[no-any-return]
