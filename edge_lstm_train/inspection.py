"""Looking at the training data before training: the defaults that depend on it, decided and said.

``edge-lstm train FILE`` with no flags must work on data nobody tuned it for. Each choice below is made
from the data, printed as one line, and stored in the manifest (``decisions``); a flag given by the
user always wins (``TrainOptions.auto`` lists what may still be decided).

* channels that *drift* between the training and calibration parts of normal data would alarm all the
  time: left out when other channels remain (``--drifting track`` removes their slow level instead,
  ``core/level.py``; ``--drifting keep`` or ``--columns`` keeps them as they are);
* constant and quantized channels are noted (the scaler floors their scale, ``core.scaling``);
* channels that read as counts (non-negative integers with a long right tail) are read through a square
  root, so that a busy hour's noise weighs as much as a quiet hour's (``core/counts.py``);
* irregular sampling: the gap that cuts the data (and resets a stream) grows with the jitter, so
  irregular timestamps bridge short gaps instead of cutting a few hundred rows into useless pieces;
* few channels and little data: a narrower bottleneck, ``BOTTLENECK_PER_CHANNEL`` per modelled channel,
  so the code cannot carry one or two channels' noise through and the error keeps what the shape misses;
* little data: a smaller window, no validation split (a fixed number of epochs), shorter crops;
* much data: crops are spaced so an epoch holds at most ``MAX_CROPS``, and training stops at a time budget;
* the threshold rule the calibration set supports: with thousands of held-out scores a fixed quantile
  with debounce; with fewer, the adaptive rule that keeps learning each stream on the device;
* beside a fixed threshold, with enough held-out scores, a bound on how far the score's recent level
  may rise above its longer-run level (``core/sustained.py``): a long, moderately raised stretch alerts
  although no score passes the threshold.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from edge_lstm.core.adaptive import gate_for
from edge_lstm.core.calibration import calibrate
from edge_lstm.core.counts import is_count
from edge_lstm.core.scaling import resolution
from edge_lstm.core.sustained import FAST, MIN_SCORES, SLOW, calibrate_level
from edge_lstm.errors import DataError
from edge_lstm.sources.csv_file import Recording
from edge_lstm_train.data import intervals
from edge_lstm_train.glitches import leave_out_glitches

# A channel drifts when this share of the held-out normal rows lies outside its training range, or when
# their mean lies more than this many training spreads from the training mean (chosen on SKAB, whose
# temperatures wander within normal operation, and checked on the corpus, where it flags 2 of 60).
DRIFT_OUTSIDE_SHARE = 0.25
DRIFT_SHIFT_SPREADS = 1.0
# Code width per modelled channel, up to the configured bottleneck (8): with the default window of 16,
# one channel gets 16 values from 3 numbers (a level, a slope, a bend) where 8 nearly copied them noise
# and all. Measured on the corpus's 36 univariate series, two training seeds: NAB standard 49.4 / 49.6
# against 46.3 / 48.7 with 8, FAR 12.7 / 8.4 % against 14.8 / 14.2 % (2 per channel: 48.9, 9.4 %).
# Only for data too short for a fixed threshold: on the long recordings (60,000 rows, univariate, the
# fixed-quantile path) 3 lost a fault of 15 and raised FAR from 0.67 to 2.33 %.
BOTTLENECK_PER_CHANNEL = 3
SMALL_ROWS = 600  # below: window 8
MISSING_SHARE = 0.2  # a channel missing in more of the rows than this is left out, when others remain
NO_VALIDATION_ROWS = 3000  # below: no validation split, a fixed number of epochs
SMALL_DATA_EPOCHS = 60
MAX_CROPS = 4096  # crops per epoch, at most
# With this many held-out scores a fixed 0.999 quantile is well supported (measured best on the demo);
# with fewer, each stream's own adaptive rule does better (SKAB, the corpus: README).
FIXED_THRESHOLD_SCORES = 1000


@dataclass
class Plan:
    """What training will do, after looking at the data."""

    recordings: list[Recording]
    config: Any  # ModelConfig
    options: Any  # TrainOptions
    notes: list[str] = field(default_factory=list)
    report: dict[str, Any] = field(default_factory=dict)
    screened: list[Recording] = field(default_factory=list)  # every channel, glitches out: watches read them
    given: list[Recording] = field(default_factory=list)  # as given: how much data there is


def plan(recordings: list[Recording], config: Any, options: Any) -> Plan:
    """Decide what the data asks for; ``options.auto`` names the settings that may be decided."""
    result = Plan(recordings, config, options, given=recordings)
    leave_out_glitches(result)
    result.screened = result.recordings
    _missing(result)
    _channels(result)
    _counts(result)
    _sampling(result)
    _size(result)
    _bottleneck(result)
    return result


def select_columns(recordings: list[Recording], names: list[str]) -> list[Recording]:
    """``recordings`` with just the columns ``names``, in that order."""
    index = [recordings[0].features.index(name) for name in names]
    return [
        dataclasses.replace(r, features=list(names), values=np.ascontiguousarray(r.values[:, index]))
        for r in recordings
    ]


def _valid_rows(recordings: list[Recording]) -> np.ndarray:
    rows = np.concatenate([r.values for r in recordings])
    return rows[np.isfinite(rows).all(axis=1)]


def _missing(p: Plan) -> None:
    """A channel missing from a large share of the rows would cost the others all those rows (a row
    trains only when complete, and the device skips a sample with a missing modelled reading): it is
    left out while other channels remain."""
    features = p.recordings[0].features
    values = np.concatenate([r.values for r in p.recordings])
    values = values[~np.isnan(values).all(axis=1)]  # a row with nothing (a labelled one) is no channel's fault
    if not len(values):
        return
    share = np.isnan(values).mean(axis=0)
    empty = {f: float(s) for f, s in zip(features, share, strict=True) if s > MISSING_SHARE}
    keep = [f for f in features if f not in empty]
    if not (empty and keep and "channels" in p.options.auto):
        return
    p.report["missing"] = {"left_out": empty}
    for name, s in empty.items():
        p.notes.append(
            f"channel {name}: left out: missing in {100 * s:.0f} % of the rows, which the other channels would "
            "lose with it (--columns keeps it)"
        )
    p.recordings = select_columns(p.recordings, keep)


def _channels(p: Plan) -> None:
    features = p.recordings[0].features
    fraction = p.options.calib_fraction
    train = np.concatenate([r.values[: round(len(r) * (1 - fraction))] for r in p.recordings])
    held = np.concatenate([r.values[round(len(r) * (1 - fraction)) :] for r in p.recordings])
    train, held = train[np.isfinite(train).all(axis=1)], held[np.isfinite(held).all(axis=1)]
    if len(train) < 2:
        values = np.concatenate([r.values for r in p.recordings])
        share = np.isnan(values).mean(axis=0)
        if not share.any():
            _too_few(p, len(values), min(p.config.window, 8))
        ranked = sorted(zip(features, share, strict=True), key=lambda pair: -pair[1])[:3]
        worst = ", ".join(f"{f} ({100 * s:.0f} %)" for f, s in ranked)
        raise DataError(
            f"{p.recordings[0].path}: fewer than 2 complete rows in its first part (missing values by column: "
            f"{worst}); fix the file, or name the columns that have data with --columns"
        )
    std = train.std(axis=0)
    steps = resolution(train)
    constant = [f for f, s in zip(features, std, strict=True) if s <= 1e-12]
    # Worth saying only where one step is a visible part of the spread (not a printing precision).
    quantized = {f: float(r) for f, r, s in zip(features, steps, std, strict=True) if r > 0.01 * s > 0}
    for name in constant:
        p.notes.append(f"channel {name}: constant in the training data; any change from it will score as anomalous")
    for name, step in quantized.items():
        p.notes.append(f"channel {name}: quantized in steps of {step:.4g}; one step is at most one sigma")
    drifting: dict[str, float] = {}
    moved: dict[str, float] = {}
    if len(held):
        spread = np.maximum(std, steps)
        margin = 0.25 * spread
        outside = ((held < train.min(axis=0) - margin) | (held > train.max(axis=0) + margin)).mean(axis=0)
        shift = np.abs(held.mean(axis=0) - train.mean(axis=0)) / np.maximum(spread, 1e-12)
        drifting = {
            f: float(o)
            for f, o, z in zip(features, outside, shift, strict=True)
            if o > DRIFT_OUTSIDE_SHARE or z > DRIFT_SHIFT_SPREADS
        }
        moved = {f: float(z) for f, z in zip(features, shift, strict=True) if f in drifting}
    p.report["channels"] = {"constant": constant, "quantized": quantized, "drifting": drifting, "excluded": []}
    if not drifting:
        return
    keep = [f for f in features if f not in drifting]
    mode = p.options.drifting if "channels" in p.options.auto else "keep"
    if mode == "exclude" and not keep:
        mode = "keep"
    if mode == "track":
        span = p.options.level_span
        for name, share in drifting.items():
            p.notes.append(
                f"channel {name}: drifts between the training and held-out normal rows ({_how(share, moved[name])}); "
                f"its slow level (span {span} samples) is tracked and only the deviation from it is judged "
                "(--drifting keep or exclude to choose otherwise)"
            )
        p.options = dataclasses.replace(p.options, level_channels=tuple(drifting))
        p.report["channels"]["tracked"] = list(drifting)
        return
    if mode == "keep":
        for name, share in drifting.items():
            p.notes.append(
                f"channel {name}: drifts between the training and held-out normal rows ({_how(share, moved[name])}); "
                "kept, so expect alerts as it drifts"
            )
        return
    for name, share in drifting.items():
        # Inside its range, a moved mean can also be a cycle slower than the held-out rows: on a few
        # hundred rows the two look alike (a SKAB temperature's warming moves the same way), so say so.
        cycle = "; if it is a slow cycle, not a drift, train on several of its cycles" if share < 0.005 else ""
        p.notes.append(
            f"channel {name}: left out: it drifts between the training and held-out normal rows "
            f"({_how(share, moved[name])}), so it would alarm as it drifts (--drifting track or keep keeps it{cycle})"
        )
    p.recordings = select_columns(p.recordings, keep)
    p.report["channels"]["excluded"] = list(drifting)


def _counts(p: Plan) -> None:
    features = p.recordings[0].features
    values = np.concatenate([r.values[: round(len(r) * (1 - p.options.calib_fraction))] for r in p.recordings])
    counts = [f for j, f in enumerate(features) if is_count(values[:, j])]
    p.report["channels"]["counts"] = counts if p.options.counts == "root" else []
    if not counts:
        return
    if p.options.counts == "keep":
        p.notes.append(f"channels read as counts, kept as they are (--counts keep): {', '.join(counts)}")
        return
    p.notes.append(
        f"channels read as counts (non-negative integers, skewed to the right): {', '.join(counts)}; read through "
        "a square root, so that a busy hour's noise weighs as much as a quiet hour's (--counts keep to model them "
        "as they are)"
    )
    p.options = dataclasses.replace(p.options, count_channels=tuple(counts))


def _how(share: float, moved: float) -> str:
    return f"{100 * share:.0f} % of them outside its training range, the mean moved {moved:.1f} spreads"


def _sampling(p: Plan) -> None:
    dt = intervals(p.recordings)
    if not dt.size:
        return
    period = float(np.median(dt))
    irregular = float(np.mean(np.abs(dt - period) > 0.5 * period))
    # Gaps as long as the data's own common jitter are part of its normal rhythm: bridge them.
    typical = float(np.quantile(dt, 0.99)) / period
    gap = max(p.options.max_gap_periods, 3.0 * typical) if "gaps" in p.options.auto else p.options.max_gap_periods
    p.report["sampling"] = {
        "period_s": period,
        "irregular_share": round(irregular, 4),
        "gap_cut_periods": round(gap, 2),
    }
    if irregular > 0.05:
        p.notes.append(
            f"sampling: irregular ({100 * irregular:.0f} % of intervals are off the median {period:g} s by more "
            f"than half); gaps up to {gap:.3g} periods are bridged, longer ones cut the data and reset a stream"
        )
    elif gap > 2.0 * p.options.max_gap_periods:  # rare but long pauses: a cut this far out is worth saying
        p.notes.append(
            f"sampling: 1 % of intervals are {typical:.3g} periods of {period:g} s or longer, so gaps up to "
            f"{gap:.3g} periods are the data's own rhythm and bridged; longer ones cut the data and reset a "
            "stream (--max-gap-periods N to cut sooner)"
        )
    reset = max(p.options.gap_reset_periods, 2.0 * gap)
    p.options = dataclasses.replace(p.options, max_gap_periods=gap, gap_reset_periods=reset)


def _size(p: Plan) -> None:
    # The size of the data decides the model's: a glitch's few readings left out make it no smaller in kind.
    rows = len(_valid_rows(select_columns(p.given, p.recordings[0].features)))
    config, options = p.config, p.options
    changes: dict[str, Any] = {}
    if "window" in options.auto and rows < SMALL_ROWS and config.window > 8:
        changes["window"] = 8
        p.notes.append(f"window: 8 samples ({rows} rows are too few for {config.window})")
    window = changes.get("window", config.window)
    _too_few(p, len(_valid_rows(p.recordings)), window)
    train_rows = rows * (1 - options.calib_fraction - (options.val_fraction if rows >= NO_VALIDATION_ROWS else 0))
    if "val_fraction" in options.auto and rows < NO_VALIDATION_ROWS and options.val_fraction > 0:
        options = dataclasses.replace(options, val_fraction=0.0)
        epochs = min(config.epochs, SMALL_DATA_EPOCHS) if "epochs" in options.auto else config.epochs
        changes["epochs"] = epochs
        p.notes.append(
            f"validation: none ({rows} rows are too few to spare for early stopping); a fixed {epochs} epochs"
        )
    if "crops" in options.auto:
        seq_len = int(min(config.seq_len, max(2 * window, train_rows // 3)))
        stride = max(1, seq_len // 8) if train_rows < 2000 else config.stride
        # Enough room between crops that an epoch holds at most MAX_CROPS of them.
        stride = max(stride, math.ceil(train_rows / MAX_CROPS))
        if (seq_len, stride) != (config.seq_len, config.stride):
            changes.update(seq_len=seq_len, stride=stride)
            p.notes.append(f"crops: {seq_len} steps every {stride} rows ({int(train_rows)} training rows)")
    p.config = dataclasses.replace(config, **changes)
    p.options = options
    p.report["size"] = {"rows": rows, **changes}


def _too_few(p: Plan, rows: int, window: int) -> None:
    """Refuse data too short to hold out a calibration part of two windows and two scores (the least the
    adaptive rule starts from)."""
    needed = calibration_rows_needed(window, p.options.calib_fraction)
    if rows < needed:
        raise DataError(
            f"{p.recordings[0].path}: {rows} complete row{'' if rows == 1 else 's'}; training needs at least "
            f"{needed} (the last {100 * p.options.calib_fraction:g} % of them calibrate the threshold on windows of "
            f"{window}), and a few hundred rows of normal operation do much better"
        )


def calibration_rows_needed(window: int, calib_fraction: float) -> int:
    """The fewest rows whose calibration part (the rows after ``round(rows * (1 - calib_fraction))``, as
    the split takes them) holds two windows of warm-up and two scores."""
    least = 2 * window + 2
    rows = least  # the part grows by 0 or 1 row with each row (the split rounds half to even): search
    while rows - round(rows * (1 - calib_fraction)) < least:
        rows += 1
    return rows


def _bottleneck(p: Plan) -> None:
    features = p.recordings[0].features  # the modelled ones: drifting channels are already out
    channels = len(features)
    width = BOTTLENECK_PER_CHANNEL * channels
    if "bottleneck" not in p.options.auto or width >= p.config.bottleneck:
        return
    # The width is fixed before training, so this is threshold()'s test on an estimate: the calibration
    # split's rows stand for the held-out scores they will give.
    if p.report["size"]["rows"] * p.options.calib_fraction >= FIXED_THRESHOLD_SCORES:
        return  # enough data for a fixed threshold: there the narrower code lost (see BOTTLENECK_PER_CHANNEL)
    if set(features) <= set(p.report["channels"]["constant"]):
        return  # no noise to copy through (and a flat channel's int8 model met the fidelity gate at 8, not at 3)
    p.config = dataclasses.replace(p.config, bottleneck=width)
    p.report["size"]["bottleneck"] = width
    p.notes.append(
        f"bottleneck: {width} ({BOTTLENECK_PER_CHANNEL} per channel for {channels} channel"
        f"{'s' if channels > 1 else ''}, so the model cannot copy their noise through)"
    )


def threshold(options: Any, scores: int) -> tuple[Any, str | None]:
    """The threshold rule ``scores`` held-out calibration scores can support, and what was decided."""
    if "threshold" not in options.auto:
        if options.threshold_method == "quantile" and scores * (1 - options.quantile) < 1:
            return options, (
                f"a {options.quantile} quantile of {scores} calibration scores is just their maximum "
                "(kept, as asked; --threshold-method adaptive or max suit this little calibration data)"
            )
        return options, None
    if options.threshold_method == "adaptive" and scores >= FIXED_THRESHOLD_SCORES:
        options = dataclasses.replace(options, threshold_method="quantile")
        return options, (
            f"threshold: the {options.quantile} quantile of {scores} held-out scores, with "
            f"{options.debounce.fire_n}-of-{options.debounce.fire_m} debounce (enough data for a fixed level)"
        )
    if options.threshold_method == "adaptive":
        bursts = (
            "; the channels read as counts burst, so an alert's short-term level must also pass the 99.9th "
            "percentile of the stream's own scores, not the 99th"
            if options.count_channels
            else ""
        )
        return options, (
            f"threshold: adaptive, z = {options.adaptive_z:g} ({scores} held-out scores are too few for a "
            f"fixed level; each stream keeps adapting on the device){bursts}"
        )
    if options.threshold_method == "quantile" and scores * (1 - options.quantile) < 1:
        options = dataclasses.replace(options, threshold_method="max")
        return options, (
            f"threshold: {options.multiplier:g} x the largest of {scores} calibration scores (too few for a "
            f"{options.quantile} quantile)"
        )
    return options, None


def calibrate_threshold(scores: np.ndarray, options: Any) -> dict[str, Any]:
    """The manifest's threshold section, from the deployed model's held-out calibration scores (the adaptive
    rule's gate as the data asks: higher where it reads counts)."""
    return calibrate(scores, options.threshold_rule, gate_for(bool(options.count_channels)))


def sustained_level(options: Any, scores: np.ndarray) -> tuple[dict[str, Any] | None, str | None]:
    """The bound on the score's recent level against its longer-run level that ``scores`` support beside
    a fixed threshold, and what was decided (nothing to say when the threshold adapts on its own)."""
    if not options.sustained or options.threshold_method not in ("quantile", "max"):
        return None, None
    setting = calibrate_level(scores)
    if setting is None:
        finite = int(np.isfinite(scores).sum())  # what the calibration could use
        return None, f"sustained: off ({finite} held-out scores are fewer than the {MIN_SCORES} it needs)"
    factor = math.exp(setting["bound"])
    return setting, (
        f"sustained: an alert also while the score's {FAST}-sample moving geometric mean stays above "
        f"{factor:.3g} x its {SLOW}-sample one (four times the held-out largest)"
    )


def settled_threshold(options: Any, scores: np.ndarray, threshold: float) -> float | None:
    """The fixed threshold of settled running (core/transitions.py): the bundle's own rule over
    ``scores``, the held-out scores of settled running, and never below the largest of them, where the
    rule is a fixed one, there are enough of them for it, and it comes out below ``threshold``; else
    None. Not below the largest: settled running is most of a machine's time, so a quantile's share of
    it would page every few hours."""
    finite = scores[np.isfinite(scores)]
    if options.threshold_method not in ("quantile", "max") or finite.size < FIXED_THRESHOLD_SCORES:
        return None
    value = max(float(calibrate(finite, options.threshold_rule)["value"]), float(finite.max()))
    return value if value < threshold else None
