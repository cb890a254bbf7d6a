"""Turning a score into a decision. A score is not a decision: these are separate, named objects."""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from enum import Enum

import numpy as np
import numpy.typing as npt

from edge_lstm.errors import DataError, SettingsError


def quantile_threshold(scores: npt.ArrayLike, quantile: float) -> float:
    """The ``quantile`` of held-out normal scores: the label-free threshold with one knob."""
    if not 0.0 < quantile < 1.0:
        raise SettingsError(f"quantile must be between 0 and 1 (exclusive), got {quantile}")
    values = np.asarray(scores, dtype=np.float64)
    values = values[np.isfinite(values)]
    if values.size == 0:
        raise DataError("cannot calibrate a threshold from zero finite scores")
    return float(np.quantile(values, quantile))


class Transition(Enum):
    """An alert starting or clearing; its value is the event name subscribers see."""

    START = "alert_start"
    CLEAR = "alert_clear"


@dataclass(frozen=True)
class DebounceSettings:
    """Alert after ``fire_n`` of the last ``fire_m`` scores exceed the threshold; clear after
    ``clear_n`` consecutive scores below ``clear_ratio`` x threshold (hysteresis)."""

    fire_n: int = 3
    fire_m: int = 5
    clear_n: int = 10
    clear_ratio: float = 0.8

    def __post_init__(self) -> None:
        if not 1 <= self.fire_n <= self.fire_m:
            raise SettingsError(f"need 1 <= fire_n <= fire_m, got fire_n={self.fire_n}, fire_m={self.fire_m}")
        if self.clear_n < 1:
            raise SettingsError(f"clear_n must be at least 1, got {self.clear_n}")
        if not 0.0 < self.clear_ratio <= 1.0:
            raise SettingsError(f"clear_ratio must be in (0, 1], got {self.clear_ratio}")


# Alert on the first score over the threshold and clear on the first one under it.
NO_DEBOUNCE = DebounceSettings(fire_n=1, fire_m=1, clear_n=1, clear_ratio=1.0)


class Debounce:
    """n-of-m firing with a lower clearing level, so one noisy sample neither raises nor ends an alert."""

    __slots__ = ("_below", "_recent", "_settings", "active")

    def __init__(self, settings: DebounceSettings) -> None:
        self._settings = settings
        self._recent: deque[bool] = deque(maxlen=settings.fire_m)
        self._below = 0
        self.active = False

    def reset(self) -> None:
        """Back to not alerting, with an empty history."""
        self._recent.clear()
        self._below = 0
        self.active = False

    def update(self, score: float, threshold: float) -> Transition | None:
        """Take one score against ``threshold``; returns the transition it causes, if any."""
        s = self._settings
        over = score > threshold
        self._recent.append(over)
        if not self.active:
            if over and sum(self._recent) >= s.fire_n:
                self.active = True
                self._below = 0
                return Transition.START
            return None
        self._below = self._below + 1 if score < s.clear_ratio * threshold else 0
        if self._below >= s.clear_n:
            self.active = False
            self._recent.clear()
            return Transition.CLEAR
        return None
