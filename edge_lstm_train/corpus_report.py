"""What the corpus benchmark reports (``edge-lstm evaluate --protocol corpus``): per group and detector,
the pooled metrics of ``generalization.py``'s runs, the false alert starts (and how many a day, where the
series have timestamps), what training decided for our bundles, and each peer's F1 at our false-alarm
rate; as JSON and as the Markdown tables the README quotes."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from edge_lstm.evaluation.evaluate import pooled
from edge_lstm.evaluation.metrics import alert_starts
from edge_lstm_train.generalization import OURS, Run, Series

DAY_S = 86_400.0


def f1_at_far(runs_: list[Run], train_rows: dict[str, int], target_far: float) -> tuple[float, float, float]:
    """(F1, FAR, multiplier) of a detector whose thresholds are all scaled by one multiplier, chosen so
    that its pooled FAR comes closest to ``target_far`` (percent) from below."""
    usable = [
        (
            r.labels[train_rows[r.series] :] > 0,
            np.nan_to_num(r.scores[train_rows[r.series] :], nan=-np.inf),
            r.threshold,
        )
        for r in runs_
        if r.scores is not None and r.labels is not None
    ]
    best = (0.0, 100.0, float("nan"))
    for multiplier in np.geomspace(0.25, 64.0, 97):
        tp = fp = tn = fn = 0
        for labels, scores, threshold in usable:
            alerts = scores > threshold * multiplier
            tp += int(np.sum(labels & alerts))
            fp += int(np.sum(~labels & alerts))
            tn += int(np.sum(~labels & ~alerts))
            fn += int(np.sum(labels & ~alerts))
        far = 100.0 * fp / max(fp + tn, 1)
        f1 = 2 * tp / max(2 * tp + fp + fn, 1)
        if far <= target_far and (best[1] > target_far or f1 > best[0]):
            best = (f1, far, float(multiplier))
    return best


def summarize(runs_: list[Run], series: list[Series]) -> dict[str, Any]:
    """Per group and detector: pooled metrics, failures, false alert starts (and a day), what training
    decided for our bundles, and the peers' F1 at our FAR."""
    train_rows = {s.name: s.train_rows for s in series}
    days = {s.name: d for s in series if (d := _judged_days(s)) is not None}
    faults = {s.name: s.faults for s in series if s.faults}
    document: dict[str, Any] = {}
    for group in sorted({r.group for r in runs_}):
        rows: dict[str, Any] = {}
        detectors = list(dict.fromkeys(r.detector for r in runs_ if r.group == group))
        for detector in detectors:
            mine = [r for r in runs_ if r.group == group and r.detector == detector]
            done = [r.result for r in mine if r.result is not None]
            rows[detector] = {
                **(pooled(done) if done else {}),
                "series": len(mine),
                "failed": {r.series: r.failed for r in mine if r.failed},
                "alert_starts_outside_events": _false_starts(mine, train_rows),
                **_per_day(mine, train_rows, days),
                "seconds": round(sum(r.seconds for r in mine), 1),
                **(_decisions(mine) if detector == OURS else {}),
                **_missed(mine, faults),
            }
        ours_far = rows.get(OURS, {}).get("far")
        if ours_far is not None:
            for detector in detectors:
                if detector == OURS:
                    continue
                mine = [r for r in runs_ if r.group == group and r.detector == detector]
                f1, far, multiplier = f1_at_far(mine, train_rows, float(ours_far))
                rows[detector]["at_our_far"] = {"f1": round(f1, 4), "far": round(far, 2), "multiplier": multiplier}
        document[group] = rows
    return document


def _decisions(runs_: list[Run]) -> dict[str, Any]:
    """Bundles per deployed variant and per threshold rule, the channels left out, the series with a glitch."""
    from collections import Counter

    done = [r for r in runs_ if r.deployed is not None]
    left_out = Counter(name for r in done for name in r.left_out)
    return {
        "deployed": dict(Counter(r.deployed for r in done)),
        "threshold_rules": dict(Counter(r.rule for r in done)),
        "series_with_channels_left_out": sum(1 for r in done if r.left_out),
        "channels_left_out": dict(left_out),
        "series_with_glitches": sum(1 for r in done if r.glitches),
    }


