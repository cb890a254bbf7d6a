"""The adaptive rule's alert budget: a stream that keeps starting alerts gets a higher bar, which comes
down again as those starts age out; a score far above everything normal still alerts at once."""

from __future__ import annotations

import numpy as np
import pytest

from edge_lstm.core.adaptive import AdaptiveSettings, AdaptiveThreshold
from edge_lstm.core.thresholds import Transition
from edge_lstm.errors import SettingsError


def calibration(n: int = 1000) -> np.ndarray:
    return np.exp(np.random.default_rng(0).normal(0.0, 0.3, n))  # log-normal, like reconstruction errors


def bursty(n: int, every: int, level: float, seed: int = 1) -> np.ndarray:
    """Normal scores with a short burst at ``level`` every ``every`` samples."""
    scores = np.exp(np.random.default_rng(seed).normal(0.0, 0.3, n))
    for start in range(every, n - 5, every):
        scores[start : start + 4] = level
    return scores


def starts(rule: AdaptiveThreshold, scores: np.ndarray) -> list[int]:
    return [i for i, s in enumerate(scores) if rule.update(float(s)) is Transition.START]


def test_a_stream_that_keeps_alerting_gets_a_higher_bar_and_fewer_starts() -> None:
    scores = bursty(6000, every=300, level=2.6)  # 19 bursts over the plain bar, under a raised one
    off = starts(AdaptiveThreshold(AdaptiveSettings(budget_window=0), calibration()), scores)
    rule = AdaptiveThreshold(AdaptiveSettings(), calibration())
    on = starts(rule, scores)
    assert len(off) >= 10
    budget = AdaptiveSettings().budget_starts
    assert on[: budget + 1] == off[: budget + 1]  # within the budget, the same starts
    assert len(on) < len(off) / 2  # beyond it, the bar rises


def test_the_bar_rises_a_step_per_start_over_the_budget_up_to_the_cap_and_comes_down() -> None:
    settings = AdaptiveSettings(budget_window=100, budget_starts=1, budget_step=0.5, budget_cap=1.0)
    rule = AdaptiveThreshold(settings, calibration())
    seen = [rule.fire_z]
    for _ in range(4):  # an alert start, its clearing, then quiet
        for score in (1e3, 1.0, 1.0, 1.0, 1.0, 1.0):
            rule.update(score)
        seen.append(rule.fire_z)
    assert seen == [2.5, 2.5, 3.0, 3.5, 3.5]
    for _ in range(100):
        rule.update(1.0)
    assert rule.fire_z == 2.5  # every start has left the window


def test_a_score_far_above_everything_normal_alerts_even_over_budget() -> None:
    settings = AdaptiveSettings(budget_window=1000, budget_starts=0, budget_step=1.0, budget_cap=1.0)
    rule = AdaptiveThreshold(settings, calibration())
    for score in (1e3, 1.0, 1.0, 1.0, 1.0, 1.0):
        rule.update(score)
    assert rule.fire_z == 3.5 and not rule.active
    assert rule.update(1e4) is Transition.START  # the spike path does not wait for the budget


@pytest.mark.parametrize("name", ["budget_window", "budget_starts", "budget_step", "budget_cap"])
def test_the_budget_settings_are_validated(name: str) -> None:
    with pytest.raises(SettingsError, match=rf"^{name} must not be negative, got -1$"):
        AdaptiveSettings(**{name: -1})


def test_a_manifest_without_the_budget_gets_the_default_and_one_can_turn_it_off() -> None:
    old = {k: v for k, v in AdaptiveSettings().to_dict().items() if not k.startswith("budget_")}
    assert AdaptiveSettings.from_dict(old) == AdaptiveSettings()
    assert AdaptiveSettings.from_dict({**old, "budget_window": 0}).budget_window == 0


def bumps(n: int, every: int, seed: int = 1) -> np.ndarray:
    """Normal scores with a 20-sample bump (6 x) every ``every`` samples: the stream's own, kept coming."""
    scores = np.exp(np.random.default_rng(seed).normal(0.0, 0.3, n))
    for start in range(every, n - 21, every):
        scores[start : start + 20] *= 6.0
    return scores


def test_beyond_the_budget_the_last_alert_is_learned_so_a_bump_that_keeps_coming_pages_less() -> None:
    scores = bumps(20000, every=300)  # 66 bumps, each far over the plain bar and a raised one
    plain = starts(AdaptiveThreshold(AdaptiveSettings(budget_learns=False), calibration()), scores)
    learns = starts(AdaptiveThreshold(AdaptiveSettings(), calibration()), scores)
    budget = AdaptiveSettings().budget_starts
    assert len(plain) == 66  # a raised z alone does not hold back a bump this high
    assert learns[: budget + 1] == plain[: budget + 1]  # the start beyond the budget still alerts; it learns
    assert len(learns) < len(plain) / 2, (len(learns), len(plain))  # 29 with this draw


def test_within_the_budget_nothing_is_learned() -> None:
    scores = bumps(6000, every=1700)  # 3 bumps, no more than the budget in any window
    learns, plain = (
        AdaptiveThreshold(AdaptiveSettings(), calibration()),
        AdaptiveThreshold(AdaptiveSettings(budget_learns=False), calibration()),
    )
    assert starts(learns, scores) == starts(plain, scores)
    assert learns.threshold == plain.threshold  # the same reference: no alert's scores were learned
    learns.update(1e3)  # a fourth start beyond the budget learns the third alert
    plain.update(1e3)
    assert learns.threshold > plain.threshold


def test_a_snapshot_carries_what_the_budget_learns_from() -> None:
    from edge_lstm.core.snapshot import capture, restore

    scores = bumps(3000, every=300)
    expected = starts(AdaptiveThreshold(AdaptiveSettings(), calibration()), scores)
    first = AdaptiveThreshold(AdaptiveSettings(), calibration())
    cut = 4 * 300 + 10  # inside the fourth bump: the budget's starts and the alert's kept-out scores
    before = starts(first, scores[:cut])
    second = AdaptiveThreshold(AdaptiveSettings(), calibration())
    restore(second, capture(first))
    assert before + [cut + i for i in starts(second, scores[cut:])] == expected


def test_budget_learning_is_validated_and_an_older_manifest_gets_it() -> None:
    old = {k: v for k, v in AdaptiveSettings().to_dict().items() if k != "budget_learns"}
    assert AdaptiveSettings.from_dict(old).budget_learns is True
    assert AdaptiveSettings.from_dict({**old, "budget_learns": False}).budget_learns is False
    with pytest.raises(SettingsError, match=r"^budget_learns must be true or false, got 'yes'$"):
        AdaptiveSettings(budget_learns="yes")  # type: ignore[arg-type]
