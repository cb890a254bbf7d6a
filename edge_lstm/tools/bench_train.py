"""How long ``edge-lstm train FILE --out DIR`` takes with its defaults on a large file, and what it did.

The file is the demo machine's normal operation (``synthetic.normal_stream``, five sensors at 1 Hz),
``rows`` long. Training runs as a user runs it, the command in a child process, so the figures include
reading the CSV, and its log (the progress lines a service journal would show) is kept beside the
results. Reported: wall time, peak memory of the child, and what the manifest says training decided
(crops, epochs run, whether the time budget stopped it, the deployed variant).
"""

from __future__ import annotations

import json
import platform
import resource
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from edge_lstm.tools import synthetic


def run_training_benchmark(rows: int, workdir: Path, log: Callable[[str], None] = print) -> dict[str, Any]:
    """Write ``rows`` rows of normal data, train on them with default flags, return the figures."""
    workdir.mkdir(parents=True, exist_ok=True)
    data, bundle, train_log = workdir / "normal.csv", workdir / "bundle", workdir / "train.log"
    log(f"writing {rows:,} rows of normal data to {data}")
    synthetic.write_csv(str(data), synthetic.normal_stream(rows, seed=0))
    log(f"training with default flags (log: {train_log})")
    command = [sys.executable, "-m", "edge_lstm", "train", str(data), "--out", str(bundle)]
    started = time.perf_counter()
    with train_log.open("w", encoding="utf-8") as out:
        finished = subprocess.run(command, stdout=out, stderr=subprocess.STDOUT, check=False)
    seconds = time.perf_counter() - started
    if finished.returncode != 0:
        raise RuntimeError(f"training failed with exit status {finished.returncode}; see {train_log}")
    manifest = json.loads((bundle / "manifest.json").read_text(encoding="utf-8"))
    training = manifest["training"]
    lines = train_log.read_text(encoding="utf-8").splitlines()
    return {
        "rows": rows,
        "train_seconds": round(seconds, 1),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024, 1),
        "epochs_run": training.get("epochs_run"),
        "stopped_by_time_budget": training.get("stopped_by_time_budget"),
        "split_rows": training.get("split_rows"),
        "decisions": manifest["decisions"]["notes"],
        "deployed": manifest["quantization"]["deployed"],
        "progress_lines_in_log": sum(1 for line in lines if "fit: epoch" in line),
        "machine": f"{platform.machine()}, {platform.processor() or 'cpu'}, Python {platform.python_version()}",
    }