def _false_starts(runs_: list[Run], train_rows: dict[str, int]) -> int:
    """Alert starts on judged rows outside every labelled event: each one pages someone for nothing."""
    count = 0
    for r in runs_:
        if r.alerting is None or r.labels is None:
            continue
        starts = alert_starts(r.alerting, r.restarts)
        count += int(sum(1 for i in starts if i >= train_rows[r.series] and r.labels[i] <= 0))
    return count


def _missed(runs_: list[Run], faults: dict[str, tuple[tuple[str, str, int, int], ...]]) -> dict[str, Any]:
    """Where the series are generated: the faults with no alerting row in their labelled span, counted by
    kind and difficulty (``"spike/subtle": 6``), most first; none where no series lists its faults."""
    from collections import Counter

    listed = [(r, faults[r.series]) for r in runs_ if r.series in faults and r.alerting is not None]
    if not listed:
        return {}
    missed = Counter(f"{kind}/{level}" for r, own in listed for kind, level, a, b in own if not r.alerting[a:b].any())
    return {"missed_faults": dict(missed.most_common())}


def _judged_days(series: Series) -> float | None:
    """Days from the first judged row to the last, where the series has timestamps."""
    times = series.recording.timestamps
    if times is None or len(times) <= series.train_rows:
        return None
    return float(times[-1] - times[series.train_rows]) / DAY_S


def _per_day(runs_: list[Run], train_rows: dict[str, int], days: dict[str, float]) -> dict[str, float]:
    """False alert starts a day over the judged days of the series with timestamps (none: no keys). A
    day is a machine's day: two series judged for a day each make two days."""
    timed = [r for r in runs_ if r.series in days and r.alerting is not None]  # a failed series judged nothing
    total = sum(days[r.series] for r in timed)
    if not total > 0.0:
        return {}
    starts = _false_starts(timed, train_rows)
    return {"judged_days": round(total, 2), "alert_starts_per_day": round(starts / total, 3)}


def write(document: dict[str, Any], path: Path) -> None:
    """The JSON report."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")


def markdown(document: dict[str, Any], title: str) -> str:
    """The Markdown report: one table per group, one row per detector."""
    out = [f"# {title}", ""]
    for group, rows in document.items():
        out += [
            f"## {group}",
            "",
            "| detector | series | failed | F1 | FAR % | MAR % | events caught | NAB standard | NAB low FP "
            "| NAB low FN | false alert starts | F1 at our FAR |",
            "|---|---|---|---|---|---|---|---|---|---|---|---|",
        ]
        for detector, row in rows.items():
            if "f1" not in row:
                out.append(f"| {detector} | {row['series']} | {len(row['failed'])} |" + " - |" * 9)
                continue
            at = row.get("at_our_far")
            at_text = "-" if at is None else f"{at['f1']:.3f} (FAR {at['far']:.1f})"
            out.append(
                f"| {detector} | {row['series']} | {len(row['failed'])} | {row['f1']:.3f} | {row['far']:.2f} | "
                f"{row['mar']:.2f} | {row['event_recall'] * row['events']:.0f}/{row['events']} | "
                f"{row['cp_standard']:.1f} | {row['cp_low_fp']:.1f} | {row['cp_low_fn']:.1f} | "
                f"{row['alert_starts_outside_events']}{_a_day(row)} | {at_text} |"
            )
        ours = rows.get(OURS, {})
        if "deployed" in ours:
            out += [
                "",
                f"edge-lstm bundles: deployed {_counts(ours['deployed'])}; threshold rule "
                f"{_counts(ours['threshold_rules'])}; channels left out as drifting in "
                f"{ours['series_with_channels_left_out']} series ({_counts(ours['channels_left_out']) or 'none'}); "
                f"glitches left out of the training rows of {ours['series_with_glitches']} series.",
            ]
        if "missed_faults" in ours:
            out += ["", f"edge-lstm missed: {_counts(ours['missed_faults']) or 'nothing'}."]
        out.append("")
    return "\n".join(out)


def _a_day(row: dict[str, Any]) -> str:
    return f" ({row['alert_starts_per_day']:.2f} a day)" if "alert_starts_per_day" in row else ""


def _counts(counts: dict[str, int]) -> str:
    return ", ".join(f"{name} x{n}" for name, n in sorted(counts.items(), key=lambda kv: -kv[1]))
