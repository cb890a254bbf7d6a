"""Exporting the step model three ways, checking each through LiteRT, and choosing which to deploy.

Each variant (float, dynamic range, full int8) is streamed through LiteRT over the calibration data
and a probe with injected faults, and compared with Keras. The float file must match Keras, or
training fails: the conversion would be wrong, not merely imprecise. A quantized variant that cannot
be built or run here (XNNPACK refuses some int8 graphs, e.g. of a channel that never moves) is left
out with its reason, never a crash; ``auto`` then deploys the best variant that works.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from edge_lstm.core.scoring import Scorer
from edge_lstm.errors import EdgeLSTMError, TrainingError
from edge_lstm.runtime.litert import LiteRTStepModel
from edge_lstm_train import export, verify

# The float export must reproduce Keras to this (max abs reconstruction error over the calibration
# stream); anything larger means the conversion is wrong, not merely imprecise.
FLOAT_TOLERANCE = 1e-4
# A full-integer model is deployed only if it detects like the float model: this agreement F1 on the
# probe, and this median relative score error. Otherwise the dynamic-range model (int8 weights) is.
INT8_MIN_AGREEMENT = 0.95
INT8_MAX_MEDIAN_SCORE_ERROR = 0.10


class ExportMismatch(TrainingError):
    """An exported file does not compute what the Keras model computes."""


def export_variants(
    step_model: Any,
    workdir: Path,
    representative: Any,
    segments: tuple[list[np.ndarray], list[np.ndarray]],
    reference: tuple[list[np.ndarray], np.ndarray, np.ndarray],
    threshold_of: Callable[[np.ndarray], float],
    *,
    shape: tuple[int, int, list[str], int],
    scorer: Scorer,
    warmup: int,
    log: Callable[[str], None],
) -> dict[str, dict[str, Any]]:
    """Write ``variants/<name>.tflite`` for each variant and measure it against Keras.

    ``segments`` = (clean calibration, probe) inputs; ``reference`` = Keras reconstructions of the clean
    segments and Keras scores of both. A variant that fails is reported as ``{"failed": reason}``.
    """
    calib_seg, probes = segments
    keras_recons, ref_clean, ref_probe = reference
    n_features, window, state_names, state_size = shape
    variants: dict[str, dict[str, Any]] = {}
    for variant in export.VARIANTS:
        path = workdir / "variants" / f"{variant}.tflite"
        try:
            path.write_bytes(export.convert(step_model, variant, representative))
            runtime = LiteRTStepModel(
                path,
                n_features=n_features,
                window=window,
                state_names=state_names,
                state_sizes=[state_size] * len(state_names),
            )
            recons = verify.streamed_reconstructions(runtime, calib_seg)
            clean = verify.scores(recons, calib_seg, warmup, scorer)
            probe = verify.scores(verify.streamed_reconstructions(runtime, probes), probes, warmup, scorer)
        except (RuntimeError, ValueError, EdgeLSTMError) as error:
            if variant == "float":
                raise TrainingError(f"the float TFLite model cannot be built or run: {error}") from error
            path.unlink(missing_ok=True)
            variants[variant] = {"failed": f"{type(error).__name__}: {error}"}
            log(f"export {variant:7s}: left out: {variants[variant]['failed']}")
            continue
        report = verify.fidelity(keras_recons, recons, ref_clean, clean)
        report["detection_agreement_f1"] = verify.detection_agreement(
            (ref_clean, ref_probe), (clean, probe), threshold_of
        )
        report.update(file=f"variants/{variant}.tflite", bytes=path.stat().st_size)
        variants[variant] = {**report, "_clean_scores": clean}
        log(
            f"export {variant:7s}: {report['bytes']:6d} bytes, max |recon - keras| "
            f"{report['max_abs_reconstruction_error']:.2e}, median score error "
            f"{100 * report['score_rel_error_median']:.2f} %, detection agreement "
            f"{report['detection_agreement_f1']:.3f}"
        )
    error = variants["float"]["max_abs_reconstruction_error"]
    if error > FLOAT_TOLERANCE:
        raise ExportMismatch(
            f"float TFLite differs from Keras by {error:.2e} (tolerance {FLOAT_TOLERANCE:.0e}); "
            "refusing to write the bundle"
        )
    return variants


def choose_variant(requested: str, variants: dict[str, dict[str, Any]]) -> str:
    """``requested`` if it is not ``auto``; else int8 where it detects like float, else dynamic, else float."""
    if requested != "auto":
        if "failed" in variants[requested]:
            raise TrainingError(f"the {requested} model cannot be used here: {variants[requested]['failed']}")
        return requested
    int8 = variants["int8"]
    if (
        "failed" not in int8
        and int8["detection_agreement_f1"] >= INT8_MIN_AGREEMENT
        and int8["score_rel_error_median"] <= INT8_MAX_MEDIAN_SCORE_ERROR
    ):
        return "int8"
    return "dynamic" if "failed" not in variants["dynamic"] else "float"
