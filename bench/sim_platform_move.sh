#!/usr/bin/env bash
# nobrick-sim's platform-move at full size (sim/scenarios/platform-move.json,
# docs/simulator.md "Moving the fleet"): 10,000 devices on server A walk a
# root rotation to B, 20 % of them offline until A's address is taken by a
# stranger that deploys its own release; then B's release is deployed.
# The same steps as tests/integration/test_sim_platform_move.sh, at the
# scenario's own size. Reports the simulator's wall time and peak RSS
# (GNU time), how many devices moved, updated and installed the stranger's
# release; prints a markdown block for bench/RESULTS.md. Needs GNU time, jq.
#
# Usage: bench/sim_platform_move.sh [WORK_DIR]   (default: a temporary directory, removed)
# Environment: BENCH_BUILD (default build/bench), BENCH_DEVICES (default: the scenario's).
set -euo pipefail
cd "$(dirname "$0")/.."
top=$PWD
build=${BENCH_BUILD:-build/bench}
for t in /usr/bin/time jq; do
  command -v "$t" >/dev/null || { echo "bench: $t is needed (scripts/setup)" >&2; exit 1; }
done
cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Release -DNB_SANITIZE=OFF -DNB_FUZZ=OFF >/dev/null
cmake --build "$build" -j"$(nproc)" --target nobrick-cli nobrick-server nobrick-sim >/dev/null
nb=$top/$build/nobrick
server=$top/$build/nobrick-server
sim=$top/$build/nobrick-sim

keep=
if [ $# -gt 0 ]; then work=$1 keep=1; mkdir -p "$work"; else work=$(mktemp -d); fi
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  [ -s "$work/stranger.pid" ] && kill "$(cat "$work/stranger.pid")" 2>/dev/null || true
  [ -n "$keep" ] || rm -rf "$work"
}
trap cleanup EXIT
cd "$work"

free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
PA=$(free_port)
PB=$(free_port)
UA="http://127.0.0.1:$PA"
UB="http://127.0.0.1:$PB"
. "$top/tests/integration/move_lib.sh"
move_fixture "$nb" "$UA" "$UB"

start() { # NAME PORT ROOT DIRECTOR_KEY: the server started, its pid in NAME.pid
  mkdir -p "$1"
  "$server" --db "sqlite:$work/$1/server.db" --data "$work/$1/data" --listen "127.0.0.1:$2" \
    --director-key "$4" --root "$3" --min-checkin-interval 0 --poll-interval 600 \
    --poll-jitter 120 --rollout-tick 1 2>"$work/$1.log" &
  echo $! >"$1.pid"
  for _ in $(seq 1 100); do grep -q "listening on" "$work/$1.log" 2>/dev/null && return; sleep 0.1; done
  cat "$work/$1.log" >&2
  exit 1
}
token_of() { mkdir -p "$1"; "$server" token create --role admin --db "sqlite:$work/$1/server.db" 2>/dev/null; }
start a "$PA" root-v1.json dir1.key
start b "$PB" root-v2.json dir2.key
pids+=("$(cat a.pid)" "$(cat b.pid)")
ta=$(token_of a)
tb=$(token_of b)
ts=$(token_of s)
move_switch "$server" "$(cat a.pid)" "$PA" "$work"
move_scenario "$UA" "$ta" "$UB" "$tb" "$ts"
if [ -n "${BENCH_DEVICES:-}" ]; then
  jq ".fleet.count = $BENCH_DEVICES" scenario.json >s.json && mv s.json scenario.json
fi

rc=0
/usr/bin/time -v -o time.txt "$sim" scenario.json --summary summary.json --quiet 2>sim.log || rc=$?
[ -s summary.json ] || { tail -n 20 sim.log >&2; exit 1; }
rss_kb=$(sed -nE 's/.*Maximum resident set size \(kbytes\): ([0-9]+)/\1/p' time.txt)
wall=$(jq .wall_s summary.json)
cpu=$(awk -F': ' '/User time/ {u=$2} /System time/ {s=$2} END {printf "%.1f", u + s}' time.txt)
echo "exit $rc; $(grep -c '^sim: move' sim.log) move phases logged" >&2
cat <<MD
### $(date -u +%F) — bench/sim_platform_move.sh

- Machine: $(sed -nE 's/^model name\s*: //p' /proc/cpuinfo | head -n 1), $(nproc) CPUs, Linux $(uname -r)
- Build: \`cmake -DCMAKE_BUILD_TYPE=Release\` ($build); servers on SQLite, same machine
- Scenario: sim/scenarios/platform-move.json ($(jq .fleet.count scenario.json) devices, $(jq .move.offline_devices summary.json) offline, seed $(jq .seed scenario.json)); nobrick-sim exit $rc

| Devices | Wall (s) | CPU (s) | Peak RSS (MiB) | Moved (root v$(jq .move.final_root_version summary.json), on B) | Updated on B | Stranger installs | Bricked | Walk power cuts | Requests |
|---|---|---|---|---|---|---|---|---|---|
| $(jq .devices summary.json) | $wall | $cpu | $(awk "BEGIN {printf \"%.1f\", $rss_kb / 1024}") | $(jq .move.moved summary.json) | $(jq .updated summary.json) | $(jq .stranger_installs summary.json) | $(jq .bricked summary.json) | $(jq .faults.power_cuts summary.json) | $(jq .traffic.requests summary.json) |
MD
