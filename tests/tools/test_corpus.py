"""The generated benchmark corpus: deterministic, covering what it promises, readable by the CSV reader,
labelled exactly as its manifest says, and with every fault visible against its clean counterpart."""

from __future__ import annotations

import dataclasses
import re
import subprocess
import sys
from collections import Counter
from pathlib import Path

import numpy as np
import pytest

from edge_lstm.sources.csv_file import read_csv
from edge_lstm.tools import corpus
from edge_lstm.tools.corpus import FAULT_KINDS, MANIFEST, PROPERTIES, SeriesInfo, load_manifest, write_corpus


@pytest.fixture(scope="module")
def written(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[SeriesInfo]]:
    directory = tmp_path_factory.mktemp("corpus")
    return directory, write_corpus(directory, seed=0)


def load_manifest_of_all() -> list[SeriesInfo]:
    return [corpus.generate_series(index).info for index in range(corpus.SERIES_COUNT)]


def files(directory: Path) -> dict[str, bytes]:
    return {path.name: path.read_bytes() for path in sorted(directory.iterdir())}


def expected_labels(info: SeriesInfo) -> np.ndarray:
    labels = np.zeros(info.rows)
    for fault in info.faults:
        labels[fault.start : fault.end] = 1
    return labels


def test_the_same_seed_writes_the_same_bytes_and_another_seed_does_not(
    tmp_path: Path, written: tuple[Path, list[SeriesInfo]]
) -> None:
    first, _ = written
    write_corpus(tmp_path / "again", seed=0)
    write_corpus(tmp_path / "other", seed=1)
    again, other = files(tmp_path / "again"), files(tmp_path / "other")
    assert again == files(first)
    assert other.keys() == again.keys()
    differing = [name for name in again if again[name] != other[name]]
    assert MANIFEST in differing and len(differing) == len(again)


def test_the_manifest_covers_the_protocol(written: tuple[Path, list[SeriesInfo]]) -> None:
    directory, infos = written
    assert load_manifest(directory) == infos
    assert len(infos) >= 56 and len({i.name for i in infos}) == len(infos)
    for info in infos:
        assert re.fullmatch(r"[a-z-]+-\d\d", info.name) and info.name.startswith(info.kind + "-")
        assert info.file == f"{info.name}.csv" and (directory / info.file).is_file()
        assert 150 <= info.train_rows <= 2000 and 1500 <= info.rows <= 8000
        assert 1 <= len(info.channels) <= 8 and len(set(info.channels)) == len(info.channels)
        assert len(info.faults) <= 4 and set(info.properties) <= set(PROPERTIES)
        judged = info.rows - info.train_rows
        previous_end = info.train_rows + int(0.1 * judged)  # the first fault leaves 10 % of the judged part
        for fault in sorted(info.faults, key=lambda f: f.start):
            assert fault.kind in FAULT_KINDS and fault.difficulty in corpus.DIFFICULTIES
            assert fault.channel is None or fault.channel in info.channels
            assert previous_end <= fault.start < fault.end <= info.rows
            previous_end = fault.end + 100  # separate events, never touching
    assert sum(i.rows for i in infos) < 250_000
    assert 4 <= sum(1 for i in infos if not i.faults) <= 6
    assert sum(1 for i in infos if i.train_rows <= 300) >= 8
    assert sum(1 for i in infos if len(i.channels) == 1) >= 20
    assert sum(1 for i in infos if len(i.channels) > 1) >= 20
    properties = Counter(p for i in infos for p in i.properties)
    assert all(properties[p] >= 3 for p in PROPERTIES), properties
    kinds = Counter(f.kind for i in infos for f in i.faults)
    assert all(kinds[k] >= 3 for k in FAULT_KINDS), kinds
    difficulties = Counter(f.difficulty for i in infos for f in i.faults)
    assert difficulties["subtle"] >= 5 and difficulties["easy"] >= 5, difficulties


