"""Every metric against small cases worked out by hand."""

from __future__ import annotations

import math

import numpy as np
import pytest

from edge_lstm.evaluation.metrics import (
    event_counts,
    nab_score,
    nab_score_windows,
    nab_windows,
    point_counts,
    runs,
    scaled_sigmoid,
)

L = np.array([0, 0, 1, 1, 1, 0, 0, 1, 1, 0], dtype=bool)
A = np.array([0, 1, 0, 1, 1, 1, 0, 0, 0, 0], dtype=bool)


def test_point_wise_counts_f1_far_mar() -> None:
    c = point_counts(L, A)
    assert (c.tp, c.fp, c.tn, c.fn) == (2, 2, 3, 3)
    assert c.f1 == pytest.approx(2 * 2 / (2 * 2 + 2 + 3))
    assert c.far == pytest.approx(100 * 2 / 5) and c.mar == pytest.approx(100 * 3 / 5)
    always = point_counts(L, np.ones(10, bool))
    assert always.far == 100.0 and always.mar == 0.0


def test_events_detection_precision_and_delay() -> None:
    assert runs(L) == [(2, 5), (7, 9)]
    e = event_counts(L, A)
    # Event (2,5) is detected one sample late; event (7,9) is missed. Alert runs (1,2) and (3,6):
    # the first overlaps no event, the second overlaps (2,5).
    assert (e.events, e.detected, e.alert_runs, e.correct_runs, e.delays) == (2, 1, 2, 1, (1,))
    assert e.recall == 0.5 and e.precision == 0.5 and e.mean_delay == 1.0


def test_scaled_sigmoid_landmarks() -> None:
    assert scaled_sigmoid(-1.0) == pytest.approx(2 / (1 + math.exp(-5)) - 1)  # 0.98661
    assert scaled_sigmoid(0.0) == 0.0
    assert scaled_sigmoid(0.5) == pytest.approx(2 / (1 + math.exp(2.5)) - 1)  # -0.84828
    assert scaled_sigmoid(3.5) == -1.0


def test_nab_perfect_none_and_a_late_detection() -> None:
    assert nab_score([10.0], [10.0], window=10).normalised == pytest.approx(100.0)
    assert nab_score([10.0], [], window=10).normalised == 0.0
    # Halfway through the window: sigmoid(-0.5) = 2/(1+e^-2.5) - 1 = 0.84828.
    half = nab_score([10.0], [15.0], window=10)
    assert half.raw == pytest.approx(0.848283639957513)
    assert half.normalised == pytest.approx(100 * (0.848283639957513 + 1) / (0.9866142981514305 + 1))


def test_nab_first_detection_only_and_false_positives() -> None:
    # Detections at 12 and 18 fall in the window [10, 20): only 12 counts, 18 is neither TP nor FP.
    both = nab_score([10.0], [12.0, 18.0], window=10)
    assert both.raw == pytest.approx(scaled_sigmoid(-0.8))
    # A detection at 25, half a window after the window ends, costs 0.11 * sigmoid(0.5) (standard).
    fp = nab_score([10.0], [12.0, 25.0], window=10)
    assert fp.raw == pytest.approx(scaled_sigmoid(-0.8) + 0.11 * scaled_sigmoid(0.5))
    # Before any window a false positive costs the full A_FP.
    early = nab_score([10.0], [2.0, 12.0], window=10, profile="low_fp")
    assert early.raw == pytest.approx(scaled_sigmoid(-0.8) - 0.22)


def test_nab_overlapping_windows_share_no_detection() -> None:
    # Windows [0, 10) and [5, 15). A detection at 6 lies in both: it goes to the earlier window; the
    # second window takes the next detection inside it (12); 13 is then ignored.
    score = nab_score([0.0, 5.0], [6.0, 12.0, 13.0], window=10)
    assert score.raw == pytest.approx(scaled_sigmoid(-0.4) + scaled_sigmoid(-0.3))
    # With one detection only, the later window is missed.
    lonely = nab_score([0.0, 5.0], [6.0], window=10, profile="low_fn")
    assert lonely.raw == pytest.approx(scaled_sigmoid(-0.4) - 2.0)
    assert lonely.null == -4.0


def test_scores_pool_by_summing_before_normalising() -> None:
    pooled = nab_score([10.0], [10.0], window=10) + nab_score([10.0], [], window=10)
    assert pooled.normalised == pytest.approx(50.0)
    assert (point_counts(L, A) + point_counts(L, A)).tp == 4
    assert (event_counts(L, A) + event_counts(L, A)).delays == (1, 1)


def test_nab_windows_share_ten_percent_of_the_series_centred_on_each_onset() -> None:
    # 1,000 rows, two anomalies: each window is 0.1 * 1000 / 2 = 50 rows, centred on its onset.
    assert nab_windows([300, 700], 1000) == [(275.0, 325.0), (675.0, 725.0)]
    # Clipped at the ends of the series, and never overlapping the previous window.
    assert nab_windows([2, 8], 200) == [(0.0, 7.0), (7.0, 13.0)]
    assert nab_windows([], 1000) == []


def test_nab_scoring_over_explicit_windows_of_different_lengths() -> None:
    windows = [(100.0, 200.0), (500.0, 520.0)]
    # A detection 40 % into the first window; none in the second; one 10 rows (half a window of the
    # 20-row window before it) after the second window ends.
    score = nab_score_windows(windows, [140.0, 530.0])
    assert score.raw == pytest.approx(scaled_sigmoid(-0.6) - 1.0 + 0.11 * scaled_sigmoid(0.5))
    assert score.null == -2.0 and score.perfect == pytest.approx(2 * scaled_sigmoid(-1.0))


def test_a_file_without_labelled_events_shows_dashes_not_zeros() -> None:
    """F1, MAR, recall and NAB are undefined without a labelled event, event precision without an
    alert: the table says so, where 0.00 would read as a measured failure."""
    from pathlib import Path

    from edge_lstm.cli.evaluate import _plot_title
    from edge_lstm.evaluation.evaluate import judge, markdown, pooled
    from edge_lstm.sources.csv_file import Recording

    normal = Recording(Path("normal.csv"), ["x"], np.zeros((10, 1)), None, labels={"anomaly": np.zeros(10)})
    alerted = judge(normal, np.array([0, 1, 1, 0, 0, 1, 0, 0, 0, 0], dtype=bool))
    quiet = judge(normal, np.zeros(10, dtype=bool), name="quiet.csv")
    table = markdown([alerted, quiet], pooled([alerted, quiet]), "t").splitlines()
    assert table[4] == "| normal.csv | 10 | - | 30.00 | - | 0.00 | - | - | - | - | - |"
    assert table[5] == "| quiet.csv | 10 | - | 0.00 | - | - | - | - | - | - | - |"
    assert _plot_title("normal.csv", alerted) == "normal.csv: no labelled anomaly; 2 alerts, FAR 30.0 %"
    faulty = Recording(Path("f.csv"), ["x"], np.zeros((10, 1)), None, labels={"anomaly": L.astype(float)})
    row = markdown([judge(faulty, A)], pooled([judge(faulty, A)]), "t").splitlines()[4]
    assert row.startswith("| f.csv | 10 | 0.444 | 40.00 | 60.00 | 0.50 | 0.50 | 1.0 |"), row  # 2 TP, 2 FP, 3 FN, 3 TN
