"""Helpers shared by the test modules (test modules never import each other)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, NoReturn

import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[2]


def unavailable(what: str, install: str) -> NoReturn:
    """A test dependency is missing: a failure under CI (which installs everything), else a skip."""
    if os.environ.get("CI"):
        pytest.fail(f"{what} is required in CI ({install})")
    pytest.skip(f"{what} is not installed ({install})")  # local runs only: CI fails above


def tensorflow_or_fail() -> None:
    from edge_lstm_train import tensorflow_available

    if not tensorflow_available():
        unavailable("TensorFlow (the train extra)", "pip install -e '.[train]'")


def random_reference_weights(
    n_features: int = 3, units: int = 8, window: int = 4, bottleneck: int = 4, seed: int = 0, cell: str = "lstm"
) -> dict[str, np.ndarray]:
    """Small random weights for the numpy cell: unit tests of the core without training anything."""
    rng = np.random.default_rng(seed)
    gates = 4 if cell == "lstm" else 3
    bias_shape = (gates * units,) if cell == "lstm" else (2, gates * units)
    return {
        "cell_kernel": rng.normal(0, 0.4, (n_features, gates * units)).astype(np.float32),
        "cell_recurrent_kernel": rng.normal(0, 0.3, (units, gates * units)).astype(np.float32),
        "cell_bias": rng.normal(0, 0.1, bias_shape).astype(np.float32),
        "bottleneck_kernel": rng.normal(0, 0.4, (units, bottleneck)).astype(np.float32),
        "bottleneck_bias": np.zeros(bottleneck, np.float32),
        "decoder_kernel": rng.normal(0, 0.4, (bottleneck, window * n_features)).astype(np.float32),
        "decoder_bias": np.zeros(window * n_features, np.float32),
    }


def small_detector(stream: str = "s1", **settings: Any) -> Any:
    """A detector of three unit-scaled channels a, b, c over a small random numpy cell (window 4, warm-up
    6, a threshold no score reaches unless ``settings`` say otherwise): the core without training."""
    from edge_lstm.core.detector import DetectorSettings, StreamDetector
    from edge_lstm.core.scaling import StandardScaler
    from edge_lstm.runtime.reference import NumpyStepModel

    base: dict[str, Any] = {
        "features": ["a", "b", "c"],
        "window": 4,
        "scaler": StandardScaler(np.zeros(3, np.float32), np.ones(3, np.float32)),
        "threshold": 1e9,
        "warmup": 6,
    }
    model = NumpyStepModel(random_reference_weights(), cell="lstm", window=4)
    return StreamDetector(DetectorSettings(**{**base, **settings}), model, stream=stream)
