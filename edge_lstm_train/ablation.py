"""The alert rules' ablation: re-decide the scores a corpus run kept (``evaluate --protocol corpus
--keep-bundles DIR``) under variants of the rule each bundle carries, without training again.

The scores of a bundle do not depend on its alert rule (the rule only reads them), so replaying the
rule over the kept scores gives exactly the decisions the device would take under each variant. Each
variant changes one or two constants from the shipped defaults: of ``AdaptiveSettings`` for the bundles
with the adaptive rule (short data), of ``DebounceSettings`` for those with a fixed threshold (long
data: the raised-level check and the switch guard stay as the bundle has them). The tables show what
each costs or buys on every group of series, judged as the corpus protocol judges.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from edge_lstm.bundle import load_bundle
from edge_lstm.core.adaptive import AdaptiveSettings, AdaptiveThreshold, samples_per_day
from edge_lstm.core.findings import new_findings
from edge_lstm.core.sustained import SustainedLevel
from edge_lstm.core.thresholds import Debounce, DebounceSettings
from edge_lstm.core.transitions import NEVER, ZONE, TransitionGuard
from edge_lstm.evaluation.evaluate import FileResult, pooled
from edge_lstm.evaluation.metrics import alert_starts
from edge_lstm_train.generalization import OURS, judge

# Each variant: a name and the constants it changes. The first is the shipped rule. ``NO_FINDINGS`` is
# not a constant: a new finding during an alert (core/findings.py) starts no new alert.
NO_FINDINGS = "no_new_findings"
VARIANTS: dict[str, dict[str, Any]] = {
    "shipped": {},
    "fire_z 2.0": {"fire_z": 2.0},
    "fire_z 3.0": {"fire_z": 3.0},
    "clear_z 0.5": {"clear_z": 0.5},
    "clear_z 1.5": {"clear_z": 1.5},
    "gate_quantile 0.95": {"gate_quantile": 0.95},
    "gate_quantile 0.999": {"gate_quantile": 0.999},
    "no counts gate": {"gate_quantile": 0.99},  # a bundle that reads counts back at the others' gate
    "spike_margin 0.2": {"spike_margin": 0.2},
    "spike_margin 0.8": {"spike_margin": 0.8},
    "short 1": {"short": 1},
    "short 10": {"short": 10},
    "max_alert 50": {"max_alert": 50},
    "max_alert 1000": {"max_alert": 1000},
    "history 300": {"history": 300},
    "no daily pattern": {"daily_tolerance": 0.0},
    "daily_tolerance 0.05": {"daily_tolerance": 0.05},
    "daily_tolerance 0.2": {"daily_tolerance": 0.2},
    "no alert budget": {"budget_window": 0},
    "budget without learning": {"budget_learns": False},
    "budget_starts 6": {"budget_starts": 6},
    "budget_cap 0.5": {"budget_cap": 0.5},
    "no new findings": {NO_FINDINGS: True},
}
# The same for the bundles with a fixed threshold: constants of the debounce.
FIXED = "fixed threshold: "
FIXED_VARIANTS: dict[str, dict[str, Any]] = {
    f"{FIXED}shipped": {},
    f"{FIXED}no clearing backoff": {"clear_backoff": 1},
    f"{FIXED}clearing backoff 4": {"clear_backoff": 4},
    f"{FIXED}clear_n 5": {"clear_n": 5},
    f"{FIXED}clear_n 30": {"clear_n": 30},
    f"{FIXED}clear_n 30, no backoff": {"clear_n": 30, "clear_backoff": 1},
    f"{FIXED}2-of-3": {"fire_n": 2, "fire_m": 3},
    f"{FIXED}4-of-5": {"fire_n": 4, "fire_m": 5},
    f"{FIXED}no settled threshold": {"settled": None},
    f"{FIXED}no new findings": {NO_FINDINGS: True},
}


@dataclass(frozen=True)
class FixedRule:
    """A fixed threshold's decisions: the threshold, its debounce and the raised-level check's setting."""

    threshold: float
    debounce: DebounceSettings
    sustained: dict[str, Any] | None
    settled: tuple[int, float] | None = None  # (after, threshold) of settled running past a switch


@dataclass(frozen=True)
class Kept:
    """One kept series: our scores, its labels, and the bundle's calibration scores and rule."""

    name: str
    group: str
    scores: np.ndarray
    labels: np.ndarray
    train_rows: int
    calibration: np.ndarray
    settings: AdaptiveSettings | FixedRule
    marked: np.ndarray  # whether a reading was stuck or leaping after each row (the detector's other alerts)
    switching: np.ndarray  # whether each row came right after a normal switch between two states
    transient_bound: float | None  # the largest score of a normal switch, where the bundle has two-state channels
    day: int  # scores in a day at the bundle's sampling period (the adaptive rule's daily pattern)


