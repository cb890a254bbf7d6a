"""Checking each exported file against Keras, and judging quantization by detection.

Every variant is streamed one sample at a time through LiteRT, exactly as on the device, and compared
with the Keras *sequence* model run over the same segments (streaming must equal batch). A variant's
detection is judged on a probe: the calibration data with injected offsets. Each variant gets its own
threshold from its own scores on clean calibration data; its decisions on the probe are compared with
the float model's (F1 of agreement).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from edge_lstm.core.scoring import Scorer
from edge_lstm.core.stepmodel import StepModel, run_sequence


def keras_reconstructions(sequence_model: Any, segments: list[np.ndarray]) -> list[np.ndarray]:
    return [np.asarray(sequence_model(seg[None].astype(np.float32), training=False))[0] for seg in segments]


def streamed_reconstructions(model: StepModel, segments: list[np.ndarray]) -> list[np.ndarray]:
    return [run_sequence(model, seg.astype(np.float32))[0] for seg in segments]


def scores(
    reconstructions: list[np.ndarray], segments: list[np.ndarray], warmup: int, scorer: Scorer | None = None
) -> np.ndarray:
    """Scores of all segments, warm-up rows of each segment left out (as the detector does)."""
    scorer = scorer or Scorer()
    parts = [
        scorer.sequence_scores(r, s.astype(np.float32))[warmup:] for r, s in zip(reconstructions, segments, strict=True)
    ]
    return np.concatenate(parts) if parts else np.zeros(0)


# Probe steps, in sigmas, tried in turn until the float model flags PROBE_FLAGGED probe samples: an
# agreement F1 between two models needs decisions to agree on (the adaptive rule's first threshold
# often lets a 3-sigma step through on short data).
PROBE_OFFSETS = (3.0, 6.0, 12.0, 24.0)
PROBE_FLAGGED = 20


def probe_segments(
    segments: list[np.ndarray], seed: int = 0, every: int = 250, length: int = 40, offset: float = 3.0
) -> list[np.ndarray]:
    """Copies of ``segments`` with a +-``offset`` sigma step on one random sensor every ``every`` rows."""
    rng = np.random.default_rng(seed)
    probes = []
    for seg in segments:
        probe = seg.astype(np.float32).copy()
        # Short calibration segments still get one step, in their middle.
        first = min(every // 2, max(0, (len(probe) - length) // 2))
        for start in range(first, len(probe) - length, every):
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
    reference: tuple[np.ndarray, np.ndarray],
    candidate: tuple[np.ndarray, np.ndarray],
    threshold_of: Callable[[np.ndarray], float],
) -> float:
    """(clean scores, probe scores) for each model; each decides with its own threshold, calibrated
    by ``threshold_of`` from its own clean scores, as the bundle's threshold would be."""
    ref_decisions = reference[1] > threshold_of(reference[0])
    cand_decisions = candidate[1] > threshold_of(candidate[0])
    return agreement_f1(ref_decisions, cand_decisions)
