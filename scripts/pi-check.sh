#!/usr/bin/env bash
# pi-check.sh WHEEL BUNDLE CSV
#
# The 64-bit Raspberry Pi check, emulated on an x86 machine: an arm64 Debian bookworm userland
# under qemu-user, where the guest's own pip installs WHEEL and its runtime dependencies from PyPI.
# `edge-lstm replay --variant int8` and `--variant float` run under QEMU_CPU=cortex-a72 (Pi 4)
# and cortex-a76 (Pi 5) and on this host; the per-sample scores must agree: int8 bit for bit,
# float within 1e-5, the alert state identical everywhere. Prints a table; exits 1 if any differ.
#
# Environment: EDGE_LSTM_PI_CACHE (default /var/cache/edge-lstm/pi-rootfs-bookworm) holds the
# userland, the guest's pip cache and install; EDGE_LSTM_DEBIAN_MIRROR (default deb.debian.org);
# EDGE_LSTM_PI_ROWS (default 0: all rows) replays only the first N rows everywhere; PYTHON.
set -euo pipefail
# shellcheck source=scripts/lib.sh
. "$(dirname "$0")/lib.sh"

usage() { sed -n '2,12p' "$0" | sed 's/^# \{0,1\}//'; exit 2; }
[ $# -eq 3 ] || usage
WHEEL=$(realpath -e "$1")
BUNDLE=$(realpath -e "$2")
CSV=$(realpath -e "$3")
[ -f "$BUNDLE/manifest.json" ] || { echo "not a model bundle (no manifest.json): $BUNDLE" >&2; exit 2; }
case "$WHEEL" in *.whl) ;; *) echo "not a wheel: $WHEEL" >&2; exit 2 ;; esac

CACHE=${EDGE_LSTM_PI_CACHE:-/var/cache/edge-lstm/pi-rootfs-bookworm}
MIRROR=${EDGE_LSTM_DEBIAN_MIRROR:-http://deb.debian.org/debian}
ROWS=${EDGE_LSTM_PI_ROWS:-0}
PYTHON=${PYTHON:-python3}
CPUS=(cortex-a72 cortex-a76)
VARIANTS=(int8 float)
FLOAT_TOL=1e-5
# Changing what goes into the userland changes this, which invalidates an older cache.
RECIPE="bookworm arm64 minbase +python3 +python3-pip; usr-merged extraction v1"

fail() { echo "pi-check: FAIL: $*" >&2; exit 1; }
since() { awk -v t0="$1" -v t1="$(now)" 'BEGIN { printf "%.1f", t1 - t0 }'; }
START=$(now)


TMP=$(mktemp -d "${TMPDIR:-/tmp}/pi-check.XXXXXX")
trap 'rm -rf "$TMP"' EXIT

apt_install qemu-user-static debootstrap
QEMU=$(command -v qemu-aarch64-static || echo /usr/bin/qemu-aarch64-static)

# One run at a time per cache: two runs rebuilding the same userland would wreck it.
mkdir -p "$CACHE"
exec 9>"$CACHE/.lock"
flock 9

ROOTFS=$CACHE/rootfs
STAMP=$CACHE/rootfs.complete
GUEST_PYTHONPATH=  # set once the wheel is installed in the guest

# How the guest runs: no binfmt, no chroot. qemu-user resolves each absolute path against
# QEMU_LD_PREFIX first and falls back to the host's file system, but not for every system call
# (an access() check on a path that only exists in the userland fails). So everything this
# script hands the guest is named by its host path, which resolves the same way for every call;
# the guest's own files (its python, its libraries, /proc/cpuinfo) come from the userland.
# QEMU_CPU is pinned: qemu's default `max` CPU gives wrong int8 results.
guest() {  # guest CPU CMD...: run an arm64 program from the userland
  local cpu=$1; shift
  write_cpuinfo "$cpu"
  env -i PATH=/usr/bin:/bin HOME=/root LANG=C.UTF-8 \
    QEMU_LD_PREFIX="$ROOTFS" QEMU_CPU="$cpu" \
    PYTHONDONTWRITEBYTECODE=1 \
    PIP_CONFIG_FILE=/dev/null PIP_CERT=/etc/ssl/certs/ca-certificates.crt PIP_DEFAULT_TIMEOUT=180 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_ROOT_USER_ACTION=ignore PIP_CACHE_DIR="$CACHE/pip-cache" \
    ${GUEST_PYTHONPATH:+PYTHONPATH="$GUEST_PYTHONPATH"} \
    "$QEMU" "$ROOTFS/usr/bin/python3" "$@"
}

# LiteRT's Interpreter() segfaults under qemu unless the guest sees an ARM /proc/cpuinfo; the
# guest reads this file in place of the host's x86 one. It names the emulated core, as a Pi would.
write_cpuinfo() {  # write_cpuinfo CPU
  local part features cpu=$1
  case "$cpu" in
    cortex-a72) part=0xd08; features="fp asimd evtstrm crc32 cpuid" ;;
    cortex-a76) part=0xd0b; features="fp asimd evtstrm aes pmull sha1 sha2 crc32 atomics fphp asimdhp cpuid asimdrdm lrcpc dcpop asimddp" ;;
    *) fail "no /proc/cpuinfo template for $cpu" ;;
  esac
  {
    for n in 0 1 2 3; do
      printf 'processor\t: %d\nBogoMIPS\t: 108.00\nFeatures\t: %s\n' "$n" "$features"
      printf 'CPU implementer\t: 0x41\nCPU architecture: 8\nCPU variant\t: 0x0\nCPU part\t: %s\nCPU revision\t: 1\n\n' "$part"
    done
  } >"$ROOTFS/proc/cpuinfo"
}

