"""Detection on data nobody tuned for: every series trained with ``edge-lstm train``'s defaults, judged
beside peers run through the same harness.

For each series: a bundle is trained on its first ``train_rows`` rows (normal data) with default
settings only, the whole series is replayed through the deployed LiteRT model one sample at a time,
and rows from ``train_rows`` on are judged. Peers (``peers.py``) see the same rows and calibrate their
thresholds on the same training rows. A series that fails to train counts as failed, not skipped.

Judging: point-wise F1 / FAR / MAR over the judged rows; labelled events caught; and the Numenta
Anomaly Benchmark's score (Lavin and Ahmad 2015) with its own rules: a window of 10 % of the series
divided among its anomalies, centred on each onset; a detection is the start of an alert (detections
during training are ignored, as NAB ignores its probationary period); three profiles.
``corpus_report.py`` pools the runs per group and writes the tables, with each peer's F1 at our
false-alarm rate.
"""

from __future__ import annotations

import dataclasses
import shutil
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from edge_lstm.bundle import load_bundle
from edge_lstm.engine.replay import replay
from edge_lstm.errors import DataError, EdgeLSTMError
from edge_lstm.evaluation.evaluate import FileResult
from edge_lstm.evaluation.metrics import (
    PROFILES,
    alert_starts,
    event_counts,
    nab_score_windows,
    nab_windows,
    point_counts,
    runs,
)
from edge_lstm.sources.csv_file import Recording, read_csv

OURS = "edge-lstm"


@dataclass(frozen=True)
class Series:
    """One labelled series and how many leading rows are normal training data."""

    name: str
    recording: Recording
    train_rows: int
    group: str  # "corpus" or "skab": reported separately
    # A generated series' faults, from its manifest: (kind, difficulty, start, end), for the report's
    # count of the faults missed by kind; empty for files from elsewhere.
    faults: tuple[tuple[str, str, int, int], ...] = ()


@dataclass
class Run:
    """One detector on one series: per-sample scores and decisions (judged rows only matter)."""

    detector: str
    series: str
    group: str
    result: FileResult | None
    scores: np.ndarray | None = None
    threshold: float = float("nan")
    labels: np.ndarray | None = None
    alerting: np.ndarray | None = None
    failed: str | None = None
    # What training decided for our bundles: the deployed variant, the threshold rule, channels left out.
    deployed: str | None = None
    rule: str | None = None
    left_out: tuple[str, ...] = ()
    glitches: int = 0  # readings of its training rows left out as glitches (glitches.py)
    seconds: float = 0.0
    marked: np.ndarray | None = None  # ours: whether a reading was stuck or leaping after each row
    switching: np.ndarray | None = None  # ours: whether each row came right after a normal switch
    restarts: np.ndarray | None = None  # ours: whether a new finding ended an alert and started one at each row


def corpus_series(root: Path) -> list[Series]:
    """The series of a generated corpus (``corpus.json`` beside the CSV files)."""
    from edge_lstm.tools.corpus import load_manifest

    out = []
    for info in load_manifest(root):
        recording = read_csv(root / info.file, columns=list(info.channels))
        faults = tuple((f.kind, f.difficulty, f.start, f.end) for f in info.faults)
        out.append(Series(info.name, recording, info.train_rows, "corpus", faults))
    return out


# A labelled recording from elsewhere trains on its first rows as NAB's probationary period: 15 % of them
# (here at least 150, at most half), labelled or not; labels there are not judged, as in NAB.
PROBATION_SHARE = 0.15
MIN_TRAIN_ROWS = 150


