"""Training is seeded and reproducible, and its configuration is validated up front."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from support import tensorflow_or_fail

from edge_lstm.tools import synthetic

pytestmark = pytest.mark.slow


def test_the_same_seed_gives_the_same_weights() -> None:
    tensorflow_or_fail()
    from edge_lstm_train.data import crops
    from edge_lstm_train.fit import ModelConfig, fit_sequence_model

    values = synthetic.normal_stream(2000, seed=8).values
    scaled = ((values - values.mean(0)) / values.std(0)).astype(np.float32)
    config = ModelConfig(window=8, state_size=8, bottleneck=4, epochs=2, seq_len=64, stride=32, seed=3)
    data = crops([scaled[:1600]], 64, 32, 8), crops([scaled[1600:]], 64, 64, 8)
    first = fit_sequence_model(config, *data, progress=False)[0].get_weights()
    second = fit_sequence_model(config, *data, progress=False)[0].get_weights()
    for a, b in zip(first, second, strict=True):
        np.testing.assert_array_equal(a, b)


def test_model_config_rejects_bad_values_with_exact_messages() -> None:
    tensorflow_or_fail()
    from edge_lstm_train.fit import ModelConfig
    from edge_lstm_train.pipeline import TrainOptions

    with pytest.raises(ValueError, match=r"^cell must be 'lstm' or 'gru', got 'rnn'$"):
        ModelConfig(cell="rnn")
    with pytest.raises(ValueError, match=r"^seq_len \(20\) must be at least twice the window \(16\)$"):
        ModelConfig(seq_len=20)
    with pytest.raises(ValueError, match=r"^dropout must be in \[0, 1\), got 1.5$"):
        ModelConfig(dropout=1.5)
    with pytest.raises(ValueError, match=r"^quantization must be auto, float, dynamic or int8, got 'int4'$"):
        TrainOptions(quantization="int4")
    with pytest.raises(ValueError, match=r"^counts must be root or keep, got 'log'$"):
        TrainOptions(counts="log")


def test_a_single_sensor_stream_trains_and_detects(tmp_path: Path) -> None:
    tensorflow_or_fail()
    from click.testing import CliRunner

    from edge_lstm.bundle import load_bundle
    from edge_lstm.cli import main
    from edge_lstm.engine.replay import replay
    from edge_lstm.sources.csv_file import Recording

    stream = synthetic.normal_stream(6000, seed=0)
    csv_path = tmp_path / "flow.csv"
    csv_path.write_text(
        "timestamp,flow\n" + "".join(f"{t},{v}\n" for t, v in zip(stream.timestamps, stream.values[:, 4], strict=True))
    )
    out = tmp_path / "flow-bundle"
    result = CliRunner().invoke(
        main,
        ["train", str(csv_path), "--out", str(out), "--epochs", "20", "--quiet", "--l2", "1e-5", "--dropout", "0.05"],
    )
    assert result.exit_code == 0, result.output
    bundle = load_bundle(out)
    assert bundle.features == ["flow"]
    assert (
        bundle.manifest["training"]["config"]["l2"] == 1e-5 and bundle.manifest["training"]["config"]["dropout"] == 0.05
    )
    # The int8 model's detection agreement was measured on probe faults the float model flags.
    from edge_lstm_train.verify import PROBE_FLAGGED, PROBE_OFFSETS

    probe = bundle.manifest["quantization"]["probe"]
    assert probe["offset_sigma"] in PROBE_OFFSETS and probe["scores"] > 0
    assert probe["flagged"] >= PROBE_FLAGGED or probe["offset_sigma"] == PROBE_OFFSETS[-1]
    test = synthetic.normal_stream(1500, seed=5, start_index=50_000)
    values = test.values[:, 4:5].copy()
    values[800:806] += 60.0  # a burst far outside the normal flow (about 10 sigma)
    run = replay(Recording(csv_path, ["flow"], values, test.timestamps), bundle)
    starts = [e for e in run.events if e.event == "alert_start"]
    assert any(800 <= e.index < 830 for e in starts)
    assert starts[0].contributions == {"flow": 1.0}


def test_a_channel_left_out_as_drifting_is_still_watched_for_freezing(tmp_path: Path) -> None:
    """Training leaves a drifting channel out of the model but keeps watching its readings: the bundle
    lists it as watched, a replay reads it after the features, and its freezing alerts, named."""
    tensorflow_or_fail()
    from click.testing import CliRunner

    from edge_lstm.bundle import load_bundle
    from edge_lstm.cli import main
    from edge_lstm.core.stuck import MIN_STUCK
    from edge_lstm.engine.replay import replay
    from edge_lstm.sources.csv_file import read_csv

    rng = np.random.default_rng(0)
    t = np.arange(3000)
    flow = np.sin(t / 8.0) + 0.05 * rng.normal(size=t.size)
    temperature = np.linspace(20.0, 40.0, t.size) + 0.1 * rng.normal(size=t.size)  # warms up for good

    def write(path: Path, rows: range, temp: np.ndarray) -> Path:
        path.write_text("timestamp,flow,temperature\n" + "".join(f"{i},{flow[i]},{temp[i]}\n" for i in rows))
        return path

    out = tmp_path / "bundle"
    result = CliRunner().invoke(main, ["train", str(write(tmp_path / "n.csv", range(2000), temperature)),
                                       "--out", str(out), "--epochs", "20"])  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "watch: left out of the model, still watched for stuck readings and leaps: temperature" in result.output
    bundle = load_bundle(out)
    assert bundle.features == ["flow"] and bundle.watched == ["temperature"]
    assert len(bundle.manifest["alerting"]["stuck"]["after"]) == len(bundle.manifest["alerting"]["jump"]) == 2
    frozen = temperature.copy()
    frozen[2300:2400] = frozen[2299]
    recording = read_csv(write(tmp_path / "t.csv", range(2000, 3000), frozen), columns=bundle.features,
                         optional=bundle.watched)  # fmt: skip
    run = replay(recording, bundle)
    assert run.marked is not None
    stuck_from = 299 + MIN_STUCK - 1  # the run starts with the reading at 299
    assert not run.marked[250:stuck_from].any() and run.marked[stuck_from:400].all()
    assert (
        any(e.index == stuck_from and e.contributions == {"flow": 0.0, "temperature": 1.0} for e in run.events)
        or (
            run.alerting[stuck_from - 1]  # already alerting on the score: no new start to name it
        )
    )
    info = CliRunner().invoke(main, ["info", str(out)])
    assert "watched outside the model, for stuck readings and leaps: temperature" in info.output
    cli = CliRunner().invoke(main, ["replay", str(tmp_path / "t.csv"), "--model", str(out)])
    assert cli.exit_code == 0 and '"contributions":{"flow":0.0,"temperature":1.0}' in cli.output, cli.output


def test_a_channel_that_switches_between_two_states_guards_against_its_transients(tmp_path: Path) -> None:
    """Training finds a motor current that is off or on and what a switch scores in held-out normal
    data; replaying more normal data, the guard holds back alerts that start right after a switch."""
    tensorflow_or_fail()
    from click.testing import CliRunner

    from edge_lstm.bundle import load_bundle
    from edge_lstm.cli import main
    from edge_lstm.core.thresholds import NO_DEBOUNCE
    from edge_lstm.engine.replay import replay
    from edge_lstm.sources.csv_file import Recording

    rng = np.random.default_rng(1)
    n = 4000
    on = np.repeat(np.arange(n // 40) % 2, rng.integers(40, 90, n // 40))[:n].astype(float)
    kick = np.zeros(n)
    starts = np.flatnonzero(np.diff(on) > 0) + 1
    for s in starts:  # an inrush current that decays over a few samples, at every start
        kick[s : s + 6] += 30.0 * np.exp(-np.arange(len(kick[s : s + 6])) / 1.5)
    current = 8.0 * on + kick + 0.2 * rng.normal(size=n)
    vibration = 2.0 * on + 0.1 * rng.normal(size=n)
    rows = "".join(f"{i},{c},{v}\n" for i, (c, v) in enumerate(zip(current, vibration, strict=True)))
    training_rows = rows[: rows.index(f"\n{3000},") + 1]
    (tmp_path / "pump.csv").write_text("timestamp,current,vibration\n" + training_rows)
    out = tmp_path / "bundle"
    command = [
        "train",
        str(tmp_path / "pump.csv"),
        "--out",
        str(out),
        "--epochs",
        "3",
        "--threshold-method",
        "quantile",
    ]
    result = CliRunner().invoke(main, command)
    assert result.exit_code == 0, result.output
    bundle = load_bundle(out)
    guard = bundle.manifest["alerting"]["transitions"]
    # the vibration sits at two levels; the current's inrush spreads it too much to count as two
    assert guard["channels"] == ["vibration"] and guard["zone"] == 4 and guard["bound"] > 0
    assert "transitions: vibration switch between two states" in result.output
    info = CliRunner().invoke(main, ["info", str(out)])
    assert "two-state channels: vibration; an alert starting within 4 samples" in info.output
    test = Recording(tmp_path / "t.csv", ["current", "vibration"], np.column_stack([current, vibration])[3000:], None)
    # A fixed threshold low enough that switches cross it, undebounced: alerts start right at them.
    low = float(np.quantile(bundle.calibration_scores(), 0.7))
    guarded = replay(test, bundle, threshold=low, overrides={"debounce": NO_DEBOUNCE})
    unguarded = replay(test, bundle, threshold=low, overrides={"debounce": NO_DEBOUNCE, "transitions": None})
    near = [s - 3000 for s in starts if s >= 3000]

    def starts_near_switches(run: object) -> int:
        return sum(1 for e in run.events if e.event == "alert_start" and any(0 <= e.index - s < 4 for s in near))  # type: ignore[attr-defined]

    assert starts_near_switches(guarded) < starts_near_switches(unguarded)
    assert sum(guarded.alerting) < sum(unguarded.alerting)

    # Short cycling: runs far shorter than the training's shortest (40) alert on their own, naming the
    # channel; the normal runs before them never do.
    (off, on_limit), shortest = guard["shortest"][0], int(0.8 * 40)
    assert shortest <= off < 0.8 * 90 and shortest <= on_limit < 0.8 * 90
    assert f"vibration (off {off}, on {on_limit})" in result.output and "cycling: 2 runs in a row" in result.output
    assert f"short cycling: alerts after 2 runs in a row shorter than vibration (off {off}" in info.output
    chatter = np.arange(240) // 12 % 2  # on and off every 12 samples
    cycled = np.column_stack([8.0 * chatter + 0.2 * rng.normal(size=240), 2.0 * chatter + 0.1 * rng.normal(size=240)])
    both = Recording(tmp_path / "c.csv", ["current", "vibration"], np.vstack([test.values, cycled]), None)
    run = replay(both, bundle)
    assert run.marked is not None and not run.marked[: len(test.values)].any() and run.marked[-200:].all()
    cycling_starts = [e for e in run.events if e.event == "alert_start" and e.index >= len(test.values)]
    assert run.alerting[len(test.values) + 24 :].all()
    (start,) = cycling_starts  # at the end of the second short run, then one alert while it lasts
    assert start.index == len(test.values) + 24 and start.contributions == {"current": 0.0, "vibration": 1.0}


def test_with_a_fixed_threshold_a_long_stretch_of_raised_scores_alerts(tmp_path: Path) -> None:
    """With thousands of held-out scores training picks a fixed threshold and, beside it, a bound on the
    score's recent level against its longer-run level. Normal running has a brief kick every 300
    samples, so the threshold sits a hundred times above a steady score; replaying a sensor offset for
    a while, the level alerts through more of the stretch than the threshold alone, and never in normal
    running."""
    tensorflow_or_fail()
    from click.testing import CliRunner

    from edge_lstm.bundle import load_bundle
    from edge_lstm.cli import main
    from edge_lstm.engine.replay import replay
    from edge_lstm.sources.csv_file import Recording

    rng = np.random.default_rng(3)
    n = 9000
    phase = 2 * np.pi * np.arange(n) / 50
    values = np.column_stack([np.sin(phase), np.cos(phase)]) + 0.1 * rng.normal(size=(n, 2))
    for k in range(75, n, 300):  # a brief kick, part of normal running
        values[k : k + 3, 0] += 8.0
    (tmp_path / "fan.csv").write_text("a,b\n" + "".join(f"{a},{b}\n" for a, b in values[:6000]))
    out = tmp_path / "bundle"
    result = CliRunner().invoke(main, ["train", str(tmp_path / "fan.csv"), "--out", str(out), "--epochs", "20"])
    assert result.exit_code == 0, result.output
    bundle = load_bundle(out)
    level = bundle.manifest["alerting"]["sustained"]
    assert bundle.manifest["threshold"]["method"] == "quantile" and (level["fast"], level["slow"]) == (32, 1024)
    assert "decide: sustained: an alert also while the score's 32-sample moving geometric mean" in result.output
    info = CliRunner().invoke(main, ["info", str(out)])
    assert "sustained level: an alert also while the score's 32-sample moving geometric mean" in info.output
    test = values[6000:].copy()
    test[1000:1500, 1] += 2.0  # an offset for 500 samples
    recording = Recording(tmp_path / "t.csv", ["a", "b"], test, None)
    run = replay(recording, bundle)
    plain = replay(recording, bundle, overrides={"sustained": None})
    alerting = np.array(run.alerting)
    # the threshold alone alerts now and then in the stretch; the level adds more than as much again
    assert alerting[1000:1500].mean() > 2 * np.mean(plain.alerting[1000:1500]) + 0.1
    # Never in normal running: not before the stretch, nor once the alert has cleared after it. The
    # stretch flaps (its alert comes back soon after each clear), so the clear may take up to 16 x 10.
    longest = bundle.detector_settings().debounce
    assert not alerting[:1000].any()
    assert not alerting[1600 + longest.clear_n * longest.clear_backoff :].any(), np.flatnonzero(alerting)[-1]


def test_a_count_channel_is_modelled_and_watched_through_its_square_root(tmp_path: Path) -> None:
    """Hourly requests, busy by day and quiet by night: training reads them through a square root and
    says so; the bundle carries it, `info` shows it, the scaler is in those units, and the device reads a
    stream the same way: a burst still alerts."""
    tensorflow_or_fail()
    from click.testing import CliRunner

    from edge_lstm.bundle import load_bundle
    from edge_lstm.cli import main
    from edge_lstm.core.counts import root
    from edge_lstm.engine.replay import replay
    from edge_lstm.sources.csv_file import Recording

    rng = np.random.default_rng(4)
    n = 2500
    hourly = 30 * (1.5 + np.sin(np.arange(n) * 2 * np.pi / 24))
    requests = rng.poisson(rng.gamma(8.0, hourly / 8.0)).astype(float)
    path = tmp_path / "requests.csv"
    path.write_text("timestamp,requests\n" + "".join(f"{3600 * i},{v:.0f}\n" for i, v in enumerate(requests[:2000])))
    out = tmp_path / "bundle"
    result = CliRunner().invoke(main, ["train", str(path), "--out", str(out), "--epochs", "10"])
    assert result.exit_code == 0, result.output
    assert "decide: channels read as counts (non-negative integers, skewed to the right): requests;" in result.output
    bundle = load_bundle(out)
    assert bundle.counts == ["requests"] and bundle.manifest["decisions"]["channels"]["counts"] == ["requests"]
    from edge_lstm.sources.csv_file import read_csv
    from edge_lstm_train.data import fingerprint

    assert bundle.manifest["training"]["data_fingerprint"] == fingerprint([read_csv(path)])  # the readings as read
    rooted_mean = root(requests[:1500, None], np.array([True])).mean()
    assert bundle.scaler.mean[0] == pytest.approx(rooted_mean, rel=0.1)  # not the raw mean, about 45
    info = CliRunner().invoke(main, ["info", str(out)]).output
    assert "counts, read through a square root before the model: requests" in info
    # Counts burst: the adaptive rule's gate is the 99.9th percentile, said, and kept by a recalibration.
    burst = "the channels read as counts burst, so an alert's short-term level must also pass the 99.9th"
    assert burst in result.output
    assert bundle.manifest["threshold"]["adaptive"]["gate_quantile"] == 0.999
    from edge_lstm.core.calibration import ThresholdRule

    assert bundle.recalibrated(ThresholdRule("adaptive", 3.0))["adaptive"]["gate_quantile"] == 0.999
    import json

    # A bundle trained before the counts gate keeps its own gate when recalibrated, as the device keeps it.
    manifest = json.loads((out / "manifest.json").read_text())
    manifest["threshold"]["adaptive"]["gate_quantile"] = 0.99
    (out / "manifest.json").write_text(json.dumps(manifest))
    assert load_bundle(out).recalibrated(ThresholdRule("adaptive", 3.0))["adaptive"]["gate_quantile"] == 0.99
    manifest["threshold"] = {k: v for k, v in manifest["threshold"].items() if k != "adaptive"} | {"method": "max"}
    (out / "manifest.json").write_text(json.dumps(manifest))  # from a fixed rule: the gate for its counts
    assert load_bundle(out).recalibrated(ThresholdRule("adaptive", 3.0))["adaptive"]["gate_quantile"] == 0.999
    assert "gate: an alert's short-term level must also pass the 99.9th percentile of the stream's own scores " in info
    test = requests[2000:, None].copy()
    test[300:304] += 400.0  # a burst of requests, ten times the busiest hour's spread
    run = replay(Recording(path, ["requests"], test, 3600.0 * np.arange(2000, n)), bundle)
    assert any(300 <= e.index < 310 for e in run.events if e.event == "alert_start")


def test_on_jittered_timestamps_a_day_is_counted_at_the_mean_interval(tmp_path: Path) -> None:
    """Road speeds read every 4 to 10 minutes (median 5), with a dip every evening: the median period
    says a day is 288 readings, the readings say about 248. Training stores the mean interval, and the
    adaptive rule's daily pattern, counted with it, learns the dip instead of paging for it every day."""
    tensorflow_or_fail()
    from click.testing import CliRunner

    from edge_lstm.bundle import load_bundle
    from edge_lstm.cli import main
    from edge_lstm.engine.replay import replay
    from edge_lstm.sources.csv_file import read_csv

    rng = np.random.default_rng(42)
    minutes = np.cumsum(rng.choice([4, 5, 5, 5, 6, 10], 2000))
    dip = 30 * np.maximum(0, np.sin(2 * np.pi * minutes / 1440)) ** 4
    speed = np.round(np.clip(60 - dip + 3 * rng.standard_normal(2000), 0, None))
    path = tmp_path / "speed.csv"
    path.write_text("timestamp,speed\n" + "".join(f"{60 * m},{v:.0f}\n" for m, v in zip(minutes, speed, strict=True)))
    train = tmp_path / "train.csv"
    train.write_text("".join(path.read_text().splitlines(keepends=True)[:751]))
    out = tmp_path / "bundle"
    result = CliRunner().invoke(main, ["train", str(train), "--out", str(out), "--quiet"])
    assert result.exit_code == 0, result.output
    bundle = load_bundle(out)
    gaps = np.diff(60.0 * minutes[:750])
    assert bundle.manifest["sample_period_s"] == 300.0
    assert bundle.manifest["mean_period_s"] == pytest.approx(gaps[gaps <= 6 * 300].mean())
    assert "sample period 300.0 s (median; mean interval" in CliRunner().invoke(main, ["info", str(out)]).output
    recording = read_csv(path)
    by_mean = replay(recording, bundle)
    by_median = replay(recording, bundle, overrides={"mean_period_s": None})
    share = by_mean.alerting[750:].mean()
    assert share < 0.6 * by_median.alerting[750:].mean() and share < 0.1, (share, by_median.alerting[750:].mean())


