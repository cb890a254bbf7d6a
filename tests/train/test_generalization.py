"""The generalization benchmark: NAB-rule judging by hand, and `evaluate --protocol corpus` end to end on
a few generated series with default training and the peers."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from support import tensorflow_or_fail, unavailable

from edge_lstm.errors import DataError
from edge_lstm.evaluation.metrics import scaled_sigmoid


def test_judging_counts_alert_starts_in_nab_windows_after_training() -> None:
    tensorflow_or_fail()
    from edge_lstm_train.generalization import judge

    labels = np.zeros(1000)
    labels[600:620] = 1  # one anomaly: NAB window 100 rows centred on 600 -> [550, 650)
    alerting = np.zeros(1000, dtype=bool)
    alerting[100:110] = True  # during training: ignored, as NAB ignores its probationary period
    alerting[575:640] = True  # starts 25 % into the window
    alerting[900:905] = True  # a false alarm 2.5 windows after it
    result = judge("s", labels, alerting, train_rows=300)
    assert result.rows == 700 and result.events.detected == 1
    expected = scaled_sigmoid(-0.75) + 0.11 * scaled_sigmoid(2.5)
    assert result.nab["standard"].raw == pytest.approx(expected)
    assert result.points.tp == 20 and result.points.fp == 45 + 5


def test_false_alert_starts_are_counted_a_day_over_the_series_with_timestamps() -> None:
    tensorflow_or_fail()
    from edge_lstm.sources.csv_file import Recording
    from edge_lstm_train.corpus_report import markdown, summarize
    from edge_lstm_train.generalization import Run, Series, _judged

    rows, train = 1000, 200
    labels = np.zeros(rows)
    labels[500:520] = 1
    alerting = np.zeros(rows, dtype=bool)
    alerting[[100, 300, 505, 700, 900]] = True  # one in training, one in the event, three false starts

    def series(name: str, period_s: float | None) -> Series:
        times = None if period_s is None else 1.7e9 + period_s * np.arange(rows)
        recording = Recording(Path(f"{name}.csv"), ["v"], np.zeros((rows, 1)), times, {"anomaly": labels})
        return Series(name, recording, train, "g", faults=(("spike", "subtle", 500, 520),))

    # 800 judged rows a minute apart (799 minutes), and as many an hour apart (799 hours); a series that
    # failed to train judged nothing, so its days do not count
    timed = [series("minutes", 60.0), series("hours", 3600.0), series("failed", 3600.0)]
    runs = [_judged("edge-lstm", s, np.zeros(rows), alerting, 1.0, 0.0) for s in timed[:2]]
    runs.append(Run("edge-lstm", "failed", "g", None, failed="RuntimeError: no model"))
    row = summarize(runs, timed)["g"]["edge-lstm"]
    days = 799 * (60 + 3600) / 86_400
    assert row["alert_starts_outside_events"] == 6 and row["judged_days"] == pytest.approx(days, abs=0.01)
    assert row["alert_starts_per_day"] == pytest.approx(6 / days, abs=1e-3)
    assert f"| 6 ({6 / days:.2f} a day) |" in markdown(summarize(runs, timed), "t")
    assert row["missed_faults"] == {}  # the alert at 505 lies in each series' fault

    # The faults a generated series lists are counted where no row of their span alerts, by kind and difficulty.
    missed = [dataclasses.replace(timed[0], faults=(("drift", "easy", 600, 650), ("spike", "subtle", 500, 520)))]
    row = summarize([_judged("edge-lstm", missed[0], np.zeros(rows), alerting, 1.0, 0.0)], missed)["g"]["edge-lstm"]
    assert row["missed_faults"] == {"drift/easy": 1}
    assert "edge-lstm missed: drift/easy x1." in markdown({"g": {"edge-lstm": {**row, "deployed": {}}}}, "t")

    # A series without timestamps counts in the starts, not in the days: none here, so no rate at all.
    untimed = [series("rows", None)]
    row = summarize([_judged("edge-lstm", untimed[0], np.zeros(rows), alerting, 1.0, 0.0)], untimed)["g"]["edge-lstm"]
    assert row["alert_starts_outside_events"] == 3 and "alert_starts_per_day" not in row and "judged_days" not in row


@pytest.mark.slow
def test_the_corpus_protocol_trains_with_defaults_and_runs_every_peer(tmp_path: Path) -> None:
    tensorflow_or_fail()
    try:
        import river  # noqa: F401
    except ImportError:
        unavailable("river (the dev extra)", "pip install -e '.[dev]'")
    from edge_lstm.cli import main

    out, kept = tmp_path / "report.json", tmp_path / "kept"
    args = ["evaluate", "--protocol", "corpus", str(tmp_path / "corpus"), "--limit", "2", "--json", str(out)]
    result = CliRunner().invoke(main, [*args, "--keep-bundles", str(kept)])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "corpus" / "corpus.json").is_file()  # generated on first use
    rows = json.loads(out.read_text())["corpus"]
    assert set(rows) == {"edge-lstm", "windowed-gaussian", "rolling-zscore", "half-space-trees"}
    for detector, row in rows.items():
        assert row["series"] == 2 and row["failed"] == {}, detector
        assert 0 <= row["far"] <= 100 and -1000 < row["cp_standard"] <= 100
    assert sum(rows["edge-lstm"]["deployed"].values()) == 2
    assert sum(rows["edge-lstm"]["threshold_rules"].values()) == 2
    assert rows["edge-lstm"]["series_with_glitches"] == 0  # the corpus's training rows are clean
    assert "F1 at our FAR" in result.output and "edge-lstm bundles: deployed" in result.output
    assert "glitches left out of the training rows of 0 series." in result.output
    assert rows["edge-lstm"]["judged_days"] > 0 and " a day) |" in result.output  # the corpus has timestamps
    assert "missed_faults" in rows["edge-lstm"] and "edge-lstm missed: " in result.output

    # The ablation re-decides the kept scores: its shipped row is exactly what the run decided.
    ablation = tmp_path / "ablation.json"
    result = CliRunner().invoke(main, ["evaluate", "--protocol", "ablation", str(kept), "--json", str(ablation)])
    assert result.exit_code == 0, result.output
    shipped = json.loads(ablation.read_text())["shipped"]["corpus"]
    for key in ("f1", "far", "cp_standard", "cp_low_fp", "event_recall"):
        assert shipped[key] == rows["edge-lstm"][key], key
    assert shipped["alert_starts_outside_events"] == rows["edge-lstm"]["alert_starts_outside_events"]
    assert len(json.loads(ablation.read_text())) > 5  # and the variants beside it


def test_a_training_setting_over_the_defaults_is_measured_by_the_same_harness(tmp_path: Path) -> None:
    tensorflow_or_fail()
    from edge_lstm.cli import main

    out = tmp_path / "report.json"
    args = ["evaluate", "--protocol", "corpus", str(tmp_path / "corpus"), "--limit", "1", "--json", str(out)]
    result = CliRunner().invoke(
        main, [*args, "--train-option", "threshold_method=quantile", "--train-option", "stuck=no"]
    )
    assert result.exit_code == 0, result.output
    assert "Detection with settings threshold_method=quantile stuck=no, beside peers" in result.output
    report = json.loads(out.read_text())
    assert report["_train_options"] == ["threshold_method=quantile", "stuck=no"]
    assert report["corpus"]["edge-lstm"]["threshold_rules"] == {"quantile": 1}  # not training's own choice

    for option, message in (
        ("drifting", "expected KEY=VALUE"),
        ("colour=red", "unknown setting 'colour'; known: "),
        ("smooth=two", "expected an integer"),
        ("stuck=maybe", "expected true or false"),
        ("drifting=tracked", "drifting must be track, exclude or keep, got 'tracked'"),
        ("window=0", "window must be at least 1, got 0"),
    ):
        result = CliRunner().invoke(main, [*args, "--train-option", option])
        assert result.exit_code != 0 and message in result.output, (option, result.output)
    result = CliRunner().invoke(main, ["evaluate", "x.csv", "--model", str(tmp_path), "--train-option", "stuck=no"])
    assert result.exit_code == 2 and "--train-option is for --protocol corpus" in result.output


def test_a_train_option_may_name_a_model_setting_and_takes_over_its_decision() -> None:
    from edge_lstm_train.fit import ModelConfig
    from edge_lstm_train.options import settings_from
    from edge_lstm_train.pipeline import TrainOptions

    base = TrainOptions(name="corpus")
    config, options = settings_from(["seed=1", "bottleneck=8", "drifting=keep"], ModelConfig(), base)
    assert (config.seed, config.bottleneck, options.drifting) == (1, 8, "keep")
    assert options.auto == base.auto - {"bottleneck"}  # given, so no longer decided from the data
    assert settings_from([], ModelConfig(), base) == (ModelConfig(), base)


def test_a_corpus_from_another_version_of_the_generator_is_named_as_such(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from edge_lstm.cli.generalization import _warn_if_stale
    from edge_lstm.tools.corpus import MANIFEST, VERSION

    (tmp_path / MANIFEST).write_text(json.dumps({"version": VERSION, "series": []}))
    _warn_if_stale(tmp_path)
    assert capsys.readouterr().err == ""
    (tmp_path / MANIFEST).write_text(json.dumps({"version": VERSION - 1, "series": []}))
    _warn_if_stale(tmp_path)
    assert capsys.readouterr().err == (
        f"warning: {tmp_path} was generated by version {VERSION - 1} of the corpus generator, this is version "
        f"{VERSION}; delete the folder to regenerate it\n"
    )


def test_a_folder_of_labelled_files_trains_each_on_its_first_rows_and_reports_as_its_own_group(
    tmp_path: Path,
) -> None:
    tensorflow_or_fail()
    from edge_lstm.cli import main
    from edge_lstm_train.generalization import labelled_series

    folder = tmp_path / "registry"
    folder.mkdir()
    rng = np.random.default_rng(3)
    for name, rows, first in (("long", 2000, 1500), ("short", 250, 200)):
        value = np.sin(np.arange(rows) / 7) + rng.normal(0, 0.05, rows)
        label = np.zeros(rows, dtype=int)
        value[first : first + 5] += 4.0
        label[first : first + 5] = 1
        lines = [f"{v:.5f},{a}" for v, a in zip(value, label, strict=True)]
        (folder / f"{name}.csv").write_text("value,anomaly\n" + "\n".join(lines) + "\n")
    series = {s.name: s for s in labelled_series(folder)}
    assert series["registry/long"].train_rows == 300  # 15 % of 2,000
    assert series["registry/short"].train_rows == 125  # at least 150, but at most half
    assert {s.group for s in series.values()} == {"registry"}
    (folder / "notes.csv").write_text("value\n1.0\n")  # not labelled: refused before any training, with the fix
    refused = r"notes.csv: no 'anomaly' column \(1 marks an anomalous row\); label it, or move it out$"
    with pytest.raises(DataError, match=refused):
        labelled_series(folder)
    (folder / "notes.csv").unlink()

    (folder / "short.csv").unlink()
    out = tmp_path / "report.json"
    result = CliRunner().invoke(main, ["evaluate", "--protocol", "corpus", str(folder), "--json", str(out)])
    assert result.exit_code == 0, result.output
    ours = json.loads(out.read_text())["registry"]["edge-lstm"]
    assert ours["series"] == 1 and ours["failed"] == {} and ours["events"] == 1 and ours["event_recall"] == 1, ours
    assert "missed_faults" not in ours  # files from elsewhere list no faults by kind
