#!/usr/bin/env bash
# nobrick-sim at full size against the real server on 127.0.0.1 (SQLite).
#
#   bench/sim.sh power-and-chunks [COUNT]   sim/scenarios/power-and-chunks.json
#       (default 120000 devices): a ~1 MiB firmware in 1 KiB-level frames
#       over a lossy network, 3 % of the devices losing power during the
#       install. Prints wall and virtual time, peak RSS (nobrick-sim and
#       the server), bricked, the share updated, bytes served, frames
#       fetched again, the faults that happened.
#   bench/sim.sh load COUNT [WINDOW_S]      a load run in wall mode: COUNT
#       devices polling every 900 s (COUNT/900 check-ins a second), their
#       first check-ins spread over 900 s, measured for WINDOW_S seconds
#       (default 120): check-ins/s, p50/p99 latency, refused check-ins.
#
# Prints a markdown block for bench/RESULTS.md. Needs GNU time, jq, perl.
# Environment: BENCH_BUILD (default build/bench), BENCH_WORK (a directory
# kept after the run; default a temporary one, removed), BENCH_RUN (a JSON
# object merged into the scenario's "run", e.g. '{"inflight_step_ms": 0,
# "max_wall_s": 600}' for the clock that stands still while anything is in
# flight, stopped after 10 minutes).
set -euo pipefail
cd "$(dirname "$0")/.."
top=$PWD
build=${BENCH_BUILD:-build/bench}
mode=${1:?usage: bench/sim.sh power-and-chunks [COUNT] | load COUNT [WINDOW_S]}
for t in /usr/bin/time jq perl; do
  command -v "$t" >/dev/null || { echo "bench: $t is needed (scripts/setup)" >&2; exit 1; }
done
cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Release -DNB_SANITIZE=OFF -DNB_FUZZ=OFF >/dev/null
cmake --build "$build" -j"$(nproc)" --target nobrick-cli nobrick-server nobrick-sim >/dev/null
nobrick=$top/$build/nobrick
server=$top/$build/nobrick-server
sim=$top/$build/nobrick-sim
. sim/scenarios/chunks.sh

work=${BENCH_WORK:-$(mktemp -d)}
mkdir -p "$work"
server_pid=
cleanup() {
  [ -z "$server_pid" ] || kill "$server_pid" 2>/dev/null || true
  [ -n "${BENCH_WORK:-}" ] || rm -rf "$work"
}
trap cleanup EXIT
cd "$work"

for k in r1:root rel:release dir:director; do "$nobrick" key new "${k#*:}" "${k%%:*}" >/dev/null; done
"$nobrick" root new --key r1.key --threshold 1 --release-key rel.pub --director-key dir.pub \
  --endpoint https://ota.example.com --expires-days 365 --out root.json >/dev/null
chunk_image factory.img 1048576 factory
chunk_image update.img 1048576 update
chunk_bundle factory.nbb factory.img 1.0.0 1 rel.key
chunk_bundle update.nbb update.img 1.1.0 2 rel.key

if [ "$mode" = power-and-chunks ]; then
  jq --argjson n "${2:-120000}" --argjson run "${BENCH_RUN:-{\}}" \
    '.fleet.count = $n | .run += $run' \
    "$top/sim/scenarios/power-and-chunks.json" >scenario.json
  # Virtual time: a device's check-ins are seconds of real time apart, so
  # the server's minimum check-in interval would refuse most of them.
  server_opts=(--min-checkin-interval 0)
elif [ "$mode" = load ]; then
  count=${2:?bench/sim.sh load COUNT}
  jq -n --argjson n "$count" --argjson w "${3:-120}" '{
    seed: 5, root: "root.json", factory: "factory.nbb",
    fleet: {count: $n, group: "load", hw_classes: [{name: "thermo"}], slot_size: 1048576,
            meta_size: 32768, poll_interval_s: 900, poll_jitter_s: 0},
    releases: [{bundle: "update.nbb"}], plan: {deploy: -1},
    run: {mode: "wall", ramp_s: 900, max_wall_s: $w, connections: 256}}' >scenario.json
  # Production settings: the default minimum interval (10 s) and in-flight cap.
  server_opts=(--poll-interval 900 --poll-jitter 0)
