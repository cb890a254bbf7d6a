#!/usr/bin/env bash
# The front door. Each command sets up what it needs (a virtual environment in .venv) and runs:
#   ./dev.sh demo    train, quantize and stream a faulty sensor stream with visible alerts
#   ./dev.sh test    lint, type-check and run the test suite
#   ./dev.sh bench   per-sample runtime figures (needs the demo's bundle; makes it if absent)
#   ./dev.sh skab [DATA_DIR]   the SKAB benchmark, both protocols (default data: ../shared/data/skab)
#   ./dev.sh corpus [DIR...] [--train-option KEY=VALUE]  default settings (or a variant) on the generated corpus, river's change-point recordings and SKAB, beside peers
#   ./dev.sh install-check     the built wheel in a device venv, and on an emulated Raspberry Pi 4 and 5
set -euo pipefail
# shellcheck source=scripts/lib.sh
. "$(dirname "$0")/scripts/lib.sh"
cd "$(dirname "$0")"

VENV=${EDGE_LSTM_VENV:-.venv}
PYTHON=${PYTHON:-python3}



check_python() {
  command -v "$PYTHON" >/dev/null || { echo "edge-lstm needs Python 3.11 or newer ($PYTHON not found)" >&2; exit 1; }
  "$PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 11))' || {
    echo "edge-lstm needs Python 3.11 or newer; $PYTHON is $("$PYTHON" -V 2>&1)" >&2; exit 1; }
  # Debian ships venv separately (python3-venv); without it `python3 -m venv` cannot bootstrap pip.
  "$PYTHON" -c 'import ensurepip, venv' 2>/dev/null || apt_install python3-venv
}

venv() {  # venv EXTRAS: create .venv and install the package with those extras, once per change
  local extras=$1
  check_python
  [ -x "$VENV/bin/python" ] || { say "creating $VENV"; "$PYTHON" -m venv "$VENV"; }
  local stamp
  stamp="$VENV/.installed-$extras-$(sha256sum <pyproject.toml | cut -c1-12)"
  if [ ! -f "$stamp" ]; then
    say "installing edge-lstm[$extras] into $VENV (TensorFlow is large: the first time takes a few minutes)"
    # pip and the build backend talk a lot; keep it in a log and show it only when something fails.
    local log="$VENV/pip-install.log"
    if ! { "$VENV/bin/python" -m pip install -q --upgrade pip &&
           "$VENV/bin/python" -m pip install -q -e ".[$extras]"; } >"$log" 2>&1; then
      cat "$log" >&2; echo "installing edge-lstm[$extras] failed (log: $log)" >&2; exit 1
    fi
    touch "$stamp"
  fi
}

case "${1:-help}" in
  demo)
    shift
    venv train
    say "edge-lstm demo $*"
    "$VENV/bin/edge-lstm" demo "$@"
    ;;
  test)
    shift
    venv train,dev
    # The tests run a real broker, a real subscriber and real pty pairs (socat) for the serial source.
    command -v mosquitto >/dev/null || [ -x /usr/sbin/mosquitto ] || apt_install mosquitto mosquitto-clients
    command -v mosquitto_sub >/dev/null || apt_install mosquitto-clients
    command -v socat >/dev/null || apt_install socat
    command -v systemd-analyze >/dev/null || apt_install systemd  # `systemd-analyze verify` of the units
    say "ruff"
    "$VENV/bin/ruff" check edge_lstm edge_lstm_train tests
    say "mypy (edge_lstm)"
    "$VENV/bin/mypy"
    say "pytest"
    "$VENV/bin/python" -m pytest "$@"
    ;;
  bench)
    shift
    venv train
    [ -f demo-output/bundle/manifest.json ] || "$VENV/bin/edge-lstm" demo
    "$VENV/bin/edge-lstm" bench --model demo-output/bundle "$@"
    ;;
  skab)
    shift
    venv train
    data=${1:-../shared/data/skab}
    [ $# -gt 0 ] && shift
    "$VENV/bin/edge-lstm" evaluate --protocol skab "$data" \
      --json bench-results/skab.json --markdown bench-results/skab.md "$@"
    ;;
  corpus)
    shift
    venv train,dev  # the peers include river's Half-Space Trees (a dev dependency)
    # The generated corpus, the change-point recordings river ships (real, labelled, from PyPI) and
    # SKAB's 34 files when the data is beside the checkout, unless folders are named (every option here
    # takes a value: what follows an option is not a folder).
    folders=0 after_option=0
    for arg in "$@"; do
      if [ "$after_option" -eq 1 ]; then after_option=0; elif [ "${arg#-}" != "$arg" ]; then after_option=1; else folders=1; fi
    done
    if [ "$folders" -eq 0 ]; then
      "$VENV/bin/python" -m edge_lstm_train.registry bench-results/registry >/dev/null
      defaults=(bench-results/corpus bench-results/registry)
      [ -d ../shared/data/skab ] && defaults+=(../shared/data/skab)
      set -- "${defaults[@]}" "$@"
    fi
    "$VENV/bin/edge-lstm" evaluate --protocol corpus "$@" \
      --json bench-results/generalization.json --markdown bench-results/generalization.md
    ;;
  install-check)
    shift
    venv train
    # A real bundle and a labelled stream to run the installed package on: the demo's, trained briefly.
    work=$(mktemp -d "${TMPDIR:-/tmp}/edge-lstm-install-check.XXXXXX")
    trap 'rm -rf "$work"' EXIT
    say "training a small demo bundle for the checks"
    "$VENV/bin/edge-lstm" demo --out "$work/demo" --epochs 20 >"$work/demo.log" 2>&1 || {
      cat "$work/demo.log" >&2; exit 1; }
    scripts/wheel-check.sh "$work/demo/bundle" "$work/demo/test_with_faults.csv"
    scripts/pi-check.sh dist/edge_lstm-*.whl "$work/demo/bundle" "$work/demo/test_with_faults.csv"
    ;;
  *)
    sed -n '2,8p' "$0" | sed 's/^# \{0,1\}//'
    ;;
esac
