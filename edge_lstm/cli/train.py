"""``edge-lstm train``: normal data in, a verified model bundle out."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click
from click.core import ParameterSource

from edge_lstm.cli.common import csv_options, require_training_extra, split_names
from edge_lstm.errors import SettingsError

# Which data-driven decision (edge_lstm_train/inspection.py) each flag takes over when it is given
# (``evaluate --train-option`` reads it too, for the settings that are also ``TrainOptions`` fields).
DECIDED_BY = {
    "columns": "channels",
    "exclude": "channels",
    "max_gap_periods": "gaps",
    "window": "window",
    "bottleneck": "bottleneck",
    "val_fraction": "val_fraction",
    "epochs": "epochs",
    "seq_len": "crops",
    "stride": "crops",
    "threshold_method": "threshold",
    "quantile": "threshold",
    "adaptive_z": "threshold",
}


def _given(ctx: click.Context) -> set[str]:
    """The decisions the user made with a flag (or its environment variable): training leaves them be."""
    sources = (ParameterSource.COMMANDLINE, ParameterSource.ENVIRONMENT)
    return {decision for name, decision in DECIDED_BY.items() if ctx.get_parameter_source(name) in sources}


def _debounce_settings(text: str) -> Any:
    """``N/M`` (alert after N of the last M scores over the threshold), or ``off``: alert and clear on
    single scores."""
    from edge_lstm.core.thresholds import NO_DEBOUNCE, DebounceSettings

    if text.strip().lower() == "off":
        return NO_DEBOUNCE
    try:
        n, m = (int(part) for part in text.split("/"))
        return DebounceSettings(fire_n=n, fire_m=m)
    except ValueError as error:
        detail = str(error) if "fire_n" in str(error) else "expected N/M, for example 3/5"
        raise SettingsError(f"--debounce {text!r}: {detail}") from None


@click.command()
@click.argument("data", nargs=-1, required=True, type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "--out", "out", required=True, type=click.Path(file_okay=False, path_type=Path), help="Bundle directory to write."
)
@csv_options
@click.option(
    "--columns", default=None, help="Comma-separated sensor columns, in order (default: all numeric non-label columns)."
)
@click.option("--exclude", default=None, help="Comma-separated columns to leave out.")
@click.option("--window", default=16, show_default=True, help="Trailing samples reconstructed at each step.")
@click.option("--state-size", default=32, show_default=True, help="Recurrent state size (units).")
@click.option(
    "--bottleneck",
    default=8,
    show_default=True,
    help=(
        "Bottleneck width between state and reconstruction (unless given: 3 per channel when that is less "
        "and the data is too short for a fixed threshold)."
    ),
)
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
    type=click.Choice(["adaptive", "quantile", "spot", "max"]),
    default="adaptive",
    show_default=True,
    help="adaptive: each stream judged against its own recent scores, --adaptive-z spreads above them, "
    "learning a change that lasts (after Ahmad et al. 2017); quantile: fixed; spot: an extreme-value "
    "threshold that keeps adapting per stream (Siffer et al. 2017); max: --multiplier times the largest "
    "held-out normal score.",
)
@click.option(
    "--adaptive-z", default=2.5, show_default=True, help="For adaptive: the alert level in spreads (higher: fewer)."
)
@click.option("--spot-q", default=1e-3, show_default=True, help="SPOT's target false-alarm probability per sample.")
@click.option("--multiplier", default=1.5, show_default=True, help="For --threshold-method max.")
@click.option(
    "--score",
    type=click.Choice(["window_mse", "residual", "mahalanobis"]),
    default="window_mse",
    show_default=True,
    help="window_mse: squared error over the window; residual: squared mean residual (cancels white noise); "
    "mahalanobis: mean residual vector weighed by its normal covariance (Malhotra et al. 2016).",
)
@click.option(
    "--smooth", default=1, show_default=True, help="Causal trailing mean over this many samples before the model."
)
@click.option(
    "--baseline",
    default=0,
    show_default=True,
    help="Serve machines at different operating points: each stream (and each training file) is first "
    "standardized by its own first N samples; 0 = off.",
)
@click.option(
    "--drifting",
    type=click.Choice(["exclude", "track", "keep"]),
    default="exclude",
    show_default=True,
    help="Channels that drift between the training and held-out normal rows: leave them out (when others "
    "remain), track their slow level and judge only the deviation from it, or keep them as they are "
    "(they will alarm as they drift).",
)
@click.option(
    "--counts",
    type=click.Choice(["root", "keep"]),
    default="root",
    show_default=True,
    help="Channels that read as counts (non-negative integers with a long right tail): read them through a "
    "square root, which evens out their noise between quiet and busy hours, or keep them as they are.",
)
@click.option(
    "--level-span",
    default=100,
    show_default=True,
    help="Samples over which a tracked channel's slow level follows it (an exponential moving average).",
)
@click.option(
    "--drop-glitches/--keep-glitches",
    default=True,
    show_default=True,
    help="Leave a channel's glitches out of the normal data, so they do not widen every limit learned from it: "
    "runs of at most 5 readings further from the median of their neighbours than 4 times the channel's own large "
    "deviations (a bad reading, a reset), where it has at most 2 of them (more are its normal running).",
)
@click.option(
    "--stuck/--no-stuck",
    default=True,
    show_default=True,
    help="Alert when a reading stays exactly the same for three times the longest run in the training data.",
)
@click.option(
    "--jumps/--no-jumps",
    default=True,
    show_default=True,
    help="Alert when one reading steps from the last by over twice the largest step in the training data.",
)
@click.option(
    "--transitions/--no-transitions",
    default=True,
    show_default=True,
    help="Hold back an alert that starts right after a channel switches between its two normal states (a "
    "pump starting) and scores no higher than such switches did in the held-out data.",
)
@click.option(
    "--cycling/--no-cycling",
    default=True,
    show_default=True,
    help="Alert when a two-state channel (see --transitions) makes two runs in a row shorter than 0.8 times "
    "the shortest of its normal runs: a machine short-cycling.",
)
@click.option(
    "--settled/--no-settled",
    default=True,
    show_default=True,
    help="With a fixed threshold and two-state channels (see --transitions): calibrate a second threshold on "
    "the held-out scores of settled running, from the model's window plus 4 samples past a switch, and use it "
    "there, so a small fault between starts is not measured against what a start scores.",
)
@click.option(
    "--sustained/--no-sustained",
    default=True,
    show_default=True,
    help="With a fixed threshold and enough held-out data: also alert while the score's 32-sample moving "
    "geometric mean stays above its 1,024-sample one by four times as much as the held-out data ever did (a "
    "sensor going noisy, a slow drift).",
)
@click.option(
    "--seasonal/--no-seasonal",
    default=True,
    show_default=True,
    help="Where the normal data spans 1.75 weeks (else days), with a reading an hour or more often: alert when a "
    "channel's 16-sample moving average stays, 4 samples in a row, further from where it stood at the same time a "
    "week (else a day) ago than 2.5 times the largest such difference of the normal data (a daily peak that "
    "no longer comes, a drift within the day's range).",
)
@click.option(
    "--cadence/--no-cadence",
    default=False,
    show_default=True,
    help="On channels that cycle regularly in the normal data (12 or more periods, shorter than an hour, spread by "
    "at most a tenth): alert while the time the "
    "last 5 cycles took lies outside the range it took in the normal data (a pump stroking faster, a vibration "
    "slowing down). Off by default: on short normal data it can page on a noisy cycle.",
)
@click.option(
    "--debounce",
    default="3/5",
    show_default=True,
    help="Alert after N of the last M scores over the threshold: N/M, or off.",
)
@click.option(
    "--quantization",
    type=click.Choice(["auto", "float", "dynamic", "int8"]),
    default="auto",
    show_default=True,
    help="Deployed model: auto picks int8 where it detects like float, else dynamic (int8 weights).",
)
@click.option(
    "--val-fraction",
    default=0.15,
    show_default=True,
    help="Share of each file (by time) for early stopping; 0 trains exactly --epochs epochs.",
)
@click.option("--calib-fraction", default=0.25, show_default=True, help="Last share of each file for the threshold.")
@click.option(
    "--max-gap-periods",
    default=5.0,
    show_default=True,
    help="A timestamp gap longer than this many sample periods cuts the data.",
)
@click.option("--name", default="model", show_default=True, help="Model name, used in the model id.")
@click.option(
    "--time-budget",
    default=240.0,
    show_default=True,
    help="Seconds of fitting at most; training stops at the end of the epoch that crosses it.",
)
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
    adaptive_z: float,
    spot_q: float,
    multiplier: float,
    score: str,
    smooth: int,
    baseline: int,
    drifting: str,
    counts: str,
    level_span: int,
    drop_glitches: bool,
    stuck: bool,
    transitions: bool,
    cycling: bool,
    settled: bool,
    sustained: bool,
    seasonal: bool,
    cadence: bool,
    jumps: bool,
    debounce: str,
    quantization: str,
    val_fraction: float,
    calib_fraction: float,
    max_gap_periods: float,
    name: str,
    time_budget: float,
    seed: int,
    quiet: bool,
) -> None:
    """Train on normal data (CSV) and write a verified model bundle.

    The data is split by time inside each file: training, validation (early stopping) and
    calibration (threshold), in that order. Rows with NaN are dropped and cut the sequence, as do
    timestamp gaps. Every exported model is run through LiteRT and compared with Keras first.

    Settings that depend on the data are decided from it unless their flag is given, one line each
    ("decide: ..."): glitches left out, drifting channels left out, count channels read through a
    square root, gaps bridged on irregular timestamps, a smaller window and no validation split for
    little data, crops spaced out for much data, the threshold rule the calibration set can support.

    Example: edge-lstm train normal.csv --out bundle/

    Example (SKAB): edge-lstm train anomaly-free.csv --out pump-bundle/
    """
    require_training_extra()
    from edge_lstm.sources.csv_file import read_csv
    from edge_lstm_train.fit import ModelConfig
    from edge_lstm_train.pipeline import TrainOptions, train_bundle
    from edge_lstm_train.tidy import without_labelled

    recordings = [
        read_csv(p, sep=sep, timestamp=timestamp_col, columns=split_names(columns), exclude=split_names(exclude) or ())
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
        adaptive_z=adaptive_z,
        spot_q=spot_q,
        multiplier=multiplier,
        score=score,
        smooth=smooth,
        baseline=baseline,
        drifting=drifting,
        counts=counts,
        level_span=level_span,
        glitches=drop_glitches,
        stuck=stuck,
        jumps=jumps,
        transitions=transitions,
        cycling=cycling,
        settled=settled,
        sustained=sustained,
        seasonal=seasonal,
        cadence=cadence,
        debounce=_debounce_settings(debounce),
        quantization=quantization,
        name=name,
        time_budget_s=time_budget,
        auto=TrainOptions().auto - _given(click.get_current_context()),
    )
    # The labels are the user's own word that those rows are not normal (a benchmark harness, which must
    # not see labels, trains on rows without them).
    recordings = [without_labelled(r) for r in recordings]
    manifest = train_bundle(recordings, out, config, options, log=lambda m: click.echo(m, err=True), progress=not quiet)
    click.echo(
        f"wrote {out} (model {manifest['model_id']}, {manifest['quantization']['deployed']}, "
        f"threshold {manifest['threshold']['value']:.4g}) in {manifest['training']['seconds']} s",
        err=True,
    )
