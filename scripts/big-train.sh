#!/usr/bin/env bash
# big-train.sh [ROWS]: how long `edge-lstm train` with no flags takes on a large recording.
#
# Writes ROWS (default 1,000,000) rows of the built-in 5-sensor machine to a temporary CSV, then times
# `edge-lstm train FILE --out DIR` on it (wall time and peak memory from /usr/bin/time when present).
# Needs the train extra: run it with the venv's python on PATH, e.g. PATH=.venv/bin:$PATH.
set -euo pipefail
rows=${1:-1000000}
work=$(mktemp -d "${TMPDIR:-/tmp}/edge-lstm-big.XXXXXX")
trap 'rm -rf "$work"' EXIT
python - "$rows" "$work/big.csv" <<'PY'
import sys
from edge_lstm.tools import synthetic
synthetic.write_csv(sys.argv[2], synthetic.normal_stream(int(sys.argv[1]), seed=3))
PY
echo "training on $rows rows" >&2
if [ -x /usr/bin/time ]; then
  /usr/bin/time -f "wall %e s, peak RSS %M KB" edge-lstm train "$work/big.csv" --out "$work/bundle" -q
else
  time edge-lstm train "$work/big.csv" --out "$work/bundle" -q
fi
