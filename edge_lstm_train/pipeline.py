"""From recordings to a verified model bundle: split, scale, fit, export, verify, calibrate, write."""

from __future__ import annotations

import dataclasses
import shutil
import tempfile
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from edge_lstm import __version__
from edge_lstm.bundle import CALIBRATION_SCORES, MODEL, REFERENCE_WEIGHTS, write_manifest
from edge_lstm.core.calibration import ThresholdRule
from edge_lstm.core.counts import root
from edge_lstm.core.scaling import StandardScaler
from edge_lstm.core.scoring import SCORES, Scorer, fit_precision, mean_residuals
from edge_lstm.core.smoothing import trailing_mean
from edge_lstm.core.thresholds import DebounceSettings
from edge_lstm.errors import DataError, SettingsError
from edge_lstm.runtime.reference import NumpyStepModel
from edge_lstm.sources.csv_file import Recording
from edge_lstm_train import data, deploy, export, inspection, verify, watches
from edge_lstm_train.deploy import INT8_MAX_MEDIAN_SCORE_ERROR, INT8_MIN_AGREEMENT
from edge_lstm_train.fit import ModelConfig, fit_sequence_model
from edge_lstm_train.model import build_step_model, reference_weights
from edge_lstm_train.tidy import tidy


@dataclass(frozen=True)
class TrainOptions:
    val_fraction: float = 0.15
    calib_fraction: float = 0.25
    max_gap_periods: float = 5.0
    quantile: float = 0.999
    threshold_method: str = "adaptive"  # adaptive | quantile | spot | max
    adaptive_z: float = 2.5  # the adaptive rule: spreads above the stream's own recent scores
    spot_q: float = 1e-3  # SPOT's target false-alarm probability per sample
    multiplier: float = 1.5  # the max method: this many times the largest calibration score
    smooth: int = 1  # causal trailing mean over this many scaled samples (1 = off)
    score: str = "window_mse"  # window_mse | residual | mahalanobis
    baseline: int = 0  # standardize each recording by its own first rows first, as each stream will (0 = off)
    # Channels that drift in normal data: leave them out (when others remain), track their slow level and
    # judge the deviation from it, or keep them. Leaving out measured best (docs/detection.md,
    # "Channels left out, and normal switches"); tracking keeps what such a channel says about fast faults.
    drifting: str = "exclude"
    level_span: int = 100  # the tracked level's span in samples (core/level.py)
    level_channels: tuple[str, ...] = ()  # the channels whose slow level is removed (decided by inspection)
    # Channels that read as counts: through a square root (core/counts.py), or kept as they are.
    counts: str = "root"
    count_channels: tuple[str, ...] = ()  # decided by inspection
    glitches: bool = True  # leave out a few readings that leap from their neighbours and back (glitches.py)
    stuck: bool = True  # watch for readings that stop moving for longer than normal data ever did
    jumps: bool = True  # watch for steps between readings far larger than normal data ever took
    transitions: bool = True  # hold back alerts that a normal switch between two states explains
    cycling: bool = True  # on those two-state channels, alert on runs far shorter than normal ones
    settled: bool = True  # with a fixed threshold, a second one for running well past such a switch
    sustained: bool = True  # beside a fixed threshold, alert on a recent score level far above the longer-run one
    seasonal: bool = True  # alert on a reading far from where it stood at the same time a week or a day ago
    # Alert on a fast cycle that runs faster or slower than normal data's. Off by default: with a few
    # dozen normal cycles its range is too narrow for a noisy cycle (docs/detection.md, "A stuck count,
    # and a fast cycle's cadence").
    cadence: bool = False
    quantization: str = "auto"  # auto | float | dynamic | int8
    debounce: DebounceSettings = field(default_factory=DebounceSettings)
    input_margin: float = 1.0  # scaled units beyond the training range that still count as in range
    name: str = "model"
    time_budget_s: float = 240.0  # training stops at the end of the epoch that crosses this
    gap_reset_periods: float = 10.0  # on the device, a gap longer than this many periods resets a stream
    # Settings that training may still decide from the data (see inspection.py); a flag the user gives
    # is taken out of this set by the command line.
    auto: frozenset[str] = frozenset(
        {"channels", "gaps", "window", "bottleneck", "val_fraction", "epochs", "crops", "threshold"}
    )

    @property
    def threshold_rule(self) -> ThresholdRule:
        """The rule the threshold flags ask for: the method, with the knob that belongs to it."""
        knobs = {"adaptive": self.adaptive_z, "quantile": self.quantile, "spot": self.spot_q, "max": self.multiplier}
        knob = knobs.get(self.threshold_method, 0.0)
        return ThresholdRule(self.threshold_method, knob)

    def __post_init__(self) -> None:
        self.threshold_rule  # noqa: B018  (validates the method and its knob)
        if self.score not in SCORES:
            raise SettingsError(f"score must be one of {', '.join(SCORES)}, got {self.score!r}")
        if self.smooth < 1:
            raise SettingsError(f"smooth must be at least 1 sample, got {self.smooth}")
        if self.baseline < 0 or self.baseline == 1:
            raise SettingsError(f"baseline must be 0 (off) or at least 2 samples, got {self.baseline}")
        if not self.multiplier > 0:
            raise SettingsError(f"multiplier must be positive, got {self.multiplier}")
        if self.drifting not in ("track", "exclude", "keep"):
            raise SettingsError(f"drifting must be track, exclude or keep, got {self.drifting!r}")
        if self.counts not in ("root", "keep"):
            raise SettingsError(f"counts must be root or keep, got {self.counts!r}")
        if self.level_span < 1:
            raise SettingsError(f"level_span must be at least 1 sample, got {self.level_span}")
        if self.quantization not in ("auto", *export.VARIANTS):
            raise SettingsError(f"quantization must be auto, float, dynamic or int8, got {self.quantization!r}")


