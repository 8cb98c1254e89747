#!/usr/bin/env bash
# The store's cost of a capped rollout's check-in (bench/rollout_start.c):
# for each fleet size, a fresh SQLite store with that many devices in the
# one wave of a running rollout, 100 of them started (the start rate of 100
# per minute used up), then 2000 check-ins of pending devices, each refused
# with "rate cap" after counting the minute's starts and the downloads in
# flight in one transaction; then a rollout plan's selection of every
# device (the engine makes one each tick), read page by page by OFFSET
# (the reference) and from where the last page ended, best of 3 each.
# Prints a markdown block for bench/RESULTS.md.
#
# Usage: bench/rollout.sh [WORK_DIR]   (default: a temporary directory, removed)
# Environment: BENCH_BUILD (build/bench), BENCH_SIZES ("1000 10000 100000"),
# BENCH_CHECKINS (2000).
set -euo pipefail
cd "$(dirname "$0")/.."
top=$PWD
build=${BENCH_BUILD:-build/bench}
sizes=${BENCH_SIZES:-"1000 10000 100000"}
checkins=${BENCH_CHECKINS:-2000}
cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Release -DNB_SANITIZE=OFF -DNB_FUZZ=OFF >/dev/null
cmake --build "$build" -j"$(nproc)" --target nobrick-bench-rollout >/dev/null
work=${1:-$(mktemp -d)}
[ -n "${1:-}" ] || trap 'rm -rf "$work"' EXIT
mkdir -p "$work"

echo "### $(date -u +%Y-%m-%d) — bench/rollout.sh"
echo
echo "- Machine: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $(nproc) CPUs, $(uname -sr)"
echo "- Build: \`cmake -DCMAKE_BUILD_TYPE=Release\` ($build), SQLite $(sqlite3 --version 2>/dev/null | cut -d' ' -f1 || echo '?')"
echo "- Method: per size a fresh store (WAL) on $(df -T "$work" | awk 'NR==2 {print $2}'); 100 devices started, then $checkins check-ins of pending devices through \`rollout_start\` under a full start rate"
echo
echo "| Devices in the rollout | Mean (µs) | p50 (µs) | p99 (µs) | Max (µs) |"
echo "|---|---|---|---|---|"
pages=()
for n in $sizes; do
    rm -f "$work"/r.db*
    out=$("$top/$build/nobrick-bench-rollout" --db "sqlite:$work/r.db" --devices "$n" --started 100 \
        --checkins "$checkins")
    read -r _ dev _ _ _ _ _ mean _ p50 _ p99 _ max <<<"$(sed -n 1p <<<"$out")"
    echo "| $dev | $mean | $p50 | $p99 | $max |"
    read -r _ dev _ off _ key _ ratio <<<"$(sed -n 2p <<<"$out")"
    pages+=("| $dev | $off | $key | $ratio |")
done
echo
echo "A plan's selection of every device, pages of 1000:"
echo
echo "| Devices | by OFFSET (ms) | from the last page's end (ms) | ratio |"
echo "|---|---|---|---|"
printf '%s\n' "${pages[@]}"