def test_a_daily_peak_that_stops_coming_alerts_against_the_same_hour_a_week_ago(tmp_path: Path) -> None:
    """Hourly load with a daily peak, lower at weekends: three weeks of normal data give the watch a
    week's lag (a Saturday is compared with the last Saturday). Its bound is in the manifest, said in
    training and by `info`; the peak halved alerts within the day, which the model alone, trained the
    same way, does not see; normal weeks do not mark the stream."""
    tensorflow_or_fail()
    from click.testing import CliRunner

    from edge_lstm.bundle import load_bundle
    from edge_lstm.cli import main
    from edge_lstm.core.seasonal import WEEK_S, SeasonalWatch
    from edge_lstm.engine.replay import replay
    from edge_lstm.sources.csv_file import Recording

    rng = np.random.default_rng(11)
    hours = np.arange(6 * 168)
    weekday = (hours // 24) % 7 < 5
    peak = np.where(weekday, 60, 25) * np.exp(-((((hours % 24) - 13) / 3.0) ** 2))
    load = 20 + peak + 2 * rng.standard_normal(len(hours))
    load[5 * 168 :] = 20 + 0.5 * (load[5 * 168 :] - 20)  # the sixth week: every peak half as high
    path = tmp_path / "load.csv"
    path.write_text(
        "timestamp,load\n" + "".join(f"{3600 * h},{v:.2f}\n" for h, v in zip(hours[:504], load[:504], strict=True))
    )
    out, without = tmp_path / "bundle", tmp_path / "without"
    result = CliRunner().invoke(main, ["train", str(path), "--out", str(out), "--epochs", "5"])
    assert result.exit_code == 0, result.output
    assert "seasonal: a reading that stays, 4 samples in a row, further from where it stood a week ago" in result.output
    bundle = load_bundle(out)
    setting = bundle.manifest["alerting"]["seasonal"]
    assert setting["lag_s"] == WEEK_S and setting["bins"] == 168 and setting["bound"][0] > 0
    info = CliRunner().invoke(main, ["info", str(out)]).output
    assert "same time a week ago: an alert while a channel's 16-sample moving average stays further" in info
    off = CliRunner().invoke(main, ["train", str(path), "--out", str(without), "--epochs", "5", "--no-seasonal"])
    assert off.exit_code == 0 and "seasonal" not in load_bundle(without).manifest["alerting"]
    test = Recording(path, ["load"], load[504:, None], 3600.0 * hours[504:])
    scaled = (load[:, None] - bundle.scaler.mean) / bundle.scaler.scale
    watch = SeasonalWatch(setting)
    marks = [
        watch.push_rows(slice(0, 1), v[None, :], np.array([3600.0 * h]))[0] for h, v in zip(hours, scaled, strict=True)
    ]
    assert not any(marks[: 5 * 168])  # the training weeks and the two normal weeks after them
    change = 5 * 168 - 504  # the first halved peak, counted in the test rows
    starts = [e.index for e in replay(test, bundle).events if e.event == "alert_start"]
    assert any(change <= i < change + 24 for i in starts), starts
    assert not any(change <= i < change + 24 for i in (e.index for e in replay(test, load_bundle(without)).events))
