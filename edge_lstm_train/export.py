"""Step model -> TFLite, in three variants.

Converted with ``TFLiteConverter.from_keras_model`` (``from_concrete_functions`` writes a model without
weights that answers NaN). The int8 calibration data is given as a dict keyed by input name, with
real (x, h, c) collected by running the float cell over normalized training sequences: a positional
list can silently calibrate the wrong tensors, and random states calibrate the wrong ranges.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from edge_lstm.errors import SettingsError
from edge_lstm_train import native_output_captured

VARIANTS = ("float", "dynamic", "int8")


def representative_inputs(
    reference_model: object, segments: list[np.ndarray], state_names: list[str], samples: int = 600, seed: int = 0
) -> list[dict[str, np.ndarray]]:
    from edge_lstm.core.stepmodel import zero_state

    rng = np.random.default_rng(seed)
    collected: list[dict[str, np.ndarray]] = []
    for seg in segments:
        state = zero_state(reference_model)  # type: ignore[arg-type]
        for t in range(len(seg)):
            row = seg[t : t + 1].astype(np.float32)
            collected.append({"x": row, **{n: s.copy() for n, s in zip(state_names, state, strict=True)}})
            _, state = reference_model.step(row, state)  # type: ignore[attr-defined]
    picks = rng.choice(len(collected), size=min(samples, len(collected)), replace=False)
    return _widened([collected[i] for i in sorted(picks)], rng)


def _widened(samples: list[dict[str, np.ndarray]], rng: np.random.Generator) -> list[dict[str, np.ndarray]]:
    """A column that never moves in the samples (a flat channel, and the states it drives) would get a
    zero quantization range, which XNNPACK refuses ("failed to prepare"), so the int8 model could not
    run at all. Every tenth sample gets such columns spread over [-1, 1] instead: the scale of one
    standardized unit, so the rest of the model keeps its resolution."""
    for name in samples[0]:
        stacked = np.concatenate([s[name] for s in samples])
        flat = np.flatnonzero(np.ptp(stacked, axis=0) < 1e-6)
        if not flat.size:
            continue
        for sample in samples[::10]:
            sample[name] = sample[name].copy()
            sample[name][0, flat] = rng.uniform(-1.0, 1.0, flat.size).astype(np.float32)
    return samples


def convert(step_model: object, variant: str, representative: list[dict[str, np.ndarray]] | None = None) -> bytes:
    import tensorflow as tf

    converter = tf.lite.TFLiteConverter.from_keras_model(step_model)
    if variant == "float":
        pass
    elif variant == "dynamic":
        converter.optimizations = [tf.lite.Optimize.DEFAULT]
    elif variant == "int8":
        if not representative:
            raise ValueError("int8 conversion needs representative inputs")

        def dataset() -> Iterator[dict[str, np.ndarray]]:
            yield from representative

        converter.optimizations = [tf.lite.Optimize.DEFAULT]
        converter.representative_dataset = dataset
        converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
    else:
        raise SettingsError(f"unknown variant {variant!r}; expected one of {', '.join(VARIANTS)}")
    with native_output_captured():
        return bytes(converter.convert())
