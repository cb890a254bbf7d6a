"""A new finding during an alert: a reading that freezes or leaps while an alert has run on its score
alone ends that alert and starts one naming the reading; a mark at an alert's onset, or a second one,
does not."""

from __future__ import annotations

import numpy as np
from support import small_detector

from edge_lstm.core.findings import FINDING_AFTER, new_findings
from edge_lstm.core.stuck import MIN_STUCK


def walk(alerting: list[bool], marked: list[bool]) -> list[int]:
    """The samples where ``new_findings`` restarts, one stream fed one sample at a time."""
    age, named, row = np.zeros(1, dtype=np.int64), np.zeros(1, dtype=bool), slice(0, 1)
    was, out = False, []
    for i, (now, mark) in enumerate(zip(alerting, marked, strict=True)):
        if new_findings(row, np.array([was]), np.array([now]), np.array([mark]), age, named)[0]:
            out.append(i)
        was = now
    return out


def test_only_a_first_mark_after_an_alert_has_lasted_is_a_new_finding() -> None:
    n = 3 * FINDING_AFTER
    alerting = [False] * 10 + [True] * (n - 10)
    late = [False] * n
    late[10 + FINDING_AFTER + 5] = late[10 + FINDING_AFTER + 30] = True  # two marks, the second in the new alert
    assert walk(alerting, late) == [10 + FINDING_AFTER + 5]
    early = [False] * n
    early[12] = early[10 + FINDING_AFTER + 5] = True  # the onset already named a reading
    assert walk(alerting, early) == []
    # after the alert clears, the next one counts afresh
    again = alerting[:100] + [False] * 5 + [True] * (FINDING_AFTER + 10)
    marks = [False] * len(again)
    marks[20] = marks[105 + FINDING_AFTER + 2] = True
    assert walk(again, marks) == [105 + FINDING_AFTER + 2]
    assert walk(alerting, [False] * n) == []


def test_the_detector_ends_a_lasting_alert_and_starts_one_about_the_frozen_reading() -> None:
    stuck = {"after": [MIN_STUCK] * 3, "low": [-1e9] * 3, "high": [1e9] * 3}
    detector = small_detector(stuck=stuck, threshold=1e-9)  # every score is over: one alert from warm-up on
    rng = np.random.default_rng(2)
    rows = rng.normal(size=(200, 3))
    rows[120:160, 1] = rows[119, 1]  # b freezes well after the alert began
    results = [detector.process(row, float(t)) for t, row in enumerate(rows)]
    events = [e for r in results for e in r.events]
    assert [e.event for e in events] == ["alert_start", "alert_clear", "alert_start"]
    first, end, new = events
    assert end.index == new.index == 119 + MIN_STUCK - 1  # the same sample: one alert ends, the next begins
    assert new.contributions == {"a": 0.0, "b": 1.0, "c": 0.0} and first.contributions != new.contributions
    assert end.peak_score is not None and [e.sequence for e in events] == [1, 2, 3]
    assert detector.counters.alerts == 2 and detector.alerting
