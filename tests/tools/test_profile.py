"""The hot-path profile the README's performance section quotes: every part it names, per sample."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from edge_lstm.bundle import load_bundle
from edge_lstm.tools.bench_engine import _PARTS, profile_hot_path, samples_per_s


@pytest.mark.parametrize("streams", [1, 8])
def test_the_profile_reports_each_part_per_sample_and_they_add_up(bundle_dir: Path, streams: int) -> None:
    text = profile_hot_path(bundle_dir, samples=400, streams=streams)
    figures = dict(re.findall(r"^ +(\S.*?) +(-?\d+\.\d+)$", text, flags=re.MULTILINE))
    main = [float(figures[label]) for label, _ in _PARTS if not label.startswith(" ")]
    assert all(value > 0.0 for value in main), figures  # shares (a watch the bundle lacks: 0) are listed too
    assert all(float(figures[label.strip()]) >= 0.0 for label, _ in _PARTS)
    total = float(figures["total"])
    assert sum(main) + float(figures["bookkeeping (waves, worker)"]) == pytest.approx(total, abs=0.05)
    assert sum(main) < total and "function calls" in text  # the own-time table follows


def test_throughput_takes_a_bundle_path_relative_to_where_it_runs(
    bundle_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The README's one-liner passes `demo-output/bundle`; the bench's own config lives in a temporary
    # folder, from which a relative path would point nowhere.
    monkeypatch.chdir(bundle_dir.parent)
    relative = Path(bundle_dir.name)
    assert samples_per_s(relative, load_bundle(relative), streams=4, waves=10) > 0