def test_every_file_reads_with_the_labels_the_manifest_gives(written: tuple[Path, list[SeriesInfo]]) -> None:
    directory, infos = written
    irregular = 0
    for info in infos:
        recording = read_csv(directory / info.file)
        assert recording.features == list(info.channels), info.name
        assert len(recording) == info.rows and not np.isnan(recording.values).any(), info.name
        assert recording.timestamps is not None and set(recording.labels) == {"anomaly"}
        labels = recording.labels["anomaly"]
        assert np.array_equal(labels, expected_labels(info)), info.name
        assert not labels[: info.train_rows].any(), info.name
        steps = np.diff(recording.timestamps)
        assert (steps > 0).all(), info.name
        uneven = len(set(steps.tolist())) > 1
        assert uneven == ("irregular_timestamps" in info.properties), info.name
        if not uneven:
            assert steps[0] == info.period_s, info.name
        irregular += uneven
    assert irregular >= 8


def test_one_series_is_read_every_few_minutes_with_a_median_well_short_of_its_mean(
    written: tuple[Path, list[SeriesInfo]],
) -> None:
    """Road speeds read every 4 to 10 minutes, mostly on time: a day counted at the median interval is
    more than the adaptive rule's 10 % off a day counted at the mean, so the corpus catches a detector
    that counts it wrong."""
    directory, infos = written
    jittered = [i for i in infos if i.channels == ("speed_kmh",)]
    assert len(jittered) == 1 and "irregular_timestamps" in jittered[0].properties
    steps = np.diff(read_csv(directory / jittered[0].file).timestamps)
    assert steps.min() == 240 and steps.max() == 600 and np.median(steps) == jittered[0].period_s == 300
    assert steps.mean() > 1.1 * np.median(steps)


def test_every_fault_shows_against_its_clean_counterpart(written: tuple[Path, list[SeriesInfo]]) -> None:
    directory, infos = written
    for index, info in enumerate(infos):
        series = corpus.generate_series(index, seed=0)
        assert series.info == info
        on_disk = read_csv(directory / info.file).values
        assert np.allclose(on_disk, series.values, rtol=1e-5, atol=1e-9), info.name  # %.6g in the file
        first = min((f.start for f in info.faults), default=info.rows)
        assert np.array_equal(series.values[:first], series.clean[:first]), info.name
        for fault in info.faults:
            span = slice(fault.start, fault.end)
            columns = [info.channels.index(fault.channel)] if fault.channel else list(range(len(info.channels)))
            moved = np.abs(series.values[span][:, columns] - series.clean[span][:, columns])
            assert moved.max() > 0, (info.name, fault)
            if fault.kind in ("spike", "stuck", "variance_increase", "correlation_break"):
                c = columns[0]  # a bounded fault hits one channel only
                others = [j for j in range(len(info.channels)) if j != c]
                lasting = ("level_shift", "drift", "frequency_change")  # their effects outlast their labels
                if not any(f.kind in lasting and f.start < fault.start for f in info.faults):
                    assert np.array_equal(series.values[span][:, others], series.clean[span][:, others])


def test_a_correlation_break_stays_within_the_normal_range(written: tuple[Path, list[SeriesInfo]]) -> None:
    _, infos = written
    checked = 0
    for index, info in enumerate(infos):
        breaks = [f for f in info.faults if f.kind == "correlation_break"]
        if not breaks:
            continue
        series = corpus.generate_series(index, seed=0)
        for fault in breaks:
            assert fault.channel is not None
            c = info.channels.index(fault.channel)
            earlier = [f for f in info.faults if f.channel == fault.channel and f.start < fault.start]
            if earlier:
                continue
            clean = series.clean[:, c]
            span = series.values[fault.start : fault.end, c]
            assert clean.min() <= span.min() and span.max() <= clean.max(), info.name
            checked += 1
    assert checked >= 3


def test_series_are_seeded_apart() -> None:
    """Each series draws from (seed, index) only: a series is the same whichever others are generated."""
    alone = corpus.generate_series(7, seed=5)
    for index in range(corpus.SERIES_COUNT):
        corpus.generate_series(index, seed=5)
    again = corpus.generate_series(7, seed=5)
    assert alone.info == again.info and np.array_equal(alone.values, again.values)
    assert corpus.generate_series(7, seed=6).info != alone.info


