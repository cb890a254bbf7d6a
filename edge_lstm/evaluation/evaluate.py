"""``edge-lstm evaluate``: labelled CSV files through exactly the device path, scored like the field does.

Each file is replayed one sample at a time through the bundle's deployed LiteRT model (or a stored
variant), and the alerting signal is compared with the file's ``anomaly`` labels. Warm-up samples
count as "no alert", as on the device. Changepoints come from a ``changepoint`` column when there is
one, else from the start of each labelled anomaly. Results pool over files by summing counts (and
NAB scores) before taking ratios, as SKAB's leaderboard does.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from edge_lstm.bundle import Bundle
from edge_lstm.core.calibration import ThresholdRule
from edge_lstm.core.stepmodel import StepModel
from edge_lstm.engine.replay import ReplayResult, replay
from edge_lstm.errors import DataError
from edge_lstm.evaluation.metrics import (
    PROFILES,
    EventCounts,
    NABScore,
    PointCounts,
    event_counts,
    nab_score,
    point_counts,
    runs,
)
from edge_lstm.sources.csv_file import Recording


@dataclass
class FileResult:
    name: str
    rows: int
    points: PointCounts
    events: EventCounts
    nab: dict[str, NABScore] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {"file": self.name, "rows": self.rows, **summary(self.points, self.events, self.nab)}


def summary(points: PointCounts, events: EventCounts, nab: dict[str, NABScore]) -> dict[str, Any]:
    return {
        "f1": round(points.f1, 4),
        "far": round(points.far, 2),
        "mar": round(points.mar, 2),
        "counts": {"tp": points.tp, "fp": points.fp, "tn": points.tn, "fn": points.fn},
        "event_precision": round(events.precision, 4),
        "event_recall": round(events.recall, 4),
        "events": events.events,
        "mean_delay_samples": None if events.mean_delay is None else round(events.mean_delay, 1),
        **{f"cp_{profile}": round(score.normalised, 2) for profile, score in nab.items()},
    }


def evaluate_recording(
    recording: Recording,
    bundle: Bundle,
    window_s: float = 60.0,
    model: StepModel | None = None,
    score_from: int = 0,
    rule: ThresholdRule | None = None,
) -> tuple[FileResult, ReplayResult]:
    """Replay the whole file (so state and smoothing are carried, as on a device that has been
    running), and judge the decisions on rows ``score_from`` onward."""
    if "anomaly" not in recording.labels:
        raise DataError(f"{recording.path}: no 'anomaly' column; evaluate needs labelled data")
    result = replay(recording, bundle, rule=rule, model=model, stream=recording.path.stem)
    period = float(bundle.manifest.get("sample_period_s") or 1.0)
    file_result = judge(recording, result.alerting, window_s, period, score_from, restarts=result.restarts)
    return file_result, result


def judge(
    recording: Recording,
    alerting: np.ndarray,
    window_s: float = 60.0,
    sample_period_s: float = 1.0,
    score_from: int = 0,
    name: str | None = None,
    restarts: np.ndarray | None = None,
) -> FileResult:
    """Point, event and changepoint metrics of one file's alerting signal against its labels.

    Changepoints come from a ``changepoint`` column when there is one, else from the start of each
    labelled anomaly. Without timestamps, the changepoint window is converted to samples.

    Detections follow SKAB's convention, so that the score compares with its leaderboard: every
    change of the alerting signal (an alert starting *or* clearing) is a predicted changepoint, and
    so is the first judged sample if an alert is active there, and a sample where a new finding ended
    one alert and started another (``restarts``)."""
    labels = recording.labels["anomaly"][score_from:] > 0
    alerts = np.asarray(alerting, dtype=bool)[score_from:]
    if recording.timestamps is not None:
        times, window = recording.timestamps[score_from:], window_s
    else:
        times, window = np.arange(len(labels), dtype=float), window_s / sample_period_s
    if "changepoint" in recording.labels:
        cp_index = np.flatnonzero(recording.labels["changepoint"][score_from:] > 0)
    else:
        cp_index = np.array([start for start, _ in runs(labels)], dtype=int)
    changepoints = [float(times[i]) for i in cp_index]
    changed = np.diff(alerts.astype(np.int8), prepend=0) != 0  # the first sample if it is in alert
    if restarts is not None and len(restarts):
        changed |= np.asarray(restarts, dtype=bool)[score_from:]
    detections = [float(times[i]) for i in np.flatnonzero(changed).tolist()]
    nab = {profile: nab_score(changepoints, detections, window, profile) for profile in PROFILES}
    return FileResult(
        name or recording.path.name, len(labels), point_counts(labels, alerts), event_counts(labels, alerts), nab
    )


def pooled(results: list[FileResult]) -> dict[str, Any]:
    points = sum((r.points for r in results[1:]), results[0].points)
    events = sum((r.events for r in results[1:]), results[0].events)
    nab = {p: sum((r.nab[p] for r in results[1:]), results[0].nab[p]) for p in PROFILES}
    return {"files": len(results), "rows": sum(r.rows for r in results), **summary(points, events, nab)}


def markdown(results: list[FileResult], total: dict[str, Any], title: str) -> str:
    head = "| file | rows | F1 | FAR % | MAR % | event P | event R | delay | NAB std | NAB lowFP | NAB lowFN |"
    lines = [f"## {title}", "", head, "|" + "---|" * 11]
    for row in [*(r.as_dict() for r in results), {"file": "**pooled**", **total}]:
        # Without a labelled event F1, MAR, recall and NAB are undefined, and without an alert the
        # event precision is: a dash, not a 0.00 that reads as a measured failure.
        labelled, alerted = row["events"] > 0, row["counts"]["tp"] + row["counts"]["fp"] > 0
        delay = "-" if row["mean_delay_samples"] is None else f"{row['mean_delay_samples']:.1f}"
        lines.append(
            f"| {row['file']} | {row['rows']} | {_cell(row['f1'], '.3f', labelled)} | {row['far']:.2f} | "
            f"{_cell(row['mar'], '.2f', labelled)} | {_cell(row['event_precision'], '.2f', alerted)} | "
            f"{_cell(row['event_recall'], '.2f', labelled)} | {delay} | {_cell(row['cp_standard'], '.2f', labelled)} | "
            f"{_cell(row['cp_low_fp'], '.2f', labelled)} | {_cell(row['cp_low_fn'], '.2f', labelled)} |"
        )
    return "\n".join(lines) + "\n"


def _cell(value: float, spec: str, defined: bool) -> str:
    return format(value, spec) if defined else "-"
