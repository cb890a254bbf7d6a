"""What training measures for the watches beside the model, here the two-state channels' guard and
short-cycling limits, from normal data split as training splits it."""

from __future__ import annotations

import numpy as np

from edge_lstm.core.cycling import SHORT_FACTOR
from edge_lstm.core.scaling import StandardScaler
from edge_lstm_train import data, watches


def test_the_guard_and_short_cycling_limits_come_from_every_normal_split_unless_turned_off() -> None:
    rng = np.random.default_rng(3)
    runs = rng.integers(30, 60, size=200)
    on = np.repeat(np.arange(len(runs)) % 2, runs).astype(float)
    values = np.column_stack([5.0 * on + 0.1 * rng.normal(size=len(on)), rng.normal(size=len(on))])
    cut = [int(len(on) * share) for share in (0.6, 0.8)]
    splits = data.Splits(train=[values[: cut[0]]], validation=[values[cut[0] : cut[1]]], calibration=[values[cut[1] :]])
    scaler = StandardScaler.fit(values[: cut[0]])
    held_out = [scaler.transform(values[cut[1] :])]
    scores = np.ones(len(held_out[0]) - 8)
    said: list[str] = []
    guard = watches.transition_guard(splits, scaler, held_out, scores, 8, ["motor", "noise"], True, said.append)
    assert guard is not None and guard["channels"] == ["motor"]
    # the first and last run of each split are cut by its edges: the shortest whole run is at least 30
    shortest = int(SHORT_FACTOR * runs[1:-1].min())
    assert all(shortest <= limit <= int(SHORT_FACTOR * 59) for limit in guard["shortest"][0])
    off, on = guard["shortest"][0]
    assert (
        said[-1] == f"cycling: 2 runs in a row shorter than these samples are short cycling: motor (off {off}, on {on})"
    )
    unwatched = watches.transition_guard(splits, scaler, held_out, scores, 8, ["motor", "noise"], False, said.append)
    assert unwatched is not None and "shortest" not in unwatched and unwatched["bound"] == guard["bound"]


def test_without_a_held_out_switch_nothing_is_held_back_and_short_cycling_is_still_watched() -> None:
    rng = np.random.default_rng(5)
    runs = rng.integers(30, 60, size=40)
    on = np.repeat(np.arange(len(runs)) % 2, runs).astype(float)
    train = np.column_stack([5.0 * on + 0.1 * rng.normal(size=len(on))])
    quiet = np.full((300, 1), 5.0) + 0.1 * rng.normal(size=(300, 1))  # held out: on all along
    splits = data.Splits(train=[train], calibration=[quiet])
    scaler = StandardScaler.fit(train)
    held_out, scores = [scaler.transform(quiet)], np.ones(300 - 8)
    said: list[str] = []
    guard = watches.transition_guard(splits, scaler, held_out, scores, 8, ["motor"], True, said.append)
    assert guard is not None and guard["bound"] == 0.0 and all(guard["shortest"][0])
    assert "never in the held-out data: no alert is held back" in said[0] and said[1].startswith("cycling: ")
    assert watches.transition_guard(splits, scaler, held_out, scores, 8, ["motor"], False, said.append) is None


