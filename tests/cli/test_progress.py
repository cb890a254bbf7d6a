"""Long commands show progress in a log too: a bar draws only on a terminal, so elsewhere lines."""

from __future__ import annotations

import pytest

from edge_lstm.cli import progress as progress_module
from edge_lstm.cli.progress import progress


def test_a_log_gets_a_line_at_the_end_and_one_per_interval(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    with progress("series", length=3, show_item=True) as bar:  # stderr is captured here: not a terminal
        for name in ("a", "b", "c"):
            bar.update(1, name)
    assert capsys.readouterr().err.splitlines() == ["series: 3/3 c, 0 s"]

    monkeypatch.setattr(progress_module, "LOG_EVERY_S", 0.0)  # every update is due
    with progress("evaluating", iterable=["x.csv", "y.csv"]) as bar:
        seen = list(bar)
    assert seen == ["x.csv", "y.csv"]
    assert capsys.readouterr().err.splitlines() == ["evaluating: 1/2, 0 s", "evaluating: 2/2, 0 s"]
