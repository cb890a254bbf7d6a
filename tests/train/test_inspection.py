"""Training looks at its data first: each data-driven default is decided, said, and left alone when the
user gave the flag."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest
from support import tensorflow_or_fail

from edge_lstm.sources.csv_file import Recording


@pytest.fixture(autouse=True)
def _tensorflow() -> None:
    tensorflow_or_fail()


def recording(values: np.ndarray, names: list[str], times: np.ndarray | None = None) -> Recording:
    return Recording(Path("data.csv"), names, values, times)


def plan(rec: Recording, **options: object):  # type: ignore[no-untyped-def]
    from edge_lstm_train import inspection
    from edge_lstm_train.fit import ModelConfig
    from edge_lstm_train.pipeline import TrainOptions

    return inspection.plan([rec], ModelConfig(), TrainOptions(**options))  # type: ignore[arg-type]


def test_a_drifting_channel_is_left_out_by_default_tracked_or_kept_on_request() -> None:
    rng = np.random.default_rng(0)
    n = 4000
    steady = rng.normal(0, 1, n)
    warming = np.linspace(20, 40, n) + rng.normal(0, 0.1, n)  # leaves its early range for good
    values, names = np.column_stack([steady, warming]), ["flow", "temperature"]
    p = plan(recording(values, names))
    assert p.recordings[0].features == ["flow"] and p.options.level_channels == ()
    assert p.report["channels"]["excluded"] == ["temperature"]
    assert any(n.startswith("channel temperature: left out: it drifts") for n in p.notes)
    tracked = plan(recording(values, names), drifting="track")
    assert tracked.recordings[0].features == names and tracked.options.level_channels == ("temperature",)
    assert tracked.report["channels"]["tracked"] == ["temperature"]
    assert any("slow level (span 100 samples) is tracked" in n for n in tracked.notes)
    kept = plan(recording(values, names), auto=frozenset())  # the user chose the columns
    assert kept.recordings[0].features == names and kept.options.level_channels == ()
    assert any("kept, so expect alerts as it drifts" in n for n in kept.notes)
    alone = plan(recording(warming[:, None], ["temperature"]))  # nothing else to keep: kept, and said
    assert alone.recordings[0].features == ["temperature"] and "kept" in alone.notes[0]


def test_a_channel_left_out_inside_its_range_is_told_it_may_be_a_slow_cycle() -> None:
    """On 600 rows a cycle of 300 rows puts the held-out quarter's mean 1.3 spreads from the training
    mean, every value inside the training range: it reads as a drift, and the note says what else it
    could be."""
    rng = np.random.default_rng(2)
    t = np.arange(600)
    values = np.column_stack([rng.normal(0, 1, 600), np.sin(2 * np.pi * t / 300)])
    p = plan(recording(values, ["flow", "speed"]))
    assert p.report["channels"]["excluded"] == ["speed"]
    note = next(n for n in p.notes if n.startswith("channel speed: left out"))
    assert "0 % of them outside its training range" in note and "train on several of its cycles" in note, note
    warming = plan(recording(np.column_stack([values[:, 0], np.linspace(0, 10, 600)]), ["flow", "temp"]))
    assert not any("cycles" in n for n in warming.notes)


def test_constant_and_quantized_channels_are_noted() -> None:
    rng = np.random.default_rng(1)
    counts = rng.poisson(2, 5000).astype(float)
    p = plan(recording(np.column_stack([np.full(5000, 7.0), counts, rng.normal(0, 1, 5000)]), ["c", "n", "x"]))
    assert "channel c: constant in the training data; any change from it will score as anomalous" in p.notes
    assert "channel n: quantized in steps of 1; one step is at most one sigma" in p.notes
    assert p.report["channels"]["constant"] == ["c"] and p.report["channels"]["quantized"] == {"n": 1.0}


def test_a_count_channel_is_read_through_a_square_root_unless_kept() -> None:
    rng = np.random.default_rng(2)
    hourly = 20 * (1.5 + np.sin(np.arange(3000) * 2 * np.pi / 24))  # a busy and a quiet part of the day
    requests = rng.poisson(rng.gamma(4.0, hourly / 4.0)).astype(float)
    temperature = np.round(rng.normal(60, 3, 3000))  # whole degrees: integers, but no count
    values, names = np.column_stack([requests, temperature]), ["requests", "temperature"]
    p = plan(recording(values, names))
    assert p.options.count_channels == ("requests",) and p.report["channels"]["counts"] == ["requests"]
    assert any(n.startswith("channels read as counts (non-negative integers, skewed to the right): requests; ")
               for n in p.notes)  # fmt: skip
    kept = plan(recording(values, names), counts="keep")
    assert kept.options.count_channels == () and kept.report["channels"]["counts"] == []
    assert "channels read as counts, kept as they are (--counts keep): requests" in kept.notes


def test_little_irregular_data_gets_a_small_window_no_validation_and_bridged_gaps() -> None:
    rng = np.random.default_rng(2)
    steps = rng.choice([300.0, 300.0, 300.0, 900.0, 3600.0], size=150)
    rec = recording(rng.normal(0, 1, (150, 1)), ["v"], 1.7e9 + np.cumsum(steps))
    p = plan(rec)
    assert p.config.window == 8 and p.options.val_fraction == 0.0 and p.config.epochs == 60
    assert p.config.seq_len < 128 and p.config.stride < 32
    assert p.options.max_gap_periods > 12  # the 12-period gaps are this data's rhythm, not breaks
    assert p.options.gap_reset_periods >= 2 * p.options.max_gap_periods
    assert any(n.startswith("sampling: irregular") for n in p.notes)
    # Every decision the user made with a flag stays theirs.
    mine = plan(rec, auto=frozenset())
    assert (mine.config.window, mine.options.val_fraction, mine.options.max_gap_periods) == (16, 0.15, 5.0)
    assert not any(n.startswith(("window", "validation", "crops")) for n in mine.notes)


def test_rare_long_pauses_that_are_bridged_are_said() -> None:
    """Every 25th reading comes a day after the last (a logger that pauses): too few intervals are off
    for the data to read as irregular, but a day-long pause bridged as the data's rhythm is said."""
    steps = np.where(np.arange(400) % 25 == 24, 86_400.0, 300.0)
    p = plan(recording(np.random.default_rng(3).normal(0, 1, (400, 1)), ["v"], 1.7e9 + np.cumsum(steps)))
    assert p.report["sampling"]["irregular_share"] <= 0.05 and p.options.max_gap_periods > 288
    assert [n for n in p.notes if n.startswith("sampling:")] == [
        "sampling: 1 % of intervals are 288 periods of 300 s or longer, so gaps up to 864 periods are the data's "
        "own rhythm and bridged; longer ones cut the data and reset a stream (--max-gap-periods N to cut sooner)"
    ]
    assert not any(
        n.startswith("sampling:") for n in plan(recording(np.zeros((400, 1)), ["v"], np.arange(400.0))).notes
    )