def labelled_series(root: Path) -> list[Series]:
    """Every CSV file in ``root`` with an ``anomaly`` column (1 on each anomalous row), trained on its
    first rows (``PROBATION_SHARE``, at least ``MIN_TRAIN_ROWS``, at most half) and reported as the group
    ``root.name``."""
    out = []
    for path in sorted(root.glob("*.csv")):
        recording = read_csv(path)
        if "anomaly" not in recording.labels:
            raise DataError(f"{path}: no 'anomaly' column (1 marks an anomalous row); label it, or move it out")
        rows = min(max(round(PROBATION_SHARE * len(recording)), MIN_TRAIN_ROWS), len(recording) // 2)
        out.append(Series(f"{root.name}/{path.stem}", recording, rows, root.name))
    return out


def skab_series(root: Path) -> list[Series]:
    """SKAB's 34 labelled files, each trained on its first 400 rows (SKAB's own protocol)."""
    from edge_lstm_train.skab import TRAIN_ROWS, skab_files

    return [Series(f"{p.parent.name}/{p.stem}", read_csv(p), TRAIN_ROWS, "skab") for p in skab_files(root)]


def judge(
    name: str, labels: np.ndarray, alerting: np.ndarray, train_rows: int, restarts: np.ndarray | None = None
) -> FileResult:
    """Point, event and NAB metrics of one series' decisions, on rows from ``train_rows`` on; an alert
    start (a NAB detection) is a rise of ``alerting`` or one of ``restarts``."""
    labels, alerting = np.asarray(labels) > 0, np.asarray(alerting, dtype=bool)
    judged_labels, judged_alerts = labels[train_rows:], alerting[train_rows:]
    onsets = [start for start, _ in runs(labels) if start >= train_rows]
    windows = nab_windows(onsets, len(labels))
    detections = [float(i) for i in alert_starts(alerting, restarts) if i >= train_rows]
    nab = {profile: nab_score_windows(windows, detections, profile) for profile in PROFILES}
    points, events = point_counts(judged_labels, judged_alerts), event_counts(judged_labels, judged_alerts)
    return FileResult(name, len(judged_labels), points, events, nab)


def run_ours(
    series: Series,
    workdir: Path,
    log: Callable[[str], None],
    keep: bool = False,
    options: Any = None,
    config: Any = None,
) -> Run:
    """Train with default settings (or ``options``, a ``TrainOptions``, and ``config``, a ``ModelConfig``)
    on the training rows, replay the whole series, judge. ``keep`` leaves the bundle in ``workdir`` (for
    ``ablation.py``)."""
    from edge_lstm_train.fit import ModelConfig
    from edge_lstm_train.pipeline import TrainOptions, train_bundle
    from edge_lstm_train.skab import piece

    started = time.perf_counter()
    out = workdir / series.name.replace("/", "-")
    try:
        train = piece(series.recording, 0, series.train_rows)
        train = dataclasses.replace(train, labels={})
        config, options = config or ModelConfig(), options or TrainOptions(name="corpus")
        train_bundle([train], out, config, options, log=log, progress=False)
        bundle = load_bundle(out)
        recording = series.recording
        if recording.features != bundle.channels:  # training left drifting channels out of the model
            index = [recording.features.index(f) for f in bundle.channels]
            recording = dataclasses.replace(recording, features=bundle.channels, values=recording.values[:, index])
        result = replay(recording, bundle, stream=series.name)
        decided = {
            "deployed": bundle.manifest["quantization"]["deployed"],
            "rule": bundle.manifest["threshold"]["method"],
            "left_out": tuple(bundle.manifest.get("decisions", {}).get("channels", {}).get("excluded", [])),
            "glitches": sum(bundle.manifest.get("decisions", {}).get("glitches", {}).values()),
        }
    except (EdgeLSTMError, ValueError, RuntimeError) as error:
        return Run(OURS, series.name, series.group, None, failed=f"{type(error).__name__}: {error}")
    finally:
        if not keep:
            shutil.rmtree(out, ignore_errors=True)
    seconds = time.perf_counter() - started
    run = _judged(OURS, series, result.scores, result.alerting, float(result.threshold), seconds, result.restarts)
    return dataclasses.replace(run, marked=result.marked, switching=result.switching, **decided)


def run_peer(name: str, series: Series) -> Run:
    """One peer on one series."""
    from edge_lstm_train.peers import run_peer as peer

    try:
        out = peer(name, series.recording.values, series.recording.timestamps, series.train_rows)
    except (ValueError, RuntimeError, ImportError) as error:
        return Run(name, series.name, series.group, None, failed=f"{type(error).__name__}: {error}")
    return _judged(name, series, out.scores, out.alerting, float(out.threshold), out.seconds)


def _judged(
    detector: str,
    series: Series,
    scores: np.ndarray,
    alerting: np.ndarray,
    threshold: float,
    seconds: float,
    restarts: np.ndarray | None = None,
) -> Run:
    labels = series.recording.labels["anomaly"]
    result = judge(series.name, labels, alerting, series.train_rows, restarts)
    return Run(
        detector,
        series.name,
        series.group,
        result,
        scores,
        threshold,
        labels,
        alerting,
        seconds=seconds,
        restarts=restarts,
    )


def evaluate_all(
    series: list[Series],
    peers: list[str],
    on_series: Callable[[str], None] = lambda _name: None,
    log: Callable[[str], None] = lambda _message: None,
    keep: Path | None = None,
    options: Any = None,
    config: Any = None,
) -> list[Run]:
    """Every detector on every series; ours trained with ``options`` and ``config`` (default: the
    defaults). ``keep``: a folder that keeps our bundles and every detector's scores and decisions
    (``ablation.py`` re-decides them without training again)."""
    scratch = keep / "bundles" if keep else Path(tempfile.mkdtemp(prefix="edge-lstm-generalization-"))
    scratch.mkdir(parents=True, exist_ok=True)
    out: list[Run] = []
    try:
        for s in series:
            ours = run_ours(s, scratch, log, keep=keep is not None, options=options, config=config)
            runs_ = [ours, *(run_peer(name, s) for name in peers)]
            if keep is not None:
                save_runs(keep, s, runs_)
            out.extend(runs_)
            on_series(s.name)
    finally:
        if keep is None:
            shutil.rmtree(scratch, ignore_errors=True)
    return out


def run_file(keep: Path, detector: str, series: str) -> Path:
    """Where ``save_runs`` keeps one detector's run of one series."""
    return keep / "runs" / detector / (series.replace("/", "-") + ".npz")


def save_runs(keep: Path, series: Series, runs_: list[Run]) -> None:
    """Each run's scores, decisions and labels, and what judging needs (no pickle)."""
    for run in runs_:
        path = run_file(keep, run.detector, series.name)
        path.parent.mkdir(parents=True, exist_ok=True)
        empty = np.zeros(0)
        np.savez_compressed(
            path,
            scores=empty if run.scores is None else run.scores,
            alerting=empty if run.alerting is None else run.alerting,
            labels=series.recording.labels["anomaly"],
            train_rows=series.train_rows,
            threshold=run.threshold,
            group=series.group,
            name=series.name,
            failed=run.failed or "",
            marked=empty if run.marked is None else run.marked,
            switching=empty if run.switching is None else run.switching,
            restarts=empty if run.restarts is None else run.restarts,
        )
