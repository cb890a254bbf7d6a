"""Real labelled series from a package registry, for ``evaluate --protocol corpus``: the change-point
recordings that river (a pinned dev dependency, BSD-3-Clause, installed from PyPI) ships.

river takes them from the Turing Change Point Dataset (van den Burg and Williams, "An evaluation of
change point detection algorithms", 2020), each with the change points its human annotators marked.
A change counts here where most annotators marked one within ``TOLERANCE`` rows of each other; the
written file marks that row ``anomaly = 1`` (a one-row event: the changepoint labels NAB's windows are
built around). Series whose annotations do not fit the file river ships (Apple and Brent index a
shortened series) or that are too short to train on (UK coal employment, 105 rows) are left out.

river also ships an hourly water-flow recording of a pipeline branch (``river.datasets.WaterFlow``,
donated by Tecnojest s.r.l.) whose description names four anomalous segments without their rows: three
"low value moments" (water losses or maintenance) and a small inflow peak after the first two. They
are its only readings under 95 l/s (away from those moments and the hour either side of each, the
flow stays above 99) and its one reading over 108 (every other is under 107.3), and those rows are
labelled.

``python -m edge_lstm_train.registry DIR`` writes them; ``./dev.sh corpus`` runs them beside the rest.
"""

from __future__ import annotations

import csv
import sys
from datetime import datetime
from pathlib import Path

# river class name -> file name written (the group reports each as registry/<name>)
SERIES = {
    "Occupancy": "occupancy",
    "RunLog": "run-log",
    "AirlinePassengers": "airline-passengers",
    "Bitcoin": "bitcoin",
}
TOLERANCE = 5  # rows: marks this close together are one change
WATER_FLOW_NORMAL = (95.0, 108.0)  # l/s: readings outside are the segments the description names


def consensus(annotations: dict[str, list[int]], tolerance: int = TOLERANCE) -> list[int]:
    """Change points most annotators agree on: marks within ``tolerance`` rows of the first in a group
    are one change, at the group's median row (the lower of two), kept when more than half of all
    annotators (those who marked nothing too) are in it.

    >>> consensus({"a": [10, 50], "b": [12], "c": [49], "d": []})
    []
    >>> consensus({"a": [10, 50], "b": [12, 52], "c": [49]})
    [10, 50]
    """
    marks = sorted((row, who) for who, rows in annotations.items() for row in rows)
    changes: list[int] = []
    i = 0
    while i < len(marks):
        group = [m for m in marks[i:] if m[0] - marks[i][0] <= tolerance]
        if len({who for _, who in group}) * 2 > len(annotations):
            rows = sorted(row for row, _ in group)
            changes.append(rows[(len(rows) - 1) // 2])
        i += len(group)
    return changes


def _timestamp(text: str) -> str:
    """ISO 8601 from the forms these files use (``2015-02-04 17:51:00``, ``2013-02-11``, ``1977-Jan``)."""
    try:
        return datetime.fromisoformat(text).isoformat()
    except ValueError:
        return datetime.strptime(text, "%Y-%b").isoformat()


def _read(source: str) -> tuple[list[str], list[list[str]]]:
    with open(source, newline="", encoding="utf-8") as handle:
        rows = list(csv.reader(handle))
    return rows[0], rows[1:]


def _write_labelled(out: Path, header: list[str], body: list[list[str]], marked: set[int]) -> Path:
    """Write a ``time, channels...`` table as ``timestamp, channels..., anomaly`` (1 on the marked rows)."""
    with out.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(["timestamp", *header[1:], "anomaly"])
        for index, row in enumerate(body):
            writer.writerow([_timestamp(row[0]), *row[1:], int(index in marked)])
    return out


def write_registry_series(directory: Path) -> list[Path]:
    """Write each series as ``DIR/<name>.csv`` (timestamp, its channels, anomaly); return the paths."""
    try:
        from river import datasets as river_datasets
        from river.drift import datasets
    except ImportError:
        raise SystemExit("river is not installed: pip install -e '.[dev]'") from None
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for cls, name in SERIES.items():
        dataset = getattr(datasets, cls)()
        header, body = _read(dataset.path)
        changes = set(consensus(dataset.annotations))
        written.append(_write_labelled(directory / f"{name}.csv", header, body, changes))
    header, body = _read(river_datasets.WaterFlow().path)  # type: ignore[no-untyped-call]
    low, high = WATER_FLOW_NORMAL
    unusual = {index for index, row in enumerate(body) if not low <= float(row[1]) <= high}
    written.append(_write_labelled(directory / "water-flow.csv", header, body, unusual))
    return written


if __name__ == "__main__":
    if len(sys.argv) != 2:
        raise SystemExit("usage: python -m edge_lstm_train.registry DIR")
    for path in write_registry_series(Path(sys.argv[1])):
        print(path)
