"""A picture of a replay: the signals, the score against its threshold, alerts and known faults."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import numpy.typing as npt

from edge_lstm.core.samples import MAX_READING
from edge_lstm.engine.replay import ReplayResult
from edge_lstm.errors import Unavailable
from edge_lstm.sources.csv_file import Recording

PLOT_HINT = "pip install 'edge-lstm[plot]'  (matplotlib)"


def _spans(mask: npt.NDArray[np.bool_]) -> list[tuple[int, int]]:
    edges = np.flatnonzero(np.diff(np.concatenate([[0], mask.astype(np.int8), [0]])))
    return list(zip(edges[::2].tolist(), edges[1::2].tolist(), strict=True))


def plot_replay(
    path: str | Path,
    recording: Recording,
    result: ReplayResult,
    title: str = "",
    labels: npt.NDArray[np.bool_] | None = None,
) -> Path:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        raise Unavailable(f"plotting needs matplotlib: {PLOT_HINT}") from None
    # Readings the detector refuses (NaN, inf, absurd) are gaps in the plot, not a scale that flattens the rest.
    values = np.where(np.abs(recording.values) < MAX_READING, recording.values, np.nan)
    x = np.arange(len(values))
    fig, (ax_signals, ax_score) = plt.subplots(
        2, 1, figsize=(13, 7), sharex=True, gridspec_kw={"height_ratios": [3, 2]}
    )
    offset = 0.0
    for i, name in enumerate(recording.features):
        column = values[:, i]
        read = column[np.isfinite(column)]  # a channel never read is an empty line, not a warning
        centre, spread = (float(read.mean()), float(read.std())) if read.size else (0.0, 1.0)
        ax_signals.plot(x, (column - centre) / (spread or 1.0) - offset, lw=0.7, label=name)
        offset += 6.0
    ax_signals.set_yticks([])
    ax_signals.set_ylabel("signals (standardized, stacked)")
    ax_signals.legend(loc="upper right", fontsize=8, ncol=min(len(recording.features), 5))
    ax_score.semilogy(x, result.scores, lw=0.7, color="tab:blue", label="score")
    label = f"threshold {result.threshold:.3g}"
    if result.thresholds is not None and np.ptp(result.thresholds) > 0:  # an adaptive (SPOT) threshold
        ax_score.plot(x, result.thresholds, color="tab:red", ls="--", lw=1, label=label + " (adaptive, at end)")
    else:
        ax_score.axhline(result.threshold, color="tab:red", ls="--", lw=1, label=label)
    for ax in (ax_signals, ax_score):
        for k, (a, b) in enumerate(_spans(result.alerting)):
            ax.axvspan(a, b, color="tab:red", alpha=0.18, lw=0, label="alert" if ax is ax_score and k == 0 else None)
        if labels is not None:
            for k, (a, b) in enumerate(_spans(labels)):
                ax.axvspan(
                    a,
                    b,
                    ymin=0,
                    ymax=0.04,
                    color="black",
                    alpha=0.8,
                    lw=0,
                    label="labelled fault" if ax is ax_score and k == 0 else None,
                )
    ax_score.set_ylabel("reconstruction error")
    ax_score.set_xlabel("sample")
    ax_score.legend(loc="upper right", fontsize=8)
    starts = sum(1 for e in result.events if e.event == "alert_start")  # each alert publishes a start and a clear
    fig.suptitle(title or f"edge-lstm replay of {recording.path.name}: {starts} alert{'' if starts == 1 else 's'}")
    fig.tight_layout()
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=110)
    plt.close(fig)
    return out