def load_kept(keep: Path) -> Iterator[Kept]:
    """Every series our detector trained on in a kept corpus run (failed ones have nothing to re-decide)."""
    for path in sorted((keep / "runs" / OURS).glob("*.npz")):
        with np.load(path, allow_pickle=False) as run:
            if str(run["failed"]):
                continue
            bundle = load_bundle(keep / "bundles" / path.stem)
            adaptive = bundle.manifest["threshold"].get("adaptive")
            settings: AdaptiveSettings | FixedRule
            if adaptive is not None:
                settings = AdaptiveSettings.from_dict(adaptive)
            elif "spot" in bundle.manifest["threshold"]:
                continue  # SPOT learns each stream's tail as it goes: not a rule these variants change
            else:
                device = bundle.detector_settings()
                calm = (device.transitions or {}).get("settled")
                settled = (int(calm["after"]), float(calm["threshold"])) if calm else None
                settings = FixedRule(device.threshold, device.debounce, device.sustained, settled)
            yield Kept(
                str(run["name"]),
                str(run["group"]),
                run["scores"],
                run["labels"],
                int(run["train_rows"]),
                bundle.calibration_scores(),
                settings,
                _flags(run, "marked"),
                _flags(run, "switching"),
                bundle.manifest["alerting"].get("transitions", {}).get("bound"),
                samples_per_day(bundle.manifest.get("sample_period_s"), bundle.manifest.get("mean_period_s")),
            )


def _flags(run: Any, key: str) -> np.ndarray:
    """A kept per-row flag array, all False where the run did not keep it."""
    return run[key] if key in run and len(run[key]) else np.zeros(len(run["scores"]), dtype=bool)


def decide(kept: Kept, settings: AdaptiveSettings | FixedRule) -> np.ndarray:
    """The alert state after each sample under ``settings``, as the detector combines the rule with the
    guard against normal switches and a stuck or leaping reading (samples without a score keep the
    state)."""
    rule = _rule(kept, settings)
    guard = None if kept.transient_bound is None else TransitionGuard([], [], [], kept.transient_bound)
    since = _since_switch(kept.switching)
    alerting = np.zeros(len(kept.scores), dtype=bool)
    now = False
    for i, score in enumerate(kept.scores):
        if np.isfinite(score):
            on = rule(float(score), int(since[i]))
            if guard is not None:  # the kept run says where the switches were
                guard.since[0] = 0 if kept.switching[i] else NEVER
                on = bool(guard.hold(slice(0, 1), np.array([on]), np.array([score]))[0])
            now = on or bool(kept.marked[i])
        alerting[i] = now
    return alerting


def restarts_of(kept: Kept, alerting: np.ndarray) -> np.ndarray:
    """Where a new finding ended the alert in progress and started another, as the bank decides on each
    scored sample (``core/findings.py``): from the decisions and the kept marks."""
    age, named, row = np.zeros(1, dtype=np.int64), np.zeros(1, dtype=bool), slice(0, 1)
    restarts = np.zeros(len(alerting), dtype=bool)
    was = np.zeros(1, dtype=bool)
    for i in np.flatnonzero(np.isfinite(kept.scores)).tolist():
        now = alerting[i : i + 1]
        restarts[i] = new_findings(row, was, now, kept.marked[i : i + 1], age, named)[0]
        was = now
    return restarts


def _since_switch(switching: np.ndarray) -> np.ndarray:
    """Samples since the last switch at each row, from the kept flags of the rows within ``ZONE`` of one
    (the last flagged row of a zone lies ``ZONE - 1`` past its switch); ``NEVER`` before the first."""
    flagged = np.flatnonzero(switching)
    last = np.searchsorted(flagged, np.arange(len(switching)), side="right") - 1
    since = np.full(len(switching), NEVER, dtype=np.int64)
    seen = last >= 0
    rows = np.flatnonzero(seen)
    since[rows] = np.where(switching[rows], 0, rows - flagged[last[rows]] + ZONE - 1)
    return since


