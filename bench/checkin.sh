#!/usr/bin/env bash
# Check-in throughput and latency of nobrick-server with 100,000 registered,
# active devices, driven by wrk on loopback (the load generator on the same
# machine). Two cases: (a) "nothing to do" check-ins; (b) check-ins of
# devices with a pending deployment, each answered with a freshly
# director-signed instruction. Every request is a different device (wrk
# walks a file of real device tokens, bench/checkin.lua). Prints a markdown
# block for bench/RESULTS.md. Installs wrk (Debian package) when missing.
#
# The store is seeded by nobrick-bench-seed (bench/seed_devices.c) through
# the server's store interface: each device has its own Ed25519 key (id =
# keyid), an active row, and a token made by the server's
# auth_create_device_token. The release is a real bundle uploaded through
# the management API; deployments are created through it too (group
# deployments of 1000 devices).
#
# Usage: bench/checkin.sh [WORK_DIR]   (default: a temporary directory, removed)
# Environment: BENCH_BUILD (build/bench), BENCH_DEVICES (100000), BENCH_PENDING
# (10000, devices with a deployment), BENCH_RUNS (3), BENCH_SECONDS (10),
# BENCH_SETTINGS ("2:1:64 ..." = server threads:wrk threads:connections; the
# first is the headline setting).
set -euo pipefail
cd "$(dirname "$0")/.."
top=$PWD
build=${BENCH_BUILD:-build/bench}
devices=${BENCH_DEVICES:-100000}
pending=${BENCH_PENDING:-10000}
runs=${BENCH_RUNS:-3}
secs=${BENCH_SECONDS:-10}
settings=${BENCH_SETTINGS:-"2:1:64 2:1:32 2:1:128 4:1:64"}
group=1000

if ! command -v wrk >/dev/null; then
  echo "bench: installing wrk" >&2
  DEBIAN_FRONTEND=noninteractive apt-get install -y wrk >/dev/null
fi
cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Release -DNB_SANITIZE=OFF -DNB_FUZZ=OFF >/dev/null
cmake --build "$build" -j"$(nproc)" --target nobrick-cli nobrick-server nobrick-bench-seed >/dev/null
nb=$top/$build/nobrick
server=$top/$build/nobrick-server
seeder=$top/$build/nobrick-bench-seed
lua=$top/bench/checkin.lua

. "$top/bench/server_lib.sh"
bench_work "$@"

# --- the fleet: keys, root, a bundle, 100,000 devices with tokens -----------------
rm -rf keys data server.db* ./*.txt root.json fw.nbb && mkdir keys
for k in root:root rel:release dir:director; do
  "$nb" key new "${k#*:}" "keys/${k%%:*}" >/dev/null
done
"$nb" root new --key keys/root.key --threshold 1 --release-key keys/rel.pub \
  --director-key keys/dir.pub --endpoint https://ota.example.com --expires-days 365 \
  --out root.json >/dev/null
head -c 300000 /dev/urandom >fw.img
"$nb" bundle create --image fw.img --version 2.0.0 --security-counter 2 --hw-class bench \
  --key keys/rel.key --out fw.nbb >/dev/null
seed_start=$(date +%s.%N)
"$seeder" --db "sqlite:$work/server.db" --devices "$devices" --tokens idle.txt \
  --grouped "$pending" --group-size "$group" --group-tokens pending.txt
seed_s=$(awk -v a="$seed_start" -v b="$(date +%s.%N)" 'BEGIN { printf "%.0f", b - a }')

# start_server THREADS: the server on a free port; sets base and server_pid.
start_server() {
  "$server" --db "sqlite:$work/server.db" --data "$work/data" --listen 127.0.0.1:0 \
    --director-key keys/dir.key --root root.json --threads "$1" --min-checkin-interval 0 \
    2>server.log &
  server_pid=$!
  local port=
  for _ in $(seq 1 100); do
    port=$(sed -nE 's/.*listening on [0-9.]+:([0-9]+).*/\1/p' server.log 2>/dev/null || true)
    [ -n "$port" ] && break
    sleep 0.1
  done
  [ -n "$port" ] || { cat server.log >&2; echo "bench: server did not start" >&2; exit 1; }
  base="http://127.0.0.1:$port"
}

start_server 2
adm=$("$server" token create --role admin --db "sqlite:$work/server.db" 2>/dev/null)
A=(-H "Authorization: Bearer $adm")
rel=$(curl -sS -f "${A[@]}" --data-binary @fw.nbb "$base/api/v1/releases" | jq -r .id)
for ((g = 0; g < pending / group; g++)); do
  curl -sS -f "${A[@]}" -d "{\"release_id\":$rel,\"group\":\"bench-$g\"}" \
    "$base/api/v1/deployments" >/dev/null
done
# One check-in of each kind, checked by hand.
ci() {
  curl -sS -H "Authorization: Bearer $1" -d '{"installed_version":"1.0.0","security_counter":1,
    "nonce":"00112233445566778899aabbccddeeff"}' "$base/api/v1/device/checkin" | jq -r .action
}
[ "$(ci "$(head -1 idle.txt)")" = none ] || { echo "bench: idle check-in is not 'none'" >&2; exit 1; }
[ "$(ci "$(head -1 pending.txt)")" = install ] || { echo "bench: no instruction" >&2; exit 1; }
stop_server