def test_bad_arguments_are_refused() -> None:
    with pytest.raises(IndexError):
        corpus.generate_series(corpus.SERIES_COUNT)
    with pytest.raises(ValueError, match="seed"):
        corpus.generate_series(0, seed=-1)
    with pytest.raises(ValueError, match="sizes must be"):
        corpus.generate_series(0, sizes=(500, 400))


def test_the_long_variant_records_the_start_stop_machines_for_longer(tmp_path: Path) -> None:
    infos = write_corpus(tmp_path, seed=0, long=True)
    short = {i.name: i for i in load_manifest_of_all()}
    assert infos and {i.kind for i in infos} == {"dutycycle"}
    assert len(infos) == sum(1 for i in short.values() if i.kind == "dutycycle")
    for info in infos:
        assert (info.train_rows, info.rows) == corpus.LONG_SIZES and info.channels == short[info.name].channels
        assert info.faults and all(f.start >= info.train_rows for f in info.faults)
        labels = read_csv(tmp_path / info.file).labels
        assert np.array_equal(np.asarray(labels["anomaly"]) > 0, expected_labels(info) > 0)
    # The same machine: its on/off cycle keeps the short series' length, so the weeks hold hundreds of
    # starts and a short-cycling span holds switches (a cycle grown with the recording would hold none).
    for index in range(corpus.SERIES_COUNT):
        if short[corpus.series_name(index)].kind != "dutycycle":
            continue
        rates = []
        for series in (corpus.generate_series(index), corpus.generate_series(index, sizes=corpus.LONG_SIZES)):
            first = series.clean[:, 0]  # a current, a power or a running flag: near 0 when off
            on = first > 0.3 * np.quantile(first, 0.9)
            rates.append((np.diff(on.astype(int)) == 1).sum() / len(first))
        assert rates[1] * corpus.LONG_SIZES[1] > 100 and 0.5 < rates[1] / rates[0] < 2.0


def test_the_sparse_variant_records_the_single_channel_series_for_longer(tmp_path: Path) -> None:
    infos = write_corpus(tmp_path, seed=0, sparse=True)
    short = {i.name: i for i in load_manifest_of_all()}
    expected = {n for n, i in short.items() if len(i.channels) == 1 and i.kind not in ("dutycycle", "multi")}
    assert {i.name for i in infos} == expected and len(expected) > 30
    for info in infos:
        assert (info.train_rows, info.rows) == corpus.SPARSE_SIZES and info.channels == short[info.name].channels
        assert all(f.start >= info.train_rows for f in info.faults)
        labels = read_csv(tmp_path / info.file).labels
        assert np.array_equal(np.asarray(labels["anomaly"]) > 0, expected_labels(info) > 0)
    judged = sum(i.rows - i.train_rows for i in infos)
    assert judged / sum(len(i.faults) for i in infos) > 4000  # faults as rare as on a monitoring record
    with pytest.raises(ValueError, match=r"^a corpus is long or sparse, not both$"):
        write_corpus(tmp_path / "both", long=True, sparse=True)
    both = subprocess.run(
        [sys.executable, "-m", "edge_lstm.tools.corpus", str(tmp_path / "cli"), "--long", "--sparse"],
        capture_output=True,
        text=True,
    )
    assert both.returncode == 2 and "--long and --sparse are two different corpora: choose one" in both.stderr
    assert not (tmp_path / "cli").exists()


