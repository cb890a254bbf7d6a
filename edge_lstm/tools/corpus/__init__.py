"""A generated benchmark corpus: labelled sensor and IT series on which detection defaults are judged.

Nothing here is tuned to a detector. The corpus covers the shapes real recordings have (daily and
weekly seasonality, trends, operating regimes, start/stop machines, bursty counts, flat and quantized
channels, irregular sampling, noise from low to high) and the faults users care about (spikes, level
shifts, drifts, stuck sensors, frequency changes, correlation breaks, noise bursts), some easy and
some subtle. Every series is generated from ``(seed, series index)`` alone, so one series never
shifts another and the same seed writes byte-identical files.

A long variant (``write_corpus(DIR, long=True)``, ``python -m edge_lstm.tools.corpus DIR --long``) writes
only the start/stop machines, recorded for weeks (``LONG_SIZES``: 60,000 training rows of 90,000), so
training takes the path of large data. They are the same machines: their on/off cycle keeps its length,
so the weeks hold hundreds of starts. A sparse variant (``sparse=True``, ``--sparse``) writes the
single-channel series of the other families recorded for longer (``SPARSE_SIZES``: 750 training rows of
12,000): two or three faults in 11,000 judged rows, as rare as on a long monitoring record. Its
``sizes`` (``--sizes TRAIN,ROWS``) record the same series and faults at other lengths: 600 of 4,000 puts
them a third as far apart.

Layout of a written corpus (``write_corpus``)::

    DIR/<name>.csv     timestamp,<channels...>,anomaly   (ISO 8601 UTC seconds; anomaly 0/1)
    DIR/corpus.json    {"generator", "version", "seed", "notes", "series": [...]}

Protocol: a detector is trained on rows ``[0, train_rows)``, which hold no fault, and judged on
``[train_rows, rows)``. Fault spans are 0-based data-row indices ``[start, end)``, end exclusive, and
the ``anomaly`` column is 1 exactly inside them. The first fault leaves at least 10 % of the judged
part before it, and faults are at least 120 rows apart. Sizes are in units of the channel's *spread*
(its std over the training rows; 2 % of its level if it is constant there) or its *noise* (the robust
sample-to-sample noise), and depend on the fault's difficulty (easy / moderate / subtle):

- ``spike``: 1-3 rows displaced (upwards on a bounded channel) by 6-10 / 4-6 spreads, or for a subtle
  one by 4-6 noises but at least 1.5 spreads (contextual: it may stay within the normal range).
  Labelled: the displaced rows and the ``SPIKE_TAIL`` rows after them.
- ``level_shift``: the level moves by 2-3 / 1-1.5 spreads, or subtly by 2.5-3.5 noises but at least
  half a spread, and stays there to the end of the series (counts, and bounded channels going down,
  change by the same relative amount). Labelled: the onset, 50-300 rows.
- ``drift``: a linear ramp to the level_shift sizes over 100-500 rows, after which the offset stays.
  Labelled: the ramp.
- ``stuck``: the value freezes at the last reading before the span, placed where the true value moves
  (a frozen flat channel would not show), then the sensor recovers. Labelled: the frozen rows,
  150-300 / 80-150 / 50-80 of them.
- ``frequency_change``: the fast cycle (pump stroke, vibration, batch job) runs 2-3 / 1.35-1.6 /
  1.12-1.2 times faster or 0.45-0.6 / 0.7-0.78 / 0.85-0.9 times as fast, for a whole number of extra
  or missing cycles, so it is back in phase afterwards; an on/off machine short-cycles 3-4 / 2-2.5 /
  1.5-1.7 times as often. Channel null (the whole process). Labelled: the changed span.
- ``correlation_break``: one channel of a coupled group follows its own clean values from another
  time nearby (cross-faded in and out), so it stays within its normal range while leaving its group.
  Labelled: 250-400 / 150-250 / 100-150 rows.
- ``variance_increase``: added Gaussian noise of 5-8 / 3-5 / 2-2.5 times the channel's noise (at
  least a tenth of its spread). Labelled: the noisy rows, 50-300 of them.

The package splits the work one way, each module importing only those above it:
``manifest`` (constants, records, loading), ``signals`` (building blocks), ``generators`` (the signal
families), ``plans`` (one entry per series), ``faults`` (choosing, placing and injecting them),
``generate`` (one series in memory), ``writer`` (CSV files, manifest, summary) and ``__main__`` (the
command line).
"""

from __future__ import annotations

from edge_lstm.tools.corpus.generate import generate_series, series_name
from edge_lstm.tools.corpus.manifest import (
    DIFFICULTIES,
    FAULT_KINDS,
    GENERATOR,
    MANIFEST,
    PROPERTIES,
    SPIKE_TAIL,
    START,
    VERSION,
    Array,
    FaultInfo,
    GeneratedSeries,
    SeriesInfo,
    load_manifest,
)
from edge_lstm.tools.corpus.plans import SERIES_COUNT
from edge_lstm.tools.corpus.writer import LONG_SIZES, SPARSE_SIZES, summary, write_corpus

__all__ = [
    "DIFFICULTIES",
    "FAULT_KINDS",
    "GENERATOR",
    "LONG_SIZES",
    "MANIFEST",
    "PROPERTIES",
    "SERIES_COUNT",
    "SPARSE_SIZES",
    "SPIKE_TAIL",
    "START",
    "VERSION",
    "Array",
    "FaultInfo",
    "GeneratedSeries",
    "SeriesInfo",
    "generate_series",
    "load_manifest",
    "series_name",
    "summary",
    "write_corpus",
]