def _same_columns(recordings: list[Recording]) -> list[Recording]:
    """Every file in the first one's column order (columns are matched by name, as a replay matches them);
    files whose sensors differ are refused with the fix."""
    first = recordings[0]
    same = [first]
    for rec in recordings[1:]:
        if set(rec.features) != set(first.features):
            shared = [f for f in first.features if f in rec.features]
            raise DataError(
                f"{rec.path}: columns {rec.features} differ from {first.path}: {first.features}; train on files "
                f"with the same sensors, or name the shared ones with --columns {','.join(shared) or 'A,B'}"
            )
        order = [rec.features.index(f) for f in first.features]
        if order != list(range(len(order))):
            note = f"{rec.path}: columns in another order than {first.path}; matched by name"
            rec = dataclasses.replace(
                rec, features=first.features, values=rec.values[:, order], notes=[*rec.notes, note]
            )
        same.append(rec)
    return same


def train_bundle(
    recordings: list[Recording],
    out: Path,
    config: ModelConfig,
    options: TrainOptions,
    log: Callable[[str], None] = print,
    progress: bool = True,
) -> dict[str, Any]:
    started = time.perf_counter()
    recordings = _same_columns(recordings)
    recordings, data_notes = tidy(recordings)
    for note in data_notes:
        log(f"data: {note}")
    chosen = inspection.plan(recordings, config, options)
    screened, recordings, config, options = chosen.screened, chosen.recordings, chosen.config, chosen.options
    features = recordings[0].features
    for note in chosen.notes:
        log(f"decide: {note}")
    if options.count_channels:  # from here on, the watches included, counts are read as the detector reads them
        screened, recordings = _rooted(screened, options.count_channels), _rooted(recordings, options.count_channels)
    # A channel left out of the model can still freeze or leap: its readings keep their own watches.
    watched = list(chosen.report.get("channels", {}).get("excluded", [])) if options.stuck or options.jumps else []
    readings = inspection.select_columns(screened, [*features, *watched]) if watched else recordings
    if watched:
        log(f"watch: left out of the model, still watched for stuck readings and leaps: {', '.join(watched)}")
    stuck = watches.stuck_watch(readings, log) if options.stuck else None
    jump = watches.jump_watch(readings, log) if options.jumps else None
    splits = split(recordings, options, min_rows=4 * config.window)
    log(
        f"data: {sum(len(r) for r in recordings)} rows from {len(recordings)} file(s); "
        f"train {splits.rows('train')}, validation {splits.rows('validation')}, calibration "
        f"{splits.rows('calibration')} rows; {splits.dropped_nan_rows} rows with NaN dropped, "
        f"{splits.gap_cuts} timestamp gaps cut, {splits.bridged} short pieces bridged across a gap"
    )
    if not splits.train:
        raise DataError("no training rows left after the NaN and gap policy")
    scaler = StandardScaler.fit(np.concatenate(splits.train))
    train_seg = [_smoothed(scaler.transform(s), options.smooth) for s in splits.train]
    val_seg = [_smoothed(scaler.transform(s), options.smooth) for s in splits.validation]
    calib_raw, calib_seg = calibration_segments(splits, scaler, options, config.window)
    if not calib_seg or (options.val_fraction > 0 and not val_seg):
        files = ", ".join(str(r.path) for r in recordings)
        raise DataError(
            f"{files}: the held-out part ({splits.rows('calibration')} calibration, {splits.rows('validation')} "
            f"validation rows) has no piece of {2 * config.window + 1} complete rows in a row after missing values "
            "and gaps; give more normal data, or fill the gaps"
        )

    train_xy = data.crops(train_seg, config.seq_len, config.stride, config.window)
    val_xy = data.crops(val_seg, config.seq_len, config.seq_len, config.window) if val_seg else None
    log(
        f"fit: {len(train_xy[0])} training crops of {config.seq_len} steps, "
        + (f"{len(val_xy[0])} validation crops" if val_xy else f"no validation: a fixed {config.epochs} epochs")
    )
    sequence_model, fit_summary = fit_sequence_model(
        config, train_xy, val_xy, progress=progress, time_budget_s=options.time_budget_s, log=log
    )
    log(
        f"fit: best epoch {fit_summary['best_epoch']} of {fit_summary['epochs_run']}, "
        + (f"val loss {fit_summary['val_loss']:.4f}" if val_xy else f"train loss {fit_summary['train_loss']:.4f}")
    )

    step_model = build_step_model(sequence_model, config.cell)
    weights = reference_weights(sequence_model)
    reference = NumpyStepModel(weights, cell=config.cell, window=config.window)
    state_names = ["h", "c"] if config.cell == "lstm" else ["h"]
    warmup = 2 * config.window

    out.parent.mkdir(parents=True, exist_ok=True)
    # Written beside the destination and renamed into place, so a failed run leaves no half bundle.
    workdir = Path(tempfile.mkdtemp(prefix=f".{out.name}-", dir=out.parent))
    try:
        (workdir / "variants").mkdir()
        np.savez(workdir / REFERENCE_WEIGHTS, **weights)
        representative = export.representative_inputs(
            reference, data.capped(train_seg, data.MAX_CHECK_ROWS), state_names, seed=config.seed
        )
        scorer = _fit_scorer(options.score, sequence_model, train_seg, warmup)
        keras_recons = verify.keras_reconstructions(sequence_model, calib_seg)
        ref_clean = verify.scores(keras_recons, calib_seg, warmup, scorer)

        def threshold_of(scores: np.ndarray) -> float:
            return float(inspection.calibrate_threshold(scores, options)["value"])

        # The probe (faults injected into the raw signal, then smoothed as the device would smooth them)
        # must hold faults the float model flags at the bundle's threshold, or the agreement measured on it
        # is over a handful of samples (none flagged against 3 read as no agreement at all): its step
        # doubles from 3 sigma until Keras flags enough of it.
        limit = threshold_of(ref_clean)
        for offset in verify.PROBE_OFFSETS:
            raw_probes = verify.probe_segments(calib_raw, seed=config.seed, offset=offset)
            probes = [_smoothed(p, options.smooth) for p in raw_probes]
            ref_probe = verify.scores(verify.keras_reconstructions(sequence_model, probes), probes, warmup, scorer)
            flagged = int(np.sum(ref_probe > limit))
            if flagged >= verify.PROBE_FLAGGED:
                break
        log(f"probe: steps of {offset:g} sigma; the float model flags {flagged} of {ref_probe.size} probe scores")
        variants = deploy.export_variants(
            step_model,
            workdir,
            representative,
            (calib_seg, probes),
            (keras_recons, ref_clean, ref_probe),
            threshold_of,
            shape=(len(features), config.window, state_names, config.state_size),
            scorer=scorer,
            warmup=warmup,
            log=log,
        )
        deployed = deploy.choose_variant(options.quantization, variants)
        scores = variants[deployed]["_clean_scores"]
        options, note = inspection.threshold(options, len(scores))
        if note is not None:
            chosen.notes.append(note)
            log(f"decide: {note}")
        threshold_settings = inspection.calibrate_threshold(scores, options)
        threshold = threshold_settings["value"]

        def threshold_of_settled(settled_scores: np.ndarray) -> float | None:
            return inspection.settled_threshold(options, settled_scores, threshold)

        sustained, note = inspection.sustained_level(options, scores)
        if note is not None:
            chosen.notes.append(note)
            log(f"decide: {note}")
        seasonal = watches.seasonal_watch(recordings, options, scaler, splits.sample_period_s, log)
        cadence = watches.cadence_watch(splits, scaler, features, log) if options.cadence else None
        guard = None
        if options.transitions:
            settled = threshold_of_settled if options.settled else None
            guard = watches.transition_guard(
                splits, scaler, calib_raw, scores, warmup, features, options.cycling, log, settled, config.window
            )
        log(
            f"deploy: {deployed} model; threshold {threshold:.4f} ({options.threshold_method}) from "
            f"{len(scores)} held-out calibration scores"
        )
        shutil.copyfile(workdir / variants[deployed]["file"], workdir / MODEL)
        # Kept so that a deployment can choose another threshold method or knob without retraining.
        np.save(workdir / CALIBRATION_SCORES, scores.astype(np.float64))
        train_all = np.concatenate(train_seg)
        manifest = {
            "model_id": "",
            "name": options.name,
            "created": datetime.now(UTC).isoformat(timespec="seconds"),
            "package_version": __version__,
            "features": features,
            "scaler": scaler.to_dict(),
            "input_range": {
                "low": [float(v) for v in train_all.min(axis=0) - options.input_margin],
                "high": [float(v) for v in train_all.max(axis=0) + options.input_margin],
            },
            "window": config.window,
            "cell": config.cell,
            "state": [{"name": n, "size": config.state_size} for n in state_names],
            "bottleneck": config.bottleneck,
            "sample_period_s": splits.sample_period_s,
            "mean_period_s": splits.mean_period_s,
            "preprocessing": {
                "smooth": options.smooth,
                "baseline": options.baseline,
                **({"counts": list(options.count_channels)} if options.count_channels else {}),
                **(
                    {"level": {"channels": list(options.level_channels), "span": options.level_span}}
                    if options.level_channels
                    else {}
                ),
            },
            "score": scorer.to_dict(),
            "threshold": threshold_settings,
            "alerting": {
                **asdict(options.debounce),
                "warmup": warmup,
                "gap_reset_periods": options.gap_reset_periods,
                **({"stuck": stuck} if stuck is not None else {}),
                **({"jump": jump} if jump is not None else {}),
                **({"watched": watched} if watched else {}),
                **({"transitions": guard} if guard is not None else {}),
                **({"sustained": sustained} if sustained is not None else {}),
                **({"seasonal": seasonal} if seasonal is not None else {}),
                **({"cadence": cadence} if cadence is not None else {}),
            },
            "decisions": {**chosen.report, "notes": chosen.notes},
            "quantization": {
                "deployed": deployed,
                "rule": f"int8 if detection agreement >= {INT8_MIN_AGREEMENT} and median score error <= "
                f"{INT8_MAX_MEDIAN_SCORE_ERROR}, else dynamic (auto mode)",
                "variants": {
                    k: {kk: vv for kk, vv in v.items() if not kk.startswith("_")} for k, v in variants.items()
                },
                "probe": {"offset_sigma": offset, "flagged": flagged, "scores": int(ref_probe.size)},
            },
            "training": {
                "files": [r.path.name for r in recordings],
                "rows": int(sum(len(r) for r in recordings)),
                "data_fingerprint": data.fingerprint(chosen.recordings),  # the readings, as read
                "split_rows": {p: splits.rows(p) for p in ("train", "validation", "calibration")},
                "dropped_nan_rows": splits.dropped_nan_rows,
                "gap_cuts": splits.gap_cuts,
                "gaps_bridged": splits.bridged,
                "data_notes": data_notes,  # what reading and tidying changed (newest first, sorted, ...)
                "config": asdict(config),
                **fit_summary,
            },
        }
        files = [MODEL, REFERENCE_WEIGHTS, CALIBRATION_SCORES, *(v["file"] for v in variants.values() if "file" in v)]
        manifest["model_id"] = ""
        manifest = write_manifest(workdir, manifest, files)
        manifest["model_id"] = f"{options.name}-{manifest['files'][MODEL][:8]}"
        manifest = write_manifest(workdir, manifest, files)
        if out.exists():
            shutil.rmtree(out)
        workdir.rename(out)
    except BaseException:
        shutil.rmtree(workdir, ignore_errors=True)
        raise
    manifest["training"]["seconds"] = round(time.perf_counter() - started, 1)
    return manifest


