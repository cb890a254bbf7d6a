"""Per-sample cost of the runtime, measured (not asserted): the figures in the README come from here."""

from __future__ import annotations

import json
import platform
from pathlib import Path
from typing import Any

import numpy as np

from edge_lstm import __version__
from edge_lstm.bundle import Bundle
from edge_lstm.core.cadence import BAND, CYCLES, CadenceWatch
from edge_lstm.core.detector import StreamDetector
from edge_lstm.core.seasonal import AFTER, MAX_BINS, SPAN, WEEK_S, SeasonalWatch
from edge_lstm.core.spot import SPOT
from edge_lstm.core.stepmodel import StepModel, zero_state
from edge_lstm.tools import bench_engine as engine
from edge_lstm.tools.bench_engine import median_us


def _cpu_name() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as handle:
            for line in handle:
                if line.lower().startswith(("model name", "hardware")):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown cpu"


def _step_us(model: StepModel, batch: int, repeats: int) -> float:
    rng = np.random.default_rng(0)
    x = rng.normal(size=(batch, model.n_features)).astype(np.float32)
    state = zero_state(model, batch)

    def one() -> None:
        nonlocal state
        _, state = model.step(x, state)

    return median_us(one, repeats)


def run_benchmark(bundle: Bundle, repeats: int = 10_000, log: Any = None) -> dict[str, Any]:
    """Every figure of ``edge-lstm bench``: the headline keys at the top level, details below them."""
    say = log or (lambda _message: None)
    with engine.quiet_package_log():
        return _measure(bundle, repeats, say)


