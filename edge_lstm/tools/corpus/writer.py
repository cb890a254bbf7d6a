"""Writing a corpus: one CSV file per series, the manifest, and a summary of what was written."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from edge_lstm.tools.corpus.generate import generate_series
from edge_lstm.tools.corpus.manifest import GENERATOR, MANIFEST, VERSION, GeneratedSeries, SeriesInfo
from edge_lstm.tools.corpus.plans import _PLANS, SERIES_COUNT


def _write_csv(path: Path, series: GeneratedSeries) -> None:
    stamps = np.datetime_as_string(series.timestamps.astype("datetime64[s]"), unit="s").tolist()
    columns = [[f"{v:.6g}" for v in series.values[:, j].tolist()] for j in range(series.values.shape[1])]
    labels = [str(v) for v in series.labels.tolist()]
    header = ",".join(["timestamp", *series.info.channels, "anomaly"])
    body = "\n".join(",".join(cells) for cells in zip(stamps, *columns, labels, strict=True))
    with path.open("w", encoding="utf-8", newline="\n") as handle:
        handle.write(header + "\n" + body + "\n")


# The long variant (``write_corpus(..., long=True)``): the start/stop machines recorded for weeks, as
# a plant's historian exports them; training is then past the size where a fixed quantile threshold
# is chosen over the adaptive rule, a path the short series never take.
LONG_FAMILIES = ("dutycycle",)
LONG_SIZES = (60_000, 90_000)  # training rows, rows
# The sparse variant (``sparse=True``): the single-channel series of the other families (metrics,
# counts, sensors) recorded for longer after a short training part, as a monitoring record is: two or
# three faults in 11,000 judged rows, a quarter as dense as in the short series, so every false start
# weighs more against the faults caught.
SPARSE_SKIPPED = ("dutycycle", "multi")
SPARSE_SIZES = (750, 12_000)


def write_corpus(
    directory: Path,
    seed: int = 0,
    long: bool = False,
    sparse: bool = False,
    sizes: tuple[int, int] | None = None,
    glitch: bool = False,
) -> list[SeriesInfo]:
    """Write every series as ``DIR/<name>.csv`` and the manifest ``DIR/corpus.json``; return the
    manifest entries. The same ``seed`` writes byte-identical files. ``long``: only the start/stop
    machines, at ``LONG_SIZES`` rows; ``sparse``: only the single-channel series, at ``sizes``
    (training rows, rows; ``SPARSE_SIZES`` by default; 600 of 4,000 is a 5-minute metric kept for two
    weeks with its first 15 % for training, and as many faults in a third of the rows). ``glitch``: one
    unlabelled glitch in each series' training rows, the judged rows unchanged."""
    if long and sparse:
        raise ValueError("a corpus is long or sparse, not both")
    if sizes is not None and not sparse:
        raise ValueError("sizes are for the sparse variant (sparse=True)")
    every = []  # all generated before anything is written: sizes too small for the faults leave no folder
    for index in range(SERIES_COUNT):
        family = _PLANS[index].family
        if (long and family not in LONG_FAMILIES) or (sparse and family in SPARSE_SKIPPED):
            continue
        recorded = LONG_SIZES if long else (sizes or SPARSE_SIZES) if sparse else None
        series = generate_series(index, seed, recorded, glitch)
        if not (sparse and len(series.info.channels) > 1):
            every.append(series)
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    for series in every:
        _write_csv(directory / series.info.file, series)
    infos = [series.info for series in every]
    manifest = {
        "generator": GENERATOR,
        "version": VERSION,
        "seed": seed,
        "notes": (
            "Train on rows [0, train_rows), which hold no fault; judge on [train_rows, rows). Fault spans "
            "are 0-based data-row indices [start, end), end exclusive, and anomaly = 1 exactly inside them. "
            "level_shift and drift persist after their labelled span; the other faults end with it."
            + (" Each series' training rows hold one unlabelled glitch (its 'glitch' entry)." if glitch else "")
        ),
        "series": [info.to_json() for info in infos],
    }
    (directory / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8", newline="\n")
    return infos


def summary(infos: Sequence[SeriesInfo]) -> list[str]:
    """One line per family (series, channels, rows, faults by kind) and a line of totals."""
    lines = []
    families = list(dict.fromkeys(info.kind for info in infos))
    for family in [*families, None]:
        group = [i for i in infos if family is None or i.kind == family]
        kinds: dict[str, int] = {}
        for info in group:
            for fault in info.faults:
                kinds[fault.kind] = kinds.get(fault.kind, 0) + 1
        multi = sum(1 for i in group if len(i.channels) > 1)
        short = sum(1 for i in group if i.train_rows <= 300)
        faults = ", ".join(f"{k} {v}" for k, v in sorted(kinds.items())) or "none"
        lines.append(
            f"{family or 'total':<12} {len(group):>3} series ({multi} multivariate, {short} with <= 300 training "
            f"rows), {sum(i.rows for i in group):>7,} rows; faults: {faults}"
        )
    return lines
