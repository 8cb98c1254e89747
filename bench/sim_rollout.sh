#!/usr/bin/env bash
# The named fleet scenarios at full size: nobrick-sim runs
# sim/scenarios/bad-release.json and offline-tail.json (10,000 devices
# each by default) against a release build of nobrick-server on loopback,
# on the server's virtual clock (--clock-file), each with a fresh server
# and database. Prints a markdown block for bench/RESULTS.md: what each
# scenario ended with (the rollout's state and wave, devices reached,
# updated, rolled back, bricked), traffic, virtual time to 50/90/99 %
# updated, and the wall time and peak RSS of the simulator; for
# bad-release also the engine's automatic rollback (its state, devices
# taken back to the previous release, devices left on the bad one).
#
# Usage: bench/sim_rollout.sh [WORK_DIR]   (default: a temporary directory, removed)
# Environment: BENCH_BUILD (build/bench), BENCH_DEVICES (10000), BENCH_SCENARIOS
# ("bad-release offline-tail"),
# BENCH_POLL_BAD (3600) and BENCH_POLL_TAIL (14400): the poll interval the
# server gives the devices in each scenario (two weeks of 15-minute polls
# by 7,000 devices would be 9.4 million check-ins).
set -euo pipefail
cd "$(dirname "$0")/.."
top=$PWD
build=${BENCH_BUILD:-build/bench}
devices=${BENCH_DEVICES:-10000}
poll_bad=${BENCH_POLL_BAD:-3600}
poll_tail=${BENCH_POLL_TAIL:-14400}
scenarios=${BENCH_SCENARIOS:-bad-release offline-tail}

cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Release -DNB_SANITIZE=OFF -DNB_FUZZ=OFF >/dev/null
cmake --build "$build" -j"$(nproc)" --target nobrick-cli nobrick-server nobrick-sim >/dev/null
nb=$top/$build/nobrick
server=$top/$build/nobrick-server
sim=$top/$build/nobrick-sim

. "$top/bench/server_lib.sh"
bench_work "$@"

for k in r1:root rel:release dir:director; do "$nb" key new "${k#*:}" "${k%%:*}" >/dev/null; done
"$nb" root new --key r1.key --threshold 1 --release-key rel.pub --director-key dir.pub \
  --endpoint https://ota.example.com --expires-days 365 --out root.json >/dev/null
bundle() { # bundle OUT VERSION COUNTER SEED: 200,000 incompressible bytes
  head -c 200000 /dev/zero | openssl enc -aes-256-ctr -nosalt -pbkdf2 -pass "pass:$4" >"$1.img"
  "$nb" bundle create --image "$1.img" --version "$2" --security-counter "$3" \
    --hw-class thermo --key rel.key --frame-size 16384 --out "$1" >/dev/null
}
bundle factory.nbb 1.0.0 1 one
bundle previous.nbb 1.0.1 2 one # the factory image re-signed with the update's counter
bundle update.nbb 1.1.0 2 two

# run NAME POLL_S: a fresh server on a fresh clock file, the scenario at
# full size; summary in NAME.json, the simulator's time and RSS in NAME.time.
run() {
  local name=$1 poll=$2 port=
  rm -rf "db-$name" "data-$name" "clock-$name" && mkdir -p "data-$name"
  "$server" --db "sqlite:$work/db-$name.sqlite" --data "$work/data-$name" --listen 127.0.0.1:0 \
    --director-key dir.key --root root.json --clock-file "$work/clock-$name" \
    --poll-interval "$poll" --poll-jitter $((poll / 5)) --min-checkin-interval 0 \
    2>"server-$name.log" &
  server_pid=$!
  for _ in $(seq 1 100); do
    port=$(sed -nE 's/.*listening on [0-9.]+:([0-9]+).*/\1/p' "server-$name.log")
    [ -n "$port" ] && break
    sleep 0.1
  done
  [ -n "$port" ] || { cat "server-$name.log" >&2; echo "bench: server did not start" >&2; exit 1; }
  local adm
  adm=$("$server" token create --role admin --db "sqlite:$work/db-$name.sqlite" 2>/dev/null)
  jq --argjson n "$devices" --argjson p "$poll" \
    '.fleet.count = $n | .fleet.poll_interval_s = $p | .fleet.poll_jitter_s = ($p / 5 | floor)
     | .run.max_wall_s = 7200' "$top/sim/scenarios/$name.json" >"$name-scenario.json"
  /usr/bin/time -f '%e %M' -o "$name.time" "$sim" "$name-scenario.json" --server "http://127.0.0.1:$port" \
    --token "$adm" --clock-file "$work/clock-$name" --summary "$name.json" --quiet 2>"$name.log" || true
  stop_server
}

