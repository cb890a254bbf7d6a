"""A deterministic multi-sensor process (a pump-like machine) and injected faults, for the demo,
the simulator and the tests. Every sensor follows one hidden load signal, each in its own way
(linear, squared, lagged), so a fault shows as a broken relation between sensors, not only as an
out-of-range value.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC

import numpy as np
import numpy.typing as npt

FEATURES = ["vibration", "motor_current", "bearing_temp", "pressure", "flow"]
START_TIME = 1_767_225_600.0  # 2026-01-01T00:00:00Z, so timestamps are realistic epoch seconds


@dataclass(frozen=True)
class Fault:
    kind: str  # spike | drift | stuck | noise
    sensor: str
    start: int
    end: int  # exclusive


@dataclass
class Stream:
    timestamps: npt.NDArray[np.float64]
    values: npt.NDArray[np.float64]  # (rows, len(FEATURES))
    faults: list[Fault]

    @property
    def labels(self) -> npt.NDArray[np.int8]:
        labels = np.zeros(len(self.timestamps), dtype=np.int8)
        for fault in self.faults:
            labels[fault.start : fault.end] = 1
        return labels


def normal_stream(n: int, seed: int = 0, start_index: int = 0, period_s: float = 1.0) -> Stream:
    """``n`` samples of normal operation. ``start_index`` continues the same process later in time."""
    rng = np.random.default_rng(seed)
    t = np.arange(start_index, start_index + n, dtype=np.float64)
    phase = rng.uniform(0, 2 * np.pi, size=3)
    wander = np.zeros(n)
    noise = rng.normal(0.0, 0.02, size=n)
    for i in range(1, n):  # slow AR(1) wander of the load
        wander[i] = 0.995 * wander[i - 1] + noise[i]
    load = (
        0.55
        + 0.25 * np.sin(2 * np.pi * t / 1800 + phase[0])
        + 0.12 * np.sin(2 * np.pi * t / 437 + phase[1])
        + 0.5 * wander
    )
    load = np.clip(load, 0.05, 1.2)
    temp_lag = np.zeros(n)
    temp_lag[0] = load[0]
    for i in range(1, n):  # bearing temperature follows the load with a ~60-sample lag
        temp_lag[i] = temp_lag[i - 1] + (load[i] - temp_lag[i - 1]) / 60.0
    eps = rng.normal(size=(n, 5))
    values = np.column_stack(
        [
            1.0 + 0.8 * load + 0.15 * np.sin(2 * np.pi * t / 12 + phase[2]) + 0.04 * eps[:, 0],
            5.0 + 3.0 * load + 0.08 * eps[:, 1],
            40.0 + 10.0 * temp_lag + 0.08 * eps[:, 2],
            2.0 + 1.5 * load**2 + 0.04 * eps[:, 3],
            20.0 + 30.0 * load + 0.4 * eps[:, 4],
        ]
    )
    timestamps = START_TIME + t * period_s
    return Stream(timestamps, values, [])


def faulty_stream(n: int = 6000, seed: int = 1, start_index: int = 0) -> Stream:
    """Normal operation with four injected faults, one of each kind, spread over the stream
    (shortened to fit when ``n`` is below 3,000)."""
    stream = normal_stream(n, seed=seed, start_index=start_index)
    values = stream.values
    rng = np.random.default_rng(seed + 1000)
    col = {name: i for i, name in enumerate(FEATURES)}
    fifth = n // 5
    # A frozen reading is only visible while the process moves, so the stuck fault is placed where
    # the true pressure changes most over its span (searched near 3/5 of the stream).
    stuck_len = min(300, fifth)
    drift_end = 2 * fifth + min(600, fifth)
    candidates = [  # between the drift and the noise burst, never overlapping either
        s
        for s in range(3 * fifth - fifth // 2, 3 * fifth + fifth // 2, 25)
        if s >= drift_end and s + stuck_len <= 4 * fifth
    ] or [drift_end]  # a very short stream has no room to choose
    stuck_at = max(candidates, key=lambda s: float(np.ptp(values[s : s + stuck_len, col["pressure"]])))
    faults = [
        Fault("spike", "vibration", fifth, fifth + 5),
        Fault("drift", "bearing_temp", 2 * fifth, drift_end),
        Fault("stuck", "pressure", stuck_at, stuck_at + stuck_len),
        Fault("noise", "motor_current", 4 * fifth, 4 * fifth + min(150, fifth)),
    ]
    for fault in faults:
        c, span = col[fault.sensor], slice(fault.start, fault.end)
        length = fault.end - fault.start
        if fault.kind == "spike":
            values[span, c] += 8.0 * values[:, c].std()
        elif fault.kind == "drift":  # ramps to +6 degrees over 400 samples, then stays
            values[span, c] += 6.0 * np.minimum(np.arange(length) / 400.0, 1.0)
        elif fault.kind == "stuck":
            values[span, c] = values[fault.start - 1, c]
        elif fault.kind == "noise":
            values[span, c] += rng.normal(0.0, 8 * 0.08, size=length)
    return Stream(stream.timestamps, values, faults)


def write_csv(path: str, stream: Stream, with_labels: bool = False) -> None:
    """Write a stream as a CSV file with an ISO 8601 ``timestamp`` column."""
    from datetime import datetime

    header = ["timestamp", *FEATURES] + (["anomaly"] if with_labels else [])
    labels = stream.labels
    with open(path, "w", encoding="utf-8") as handle:
        handle.write(",".join(header) + "\n")
        for i, (ts, row) in enumerate(zip(stream.timestamps, stream.values, strict=True)):
            stamp = datetime.fromtimestamp(float(ts), tz=UTC).strftime("%Y-%m-%dT%H:%M:%S")
            cells = [stamp, *(f"{v:.5f}" for v in row)]
            if with_labels:
                cells.append(str(int(labels[i])))
            handle.write(",".join(cells) + "\n")
