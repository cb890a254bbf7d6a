"""A glitch in the normal data (a few readings that leap away and back) is left out of training, said,
and counted; what normal running does often, or for long, is not a glitch."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from support import tensorflow_or_fail

from edge_lstm.sources.csv_file import Recording
from edge_lstm_train.glitches import MAX_ROWS, find_glitches


def pump(rows: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return 4.0 + 1.5 * np.sin(2 * np.pi * np.arange(rows) / 40.0) + 0.05 * rng.standard_normal(rows)


def test_a_short_excursion_is_found_on_its_channel_only() -> None:
    values = np.column_stack([pump(1000, 0), pump(1000, 1)])
    values[300:303, 1] += 3.0
    values[700, 1] -= 3.0  # downwards too
    assert find_glitches(values) == [[], [300, 303, 700, 701]]


def test_clean_noisy_and_heavy_tailed_data_has_none() -> None:
    rng = np.random.default_rng(2)
    noisy = rng.standard_normal((5000, 1))
    bursty = np.sqrt(rng.negative_binomial(2, 0.05, (5000, 1)).astype(float))  # a count read through its root
    assert find_glitches(np.hstack([noisy, bursty])) == [[], []]


def test_what_normal_running_does_often_or_long_is_kept() -> None:
    values = pump(2000, 3)[:, None]
    inrush = values.copy()
    for start in (200, 700, 1200):  # a motor's inrush current at each of three starts
        inrush[start : start + 2] += 4.0
    assert find_glitches(inrush) == [[]]
    state = values.copy()
    state[500 : 500 + MAX_ROWS + 1] += 4.0  # a state the machine held for a while
    assert find_glitches(state) == [[]]
    flat = np.zeros((500, 1))
    flat[250] = 1.0  # a channel that rarely moves: its one move is the model's to judge
    assert find_glitches(flat) == [[]]


def test_missing_readings_are_neither_glitches_nor_hide_one() -> None:
    values = pump(1000, 4)[:, None]
    values[100:110] = np.nan
    values[400:402] += 3.0
    assert find_glitches(values) == [[400, 402]]


@pytest.fixture
def plan():  # type: ignore[no-untyped-def]
    tensorflow_or_fail()
    from edge_lstm_train import inspection
    from edge_lstm_train.fit import ModelConfig
    from edge_lstm_train.pipeline import TrainOptions

    def run(rec: Recording, **options: object):  # type: ignore[no-untyped-def]
        return inspection.plan([rec], ModelConfig(), TrainOptions(**options))  # type: ignore[arg-type]

    return run


def test_the_plan_leaves_a_glitch_out_says_when_and_keeps_it_on_request(plan) -> None:  # type: ignore[no-untyped-def]
    values = np.column_stack([pump(1200, 5), pump(1200, 6)])
    values[600:603, 0] += 3.0
    times = 1_780_000_000.0 + 60.0 * np.arange(1200)
    rec = Recording(Path("line.csv"), ["pressure", "flow"], values, times)
    p = plan(rec)
    assert np.isnan(p.recordings[0].values[600:603, 0]).all() and np.isfinite(p.recordings[0].values[:, 1]).all()
    assert np.isfinite(rec.values).all()  # the caller's recording is left as it was
    assert p.report["glitches"] == {"pressure": 3}
    assert "channel pressure: left out as a glitch: 3 readings from 2026-05-29 06:26:40 UTC of line.csv" in p.notes[0]
    kept = plan(rec, glitches=False)
    assert np.isfinite(kept.recordings[0].values).all() and "glitches" not in kept.report
    untimed = plan(Recording(Path("line.csv"), ["pressure", "flow"], values, None))
    assert "3 readings from row 600 of line.csv" in untimed.notes[0]


def test_the_model_is_sized_by_the_data_not_by_its_glitches(plan) -> None:  # type: ignore[no-untyped-def]
    from edge_lstm_train.inspection import SMALL_ROWS

    values = pump(SMALL_ROWS, 12)[:, None]
    values[300:302] += 3.0
    p = plan(Recording(Path("line.csv"), ["pressure"], values, None))
    assert p.report["glitches"] == {"pressure": 2} and p.report["size"]["rows"] == SMALL_ROWS
    assert p.config.window == 16 and not any(n.startswith("window:") for n in p.notes)


def test_a_switch_keeps_its_short_runs(plan) -> None:  # type: ignore[no-untyped-def]
    current = 0.05 * np.random.default_rng(9).standard_normal(1200)
    current[200:500] += 5.0
    current[800:1100] += 5.0
    current[650:652] += 5.0  # started for a moment: the machine's, not a bad reading
    values = np.column_stack([pump(1200, 9), current])
    assert find_glitches(values)[1] == [650, 652]  # on its own terms it stands out
    p = plan(Recording(Path("line.csv"), ["pressure", "current"], values, None))
    assert p.report["glitches"] == {} and np.isfinite(p.recordings[0].values).all()


def test_training_without_the_glitch_keeps_its_limits_and_catches_a_smaller_spike(tmp_path: Path) -> None:
    tensorflow_or_fail()
    from click.testing import CliRunner

    from edge_lstm.bundle import load_bundle
    from edge_lstm.cli import main
    from edge_lstm.engine.replay import replay

    path = tmp_path / "pump.csv"
    normal = pump(1500, 7)
    normal[500:503] += 8.0
    path.write_text("pressure_bar\n" + "".join(f"{v:.3f}\n" for v in normal))
    dropped, kept = tmp_path / "dropped", tmp_path / "kept"
    result = CliRunner().invoke(main, ["train", str(path), "--out", str(dropped), "--epochs", "3"])
    assert result.exit_code == 0, result.output
    assert "decide: channel pressure_bar: left out as a glitch: 3 readings from row 500 of pump.csv" in result.output
    result = CliRunner().invoke(main, ["train", str(path), "--out", str(kept), "--epochs", "3", "--keep-glitches"])
    assert result.exit_code == 0 and "glitch" not in result.output
    info = CliRunner().invoke(main, ["info", str(dropped)]).output
    assert "channel pressure_bar: left out as a glitch: 3 readings from row 500 of pump.csv" in info
    without, including = load_bundle(dropped), load_bundle(kept)
    assert without.manifest["decisions"]["glitches"] == {"pressure_bar": 3}
    # The leap watch's limit is twice the largest normal step: the glitch's own 8 bar, or the pump's.
    assert including.manifest["alerting"]["jump"][0] > 16.0 > 2.0 > without.manifest["alerting"]["jump"][0]

    test = pump(1500, 8)
    test[1000:1003] += 4.0  # half the glitch's height
    played = replay(Recording(path, ["pressure_bar"], test[:, None], None), without)
    starts = [e.index for e in played.events if e.event == "alert_start"]
    assert any(1000 <= i < 1010 for i in starts), starts


def test_the_watches_of_a_bundle_with_a_channel_left_out_read_the_screened_readings(tmp_path: Path) -> None:
    """A channel left out as drifting keeps its watches, which read every channel's readings; the glitch
    on a modelled channel stays out of those too."""
    tensorflow_or_fail()
    from click.testing import CliRunner

    from edge_lstm.bundle import load_bundle
    from edge_lstm.cli import main

    flow = pump(2000, 10)
    flow[700:702] += 6.0
    temperature = np.linspace(20.0, 40.0, 2000) + 0.1 * np.random.default_rng(11).standard_normal(2000)
    path = tmp_path / "line.csv"
    rows = "".join(f"{f:.4f},{t:.4f}\n" for f, t in zip(flow, temperature, strict=True))
    path.write_text("flow,temperature\n" + rows)
    out = tmp_path / "bundle"
    result = CliRunner().invoke(main, ["train", str(path), "--out", str(out), "--epochs", "2"])
    assert result.exit_code == 0, result.output
    assert "left out as a glitch: 2 readings from row 700" in result.output and "still watched" in result.output
    bundle = load_bundle(out)
    assert bundle.features == ["flow"] and bundle.watched == ["temperature"]
    assert bundle.manifest["alerting"]["jump"][0] < 2.0  # twice the pump's own largest step, not the glitch's 6
