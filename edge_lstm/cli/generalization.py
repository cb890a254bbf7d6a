"""``edge-lstm evaluate --protocol corpus``: default-flag training judged on data nobody tuned for,
beside peers run through the same harness."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import click

from edge_lstm.cli.common import require_training_extra
from edge_lstm.cli.progress import progress

PEERS = ("windowed-gaussian", "rolling-zscore", "half-space-trees")


def run_corpus(
    dirs: tuple[Path, ...],
    json_path: Path | None,
    md_path: Path | None,
    limit: int | None,
    keep: Path | None = None,
    train_options: tuple[str, ...] = (),
) -> None:
    """Each DIR is a generated corpus (``corpus.json``; made there first if the folder is empty or new)
    or a SKAB data directory. ``train_options``: ``KEY=VALUE`` settings over the training defaults."""
    require_training_extra()
    from edge_lstm_train import generalization as g
    from edge_lstm_train.fit import ModelConfig
    from edge_lstm_train.options import settings_from
    from edge_lstm_train.pipeline import TrainOptions

    config, options = settings_from(train_options, ModelConfig(), TrainOptions(name="corpus"))

    started = time.perf_counter()
    series: list[Any] = []
    for root in dirs:
        if (root / "valve1").is_dir():
            series += g.skab_series(root)[:limit]
            continue
        if not (root / "corpus.json").is_file():
            if root.exists() and any(root.iterdir()):
                raise click.UsageError(f"{root}: neither a generated corpus (corpus.json) nor SKAB data")
            from edge_lstm.tools.corpus import write_corpus

            click.echo(f"generating the corpus in {root}", err=True)
            write_corpus(root)
        series += g.corpus_series(root)[:limit]
    with progress("series", length=len(series), show_item=True) as bar:
        runs = g.evaluate_all(
            series, list(PEERS), lambda name: bar.update(1, name), keep=keep, options=options, config=config
        )
    document = g.summarize(runs, series)
    settings = f"settings {' '.join(train_options)}" if train_options else "default settings"
    table = g.markdown(document, f"Detection with {settings}, beside peers through the same harness")
    total = time.perf_counter() - started
    click.echo(table)
    click.echo(f"total time: {total:.0f} s")
    for group, rows in document.items():
        for detector, row in rows.items():
            for name, reason in row["failed"].items():
                click.echo(f"failed: {group} {detector} {name}: {reason}", err=True)
    if json_path is not None:
        g.write({**document, "_total_seconds": round(total, 1), "_train_options": list(train_options)}, json_path)
    if md_path is not None:
        md_path.parent.mkdir(parents=True, exist_ok=True)
        md_path.write_text(table + f"\nTotal time: {total:.0f} s.\n", encoding="utf-8")


def run_ablation(keep: Path, json_path: Path | None, md_path: Path | None) -> None:
    """Re-decide a kept corpus run's scores under each variant of the adaptive rule."""
    require_training_extra()
    from edge_lstm_train import ablation
    from edge_lstm_train.generalization import write

    kept = list(ablation.load_kept(keep))
    if not kept:
        raise click.UsageError(f"{keep}: no kept series with the adaptive rule to re-decide")
    with progress("variants", length=len(ablation.VARIANTS)) as bar:
        table = {}
        for name, change in ablation.VARIANTS.items():
            table.update(ablation.ablate(kept, {name: change}))
            bar.update(1)
    text = ablation.markdown(table)
    click.echo(text)
    if json_path is not None:
        write(table, json_path)
    if md_path is not None:
        md_path.parent.mkdir(parents=True, exist_ok=True)
        md_path.write_text(text, encoding="utf-8")