build_rootfs() {
  local partial=$CACHE/rootfs.partial pkg deb pkgs
  rm -rf "$partial" "$ROOTFS" "$STAMP"
  say "building the arm64 bookworm userland in $ROOTFS (once; about a minute)"
  # --foreign: only download and unpack, nothing runs in the target (no binfmt needed).
  # --include pulls python3 and pip with their dependencies into the download set.
  if ! debootstrap --foreign --arch=arm64 --variant=minbase --include=python3,python3-pip \
      bookworm "$partial" "$MIRROR" >"$TMP/debootstrap.log" 2>&1; then
    cat "$TMP/debootstrap.log" >&2; fail "debootstrap"
  fi
  # The first stage unpacks only the required set; unpack the rest (python, pip) here.
  # Not `dpkg-deb -x`: its tar replaces the merged-/usr symlinks (lib -> usr/lib) with real
  # directories, after which the loader and libc are no longer where the binaries look for them.
  mapfile -t pkgs < <(tr -s ' ' '\n' <"$partial/debootstrap/base" | grep -v '^$')
  for pkg in "${pkgs[@]}"; do
    deb=$(awk -v p="$pkg" '$1 == p { print $2 }' "$partial/debootstrap/debpaths")
    [ -n "$deb" ] || fail "debootstrap did not download $pkg"
    dpkg-deb --fsys-tarfile "$partial$deb" | tar -x --keep-directory-symlink -C "$partial"
  done
  # debootstrap may leave proc as a symlink to the host's /proc; the guest needs its own cpuinfo.
  if [ -L "$partial/proc" ] || [ ! -d "$partial/proc" ]; then rm -f "$partial/proc"; mkdir "$partial/proc"; fi
  rm -rf "$partial/var/cache/apt/archives/"*.deb
  mv "$partial" "$ROOTFS"
  # Written last: a userland without it is unfinished and gets rebuilt.
  echo "$RECIPE" >"$STAMP"
}

