#!/usr/bin/env bash
# The SKAB leaderboard recipe as plain `edge-lstm train` flags: one pump file's first 400 rows in, a
# bundle out. These flags were chosen on SKAB (see the README's SKAB section); on other data start from
# the defaults (`edge-lstm train FILE --out DIR`), not from here.
#
#   train/skab-recipe.sh ../shared/data/skab/valve1/0.csv skab-valve1-0/
#
# The same settings are what `edge-lstm evaluate --protocol skab` trains per file (edge_lstm_train/skab.py).
set -euo pipefail
[ $# -eq 2 ] || { sed -n '2,7p' "$0" | sed 's/^# \{0,1\}//'; exit 2; }
csv=$1 out=$2
head_rows=$(mktemp --suffix=.csv)
trap 'rm -f "$head_rows"' EXIT
head -n 401 "$csv" >"$head_rows"  # the header and the first 400 rows: the protocol's training part
exec edge-lstm train "$head_rows" --out "$out" --name skab \
  --exclude Temperature,Thermocouple --smooth 5 --score residual \
  --window 8 --state-size 16 --bottleneck 4 --seq-len 64 --stride 4 --batch-size 16 \
  --epochs 30 --val-fraction 0 --calib-fraction 0.25 \
  --threshold-method max --multiplier 1.8 --debounce off
