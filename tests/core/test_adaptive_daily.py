"""The adaptive rule's daily pattern: an alert that comes back at the same hour the next day is learned,
one that comes back at another spacing is not, and a gap forgets the hour. The rule for alerts that come
back beyond the alert budget (``budget_learns``, test_adaptive_budget.py) is off here, so the daily rule is
measured alone."""

from __future__ import annotations

import numpy as np
import pytest

from edge_lstm.core.adaptive import AdaptiveSettings, AdaptiveThreshold, samples_per_day
from edge_lstm.core.snapshot import capture, restore

DAY = 200  # samples in the test's day
DAILY_ONLY = AdaptiveSettings(budget_learns=False)


def scores_with_bumps(days: int, spacing: int, seed: int = 0) -> np.ndarray:
    """Log-normal normal scores with a 20-sample bump (10 x) every ``spacing`` samples."""
    scores = np.exp(np.random.default_rng(seed).normal(0.0, 0.3, days * DAY))
    for start in range(DAY // 2, len(scores) - 20, spacing):
        scores[start : start + 20] *= 10.0
    return scores


def alert_starts(rule: AdaptiveThreshold, scores: np.ndarray) -> list[int]:
    starts = []
    for i, score in enumerate(scores):
        was = rule.active
        rule.update(float(score))
        if rule.active and not was:
            starts.append(i)
    return starts


def calibration() -> np.ndarray:
    return np.exp(np.random.default_rng(9).normal(0.0, 0.3, 300))


def test_a_bump_at_the_same_hour_every_day_stops_paging_after_its_second_day() -> None:
    scores = scores_with_bumps(days=12, spacing=DAY)
    daily = alert_starts(AdaptiveThreshold(DAILY_ONLY, calibration(), day=DAY), scores)
    plain = alert_starts(AdaptiveThreshold(DAILY_ONLY, calibration(), day=0), scores)
    assert len(plain) == 12  # without the rule it pages every day
    # The second day's start still alerts; from then on the bump is mostly part of the stream's reference
    # (it can page again once its learned days have left the reference's history: 4 of 12 days with this
    # draw, at most 8 of 12 over ten draws).
    assert daily[:2] == plain[:2] and len(daily) <= 2 * len(plain) // 3, (daily, plain)


def test_a_fault_that_comes_back_at_another_spacing_keeps_alerting() -> None:
    # Every 1.5 days: never a day after the last start, so nothing is taken for the daily pattern.
    scores = scores_with_bumps(days=12, spacing=3 * DAY // 2)
    daily = alert_starts(AdaptiveThreshold(DAILY_ONLY, calibration(), day=DAY), scores)
    plain = alert_starts(AdaptiveThreshold(DAILY_ONLY, calibration(), day=0), scores)
    assert daily == plain and len(daily) >= 7


def test_a_gap_forgets_the_hour() -> None:
    scores = scores_with_bumps(days=8, spacing=DAY)
    rule = AdaptiveThreshold(DAILY_ONLY, calibration(), day=DAY)
    starts = []
    for i, score in enumerate(scores):
        if i % DAY == 0:
            rule.reset()  # a gap every day: the count of samples no longer says the hour
        was = rule.active
        rule.update(float(score))
        starts += [i] if rule.active and not was else []
    assert len(starts) >= 7


def test_a_snapshot_carries_the_last_alert_and_the_hour() -> None:
    scores = scores_with_bumps(days=6, spacing=DAY)
    whole = AdaptiveThreshold(DAILY_ONLY, calibration(), day=DAY)
    expected = alert_starts(whole, scores)
    first = AdaptiveThreshold(DAILY_ONLY, calibration(), day=DAY)
    cut = DAY + DAY // 2 + 10  # inside the second day's bump: an alert and its kept-out scores
    before = alert_starts(first, scores[:cut])
    second = AdaptiveThreshold(DAILY_ONLY, calibration(), day=DAY)
    restore(second, capture(first))
    after = [cut + i for i in alert_starts(second, scores[cut:])]
    assert before + after == expected


@pytest.mark.parametrize(
    ("period_s", "day"), [(600.0, 144), (300.0, 288), (1.0, 86_400), (3600.0, 24), (7200.0, 0), (None, 0), (0.0, 0)]
)
def test_samples_per_day(period_s: float | None, day: int) -> None:
    assert samples_per_day(period_s) == day


def test_the_mean_interval_counts_the_day_where_a_bundle_has_it() -> None:
    # Readings every 4 to 10 minutes, median 5, mean 5.8: a day holds 248 of them, not 288.
    assert samples_per_day(300.0, 348.0) == 248
    assert samples_per_day(300.0, None) == 288
    assert samples_per_day(None, 3600.0) == 24
    assert samples_per_day(3600.0, 7200.0) == 0  # too coarse either way


def test_the_sampling_periods_are_validated() -> None:
    from support import small_detector

    from edge_lstm.core.settings import DetectorSettings
    from edge_lstm.errors import SettingsError

    s = small_detector().settings
    for name, bad in (("mean_period_s", 0.0), ("sample_period_s", -1.0), ("mean_period_s", float("nan"))):
        with pytest.raises(SettingsError, match=rf"^{name} must be a positive number of seconds, got {bad}$"):
            DetectorSettings(s.features, s.window, s.scaler, s.threshold, **{name: bad})


def test_the_detector_takes_its_day_from_the_bundle_sampling_period() -> None:
    import dataclasses

    from support import small_detector

    from edge_lstm.core.calibration import ThresholdRule, calibrate
    from edge_lstm.core.detector import StreamDetector

    plain = small_detector()
    rng = np.random.default_rng(6)
    calibration = np.array([r.score for r in (plain.process(v) for v in rng.normal(0, 1, (300, 3))) if r.score])
    section = calibrate(calibration, ThresholdRule("adaptive", 2.5))
    section["adaptive"]["budget_learns"] = False  # the daily rule alone
    values = rng.normal(0, 1, (24 * 14, 3))
    for day in range(14):
        values[24 * day + 6 : 24 * day + 9] += 6.0  # the same hour of every day, hourly samples

    def run(period_s: float | None) -> tuple[list[int], list[float]]:
        settings = dataclasses.replace(
            plain.settings,
            threshold=section["value"],
            adaptive=section["adaptive"],
            calibration=calibration,
            sample_period_s=period_s,
        )
        detector = StreamDetector(settings, plain.model)
        results = [detector.process(v) for v in values]
        alerting = [r.alerting for r in results]
        starts = [i for i in range(1, len(alerting)) if alerting[i] and not alerting[i - 1]]
        return starts, [np.nan if r.score is None else r.score for r in results]

    hourly, scores = run(3600.0)
    unknown, _ = run(None)
    assert len(unknown) >= 10 and len(hourly) < len(unknown) // 2, (hourly, unknown)
    # The same decisions as the rule alone over the same scores, with a day of 24 samples.
    rule = AdaptiveThreshold(AdaptiveSettings.from_dict(section["adaptive"]), calibration, day=24)
    alone = alert_starts(rule, np.array([s for s in scores if np.isfinite(s)]))
    first = next(i for i, s in enumerate(scores) if np.isfinite(s))
    assert [first + i for i in alone] == hourly


def test_a_tolerance_of_zero_turns_the_daily_pattern_off() -> None:
    scores = scores_with_bumps(days=8, spacing=DAY)
    off = AdaptiveThreshold(AdaptiveSettings(daily_tolerance=0.0, budget_learns=False), calibration(), day=DAY)
    plain = AdaptiveThreshold(DAILY_ONLY, calibration(), day=0)
    assert alert_starts(off, scores) == alert_starts(plain, scores)


@pytest.mark.parametrize("tolerance", [-0.1, 0.5, 2.0])
def test_the_daily_tolerance_is_validated(tolerance: float) -> None:
    from edge_lstm.errors import SettingsError

    with pytest.raises(SettingsError, match=rf"^daily_tolerance must be in \[0, 0.5\) of a day, got {tolerance}$"):
        AdaptiveSettings(daily_tolerance=tolerance)
