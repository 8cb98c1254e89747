#!/usr/bin/env bash
# Bundle creation and verification throughput on a 256 MiB image of real
# content, against coreutils sha256sum of the same raw image in the same run.
# Prints a markdown block for bench/RESULTS.md. Needs GNU time (package
# "time"). Every command runs once untimed to warm the page cache, then 3
# timed runs: the median wall time and the largest peak RSS are reported.
#
# Usage: bench/bundle.sh [WORK_DIR]   (default: a temporary directory, removed)
# Environment: BENCH_BUILD (default build/bench), BENCH_IMAGE (use this file
# instead of generating one), BENCH_RUNS (default 3), BENCH_MIB (image size,
# default 256: smaller only to try the script).
set -euo pipefail
cd "$(dirname "$0")/.."
top=$PWD
build=${BENCH_BUILD:-build/bench}
runs=${BENCH_RUNS:-3}
mib_n=${BENCH_MIB:-256}
size=$((mib_n * 1024 * 1024))
[ -x /usr/bin/time ] || { echo "bench: GNU time is needed (apt-get install time)" >&2; exit 1; }

# The release build: no sanitizers, its own build directory.
cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Release -DNB_SANITIZE=OFF -DNB_FUZZ=OFF >/dev/null
cmake --build "$build" -j"$(nproc)" --target nobrick-cli >/dev/null
nb=$top/$build/nobrick

if [ $# -gt 0 ]; then
  work=$1
  mkdir -p "$work"
else
  work=$(mktemp -d)
  trap 'rm -rf "$work"' EXIT
fi
cd "$work"

# The image: real binaries and text, compressible like a root filesystem.
if [ -n "${BENCH_IMAGE:-}" ]; then
  content="$BENCH_IMAGE (given)"
  cp "$BENCH_IMAGE" image.bin
else
  content="the first $mib_n MiB of \`tar cf - /usr/lib /usr/share\` (binaries, libraries, text)"
  { tar cf - /usr/lib /usr/share 2>/dev/null || true; } | head -c "$size" > image.bin
fi
[ "$(stat -c %s image.bin)" -eq "$size" ] || { echo "bench: image is not $mib_n MiB" >&2; exit 1; }

rm -f ./*.key ./*.pub root.json
"$nb" key new release rel >/dev/null
"$nb" key new root root >/dev/null
"$nb" key new director dir >/dev/null
"$nb" key new device dev >/dev/null
"$nb" root new --key root.key --threshold 1 --release-key rel.pub --director-key dir.pub \
  --endpoint https://ota.example.com --expires-days 365 --out root.json >/dev/null

# setup NAME: sets CMD to the command measured and removes its output file,
# so GNU time measures the nobrick or sha256sum process itself.
setup() {
  local create=("$nb" bundle create --image image.bin --version 1.0.0 --security-counter 1
                --hw-class bench --key rel.key)
  case $1 in
    sha256sum) CMD=(sha256sum image.bin) ;;
    create) rm -f plain.nbb; CMD=("${create[@]}" --out plain.nbb) ;;
    verify) CMD=("$nb" bundle verify --root root.json plain.nbb) ;;
    create_enc) rm -f enc.nbb; CMD=("${create[@]}" --encrypt-to dev.pub --out enc.nbb) ;;
    verify_enc) CMD=("$nb" bundle verify --root root.json --device-key dev.key enc.nbb) ;;
    verify_stored) CMD=("$nb" bundle verify --root root.json enc.nbb) ;;
  esac
}

# measure NAME: one warm-up run, then $runs timed runs; sets WALL and RSS.
declare -A WALL RSS
measure() {
  local t=() r=() i w m
  setup "$1"
  "${CMD[@]}" >/dev/null
  for ((i = 0; i < runs; i++)); do
    setup "$1"
    /usr/bin/time -f '%e %M' -o time.out "${CMD[@]}" >/dev/null
    read -r w m < time.out
    t+=("$w"); r+=("$m")
  done
  WALL[$1]=$(printf '%s\n' "${t[@]}" | sort -g | sed -n "$(((runs + 1) / 2))p")
  RSS[$1]=$(printf '%s\n' "${r[@]}" | sort -g | tail -1)
}
# sha256sum runs first and last: the faster median is the reference, so
# drift in machine load during the run cannot flatter nobrick.
measure sha256sum
sha_first=${WALL[sha256sum]}; rss_first=${RSS[sha256sum]}
for c in create verify create_enc verify_enc verify_stored sha256sum; do measure "$c"; done
sha_last=${WALL[sha256sum]}
sha_wall=$(printf '%s\n%s\n' "$sha_first" "$sha_last" | sort -g | head -1)
WALL[sha256sum]=$sha_wall
RSS[sha256sum]=$(printf '%s\n%s\n' "$rss_first" "${RSS[sha256sum]}" | sort -g | tail -1)

mib() { awk -v s="$size" -v t="$1" 'BEGIN { printf "%.0f", (t > 0 ? s / 1048576 / t : 0) }'; }
ratio() { awk -v a="$1" -v b="$sha_wall" 'BEGIN { printf "%.2f", (b > 0 ? a / b : 0) }'; }
mibs() { awk -v b="$(stat -c %s "$1")" 'BEGIN { printf "%.1f", b / 1048576 }'; }
row() { # LABEL NAME
  printf '| %s | %s | %s | %.1f | %s |\n' "$1" "${WALL[$2]}" "$(mib "${WALL[$2]}")" \
    "$(awk -v k="${RSS[$2]}" 'BEGIN { print k / 1024 }')" "$(ratio "${WALL[$2]}")"
}
cpu=$(lscpu | sed -n 's/^Model name:[[:space:]]*//p' | head -1)
ram=$(awk '/MemTotal/ { printf "%.1f GiB", $2 / 1048576 }' /proc/meminfo)

cat <<EOF
### $(date -u +%Y-%m-%d) — bench/bundle.sh

- Machine: $cpu, $(nproc) CPUs, $ram RAM, Linux $(uname -r), $(openssl version | cut -d' ' -f1-2)
- Build: \`cmake -DCMAKE_BUILD_TYPE=Release\` ($build), $(cc --version | head -1)
- Image: $mib_n MiB, $content
- Bundles: default frame size (1 MiB), zstd level 9; plain $(mibs plain.nbb) MiB,
  encrypted $(mibs enc.nbb) MiB
- Method: each command run once to warm the page cache (every file is cached:
  this measures CPU, not the disk), then $runs timed runs with GNU time; median
  wall time, largest peak RSS. MiB/s is of the $mib_n MiB raw image for every row.
  sha256sum ran first and last ($sha_first s, $sha_last s); the faster is the reference.

| Command | Wall (s) | MiB/s | Peak RSS (MiB) | Time / sha256sum |
|---|---|---|---|---|
$(row '`sha256sum image.bin` (reference)' sha256sum)
$(row '`bundle create`' create)
$(row '`bundle verify`' verify)
$(row '`bundle create --encrypt-to`' create_enc)
$(row '`bundle verify --device-key` (encrypted)' verify_enc)
$(row '`bundle verify`, encrypted, no key (stored bytes only)' verify_stored)
EOF