def split(recordings: list[Recording], options: TrainOptions, min_rows: int = 64) -> data.Splits:
    """Train / validation / calibration segments by time, each recording first freed of the slow level of
    its drifting channels and standardized by its own baseline, when the bundle does either."""
    return data.split_recordings(
        data.as_streamed(recordings, options.level_channels, options.level_span, options.baseline),
        options.val_fraction,
        options.calib_fraction,
        options.max_gap_periods,
        min_rows=min_rows,
    )


def calibration_segments(
    splits: data.Splits, scaler: StandardScaler, options: TrainOptions, window: int
) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """The held-out calibration segments as the model sees them: (scaled, scaled and smoothed)."""
    raw = [
        s
        for s in (scaler.transform(s) for s in data.capped(splits.calibration, data.MAX_CHECK_ROWS))
        if len(s) > 2 * window
    ]
    return raw, [_smoothed(s, options.smooth) for s in raw]


def _rooted(recordings: list[Recording], channels: tuple[str, ...]) -> list[Recording]:
    """The recordings with ``channels`` read through a square root, as the detector reads a stream."""
    return [dataclasses.replace(r, values=root(r.values, np.isin(r.features, channels))) for r in recordings]


def _smoothed(segment: np.ndarray, k: int) -> np.ndarray:
    return trailing_mean(segment, k) if k > 1 else segment


def _fit_scorer(kind: str, sequence_model: Any, train_seg: list[np.ndarray], warmup: int) -> Scorer:
    """The score function; for Mahalanobis, its covariance comes from the training rows' residuals
    (part of the model, like the scaler), so the threshold still sees only held-out data."""
    if kind != "mahalanobis":
        return Scorer(kind)
    recons = verify.keras_reconstructions(sequence_model, train_seg)
    residuals = [mean_residuals(r, s)[warmup:] for r, s in zip(recons, train_seg, strict=True)]
    return Scorer(kind, fit_precision(np.concatenate(residuals)))