def _measure(bundle: Bundle, repeats: int, say: Any) -> dict[str, Any]:
    directory = Path(bundle.path).resolve()  # configs written in temporary folders name it
    results: dict[str, Any] = {
        "package_version": __version__,
        "machine": f"{platform.machine()}, {_cpu_name()}, python {platform.python_version()}",
        "model_id": bundle.model_id,
        "deployed_variant": bundle.manifest["quantization"]["deployed"],
        "repeats": repeats,
    }
    say("invoke() alone and the hot path from payload bytes to a decision")
    results["invoke_us"] = round(engine.invoke_us(bundle, repeats), 3)
    results["hot_path_us_1_stream"] = round(engine.hot_path_us(directory, bundle, repeats), 3)
    results["hot_path_over_invoke"] = round(results["hot_path_us_1_stream"] / results["invoke_us"], 2)
    say("batched throughput on one core")
    # A wave costs a fixed amount (about a hundred numpy calls) plus a little per stream: the
    # throughput by stream count shows both.
    results["samples_per_s_by_streams"] = {}
    for streams in (1, 4, 16, 64, 256):
        rate = engine.samples_per_s(directory, bundle, streams, max(repeats // streams, 40))
        results["samples_per_s_by_streams"][str(streams)] = round(rate)
    for streams in (16, 256):
        results[f"samples_per_s_{streams}_streams_one_core"] = results["samples_per_s_by_streams"][str(streams)]
    say("the sliding-window Keras baseline")
    keras_us = engine.sliding_window_keras_us(bundle, repeats)
    results["sliding_window_keras_us"] = None if keras_us is None else round(keras_us, 1)
    results["speedup_vs_sliding_window_keras"] = (
        None if keras_us is None else round(keras_us / results["hot_path_us_1_stream"], 1)
    )
    say("memory, bundle size and time to the first decision in a fresh process")
    results.update(engine.process_figures(directory))
    results["bundle_kb"] = engine.bundle_kb(directory, bundle)
    results.update(_broker_figures(directory))
    say("each model variant's step, and payload parsing")
    results["step_us"] = {}
    for variant in bundle.manifest["quantization"]["variants"]:
        if "failed" in bundle.manifest["quantization"]["variants"][variant]:
            continue
        model = bundle.open_model(variant)
        results["step_us"][f"litert_{variant}_batch1"] = round(_step_us(model, 1, repeats), 3)
        results["step_us"][f"litert_{variant}_batch64_per_stream"] = round(_step_us(model, 64, repeats // 10) / 64, 3)
    results["step_us"]["numpy_reference_batch1"] = round(_step_us(bundle.reference_model(), 1, repeats // 2), 3)
    results["parse_us"] = engine.parse_us(bundle, repeats)
    # The single-stream detector alone (no parsing or routing), as before.
    detector = StreamDetector(bundle.detector_settings(), bundle.open_model())
    rng = np.random.default_rng(1)
    rows = bundle.scaler.inverse(rng.normal(size=(repeats, len(bundle.features))).astype(np.float32))
    index = 0

    def sample() -> None:
        nonlocal index
        detector.process(rows[index % repeats], float(index))
        index += 1

    results["detector_us_per_sample"] = round(median_us(sample, repeats), 3)
    results["seasonal_watch_us"] = round(seasonal_watch_us(len(bundle.features), repeats), 3)
    results["cadence_watch_us"] = round(cadence_watch_us(len(bundle.features), repeats), 3)
    return results


def _broker_figures(_directory: Path) -> dict[str, Any]:
    """The broker figures from ``edge-lstm bench-mqtt``'s last results beside this one's, if any."""
    path = Path("bench-results/mqtt.json")
    if not path.exists():
        return {"mqtt_samples_per_s_zero_loss": None, "mqtt_p99_ms_at_10k": None}
    mqtt = json.loads(path.read_text())
    p99 = None
    for run in mqtt.get("runs", []):
        if run.get("target_rate") == 10_000:
            p99 = run.get("enqueue_to_scored_ms", {}).get("p99")
    return {
        "mqtt_samples_per_s_zero_loss": mqtt.get("max_lossless_throughput"),
        "mqtt_p99_ms_at_10k": p99,
        "mqtt_source": str(path),
    }


def write_results(results: dict[str, Any], path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")


def seasonal_watch_us(width: int, repeats: int, seed: int = 2) -> float:
    """Median microseconds one stream's watch of the same time a week ago (core/seasonal.py) adds to a
    sample, at its largest ring (a week of 5-minute readings) and ``width`` channels, with two weeks
    seen so every sample has a slot to compare with."""
    setting = {"lag_s": WEEK_S, "bins": MAX_BINS, "span": SPAN, "after": AFTER, "bound": [1.0] * width}
    watch, row = SeasonalWatch(setting), slice(0, 1)
    rng = np.random.default_rng(seed)
    seen = 2 * MAX_BINS
    values = rng.normal(size=(seen + repeats, 1, width))
    times = 300.0 * np.arange(seen + repeats)[:, None]
    for k in range(seen):
        watch.push_rows(row, values[k], times[k])
    index = seen

    def sample() -> None:
        nonlocal index
        watch.push_rows(row, values[index], times[index])
        index += 1

    return median_us(sample, repeats, warmup=0)


def cadence_watch_us(width: int, repeats: int, period: int = 20) -> float:
    """Median microseconds one stream's cadence watch (core/cadence.py) adds to a sample with ``width``
    channels, each watched and cycling every ``period`` samples, staggered: a cycle starts, and the
    count runs, on ``width`` samples of every ``period`` (a quarter of them at 5 channels)."""
    cadence = CYCLES * period
    setting = {"cycles": CYCLES, "band": BAND, "centre": [4.0 * period] * width, "low": [0.9 * cadence] * width}
    watch, row = CadenceWatch({**setting, "high": [1.1 * cadence] * width}), slice(0, 1)
    phase = 2 * np.pi * (np.arange(repeats + 10 * period)[:, None] / period + np.arange(width) / width)
    values = np.sin(phase)[:, None, :]
    for k in range(10 * period):
        watch.push_rows(row, values[k])
    index = 10 * period

    def sample() -> None:
        nonlocal index
        watch.push_rows(row, values[index])
        index += 1

    return median_us(sample, repeats, warmup=0)


def spot_update_us(scores_seen: int, updates: int = 300, seed: int = 0) -> float:
    """Median microseconds of one SPOT update on a new peak (the update that refits the tail) after
    ``scores_seen`` normal scores. ``initialize`` stands in for a stream that has seen them: the same
    peaks are kept as if each score had been observed, in a fraction of the time."""
    rng = np.random.default_rng(seed)
    spot = SPOT(q=1e-3)
    spot.initialize(rng.normal(size=scores_seen))
    peaks = iter(spot.level + rng.uniform(0.01, 0.5, size=updates + 1))
    return median_us(lambda: spot.observe(float(next(peaks)), anomalous=False), updates, warmup=0)


if __name__ == "__main__":  # python -m edge_lstm.tools.bench: SPOT's update cost does not grow with uptime
    for seen in (10_000, 1_000_000):
        print(f"SPOT update on a new peak after {seen:>9,} scores: {spot_update_us(seen):8.1f} us")
