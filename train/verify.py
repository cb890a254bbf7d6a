"""Checking each exported file against Keras, and judging quantization by detection.

Every variant is streamed one sample at a time through LiteRT, exactly as on the device, and compared
with the Keras *sequence* model run over the same segments (streaming must equal batch). A variant's
detection is judged on a probe: the calibration data with injected offsets. Each variant gets its own
threshold from its own scores on clean calibration data; its decisions on the probe are compared with
the float model's (F1 of agreement).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from edge_lstm.core.scoring import sequence_sensor_errors
from edge_lstm.core.stepmodel import StepModel, run_sequence
from edge_lstm.core.thresholds import quantile_threshold


def keras_reconstructions(sequence_model: Any, segments: list[np.ndarray]) -> list[np.ndarray]:
    return [np.asarray(sequence_model(seg[None].astype(np.float32), training=False))[0] for seg in segments]


def streamed_reconstructions(model: StepModel, segments: list[np.ndarray]) -> list[np.ndarray]:
    return [run_sequence(model, seg.astype(np.float32))[0] for seg in segments]


def scores(reconstructions: list[np.ndarray], segments: list[np.ndarray], warmup: int) -> np.ndarray:
    """Scores of all segments, warm-up rows of each segment left out (as the detector does)."""
    parts = [
        sequence_sensor_errors(r, s.astype(np.float32)).mean(axis=1)[warmup:]
        for r, s in zip(reconstructions, segments, strict=True)
    ]
    return np.concatenate(parts) if parts else np.zeros(0)


def probe_segments(
    segments: list[np.ndarray], seed: int = 0, every: int = 250, length: int = 40, offset: float = 3.0
) -> list[np.ndarray]:
    """Copies of ``segments`` with a +-``offset`` sigma step on one random sensor every ``every`` rows."""
    rng = np.random.default_rng(seed)
    probes = []
    for seg in segments:
        probe = seg.astype(np.float32).copy()
        for start in range(every // 2, len(probe) - length, every):
            channel = rng.integers(probe.shape[1])
            probe[start : start + length, channel] += offset * rng.choice([-1.0, 1.0])
        probes.append(probe)
    return probes


def agreement_f1(reference: np.ndarray, candidate: np.ndarray) -> float:
    both = int(np.sum(reference & candidate))
    either = int(np.sum(reference)) + int(np.sum(candidate))
    return 1.0 if either == 0 else 2.0 * both / either


def fidelity(
    reference_recons: list[np.ndarray],
    candidate_recons: list[np.ndarray],
    reference_scores: np.ndarray,
    candidate_scores: np.ndarray,
) -> dict[str, float]:
    max_error = max(float(np.abs(r - c).max()) for r, c in zip(reference_recons, candidate_recons, strict=True))
    relative = np.abs(candidate_scores - reference_scores) / np.maximum(np.abs(reference_scores), 1e-12)
    return {
        "max_abs_reconstruction_error": max_error,
        "score_rel_error_median": float(np.median(relative)),
        "score_rel_error_p99": float(np.quantile(relative, 0.99)),
    }


def detection_agreement(
    reference: tuple[np.ndarray, np.ndarray], candidate: tuple[np.ndarray, np.ndarray], quantile: float
) -> float:
    """(clean scores, probe scores) for each model; each decides with its own calibrated threshold."""
    ref_decisions = reference[1] > quantile_threshold(reference[0], quantile)
    cand_decisions = candidate[1] > quantile_threshold(candidate[0], quantile)
    return agreement_f1(ref_decisions, cand_decisions)
