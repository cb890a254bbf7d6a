"""Training data: NaN and gap policy, the time split, and training crops.

Policy: a row with any NaN is dropped and the data is cut there; a timestamp gap longer than
``max_gap_periods`` median sample periods also cuts it, unless that would leave a piece too short to
learn from (then the gap is bridged and counted). Each contiguous piece is a *segment*; crops
never cross a segment boundary, so the model never learns a jump that did not happen. The split is by
time inside each file: the first part trains, the next validates (early stopping), the last
calibrates the threshold. Nothing is shuffled across those boundaries.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from edge_lstm.core.baseline import standardize_by_own_baseline
from edge_lstm.core.level import detrend
from edge_lstm.errors import DataError, SettingsError
from edge_lstm.sources.csv_file import Recording

FloatArray = npt.NDArray[np.float32]


@dataclass
class Splits:
    train: list[npt.NDArray[np.float64]] = field(default_factory=list)
    validation: list[npt.NDArray[np.float64]] = field(default_factory=list)
    calibration: list[npt.NDArray[np.float64]] = field(default_factory=list)
    dropped_nan_rows: int = 0
    gap_cuts: int = 0
    bridged: int = 0  # gaps not cut because a piece beside them would have been too short
    sample_period_s: float | None = None
    mean_period_s: float | None = None  # the mean interval, gaps left out: what a day holds in samples

    def rows(self, part: str) -> int:
        return sum(len(s) for s in getattr(self, part))


def intervals(recordings: list[Recording]) -> npt.NDArray[np.float64]:
    """The positive intervals between consecutive readings of every recording that has timestamps."""
    diffs = [np.diff(r.timestamps) for r in recordings if r.timestamps is not None and len(r) > 1]
    steps = np.concatenate(diffs) if diffs else np.zeros(0)
    return steps[steps > 0]  # type: ignore[no-any-return]


def median_period(recordings: list[Recording]) -> float | None:
    steps = intervals(recordings)
    return float(np.median(steps)) if steps.size else None


def mean_period(recordings: list[Recording], max_gap: float | None) -> float | None:
    """The mean interval between consecutive readings, leaving out gaps longer than ``max_gap`` seconds.

    On jittered timestamps (a reading every 4 to 10 minutes) the median interval is not what a day holds:
    a day of readings spaced 5, 5, 6, 10, 4, ... minutes apart has 1440 / 6 of them, not 1440 / 5. The
    adaptive rule's daily pattern counts a day in samples, so it needs the mean.
    """
    steps = intervals(recordings)
    steps = steps[steps <= (np.inf if max_gap is None else max_gap)]
    return float(np.mean(steps)) if steps.size else None


def as_streamed(
    recordings: list[Recording], level_channels: tuple[str, ...], level_span: int, baseline: int
) -> list[Recording]:
    """The recordings as the detector reads a stream before the bundle's scaler: the slow level of
    ``level_channels`` removed (core/level.py), then standardized by their own first ``baseline`` rows
    (core/baseline.py), where the bundle does either."""
    out = []
    for r in recordings:
        values = r.values
        if level_channels:
            values = detrend(values, np.isin(r.features, level_channels), level_span)
        if baseline:
            values = standardize_by_own_baseline(values, baseline, str(r.path))
        out.append(dataclasses.replace(r, values=values) if values is not r.values else r)
    return out


def _cut(
    values: npt.NDArray[np.float64],
    times: npt.NDArray[np.float64] | None,
    max_gap: float | None,
    splits: Splits,
    min_rows: int,
) -> list[npt.NDArray[np.float64]]:
    """Segments of ``values``: rows with NaN are dropped and cut the data; a timestamp gap longer than
    ``max_gap`` cuts it too, unless a piece on either side would be shorter than ``min_rows``: then the
    gap is bridged (counted), because a short piece is worth more joined than thrown away."""
    bad = ~np.isfinite(values).all(axis=1)
    splits.dropped_nan_rows += int(bad.sum())
    gap_after = np.zeros(len(values), dtype=bool)  # a gap between row i and row i + 1
    if times is not None and max_gap is not None and len(values) > 1:
        gap_after[:-1] = np.diff(times) > max_gap
    pieces: list[list[int]] = []  # [start, end, ends at a gap]
    start = None
    for i in range(len(values)):
        if bad[i]:
            if start is not None:
                pieces.append([start, i, 0])
            start = None
            continue
        if start is None:
            start = i
        if gap_after[i] and i + 1 < len(values) and not bad[i + 1]:
            pieces.append([start, i + 1, 1])
            start = None
    if start is not None:
        pieces.append([start, len(values), 0])
    merged: list[list[int]] = []
    for piece in pieces:
        previous = merged[-1] if merged else None
        joinable = previous is not None and previous[2] and previous[1] == piece[0]
        if previous is not None and joinable and min(previous[1] - previous[0], piece[1] - piece[0]) < min_rows:
            previous[1], previous[2] = piece[1], piece[2]
            splits.bridged += 1
            continue
        if previous is not None and joinable:
            splits.gap_cuts += 1
        merged.append(piece)
    return [values[a:b] for a, b, _ in merged if b > a]


def split_recordings(
    recordings: list[Recording],
    val_fraction: float,
    calib_fraction: float,
    max_gap_periods: float,
    min_rows: int = 64,
) -> Splits:
    # A validation fraction of 0 is allowed: training then runs a fixed number of epochs.
    if not 0 <= val_fraction < 1 or not 0 < calib_fraction < 1 or val_fraction + calib_fraction >= 0.9:
        raise SettingsError(
            "the validation fraction must be in [0, 1), the calibration fraction in (0, 1), and together "
            "they must leave at least 10% to train"
        )
    splits = Splits(sample_period_s=median_period(recordings))
    max_gap = None if splits.sample_period_s is None else max_gap_periods * splits.sample_period_s
    splits.mean_period_s = mean_period(recordings, max_gap)
    for rec in recordings:
        n = len(rec)
        a = round(n * (1 - val_fraction - calib_fraction))
        b = round(n * (1 - calib_fraction))
        for part, lo, hi in (("train", 0, a), ("validation", a, b), ("calibration", b, n)):
            times = None if rec.timestamps is None else rec.timestamps[lo:hi]
            getattr(splits, part).extend(_cut(rec.values[lo:hi], times, max_gap, splits, min_rows))
    return splits


def crops(segments: list[FloatArray], seq_len: int, stride: int, window: int) -> tuple[FloatArray, FloatArray]:
    """Overlapping crops (n, seq_len, features) and their trailing-window targets (n, seq_len, window, features).

    A segment shorter than ``seq_len`` but at least twice the window becomes one crop, held at its
    last row to full length; shorter segments are skipped.
    """
    from edge_lstm.core.scoring import trailing_windows

    xs, ys = [], []
    for seg in segments:
        seg = np.asarray(seg, dtype=np.float32)
        if len(seg) < 2 * window:
            continue
        starts = range(0, max(len(seg) - seq_len, 0) + 1, stride)
        for s in starts:
            piece = seg[s : s + seq_len]
            if len(piece) < seq_len:
                # A short segment: hold its last row to full length. The model sees a steady signal
                # there and learns to reconstruct it, which is what a stalled sensor would look like.
                piece = np.concatenate([piece, np.repeat(piece[-1:], seq_len - len(piece), axis=0)])
            target = trailing_windows(piece, window)
            xs.append(piece)
            ys.append(target)
    if not xs:
        raise DataError(f"no segment is long enough to train on (need at least {2 * window} rows)")
    return np.stack(xs), np.stack(ys)


# Checking the exports, calibrating the threshold and measuring the watches need tens of thousands of
# rows, not millions: with more data than this, the first rows of it are used (20,000 scores still give
# a 0.999 quantile twenty scores above it).
MAX_CHECK_ROWS = 20_000


def capped(segments: list[np.ndarray], max_rows: int) -> list[np.ndarray]:
    """The segments in order, the last one cut short, holding at most ``max_rows`` rows in all."""
    out, left = [], max_rows
    for seg in segments:
        if left <= 0:
            break
        out.append(seg[:left])
        left -= len(out[-1])
    return out


def fingerprint(recordings: list[Recording]) -> str:
    """sha256 over feature names and values: identifies the training data in the manifest."""
    import hashlib

    digest = hashlib.sha256()
    for rec in recordings:
        digest.update(",".join(rec.features).encode())
        digest.update(np.ascontiguousarray(rec.values, dtype=np.float64).tobytes())
    return digest.hexdigest()
