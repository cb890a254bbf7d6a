"""The figures users compare, side by side (``edge-lstm bench``): LiteRT's ``invoke()`` alone, the hot
path from raw payload bytes to a decision, batched throughput on one core, the naive sliding-window
Keras approach, memory, bundle size, time to the first decision, and payload parsing. Measured, never
asserted: tests check behaviour, this prints and records figures."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np

from edge_lstm.bundle import Bundle
from edge_lstm.core.stepmodel import zero_state


@contextmanager
def quiet_package_log() -> Iterator[None]:
    """The benchmark's own streams would log warm-ups and out-of-range readings: not what is measured."""
    package_log = logging.getLogger("edge_lstm")
    level = package_log.level
    package_log.setLevel(logging.ERROR)
    try:
        yield
    finally:
        package_log.setLevel(level)


def median_us(fn: Callable[[], object], repeats: int, warmup: int = 50) -> float:
    """Median wall time of ``fn`` in microseconds."""
    for _ in range(warmup):
        fn()
    times = np.empty(repeats)
    for i in range(repeats):
        t0 = time.perf_counter_ns()
        fn()
        times[i] = time.perf_counter_ns() - t0
    return float(np.median(times) / 1e3)


def invoke_us(bundle: Bundle, repeats: int) -> float:
    """``invoke()`` of the deployed model at batch 1, inputs already set: the floor of any step."""
    model = bundle.open_model()
    model.step(np.zeros((1, len(bundle.features)), dtype=np.float32), zero_state(model))
    return median_us(model.interpreter.invoke, repeats)


def payloads(bundle: Bundle, n: int, seed: int = 0) -> list[bytes]:
    """``n`` JSON payloads with a timestamp: readings that wander around the bundle's operating point
    (a slow AR(1) in its standardized units), moving a little between samples as sensors do; independent
    draws would leap at every sample and keep each stream in alert, which is not the common case."""
    rng = np.random.default_rng(seed)
    walk = np.zeros((n, len(bundle.features)))
    for t in range(1, n):
        walk[t] = 0.98 * walk[t - 1] + 0.1 * rng.normal(size=len(bundle.features))
    rows = bundle.scaler.inverse(walk.astype(np.float32))
    return [
        json.dumps(
            {**{f: round(float(v), 5) for f, v in zip(bundle.features, row, strict=True)}, "ts": 1e9 + i}
        ).encode()
        for i, row in enumerate(rows)
    ]


def _daemon(bundle_dir: Path, folder: Path) -> Any:
    from edge_lstm.config import load_config
    from edge_lstm.service.worker import Daemon

    path = folder / "bench.toml"
    # Absolute: a relative bundle path in a config is read from the config's folder, a temporary one here.
    path.write_text(f'[model]\nbundle = "{bundle_dir.resolve()}"\n[[streams]]\ntopic = "b/+"\ntimestamp_field = "ts"\n')
    return Daemon(load_config(path))


def hot_path_us(bundle_dir: Path, bundle: Bundle, repeats: int) -> float:
    """One stream, one frame per call: parse, route, check, scale, step, score, decide (in process)."""
    with tempfile.TemporaryDirectory() as folder:
        daemon = _daemon(bundle_dir, Path(folder))
        items = iter([("b/s1", p, 0.0)] for p in payloads(bundle, repeats + 100))
        return median_us(lambda: daemon.process(next(items)), repeats, warmup=100)


PASSES = 3  # throughput is the best of this many timed passes


def samples_per_s(bundle_dir: Path, bundle: Bundle, streams: int, waves: int) -> float:
    """Samples per second with ``streams`` streams, one sample each per wave, on one core: the best of
    ``PASSES`` passes over ``waves`` waves each. A pass that another process interrupts is slower by
    whatever ran meanwhile, never faster, so the fastest pass is the closest to the daemon's own cost
    (the advice of Python's ``timeit``). It rejects short interruptions only: a shared machine that is
    slower for minutes is slower in every pass, so compare versions back to back."""
    pinned = hasattr(os, "sched_setaffinity")
    if pinned:
        cores = os.sched_getaffinity(0)
        os.sched_setaffinity(0, {min(cores)})
    try:
        with tempfile.TemporaryDirectory() as folder:
            daemon = _daemon(bundle_dir, Path(folder))
            data = payloads(bundle, PASSES * waves + 40)
            batches = [[(f"b/s{k}", payload, 0.0) for k in range(streams)] for payload in data]
            for batch in batches[:40]:  # warm-up: streams created, interpreters allocated
                daemon.process(batch)
            fastest = float("inf")
            for start in range(40, len(batches), waves):  # the streams carry on from pass to pass
                started = time.perf_counter()
                for batch in batches[start : start + waves]:
                    daemon.process(batch)
                fastest = min(fastest, time.perf_counter() - started)
            return streams * waves / fastest
    finally:
        if pinned:
            os.sched_setaffinity(0, cores)


