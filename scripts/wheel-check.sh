#!/usr/bin/env bash
# wheel-check.sh BUNDLE CSV
#
# Tests what a user installs: builds the wheel from this checkout, installs it into a fresh
# virtual environment without the `train` extra, and runs the device commands from that install
# (every --help, info, replay, evaluate, check-config, and a short `run` against a real mosquitto
# broker fed by `simulate`). Records the device venv size, the wheel size and the wall time of a
# 100-row replay in a JSON file ($EDGE_LSTM_RESULTS, default bench-results/wheel-check.json).
#
# The wheel is left in dist/ so scripts/pi-check.sh can take the same file.
#
# Environment: PYTHON (default python3), EDGE_LSTM_RESULTS, EDGE_LSTM_VENV_BUDGET_MB (default 200).
set -euo pipefail
# shellcheck source=scripts/lib.sh
. "$(dirname "$0")/lib.sh"

usage() { sed -n '2,12p' "$0" | sed 's/^# \{0,1\}//'; exit 2; }
[ $# -eq 2 ] || usage
BUNDLE=$(realpath -e "$1")
CSV=$(realpath -e "$2")
[ -f "$BUNDLE/manifest.json" ] || { echo "not a model bundle (no manifest.json): $BUNDLE" >&2; exit 2; }

REPO=$(cd "$(dirname "$0")/.." && pwd)
PYTHON=${PYTHON:-python3}
RESULTS=${EDGE_LSTM_RESULTS:-$REPO/bench-results/wheel-check.json}
BUDGET_MB=${EDGE_LSTM_VENV_BUDGET_MB:-200}

fail() { echo "wheel-check: FAIL: $*" >&2; exit 1; }
since() { awk -v t0="$1" -v t1="$(now)" 'BEGIN { printf "%.3f", t1 - t0 }'; }  # seconds since $1


# Everything this run creates lives in one temp dir; background processes are stopped on any exit.
TMP=$(mktemp -d "${TMPDIR:-/tmp}/wheel-check.XXXXXX")
PIDS=()
cleanup() {
  local pid
  for pid in "${PIDS[@]}"; do
    kill -TERM "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  done
  rm -rf "$TMP"
}
trap cleanup EXIT

# Keep pip's output in a log and show it only when a step fails.
logged() {  # logged LOGFILE CMD...
  local log=$1; shift
  if ! "$@" >"$log" 2>&1; then cat "$log" >&2; fail "$* (log above)"; fi
}

# --- build ---------------------------------------------------------------------------------------
say "building the wheel from $REPO"
# Build from a copy: pip builds a local directory in place, and a stale build/ left in the
# checkout can carry deleted modules into the next wheel.
mkdir -p "$TMP/src"
tar -C "$REPO" \
  --exclude=./.git --exclude=./.venv --exclude=./build --exclude=./dist --exclude='*.egg-info' \
  --exclude=./bench-results --exclude=./demo-output --exclude=__pycache__ \
  --exclude=.pytest_cache --exclude=.mypy_cache --exclude=.ruff_cache --exclude=.hypothesis \
  -cf - . | tar -C "$TMP/src" -xf -
"$PYTHON" -m venv "$TMP/build-venv"
# -v shows the backend's own output, which is where setuptools reports configuration problems.
# A venv keeps pip's running-as-root notice out, and byte-compiling is allowed so setuptools has
# nothing to say about it being disabled: any warning left is about the package itself.
if ! env -u PYTHONDONTWRITEBYTECODE PIP_ROOT_USER_ACTION=ignore \
    "$TMP/build-venv/bin/python" -m pip wheel -v --no-deps -w "$TMP/dist" "$TMP/src" >"$TMP/build.log" 2>&1; then
  cat "$TMP/build.log" >&2; fail "wheel build"
fi
if grep -q -i 'warning' "$TMP/build.log"; then
  cat "$TMP/build.log" >&2
  echo "--- warnings:" >&2
  grep -n -i 'warning' "$TMP/build.log" >&2
  fail "the wheel build printed warnings"
fi
WHEEL_TMP=$(find "$TMP/dist" -name 'edge_lstm-*.whl' -print -quit)
[ -n "$WHEEL_TMP" ] || fail "no edge_lstm wheel was produced"
mkdir -p "$REPO/dist"
rm -f "$REPO"/dist/edge_lstm-*.whl
cp "$WHEEL_TMP" "$REPO/dist/"
WHEEL="$REPO/dist/$(basename "$WHEEL_TMP")"
WHEEL_BYTES=$(stat -c %s "$WHEEL")
say "wheel: $WHEEL ($WHEEL_BYTES bytes)"

# --- fresh device install ------------------------------------------------------------------------
say "installing the wheel (no extras) into a fresh venv"
VENV="$TMP/device-venv"
"$PYTHON" -m venv "$VENV"
t0=$(now)
logged "$TMP/install.log" env PIP_ROOT_USER_ACTION=ignore "$VENV/bin/python" -m pip install "$WHEEL"
INSTALL_S=$(since "$t0")
EL="$VENV/bin/edge-lstm"

# The device set must not drag in the training stack.
"$VENV/bin/python" -c 'import importlib.util, sys; sys.exit(importlib.util.find_spec("tensorflow") is not None)' ||
  fail "tensorflow is importable in the device venv (the device install pulled in the train extra)"

# --- every command's --help ----------------------------------------------------------------------
mapfile -t COMMANDS < <("$EL" --help | awk '/^Commands:/ { in_list = 1; next } in_list && /^  [a-z]/ { print $1 }')
[ ${#COMMANDS[@]} -gt 0 ] || fail "could not list the commands from 'edge-lstm --help'"
for cmd in "${COMMANDS[@]}"; do
  "$EL" "$cmd" --help >"$TMP/help.out" 2>&1 || { cat "$TMP/help.out" >&2; fail "edge-lstm $cmd --help"; }
done
say "--help ok for ${#COMMANDS[@]} commands: ${COMMANDS[*]}"

# --- offline commands on the given bundle and CSV ------------------------------------------------
say "info"
"$EL" info "$BUNDLE"

say "replay --scores"
"$EL" replay "$CSV" --model "$BUNDLE" --scores "$TMP/scores.csv" >"$TMP/replay.jsonl"
csv_rows=$(( $(wc -l <"$CSV") - 1 ))
score_rows=$(( $(wc -l <"$TMP/scores.csv") - 1 ))
[ "$(head -n 1 "$TMP/scores.csv")" = "sample,score,threshold,alerting" ] || fail "unexpected --scores header"
[ "$score_rows" -eq "$csv_rows" ] || fail "--scores has $score_rows rows, the CSV $csv_rows"

say "evaluate --json"
"$EL" evaluate "$CSV" --model "$BUNDLE" --json "$TMP/evaluate.json" >/dev/null
"$VENV/bin/python" -c 'import json, sys; json.load(open(sys.argv[1]))' "$TMP/evaluate.json" ||
  fail "evaluate --json did not write valid JSON"

# A free loopback port for this run's own broker (the default 1883 may be taken by a real one).
PORT=$("$VENV/bin/python" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
CLIENT_ID=wheel-check
cat >"$TMP/config.toml" <<EOF
[mqtt]
host = "127.0.0.1"
port = $PORT
client_id = "$CLIENT_ID"

[model]
bundle = "$BUNDLE"

[[streams]]
topic = "sensors/+/pump"
format = "json"
timestamp_field = "ts"

[alerts]
homeassistant_discovery = false

[status]
health_interval_s = 5

[outbox]
path = "$TMP/outbox.jsonl"
EOF

say "check-config"
"$EL" check-config "$TMP/config.toml"

# --- the daemon against a real broker ------------------------------------------------------------
apt_install mosquitto mosquitto-clients
MOSQUITTO=$(command -v mosquitto || echo /usr/sbin/mosquitto)
cat >"$TMP/mosquitto.conf" <<EOF
listener $PORT 127.0.0.1
allow_anonymous true
persistence false
EOF
say "mosquitto on 127.0.0.1:$PORT"
"$MOSQUITTO" -c "$TMP/mosquitto.conf" >"$TMP/mosquitto.log" 2>&1 &
PIDS+=($!)
for _ in $(seq 50); do
  mosquitto_pub -h 127.0.0.1 -p "$PORT" -t wheel-check/ping -n 2>/dev/null && break
  sleep 0.1
done
mosquitto_pub -h 127.0.0.1 -p "$PORT" -t wheel-check/ping -n || { cat "$TMP/mosquitto.log" >&2; fail "mosquitto did not start"; }

say "edge-lstm run"
"$EL" run --config "$TMP/config.toml" >"$TMP/run.log" 2>&1 &
RUN_PID=$!
PIDS+=("$RUN_PID")
# The daemon subscribes before it publishes its retained "online", so once "online" is seen the
# samples published next cannot be missed.
status=$(mosquitto_sub -h 127.0.0.1 -p "$PORT" -t "edge-lstm/$CLIENT_ID/status" -C 1 -W 30 || true)
[ "$status" = online ] || { cat "$TMP/run.log" >&2; fail "the daemon did not come online (status: '$status')"; }

# Alerts are not retained: the subscriber must be in place before the faults are published.
# -d prints the SUBACK, which is how we know it is (line-buffered: it is a file, not a terminal).
stdbuf -oL mosquitto_sub -d -h 127.0.0.1 -p "$PORT" -t 'edge-lstm/+/alert' -C 1 -W 60 >"$TMP/alert.out" 2>&1 &
SUB_PID=$!
PIDS+=("$SUB_PID")
for _ in $(seq 100); do grep -q SUBACK "$TMP/alert.out" && break; sleep 0.1; done
grep -q SUBACK "$TMP/alert.out" || fail "mosquitto_sub did not subscribe"

say "simulate (the synthetic pump with injected faults)"
"$EL" simulate --host 127.0.0.1 --port "$PORT" --rate 0 --count 3000 >"$TMP/simulate.log" 2>&1 ||
  { cat "$TMP/simulate.log" >&2; fail "edge-lstm simulate"; }
wait "$SUB_PID" || { cat "$TMP/run.log" >&2; fail "no alert on edge-lstm/+/alert within 60 s"; }
ALERT=$(grep -m 1 '^{' "$TMP/alert.out" || true)
"$VENV/bin/python" -c 'import json, sys; a = json.loads(sys.argv[1]); assert a["event"] == "alert_start", a' "$ALERT" ||
  fail "the first message on edge-lstm/+/alert is not an alert_start: $ALERT"
echo "alert: $ALERT"

# The daemon must also stop cleanly on SIGTERM (that is how systemd stops it).
kill -TERM "$RUN_PID"
wait "$RUN_PID" || { cat "$TMP/run.log" >&2; fail "edge-lstm run exited non-zero on SIGTERM"; }

# --- figures -------------------------------------------------------------------------------------
VENV_MB=$(du -sm "$VENV" | cut -f1)
head -n 101 "$CSV" >"$TMP/slice100.csv"
# Wall time as a user sees it: interpreter start, imports, model load and 100 samples.
# The median of three runs, after one unmeasured run that warms the page cache.
"$EL" replay "$TMP/slice100.csv" --model "$BUNDLE" >/dev/null 2>&1
times=()
for _ in 1 2 3; do
  t0=$(now)
  "$EL" replay "$TMP/slice100.csv" --model "$BUNDLE" >/dev/null 2>&1
  times+=("$(since "$t0")")
done
REPLAY_S=$(printf '%s\n' "${times[@]}" | sort -g | sed -n 2p)

mkdir -p "$(dirname "$RESULTS")"
"$VENV/bin/python" - "$RESULTS" <<EOF
import json, platform, sys
result = {
    "wheel": "$(basename "$WHEEL")",
    "wheel_bytes": $WHEEL_BYTES,
    "wheel_kb": round($WHEEL_BYTES / 1024, 1),
    "device_venv_mb": $VENV_MB,
    "device_venv_budget_mb": $BUDGET_MB,
    "install_s": round($INSTALL_S, 2),
    "replay_100_rows_wall_s": round($REPLAY_S, 3),
    "commands_checked": "${COMMANDS[*]}".split(),
    "python": platform.python_version(),
    "machine": platform.machine(),
}
with open(sys.argv[1], "w", encoding="utf-8") as handle:
    json.dump(result, handle, indent=2)
    handle.write("\n")
print(json.dumps(result, indent=2))
EOF
say "results: $RESULTS"

[ "$VENV_MB" -le "$BUDGET_MB" ] || fail "device venv is $VENV_MB MB, over the $BUDGET_MB MB budget"
say "wheel-check: OK (wheel $WHEEL_BYTES bytes, device venv $VENV_MB MB, 100-row replay ${REPLAY_S} s)"