rootfs_ok() {
  [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$RECIPE" ] && [ -x "$ROOTFS/usr/bin/python3" ] &&
    [ -d "$ROOTFS/proc" ] && [ ! -L "$ROOTFS/proc" ] &&
    guest cortex-a72 -c 'import pip, ssl, platform; assert platform.machine() == "aarch64"' >/dev/null 2>&1
}

# --- the userland --------------------------------------------------------------------------------
t0=$(now)
if rootfs_ok; then
  say "reusing the userland in $ROOTFS"
else
  build_rootfs
  rootfs_ok || fail "the freshly built userland does not run python3 under qemu"
fi
ROOTFS_S=$(since "$t0")
# HTTPS to PyPI goes through an intercepting proxy here: the guest needs the host's CA bundle.
mkdir -p "$ROOTFS/etc/ssl/certs"
cp /etc/ssl/certs/ca-certificates.crt "$ROOTFS/etc/ssl/certs/ca-certificates.crt"

# --- the guest's install of the wheel ------------------------------------------------------------
# Keyed on the wheel's RECORD (the hash of every file in it), not on the wheel's own bytes, which
# change with build timestamps: the same code is installed once.
KEY=$("$PYTHON" - "$WHEEL" <<'EOF'
import hashlib, sys, zipfile
with zipfile.ZipFile(sys.argv[1]) as wheel:
    record = next(n for n in wheel.namelist() if n.endswith(".dist-info/RECORD"))
    print(hashlib.sha256(wheel.read(record)).hexdigest()[:16])
EOF
)
SITE=$ROOTFS/opt/edge-lstm-$KEY
t0=$(now)
if [ -f "$SITE/.complete" ]; then
  say "reusing the guest's install of $(basename "$WHEEL") ($SITE)"
else
  say "guest pip: installing $(basename "$WHEEL") and its dependencies for aarch64"
  rm -rf "$ROOTFS"/opt/edge-lstm-*  # older installs are not needed again
  mkdir -p "$ROOTFS/opt"
  if ! guest cortex-a72 -m pip install --target "$SITE" "$WHEEL" >"$TMP/pip.log" 2>&1; then
    cat "$TMP/pip.log" >&2; fail "the guest's pip could not install the wheel"
  fi
  touch "$SITE/.complete"
fi
INSTALL_S=$(since "$t0")
GUEST_PYTHONPATH=$SITE

# --- inputs --------------------------------------------------------------------------------------
# A copy inside the userland, so the guest reads exactly what the host reads.
WORK=$ROOTFS/work
rm -rf "$WORK"
mkdir -p "$WORK"
cp -r "$BUNDLE" "$WORK/bundle"
if [ "$ROWS" -gt 0 ]; then head -n "$((ROWS + 1))" "$CSV" >"$WORK/stream.csv"; else cp "$CSV" "$WORK/stream.csv"; fi
ROWS_USED=$(( $(wc -l <"$WORK/stream.csv") - 1 ))

# --- the host's install of the same wheel --------------------------------------------------------
say "host: installing $(basename "$WHEEL") into a fresh venv"
"$PYTHON" -m venv "$TMP/host-venv"
if ! env PIP_ROOT_USER_ACTION=ignore "$TMP/host-venv/bin/python" -m pip install "$WHEEL" >"$TMP/host-pip.log" 2>&1; then
  cat "$TMP/host-pip.log" >&2; fail "host install of the wheel"
fi

# --- replays -------------------------------------------------------------------------------------
OUT=$TMP/scores
mkdir -p "$OUT"
TIMES=()
replay() {  # replay WHERE VARIANT: WHERE is host or a QEMU CPU name
  local where=$1 variant=$2 t
  t=$(now)
  if [ "$where" = host ]; then
    "$TMP/host-venv/bin/edge-lstm" replay "$WORK/stream.csv" --model "$WORK/bundle" --variant "$variant" \
      --scores "$OUT/$where-$variant.csv" >"$OUT/$where-$variant.log" 2>&1
  else
    # The console script's shebang names the host path of the guest python; run it through python.
    guest "$where" "$SITE/bin/edge-lstm" replay "$WORK/stream.csv" --model "$WORK/bundle" --variant "$variant" \
      --scores "$OUT/$where-$variant.csv" >"$OUT/$where-$variant.log" 2>&1
  fi || { cat "$OUT/$where-$variant.log" >&2; fail "replay on $where ($variant)"; }
  TIMES+=("$where/$variant $(since "$t") s")
}

say "guest: $(guest cortex-a72 -c 'import platform, sys; print(platform.machine(), "python", sys.version.split()[0])')"
say "replaying $ROWS_USED rows: host, ${CPUS[*]} x ${VARIANTS[*]}"
for variant in "${VARIANTS[@]}"; do
  replay host "$variant"
  for cpu in "${CPUS[@]}"; do replay "$cpu" "$variant"; done
done

# --- comparison ----------------------------------------------------------------------------------
set +e
"$PYTHON" - "$OUT" "$FLOAT_TOL" "${CPUS[@]}" <<'EOF'
import csv, math, sys

out, float_tol, cpus = sys.argv[1], float(sys.argv[2]), sys.argv[3:]

def load(name):
    with open(f"{out}/{name}.csv", newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))

ok = True
print(f"{'cpu':<12} {'variant':<8} {'rows':>6} {'scored':>7} {'max |d score|':>14} {'scores differ':>14} {'alerting differ':>16}  result")
for variant in ("int8", "float"):
    host = load(f"host-{variant}")
    for cpu in cpus:
        guest = load(f"{cpu}-{variant}")
        problems = []
        if len(guest) != len(host) or [r["sample"] for r in guest] != [r["sample"] for r in host]:
            problems.append("different samples")
        pairs = list(zip(host, guest))
        warmup = sum((h["score"] == "") != (g["score"] == "") for h, g in pairs)
        if warmup:
            problems.append(f"{warmup} warm-up rows differ")
        scored = [(float(h["score"]), float(g["score"])) for h, g in pairs if h["score"] and g["score"]]
        if not scored:
            problems.append("nothing scored")
        max_diff = max((abs(a - b) for a, b in scored), default=math.nan)
        differ = sum(a != b for a, b in scored)
        alert_diff = sum(h["alerting"] != g["alerting"] for h, g in pairs)
        if alert_diff:
            problems.append("alert state differs")
        if variant == "int8" and differ:
            problems.append("int8 not bit-exact")
        if variant == "float" and not max_diff <= float_tol:
            problems.append(f"float beyond {float_tol:g}")
        ok &= not problems
        print(f"{cpu:<12} {variant:<8} {len(guest):>6} {len(scored):>7} {max_diff:>14.3g} {differ:>14} {alert_diff:>16}  "
              + ("ok" if not problems else "FAIL: " + "; ".join(problems)))
sys.exit(0 if ok else 1)
EOF
compare_rc=$?
set -e

printf '\ntimes: userland %s s, guest install %s s; ' "$ROOTFS_S" "$INSTALL_S"
printf '%s; ' "${TIMES[@]}"
printf '\ntotal %s s\n' "$(since "$START")"
[ "$compare_rc" -eq 0 ] || fail "the emulated Pi and the host disagree (table above)"
say "pi-check: OK"