def test_the_sparse_variant_takes_other_sizes_with_the_same_faults(tmp_path: Path) -> None:
    infos = write_corpus(tmp_path, seed=0, sparse=True, sizes=(600, 4000))
    default = write_corpus(tmp_path / "default", seed=0, sparse=True)
    assert all((i.train_rows, i.rows) == (600, 4000) for i in infos)
    assert [[f.kind for f in i.faults] for i in infos] == [[f.kind for f in i.faults] for i in default]
    assert all(f.start >= i.train_rows and f.end <= i.rows for i in infos for f in i.faults)
    with pytest.raises(ValueError, match=r"^sizes are for the sparse variant \(sparse=True\)$"):
        write_corpus(tmp_path / "dense", sizes=(600, 4000))
    for sizes, message in (
        ("600,4000", "--sizes is for the sparse variant: add --sparse"),
        ("4000,600", "--sizes must be TRAIN,ROWS with 0 < TRAIN < ROWS (for example 600,4000), got '4000,600'"),
        ("600", "--sizes must be TRAIN,ROWS with 0 < TRAIN < ROWS (for example 600,4000), got '600'"),
        ("10,20", "--sizes 10,20: 2 faults of 57 rows do not fit in 10 judged rows; give more rows"),
    ):
        extra = [] if message.endswith("add --sparse") else ["--sparse"]
        cli = [sys.executable, "-m", "edge_lstm.tools.corpus", str(tmp_path / "cli"), "--sizes", sizes, *extra]
        bad = subprocess.run(cli, capture_output=True, text=True)
        assert bad.returncode == 2 and message in bad.stderr, bad.stderr
    assert not (tmp_path / "cli").exists()


def test_the_command_line_writes_and_summarises(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "edge_lstm.tools.corpus", str(tmp_path / "out"), "--seed", "2"],
        capture_output=True,
        text=True,
        check=True,
    )
    lines = result.stdout.splitlines()
    assert any(line.startswith("seasonal ") for line in lines)
    total = next(line for line in lines if line.startswith("total "))
    assert f"{corpus.SERIES_COUNT} series" in total
    assert len(load_manifest(tmp_path / "out")) == corpus.SERIES_COUNT


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[1,2", r"corpus.json: not an edge-lstm corpus manifest \(Expecting ',' delimiter"),
        ('["x"]', r"corpus.json: not an edge-lstm corpus manifest; delete the folder to regenerate it"),
        (
            '{"generator": "edge-lstm corpus", "series": [{"name": "a"}]}',
            r"corpus.json: a series entry is malformed \(KeyError\('file'\)\); delete the folder to regenerate it",
        ),
    ],
)
def test_a_broken_manifest_is_named_with_what_to_do(tmp_path: Path, text: str, message: str) -> None:
    from edge_lstm.errors import DataError

    (tmp_path / MANIFEST).write_text(text)
    with pytest.raises(DataError, match=message):
        load_manifest(tmp_path)


def test_a_glitch_in_the_training_rows_changes_nothing_else(tmp_path: Path) -> None:
    infos = write_corpus(tmp_path, seed=0, sparse=True, sizes=(600, 4000), glitch=True)
    plain = {i.name: i for i in write_corpus(tmp_path / "plain", seed=0, sparse=True, sizes=(600, 4000))}
    assert sum(i.glitch is not None for i in infos) >= 30 and load_manifest(tmp_path) == infos
    for info in infos:
        assert dataclasses.replace(info, glitch=None) == plain[info.name]
        values = read_csv(tmp_path / info.file).values
        before = read_csv(tmp_path / "plain" / info.file).values
        changed = np.flatnonzero((values != before).any(axis=1))
        if info.glitch is None:  # a flat series: nothing moves enough to glitch
            assert not len(changed) and info.kind == "flat"
            continue
        channel, start, end = info.glitch
        assert changed.tolist() == list(range(start, end)) and 0 < start < end <= info.train_rows
        column = info.channels.index(channel)
        spread = before[: info.train_rows, column].std()
        assert (np.abs(values[start:end, column] - before[start:end, column]) >= 3.5 * spread).all()
    cli = subprocess.run(
        [sys.executable, "-m", "edge_lstm.tools.corpus", str(tmp_path / "cli"), "--sparse", "--glitch"],
        capture_output=True,
        text=True,
    )
    assert cli.returncode == 0 and "glitch" in (tmp_path / "cli" / MANIFEST).read_text()