def _rule(kept: Kept, settings: AdaptiveSettings | FixedRule) -> Callable[[float, int], bool]:
    """One score and the samples since a switch in, whether the rule is alerting (before the guard and
    the marks), as the bank decides."""
    if isinstance(settings, AdaptiveSettings):
        adaptive = AdaptiveThreshold(settings, kept.calibration, kept.day)

        def adapt(score: float, since: int) -> bool:
            adaptive.update(score)
            return adaptive.active

        return adapt
    debounce, level, row = Debounce(settings.debounce), None, slice(0, 1)
    if settings.sustained is not None:
        level = SustainedLevel(settings.sustained)

    def fixed(score: float, since: int) -> bool:
        value, threshold = np.array([score]), settings.threshold
        if settings.settled is not None and settings.settled[0] <= since < NEVER:
            threshold = settings.settled[1]
        lifted = level.lift(row, value, threshold) if level is not None else value
        debounce.update_rows(row, lifted, threshold, settings.settled[1] if settings.settled is not None else None)
        return bool(debounce.on[0])

    return fixed


def variants_for(kept: list[Kept]) -> dict[str, dict[str, Any]]:
    """The variants of the rules ``kept`` has: the adaptive rule's, the fixed threshold's, or both."""
    kinds = {isinstance(k.settings, FixedRule) for k in kept}
    return {**(VARIANTS if False in kinds else {}), **(FIXED_VARIANTS if True in kinds else {})}


def _varied(settings: AdaptiveSettings | FixedRule, change: dict[str, Any]) -> AdaptiveSettings | FixedRule:
    if isinstance(settings, FixedRule):
        own = {k: v for k, v in change.items() if k == "settled"}
        debounce = {k: v for k, v in change.items() if k != "settled"}
        return dataclasses.replace(settings, debounce=dataclasses.replace(settings.debounce, **debounce), **own)
    return dataclasses.replace(settings, **change)


def ablate(kept: list[Kept], variants: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Per variant and group: pooled metrics and alert starts outside labelled events, over the series
    whose rule the variant changes."""
    table: dict[str, dict[str, Any]] = {}
    for name, change in variants.items():
        by_group: dict[str, list[FileResult]] = {}
        false_starts: dict[str, int] = {}
        for k in kept:
            if isinstance(k.settings, FixedRule) != name.startswith(FIXED):
                continue
            constants = {key: value for key, value in change.items() if key != NO_FINDINGS}
            alerting = decide(k, _varied(k.settings, constants))
            restarts = None if change.get(NO_FINDINGS) else restarts_of(k, alerting)
            by_group.setdefault(k.group, []).append(judge(k.name, k.labels, alerting, k.train_rows, restarts))
            starts = alert_starts(alerting, restarts)
            outside = sum(1 for i in starts if i >= k.train_rows and k.labels[i] <= 0)
            false_starts[k.group] = false_starts.get(k.group, 0) + outside
        table[name] = {
            group: {**pooled(results), "alert_starts_outside_events": false_starts[group]}
            for group, results in by_group.items()
        }
    return table


def markdown(table: dict[str, dict[str, Any]]) -> str:
    """One table per group, one row per variant."""
    groups = sorted({g for rows in table.values() for g in rows})
    out = ["# The alert rules' ablation on kept scores", ""]
    for group in groups:
        out += [
            f"## {group}",
            "",
            "| variant | F1 | FAR % | events caught | NAB standard | NAB low FP | NAB low FN | false alert starts |",
            "|---|---|---|---|---|---|---|---|",
        ]
        for name, rows in table.items():
            r = rows.get(group)
            if r is None:
                continue
            out.append(
                f"| {name} | {r['f1']:.3f} | {r['far']:.2f} | {r['event_recall'] * r['events']:.0f}/{r['events']} | "
                f"{r['cp_standard']:.1f} | {r['cp_low_fp']:.1f} | {r['cp_low_fn']:.1f} | "
                f"{r['alert_starts_outside_events']} |"
            )
        out.append("")
    return "\n".join(out)