def test_settled_running_gets_its_own_threshold_by_the_same_rule_where_it_scores_lower() -> None:
    """Held-out scores that are high only while the window holds a switch: the threshold of settled
    running comes from the scores past ``window + ZONE`` samples, and only where enough of them exist
    and it comes out lower."""
    from edge_lstm.core.transitions import ZONE, samples_since_switch, two_states
    from edge_lstm_train.inspection import settled_threshold
    from edge_lstm_train.pipeline import TrainOptions

    rng = np.random.default_rng(7)
    runs = rng.integers(60, 120, size=300)
    on = np.repeat(np.arange(len(runs)) % 2, runs).astype(float)
    values = np.column_stack([5.0 * on + 0.1 * rng.normal(size=len(on))])
    cut = int(len(on) * 0.6)
    splits = data.Splits(train=[values[:cut]], calibration=[values[cut:]])
    scaler = StandardScaler.fit(values[:cut])
    held_out = [scaler.transform(values[cut:])]
    warmup, window = 32, 16
    since = samples_since_switch(held_out[0].astype(np.float64), two_states(scaler.transform(values[:cut])))[warmup:]
    scores = np.where(since < window, 1.0, 0.01) * rng.uniform(0.5, 1.0, size=since.size)
    options = TrainOptions(threshold_method="quantile", quantile=0.999)
    threshold = float(np.quantile(scores, 0.999))

    def rule(calm: np.ndarray) -> float | None:
        return settled_threshold(options, calm, threshold)

    said: list[str] = []
    guard = watches.transition_guard(
        splits, scaler, held_out, scores, warmup, ["motor"], False, said.append, rule, window
    )
    assert guard is not None
    settled = guard["settled"]
    calm = scores[(since >= window + ZONE) & (since < 2**62)]
    assert settled["after"] == window + ZONE and calm.size >= 1000
    assert settled["threshold"] == float(calm.max()) < 0.01 < threshold  # the quantile, but not below the largest
    assert said[-1].startswith(f"settled: from {window + ZONE} samples past a switch the threshold is ")
    # Not with the adaptive rule, not from too few settled scores, not when it is no lower.
    assert settled_threshold(TrainOptions(), calm, threshold) is None
    assert settled_threshold(options, calm[:999], threshold) is None
    assert settled_threshold(options, calm, 0.001) is None
    unsettled = watches.transition_guard(splits, scaler, held_out, scores, warmup, ["motor"], False, said.append)
    assert unsettled is not None and "settled" not in unsettled


def test_the_seasonal_watch_is_measured_where_the_normal_data_spans_enough_of_a_lag_and_said_either_way() -> None:
    from pathlib import Path

    from edge_lstm.core.seasonal import DAY_S
    from edge_lstm.sources.csv_file import Recording
    from edge_lstm_train.pipeline import TrainOptions

    rng = np.random.default_rng(8)
    times = np.arange(0.0, 3 * DAY_S, 600.0)
    values = (np.sin(2 * np.pi * times / DAY_S) + 0.05 * rng.normal(size=len(times)))[:, None]
    scaler = StandardScaler.fit(values)
    said: list[str] = []
    long = Recording(Path("load.csv"), ["load"], values, times)
    setting = watches.seasonal_watch([long], TrainOptions(), scaler, 600.0, said.append)
    assert setting is not None and setting["lag_s"] == DAY_S and setting["bins"] == 144
    assert said[-1].startswith(
        "seasonal: a reading that stays, 4 samples in a row, further from where it stood a day ago"
    )
    short = Recording(Path("load.csv"), ["load"], values[:200], times[:200])
    assert watches.seasonal_watch([short], TrainOptions(), scaler, 600.0, said.append) is None
    assert said[-1] == (
        "seasonal: not watched (the normal data spans 1.38 days; it needs 1.75 days, with a reading an hour or "
        "more often)"
    )
    assert watches.seasonal_watch([long], TrainOptions(seasonal=False), scaler, 600.0, said.append) is None
    assert len(said) == 2  # off by the flag: nothing to say


def test_the_cadence_is_measured_on_every_normal_split_of_a_cycling_channel_and_said_either_way() -> None:
    from edge_lstm.core.cadence import CYCLES

    rng = np.random.default_rng(9)
    rows = 3000
    pump = np.sin(2 * np.pi * np.arange(rows) / 25.0) + 0.05 * rng.normal(size=rows)
    values = np.column_stack([pump, rng.normal(size=rows)])
    splits = data.Splits(train=[values[:2000]], validation=[values[2000:2500]], calibration=[values[2500:]])
    scaler = StandardScaler.fit(values[:2000])
    said: list[str] = []
    setting = watches.cadence_watch(splits, scaler, ["pump", "noise"], said.append)
    assert setting is not None and setting["centre"][1] == 0.0 and setting["centre"][0] == 100.0
    low, high = setting["low"][0], setting["high"][0]
    assert low < CYCLES * 25 < high
    assert said[-1] == (
        f"cadence: {CYCLES} cycles that take a time outside these samples alert: pump {low:g} to {high:g}"
    )
    quiet = data.Splits(train=[values[:2000, 1:]], validation=[], calibration=[])
    assert watches.cadence_watch(quiet, StandardScaler.fit(values[:2000, 1:]), ["noise"], said.append) is None
    assert said[-1] == "cadence: not watched (no channel cycles regularly, faster than once in 60 minutes)"
    hourly = data.Splits(train=[values[:2000]], validation=[], calibration=[], sample_period_s=3600.0)
    assert watches.cadence_watch(hourly, scaler, ["pump", "noise"], said.append) is None  # a 25-hour cycle