# run_wrk WRK_THREADS CONNS TOKENS: one timed run; sets RPS P50 P99 NON2XX ERRS ANS.
to_ms() { awk '{ v = $1 + 0; u = $1; sub(/^[0-9.]+/, "", u);
  if (u == "us") v /= 1000; else if (u == "s") v *= 1000; else if (u == "m") v *= 60000;
  printf "%.2f", v }' <<<"$1"; }
run_wrk() {
  wrk -t"$1" -c"$2" -d"${secs}s" --latency -s "$lua" "$base" -- "$3" >wrk.out 2>&1
  RPS=$(awk '/^Requests\/sec:/ { printf "%.0f", $2 }' wrk.out)
  P50=$(to_ms "$(awk '$1 == "50%" { print $2 }' wrk.out)")
  P99=$(to_ms "$(awk '$1 == "99%" { print $2 }' wrk.out)")
  NON2XX=$(awk -F': ' '/Non-2xx/ { print $2 }' wrk.out)
  NON2XX=${NON2XX:-0}
  ERRS=$(sed -n 's/.*Socket errors: //p' wrk.out)
  ERRS=${ERRS:-none}
  ANS=$(sed -n 's/^answers: //p' wrk.out)
}

# warm_up TOKENS: every device of the file checks in once (then every idle
# device has a last_seen, every deployment is notified: the steady state).
warm_up() {
  local n total=0 got
  n=$(wc -l <"$1")
  while [ "$total" -lt "$n" ]; do
    wrk -t1 -c64 -d2s -s "$lua" "$base" -- "$1" 1.0.0 "$total" >warm.out 2>&1
    got=$(sed -nE 's/^answers: none ([0-9]+), install ([0-9]+).*/\1 \2/p' warm.out)
    total=$((total + ${got% *} + ${got#* }))
  done
}

median_line() { sort -t' ' -k1,1g | sed -n "$((($runs + 1) / 2))p"; }
rows=
detail=
hwm=0
# measure CASE TOKENS SERVER_THREADS WRK_THREADS CONNS: runs times; a table row.
measure() {
  local case=$1 tokens=$2 st=$3 wt=$4 c=$5 all=() lines=
  for ((r = 0; r < runs; r++)); do
    run_wrk "$wt" "$c" "$tokens"
    lines+="$RPS $P50 $P99 $NON2XX|$ERRS|$ANS"$'\n'
    all+=("$RPS")
  done
  local m
  m=$(printf '%s' "$lines" | median_line)
  read -r RPS P50 P99 rest <<<"${m%%|*}"
  NON2XX=${m%%|*}; NON2XX=${NON2XX##* }
  ERRS=$(cut -d'|' -f2 <<<"$m")
  ANS=$(cut -d'|' -f3 <<<"$m")
  rows+="| $case | \`--threads $st\`, \`wrk -t$wt -c$c\` | $RPS | $P50 | $P99 | $NON2XX | $ERRS; $ANS |"$'\n'
  detail+="- $case, server $st threads, wrk -t$wt -c$c: runs ${all[*]} req/s"$'\n'
}

for s in $settings; do
  IFS=: read -r st wt c <<<"$s"
  start_server "$st"
  warm_up idle.txt
  warm_up pending.txt
  measure '(a) nothing to do' idle.txt "$st" "$wt" "$c"
  measure '(b) pending deployment' pending.txt "$st" "$wt" "$c"
  h=$(awk '/^VmHWM:/ { print $2 }' "/proc/$server_pid/status")
  [ "$h" -gt "$hwm" ] && hwm=$h
  stop_server
done

cpu=$(lscpu | sed -n 's/^Model name:[[:space:]]*//p' | head -1)
ram=$(awk '/MemTotal/ { printf "%.1f GiB", $2 / 1048576 }' /proc/meminfo)
cat <<EOF
### $(date -u +%Y-%m-%d) — bench/checkin.sh

- Machine: $cpu, $(nproc) CPUs, $ram RAM, Linux $(uname -r); wrk $(wrk -v 2>&1 | head -1 | awk '{ print $2 }') on the same machine, loopback
- Build: \`cmake -DCMAKE_BUILD_TYPE=Release\` ($build), $(cc --version | head -1), SQLite $(sqlite3 --version 2>/dev/null | cut -d' ' -f1 || echo '?')
- Store: SQLite (WAL) with $devices active devices, each with its own Ed25519 key and a
  real device token (seeded through store.h in ${seed_s} s); $pending of them
  in $((pending / group)) group deployments of a 300 kB release uploaded through the API.
- Server: \`nobrick-server --threads N --min-checkin-interval 0\`
  (no interval: wrk revisits each device every few seconds); other options default.
- Load: \`wrk -tT -cC -d${secs}s --latency -s bench/checkin.lua URL -- TOKENS\`;
  every request is the next device's check-in (idle devices for (a), devices
  with a deployment for (b), each answered with a new director signature).
  After each server start, a warm-up in which every device checks in once
  (idle devices have been seen, deployments notified: the steady state),
  then $runs runs of ${secs} s per case; the median run by requests/s is
  shown, all runs below.
- Peak RSS of the server (VmHWM, largest over the server starts): $(awk -v k="$hwm" 'BEGIN { printf "%.1f MiB", k / 1024 }')

| Case | Setting | Requests/s | p50 (ms) | p99 (ms) | Non-2xx | Socket errors; answers |
|---|---|---|---|---|---|---|
$rows
$detail
EOF
