"""``python -m edge_lstm.tools.corpus DIR [--seed S] [--long | --sparse [--sizes TRAIN,ROWS]] [--glitch]``: write
the corpus and print its summary."""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from edge_lstm.tools.corpus.manifest import MANIFEST
from edge_lstm.tools.corpus.writer import summary, write_corpus


def _main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m edge_lstm.tools.corpus", description="Write the generated benchmark corpus."
    )
    parser.add_argument("directory", type=Path)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--long",
        action="store_true",
        help="only the start/stop machines, recorded for weeks (60,000 training rows of 90,000)",
    )
    parser.add_argument(
        "--sparse",
        action="store_true",
        help="only the single-channel series, recorded for longer (750 training rows of 12,000): rare faults",
    )
    parser.add_argument(
        "--sizes",
        metavar="TRAIN,ROWS",
        help="with --sparse: training rows and rows of each series (750,12000); 600,4000 gives as many faults "
        "in a third of the rows",
    )
    parser.add_argument(
        "--glitch",
        action="store_true",
        help="one unlabelled glitch (1-3 readings of one channel, 4-10 spreads) in each series' training rows; the "
        "judged rows stay the same",
    )
    args = parser.parse_args(argv)
    if args.seed < 0:
        parser.error("--seed must be >= 0")
    if args.long and args.sparse:
        parser.error("--long and --sparse are two different corpora: choose one")
    sizes = None
    if args.sizes is not None:
        if not args.sparse:
            parser.error("--sizes is for the sparse variant: add --sparse")
        parts = args.sizes.split(",")
        if len(parts) != 2 or not all(p.strip().isdigit() for p in parts) or not 0 < int(parts[0]) < int(parts[1]):
            parser.error(f"--sizes must be TRAIN,ROWS with 0 < TRAIN < ROWS (for example 600,4000), got {args.sizes!r}")
        sizes = (int(parts[0]), int(parts[1]))
    began = time.perf_counter()
    try:
        infos = write_corpus(
            args.directory, args.seed, long=args.long, sparse=args.sparse, sizes=sizes, glitch=args.glitch
        )
    except ValueError as error:
        if sizes is None:  # the built-in sizes always hold their faults
            raise
        parser.error(f"--sizes {args.sizes}: {error}; give more rows")
    for line in summary(infos):
        print(line)
    print(f"wrote {len(infos)} series and {MANIFEST} to {args.directory} in {time.perf_counter() - began:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(_main())