def sliding_window_keras_us(bundle: Bundle, repeats: int) -> float | None:
    """The approach most published LSTM-AE detectors take: for every sample, run the Keras autoencoder
    over the last window again. A model of this bundle's size and shape (the cost does not depend on
    the weights; one recurrent layer, where the usual encoder-decoder has two, so this baseline is if
    anything too cheap), called directly (faster than ``predict``). None without TensorFlow."""
    try:
        from edge_lstm_train.model import build_sequence_model
    except ImportError:
        return None
    state = int(bundle.manifest["state"][0]["size"])
    model = build_sequence_model(
        len(bundle.features), bundle.window, state, int(bundle.manifest["bottleneck"]), str(bundle.manifest["cell"])
    )
    window = np.zeros((1, bundle.window, len(bundle.features)), dtype=np.float32)
    return median_us(lambda: model(window, training=False), max(repeats // 20, 50), warmup=10)


_CHILD = """
import gc, json, os, sys, time, tempfile
from pathlib import Path
from edge_lstm.bundle import load_bundle
from edge_lstm.service import heap
from edge_lstm.tools import bench_engine as b
bundle_dir = Path(sys.argv[1]); bundle = load_bundle(bundle_dir)
def rss_mb():
    for line in open("/proc/self/status"):
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
def ms(fn):
    started = time.perf_counter(); fn(); return (time.perf_counter() - started) * 1e3
with tempfile.TemporaryDirectory() as folder:
    daemon = b._daemon(bundle_dir, Path(folder))
    health = [ms(daemon.health), ms(daemon.health)]  # the first pays numpy's first calls
    data = b.payloads(bundle, 200)
    first = None
    for i, p in enumerate(data):
        daemon.process([("b/first", p, 0.0)])
        if first is None and daemon.streams[(0, "first")].detector.counters.scored:
            first = time.time()
    idle = rss_mb()
    for w in range(60):
        daemon.process([(f"b/s{k}", data[w], 0.0) for k in range(256)])
    rss = rss_mb()
    full_pass = [min(ms(gc.collect) for _ in range(3))]
    heap.freeze()  # as the daemon does once it is up
    full_pass.append(min(ms(gc.collect) for _ in range(3)))
    print(json.dumps({"first_decision_at": first, "rss_mb_idle": idle, "rss_mb_256_streams": rss,
                      "health_ms": health, "gc_full_pass_ms": full_pass}))
"""


def process_figures(bundle_dir: Path) -> dict[str, Any]:
    """In a fresh process: time from start to the first decision, resident memory idle (one stream) and
    with 256 streams, the health document's cost the first time and the next, and a full pass of the
    garbage collector over the daemon's heap before and after ``service.heap.freeze``."""
    started = time.time()
    out = subprocess.run([sys.executable, "-c", _CHILD, str(bundle_dir)], capture_output=True, text=True, check=True)
    figures = json.loads(out.stdout.strip().splitlines()[-1])
    return {
        "first_decision_s": round(figures["first_decision_at"] - started, 3),
        "rss_mb_idle": round(figures["rss_mb_idle"], 1),
        "rss_mb_256_streams": round(figures["rss_mb_256_streams"], 1),
        "health_ms": dict(zip(("first", "next"), (round(v, 2) for v in figures["health_ms"]), strict=True)),
        "gc_full_pass_ms": dict(
            zip(("unfrozen", "frozen"), (round(v, 2) for v in figures["gc_full_pass_ms"]), strict=True)
        ),
    }


def parse_us(bundle: Bundle, repeats: int) -> dict[str, float | None]:
    """Decoding one real payload, as a JSON object and as a JSON array, with the standard library's json,
    msgspec (what the daemon uses) and, when installed, orjson; and the daemon's whole parse of an
    object payload (decode into a typed record, the readings in feature order, the timestamp)."""
    import msgspec

    from edge_lstm.sources.payload import PayloadParser

    objects = payloads(bundle, repeats)
    arrays = [json.dumps([d["ts"], *(d[f] for f in bundle.features)]).encode() for d in map(json.loads, objects)]
    decoders: dict[str, Callable[[bytes], Any] | None] = {
        "json": json.loads,
        "orjson": None,
        "msgspec": msgspec.json.Decoder().decode,
    }
    try:
        import orjson  # type: ignore[import-not-found]

        decoders["orjson"] = orjson.loads
    except ImportError:
        pass
    out: dict[str, float | None] = {}
    for shape, data in (("object", objects), ("array", arrays)):
        for name, decode in decoders.items():
            out[f"{shape}_{name}"] = None if decode is None else _each_us(decode, data, repeats)
    parser = PayloadParser("json", tuple(bundle.features), timestamp_field="ts")
    out["payload_parser_object"] = _each_us(parser.samples, objects, repeats)
    return out


def _each_us(fn: Callable[[bytes], Any], data: list[bytes], repeats: int) -> float:
    """Median microseconds of ``fn`` over the items of ``data`` in turn."""
    items = iter(data * 2)
    return round(median_us(lambda: fn(next(items)), repeats, warmup=10), 3)


def bundle_kb(bundle_dir: Path, bundle: Bundle) -> float:
    """What a device needs of the bundle: manifest, deployed model, calibration scores."""
    deployed = bundle.manifest["quantization"]["deployed"]
    names = {"manifest.json", "model.tflite", "calibration_scores.npy"}
    files = [p for p in bundle_dir.iterdir() if p.name in names]
    variant = bundle_dir / "variants" / f"{deployed}.tflite"
    total = sum(p.stat().st_size for p in files) + (
        0 if (bundle_dir / "model.tflite").exists() else variant.stat().st_size
    )
    return round(total / 1024, 1)


# The parts of the hot path the profile reports, each as (label, (file, function) pairs whose times add
# up); an indented label is a share of the part above it.
_PARTS: list[tuple[str, tuple[tuple[str, str], ...]]] = [
    ("DetectorBank.admit", (("bank.py", "admit"),)),
    ("  stuck and leap watches", (("stuck.py", "push_rows"), ("jumps.py", "push_rows"))),
    ("DetectorBank.complete", (("bank.py", "complete"),)),
    ("  window error and score", (("scoring.py", "sensor_terms"),)),
    ("  threshold and debounce", (("thresholds.py", "update_rows"),)),
    ("model step (DetectorBank.step)", (("bank.py", "step"),)),
    ("  LiteRT Invoke", (("~", "<built-in method ai_edge_litert._pywrap_litert_interpreter_wrapper.Invoke>"),)),
    ("PayloadParser.samples", (("payload.py", "samples"),)),
    ("routing (Daemon._route)", (("worker.py", "_route"),)),
]


def profile_hot_path(bundle_dir: Path, samples: int = 20_000, rows: int = 14, streams: int = 1) -> str:
    """Where the microseconds above ``invoke()`` go on the hot path (``Daemon.process`` of JSON frames,
    one per stream per call: ``streams`` of them), under cProfile: per sample, each part's time including
    what it calls, the rest (building waves, counting) as bookkeeping; then the ``rows`` functions with
    the most time of their own. The profiler slows Python down 1.7 to 2.7 times: read the shares."""
    import cProfile
    import io
    import pstats

    from edge_lstm.bundle import load_bundle

    bundle = load_bundle(bundle_dir)
    with quiet_package_log(), tempfile.TemporaryDirectory() as folder:
        daemon = _daemon(bundle_dir.resolve(), Path(folder))
        waves = max(samples // streams, 1)
        frames = [[(f"b/s{k}", p, 0.0) for k in range(streams)] for p in payloads(bundle, waves + 100)]
        for frame in frames[:100]:
            daemon.process(frame)
        profiler = cProfile.Profile()
        profiler.enable()
        for frame in frames[100:]:
            daemon.process(frame)
        profiler.disable()
    out = io.StringIO()
    stats = pstats.Stats(profiler, stream=out)
    per_sample = 1e6 / (waves * streams)
    cumulative: dict[tuple[str, str], float] = {}
    for (file, _, function), (_, _, _, cum, _) in stats.stats.items():  # type: ignore[attr-defined]
        key = (Path(file).name, function)
        cumulative[key] = cumulative.get(key, 0.0) + cum * per_sample
    total = cumulative[("worker.py", "process")]
    out.write(f"{streams} stream(s), {waves * streams} samples, microseconds per sample (profiled)\n")
    counted = 0.0
    for label, keys in _PARTS:
        value = sum(cumulative.get(key, 0.0) for key in keys)
        counted += 0.0 if label.startswith(" ") else value
        out.write(f"  {label:34s} {value:9.2f}\n")
    out.write(f"  {'bookkeeping (waves, worker)':34s} {total - counted:9.2f}\n  {'total':34s} {total:9.2f}\n\n")
    stats.sort_stats("tottime").print_stats(rows)
    return out.getvalue()


if __name__ == "__main__":  # python -m edge_lstm.tools.bench_engine BUNDLE [STREAMS]: the hot path's profile
    bundle_arg = Path(sys.argv[1] if len(sys.argv) > 1 else "demo-output/bundle")
    print(profile_hot_path(bundle_arg, streams=int(sys.argv[2]) if len(sys.argv) > 2 else 1))