else
  echo "bench/sim.sh: unknown mode '$mode'" >&2
  exit 2
fi

rm -rf srv && mkdir srv
"$server" --db sqlite:srv/db --data srv/data --listen 127.0.0.1:0 --threads 2 \
  --director-key dir.key --root root.json "${server_opts[@]}" 2>srv/log &
server_pid=$!
port=
for _ in $(seq 1 100); do
  port=$(sed -nE 's/.*listening on [0-9.]+:([0-9]+).*/\1/p' srv/log)
  [ -n "$port" ] && break
  sleep 0.1
done
[ -n "$port" ] || { cat srv/log >&2; exit 1; }
adm=$("$server" token create --role admin --db sqlite:srv/db 2>/dev/null)
rc=0
/usr/bin/time -v -o time.txt "$sim" scenario.json --server "http://127.0.0.1:$port" \
  --token "$adm" --summary summary.json 2>sim.log || rc=$?
srv_rss=$(awk '/VmHWM/ {printf "%.1f", $2 / 1024}' "/proc/$server_pid/status")
sim_rss=$(awk '/Maximum resident/ {printf "%.1f", $6 / 1024}' time.txt)
[ -s summary.json ] || { tail -n 20 sim.log >&2; exit 1; }

echo "### $(date -u +%Y-%m-%d) — bench/sim.sh $*"
echo
echo "- Machine: $(sed -nE 's/^model name\s*: //p' /proc/cpuinfo | head -1), $(nproc) CPUs," \
  "$(awk '/MemTotal/ {printf "%.1f GiB", $2 / 1048576}' /proc/meminfo) RAM, Linux $(uname -r)"
echo "- Build: \`cmake -DCMAKE_BUILD_TYPE=Release\` ($build); server --threads 2 ${server_opts[*]}, SQLite"
echo "- nobrick-sim exit status $rc; peak RSS nobrick-sim $sim_rss MiB, nobrick-server $srv_rss MiB"
echo
jq -r '
  def pct(a; b): if b > 0 then (a * 10000 / b | floor) / 100 else 0 end;
  "| Figure | Value |", "|---|---|",
  "| devices | \(.devices) |",
  "| wall time (s) | \(.wall_s) |",
  "| virtual time (s) | \(.virtual_s) |",
  "| bricked | \(.bricked) |",
  "| time to 50 / 90 / 99 % updated (virtual s) | \(.timing.time_to_50_s) / \(.timing.time_to_90_s) / \(.timing.time_to_99_s) |",
  "| updated | \(.updated) (\(pct(.updated; .devices)) %) |",
  "| versions | \(.versions | to_entries | map("\(.key): \(.value)") | join(", ")) |",
  "| requests | \(.traffic.requests) (\(.traffic.requests / .wall_s | floor) a second) |",
  "| bytes served | \(.traffic.bytes_served) |",
  "| frames written / frame requests / asked again | \(.traffic.frames) / \(.traffic.frame_requests) / \(.traffic.frame_refetches) |",
  "| answers cut mid-body / frames corrupted / answers dropped | \(.faults.answers_truncated) / \(.faults.frames_corrupted) / \(.faults.responses_dropped) |",
  "| power cuts armed / hit | \(.faults.power_cuts_armed) / \(.faults.power_cuts) |",
  "| check-ins answered / refused / failed | \(.checkins.ok) / \(.checkins.refused) / \(.checkins.failed) |",
  "| check-ins per second | \(.checkins.per_s * 10 | floor / 10) |",
  "| check-in latency p50 / p99 / max (ms) | \(.latency.p50_ms) / \(.latency.p99_ms) / \(.latency.max_ms) |",
  "| flash per device (bytes) / shared store (MiB) | \(.memory.flash_bytes_per_device) / \(.memory.flash_shared_bytes / 1048576 * 10 | floor / 10) |",
  "| peak RSS (MiB) / curl easy handles at most | \(.memory.peak_rss_bytes / 1048576 | floor) / \(.memory.curl_handles_peak) |"
' summary.json