def test_few_channels_get_a_narrower_bottleneck_unless_it_was_given() -> None:
    rng = np.random.default_rng(5)
    one = plan(recording(rng.normal(0, 1, (3000, 1)), ["v"]))
    assert one.config.bottleneck == 3 and one.report["size"]["bottleneck"] == 3
    assert "bottleneck: 3 (3 per channel for 1 channel, so the model cannot copy their noise through)" in one.notes
    two = plan(recording(rng.normal(0, 1, (3000, 2)), ["a", "b"]))
    assert two.config.bottleneck == 6
    assert any(n.startswith("bottleneck: 6 (3 per channel for 2 channels") for n in two.notes)
    many = plan(recording(rng.normal(0, 1, (3000, 3)), ["a", "b", "c"]))  # 9 would be wider than the 8 asked for
    assert many.config.bottleneck == 8 and not any(n.startswith("bottleneck") for n in many.notes)
    long = plan(recording(rng.normal(0, 1, (4000, 1)), ["v"]))  # 1,000 held-out scores: a fixed threshold
    assert long.config.bottleneck == 8 and not any(n.startswith("bottleneck") for n in long.notes)
    flat = plan(recording(np.full((3000, 1), 2.5), ["v"]))  # no noise to copy: nothing to narrow
    assert flat.config.bottleneck == 8
    mine = plan(recording(rng.normal(0, 1, (3000, 1)), ["v"]), auto=frozenset())  # --bottleneck given
    assert mine.config.bottleneck == 8 and "bottleneck" not in mine.report.get("size", {})


def test_much_data_spaces_its_crops() -> None:
    rows = 1_000_000
    p = plan(recording(np.random.default_rng(3).normal(0, 1, (rows, 2)), ["a", "b"]))
    from edge_lstm_train.inspection import MAX_CROPS

    train_rows = rows * (1 - 0.15 - 0.25)
    assert (train_rows - p.config.seq_len) / p.config.stride + 1 <= MAX_CROPS + 1


def test_a_channel_missing_from_many_rows_is_left_out_and_too_little_data_is_refused_with_the_fix() -> None:
    from edge_lstm.errors import DataError

    values = np.random.default_rng(5).normal(0, 1, (600, 3))
    values[300:, 1] = np.nan  # one sensor stopped reporting halfway
    p = plan(recording(values, ["a", "b", "c"]))
    assert p.recordings[0].features == ["a", "c"] and p.report["missing"] == {"left_out": {"b": 0.5}}
    assert "channel b: left out: missing in 50 % of the rows, which the other channels would lose with it" in p.notes[0]
    kept = plan(recording(values, ["a", "b", "c"]), auto=frozenset())  # --columns a,b,c: kept as asked
    assert kept.recordings[0].features == ["a", "b", "c"]
    gappy = np.array([[1.0, np.nan], [np.nan, 2.0], [3.0, np.nan]])
    missing = r"fewer than 2 complete rows in its first part \(missing values by column: b \(67 %\), a \(33 %\)\); "
    with pytest.raises(DataError, match=missing + ".* --columns"):
        plan(recording(gappy, ["a", "b"]), auto=frozenset())
    with pytest.raises(DataError, match=r"^data.csv: 40 complete rows; training needs at least 70 \(the last 25 %"):
        plan(recording(values[:40], ["a", "b", "c"]))