for name in $scenarios; do
  if [ "$name" = offline-tail ]; then run "$name" "$poll_tail"; else run "$name" "$poll_bad"; fi
done

cpu=$(sed -nE 's/^model name\s*: //p' /proc/cpuinfo | head -n1)
mem=$(awk '/MemTotal/ {printf "%.1f GiB", $2 / 1048576}' /proc/meminfo)
echo "### $(date +%Y-%m-%d) — bench/sim_rollout.sh"
echo
echo "- Machine: $cpu, $(nproc) CPUs, $mem, Linux $(uname -r)"
echo "- Build: \`cmake -DCMAKE_BUILD_TYPE=Release\` ($build); server and simulator on one machine"
echo "- Fleet: $devices devices per scenario, 256 KiB slots, a 200,000-byte update in 16 KiB frames;"
echo "  the server's poll interval $poll_bad s (bad-release) and $poll_tail s (offline-tail)"
echo
echo "| Scenario | Wall (s) | Sim peak RSS (MiB) | Virtual (days) | Rollout | Reached | Updated | Rolled back | Bricked | Requests | MB served | 50 / 90 / 99 % updated (virtual h) |"
echo "|---|---|---|---|---|---|---|---|---|---|---|---|"
for name in $scenarios; do
  read -r wall rss <"$name.time"
  jq -r --arg name "$name" --arg wall "$wall" --arg rss "$rss" '
    def h: if . == null then "-" else (. / 3600 * 10 | round / 10 | tostring) end;
    "| \($name) | \($wall) | \(($rss | tonumber) / 1024 | round) | \(.virtual_s / 86400 * 10 | round / 10)"
    + " | \(.rollout.state), wave \(.rollout.current_wave) | \(.reached) | \(.updated)"
    + " | \(.rolled_back) | \(.bricked) | \(.traffic.requests) | \(.traffic.bytes_served / 1e6 | round)"
    + " | \(.timing.time_to_50_s | h) / \(.timing.time_to_90_s | h) / \(.timing.time_to_99_s | h) |"' "$name.json"
done
echo
for name in $scenarios; do
  echo "- $name: $(jq -r '"rollout " + .rollout.state + ": " + .rollout.reason
    + "; stopped after " + ((.timing.rollout_stopped_s // 0) / 3600 | floor | tostring) + " virtual h"
    + "; offline devices " + (.online.offline | tostring) + ", unreached at the end " + (.unreached | tostring)
    + "; expectations " + (if .expectations_met then "met" else "NOT met" end)' "$name.json")"
  jq -r 'select(.rollback != null) | "- \(.rollout.name): automatic rollback \(.rollback.name)"
    + " to \(.rollback.release_version): \(.rollback.state) (\(.rollback.reason)), started after"
    + " \(.timing.rollback_started_s / 3600 * 10 | round / 10) and stopped after"
    + " \(.timing.rollback_stopped_s // 0 | . / 3600 * 10 | round / 10) virtual h;"
    + " devices per wave \([.rollback.waves[].targeted]), succeeded"
    + " \([.rollback.waves[].succeeded] | add); \(.reverted) of the \(.updated) that committed"
    + " \(.target_version) back on \(.rollback.release_version); versions at the end"
    + " \(.versions | to_entries | map("\(.key): \(.value)") | join(", "))"' "$name.json"
done
