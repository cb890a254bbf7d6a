"""``edge-lstm demo``: generate data, train, quantize, replay a faulty stream, show the alerts.

Deterministic: the same seeds give the same data, the same model and the same alerts.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from edge_lstm.core.alerts import AlertEvent
from edge_lstm.tools import synthetic

NORMAL_ROWS = 24_000
TEST_ROWS = 6_000


@dataclass
class FaultOutcome:
    fault: synthetic.Fault
    caught: bool
    delay: int | None  # samples from fault start to the first alerting sample


def fault_outcomes(
    faults: list[synthetic.Fault], alerting: npt.NDArray[np.bool_], tolerance: int
) -> list[FaultOutcome]:
    """A fault is caught if an alert is active between its start and ``tolerance`` samples after its end."""
    outcomes = []
    for fault in faults:
        span = alerting[fault.start : fault.end + tolerance]
        hits = np.flatnonzero(span)
        outcomes.append(FaultOutcome(fault, hits.size > 0, int(hits[0]) if hits.size else None))
    return outcomes


def false_alarms(faults: list[synthetic.Fault], events: list[AlertEvent], tolerance: int) -> list[AlertEvent]:
    """Alert starts that begin outside every fault (with ``tolerance`` samples of slack after its end)."""
    return [
        e
        for e in events
        if e.event == "alert_start" and not any(f.start <= e.index < f.end + tolerance for f in faults)
    ]


def generate(out: Path) -> tuple[Path, Path, synthetic.Stream]:
    out.mkdir(parents=True, exist_ok=True)
    normal = synthetic.normal_stream(NORMAL_ROWS, seed=0)
    test = synthetic.faulty_stream(TEST_ROWS, seed=1, start_index=NORMAL_ROWS)
    normal_csv, test_csv = out / "normal.csv", out / "test_with_faults.csv"
    synthetic.write_csv(str(normal_csv), normal)
    synthetic.write_csv(str(test_csv), test, with_labels=True)
    return normal_csv, test_csv, test


def summary_lines(outcomes: list[FaultOutcome], alarms: list[AlertEvent], result: Any, test_rows: int) -> list[str]:
    lines = [f"{'fault':8s} {'sensor':14s} {'samples':>13s}  {'caught':6s}  delay"]
    for o in outcomes:
        delay = f"{o.delay} samples" if o.delay is not None else "-"
        lines.append(
            f"{o.fault.kind:8s} {o.fault.sensor:14s} {o.fault.start:>6d}-{o.fault.end:<6d}  "
            f"{'yes' if o.caught else 'NO':6s}  {delay}"
        )
    caught = sum(o.caught for o in outcomes)
    delays = [o.delay for o in outcomes if o.delay is not None]
    lines.append(
        f"faults caught: {caught}/{len(outcomes)}; false alarms: {len(alarms)} in {test_rows} samples; "
        f"mean detection delay: {np.mean(delays):.1f} samples"
        if delays
        else f"faults caught: 0/{len(outcomes)}; false alarms: {len(alarms)}"
    )
    lines.append(f"replay: {result.us_per_sample:.1f} us per sample end to end (checks + scale + LiteRT step + score)")
    return lines