def test_recordings_keep_their_shape_when_nothing_is_left_out() -> None:
    values = np.random.default_rng(4).normal(0, 1, (3000, 3))
    rec = recording(values, ["a", "b", "c"])
    p = plan(rec)
    assert p.recordings[0] is rec or dataclasses.asdict(p.recordings[0]) == dataclasses.asdict(rec)


def test_the_raised_level_check_comes_with_a_fixed_threshold_and_enough_held_out_scores() -> None:
    from edge_lstm_train.inspection import sustained_level
    from edge_lstm_train.pipeline import TrainOptions

    scores = np.exp(np.random.default_rng(0).normal(size=2000))
    fixed = TrainOptions(threshold_method="quantile")
    setting, note = sustained_level(fixed, scores)
    assert setting is not None and (setting["fast"], setting["slow"]) == (32, 1024)
    assert note is not None and note.startswith("sustained: an alert also while the score's 32-sample")
    assert sustained_level(fixed, scores[:1000]) == (
        None,
        "sustained: off (1000 held-out scores are fewer than the 1024 it needs)",
    )
    gappy = scores[:1100].copy()
    gappy[::10] = np.nan  # the ones that are not numbers are not counted: 990 of 1100 remain
    assert sustained_level(fixed, gappy)[1] == "sustained: off (990 held-out scores are fewer than the 1024 it needs)"
    assert sustained_level(TrainOptions(threshold_method="adaptive"), scores) == (None, None)  # it adapts already
    assert sustained_level(dataclasses.replace(fixed, sustained=False), scores) == (None, None)  # --no-sustained


def test_rows_missing_whole_do_not_count_against_a_channel() -> None:
    values = np.random.default_rng(6).normal(0, 1, (1000, 2))
    values[:300] = np.nan  # labelled rows, left out whole
    values[400:450, 1] = np.nan  # 50 of the 700 rows with data: 7 %, kept
    assert plan(recording(values, ["a", "b"])).recordings[0].features == ["a", "b"]


def test_the_mean_interval_leaves_gaps_out() -> None:
    from edge_lstm_train.data import mean_period, median_period

    times = np.concatenate([np.cumsum([240.0, 300, 300, 360, 600] * 20), 1e6 + np.arange(0, 3000, 300.0)])
    recording = Recording(Path("x.csv"), ["a"], np.zeros((len(times), 1)), times)
    assert median_period([recording]) == 300.0
    steps = np.diff(times)
    assert mean_period([recording], 1800.0) == pytest.approx(steps[steps <= 1800].mean())  # the day-long gap is out
    assert mean_period([recording], None) == pytest.approx(steps.mean())
    assert mean_period([Recording(Path("y.csv"), ["a"], np.zeros((3, 1)), None)], 1800.0) is None


@pytest.mark.parametrize("window", [4, 8, 16])
@pytest.mark.parametrize("calib_fraction", [0.15, 0.25, 0.4])
def test_the_fewest_rows_allowed_leave_two_calibration_scores(window: int, calib_fraction: float) -> None:
    """At the least number of rows training accepts, the split's calibration part holds two windows of
    warm-up and two scores (the adaptive rule needs two); one row fewer is refused."""
    from edge_lstm_train.data import split_recordings
    from edge_lstm_train.inspection import calibration_rows_needed

    needed = calibration_rows_needed(window, calib_fraction)
    for rows in (needed, needed + 1):
        split = split_recordings([recording(np.zeros((rows, 1)), ["a"])], 0.0, calib_fraction, 5.0, min_rows=1)
        assert split.rows("calibration") - 2 * window >= 2
    short = split_recordings([recording(np.zeros((needed - 1, 1)), ["a"])], 0.0, calib_fraction, 5.0, min_rows=1)
    assert short.rows("calibration") - 2 * window < 2


def test_training_files_are_matched_by_column_name_and_different_sensors_are_refused_with_the_fix() -> None:
    from edge_lstm.errors import DataError
    from edge_lstm_train.pipeline import _same_columns

    first = Recording(Path("a.csv"), ["s0", "s1", "s2"], np.array([[0.0, 1.0, 2.0]]), None)
    turned = Recording(Path("b.csv"), ["s2", "s0", "s1"], np.array([[12.0, 10.0, 11.0]]), None)
    a, b = _same_columns([first, turned])
    assert a is first and b.features == ["s0", "s1", "s2"] and b.values.tolist() == [[10.0, 11.0, 12.0]]
    assert b.notes == ["b.csv: columns in another order than a.csv; matched by name"]
    lacking = Recording(Path("c.csv"), ["s1", "s0"], np.array([[1.0, 0.0]]), None)
    message = r"^c.csv: columns \['s1', 's0'\] differ from a.csv: \['s0', 's1', 's2'\]; .* --columns s0,s1$"
    with pytest.raises(DataError, match=message):
        _same_columns([first, lacking])
