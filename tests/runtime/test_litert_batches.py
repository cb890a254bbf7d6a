"""A daemon with many streams steps every batch size from 1 to the number of streams. The LiteRT model
keeps one interpreter per power of two and pads a batch up to the next one, so a hundred streams need
eight interpreters, and the padding rows (zero input, zero state) change no real row's result."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from edge_lstm.bundle import load_bundle


@pytest.mark.parametrize("kind", ["int8", "dynamic", "float"])
def test_batches_of_1_to_100_share_eight_interpreters_and_padding_changes_no_row(bundle_dir: Path, kind: str) -> None:
    model = load_bundle(bundle_dir).open_model(kind)
    rng = np.random.default_rng(7)
    xs = rng.normal(0, 1, (100, model.n_features)).astype(np.float32)
    states = tuple(rng.normal(0, 0.3, (100, size)).astype(np.float32) for size in model.state_sizes)
    # Each row alone: batch 1 is a power of two, so these are never padded.
    alone = [model.step(xs[row : row + 1], tuple(s[row : row + 1] for s in states)) for row in range(100)]
    for batch in range(1, 101):
        recon, new_state = model.step(xs[:batch], tuple(s[:batch] for s in states))
        assert recon.shape == (batch, model.window, model.n_features)
        assert [s.shape for s in new_state] == [(batch, size) for size in model.state_sizes]
        # Exactly equal: LiteRT's kernels compute each row on its own, whatever the rows around it.
        np.testing.assert_array_equal(recon, np.concatenate([a[0] for a in alone[:batch]]))
        for index, part in enumerate(new_state):
            np.testing.assert_array_equal(part, np.concatenate([a[1][index] for a in alone[:batch]]))
    assert model.batch_sizes == (1, 2, 4, 8, 16, 32, 64, 128)


def test_a_padded_batch_leaves_nothing_behind_for_the_next(bundle_dir: Path) -> None:
    model = load_bundle(bundle_dir).open_model("int8")
    rng = np.random.default_rng(8)
    x = rng.normal(0, 1, (4, model.n_features)).astype(np.float32)
    state = tuple(rng.normal(0, 0.3, (4, size)).astype(np.float32) for size in model.state_sizes)
    first = model.step(x, state)
    model.step(x[:3] * 5, tuple(s[:3] for s in state))  # the same interpreter, padded to 4 rows
    again = model.step(x, state)
    np.testing.assert_array_equal(first[0], again[0])
    for a, b in zip(first[1], again[1], strict=True):
        np.testing.assert_array_equal(a, b)
