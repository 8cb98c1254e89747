#!/usr/bin/env bash
# What walking the root chain online costs a device: the real server on
# 127.0.0.1 (SQLite) publishing root v2..v(N+1) (each rotated from the last
# with the same key), and a device at v1 on the simulated flash running
# `nobrick-agent run --once --count-ops`, which fetches and stores every
# version (at most 256 per check-in, SECURITY.md 11). Reference: the same
# device's next run, a check-in with nothing to walk. Reports wall time,
# peak RSS and flash operations/bytes; prints a markdown block for
# bench/RESULTS.md. Needs GNU time, jq.
#
# Usage: bench/root_walk.sh [WORK_DIR]   (default: a temporary directory, removed)
# Environment: BENCH_BUILD (default build/bench), BENCH_ROOTS (default 256).
set -euo pipefail
cd "$(dirname "$0")/.."
top=$PWD
build=${BENCH_BUILD:-build/bench}
n_roots=${BENCH_ROOTS:-256}
for t in /usr/bin/time jq; do
  command -v "$t" >/dev/null || { echo "bench: $t is needed (scripts/setup)" >&2; exit 1; }
done
cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Release -DNB_SANITIZE=OFF -DNB_FUZZ=OFF >/dev/null
cmake --build "$build" -j"$(nproc)" --target nobrick-cli nobrick-agent nobrick-boot \
  nobrick-server >/dev/null
nb=$top/$build/nobrick
agent=$top/$build/nobrick-agent
boot=$top/$build/nobrick-boot
server=$top/$build/nobrick-server

keep=
if [ $# -gt 0 ]; then work=$1 keep=1; mkdir -p "$work"; else work=$(mktemp -d); fi
server_pid=
cleanup() {
  [ -z "$server_pid" ] || kill "$server_pid" 2>/dev/null || true
  [ -n "$keep" ] || rm -rf "$work"
}
trap cleanup EXIT
cd "$work"

# The roots list the server (a root that does not moves the device away).
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
rm -rf keys && mkdir keys
for k in root release director; do "$nb" key new "$k" "keys/$k" >/dev/null; done
"$nb" root new --key keys/root.key --threshold 1 --release-key keys/release.pub \
  --director-key keys/director.pub --endpoint "http://127.0.0.1:$port" --expires-days 365 \
  --out root-1.json >/dev/null
t0=$(date +%s.%N)
for i in $(seq 1 "$n_roots"); do
  "$nb" root rotate --from "root-$i.json" --sign-old keys/root.key --sign-new keys/root.key \
    --out "root-$((i + 1)).json" --force >/dev/null
done
t_rotate=$(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.2f", b - a }')

rm -rf srv && mkdir srv
"$server" --db sqlite:srv/db --data srv/data --listen "127.0.0.1:$port" --threads 2 \
  --director-key keys/director.key --root root-1.json --min-checkin-interval 0 2>srv/log &
server_pid=$!
for _ in $(seq 1 100); do
  grep -q "listening on" srv/log && break
  sleep 0.1
done
grep -q "listening on" srv/log || { cat srv/log >&2; echo "bench: server did not start" >&2; exit 1; }
export NOBRICK_SERVER="http://127.0.0.1:$port"
NOBRICK_TOKEN=$("$server" token create --role admin --db sqlite:srv/db 2>/dev/null)
export NOBRICK_TOKEN

head -c 65536 /usr/bin/env > v1.img
rm -rf dev && "$nb" device provision --dir dev --root root-1.json --hw-class bench --image v1.img \
  --version 1.0.0 --release-key keys/release.key --slot-size 262144 >/dev/null
printf 'server = %s\npoll_interval_s = 1\npoll_jitter_s = 0\n' "$NOBRICK_SERVER" >> dev/agent.conf
"$boot" -c dev/agent.conf >/dev/null
"$nb" device preauthorise --pub dev/device.pub --hw-class bench >/dev/null
"$agent" -c dev/agent.conf run --once >/dev/null 2>&1 # enrolled, at v1

t0=$(date +%s.%N)
for i in $(seq 2 "$((n_roots + 1))"); do "$nb" root publish "root-$i.json" >/dev/null; done
t_publish=$(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.2f", b - a }')

run() { # OUT: one run --once under GNU time with --count-ops
  /usr/bin/time -f '%e %M' -o "$1.time" "$agent" -c dev/agent.conf run --once --count-ops \
    > "$1.out" 2>&1 || { echo "bench: run failed:" >&2; cat "$1.out" >&2; exit 1; }
}
run walk
run idle
v=$("$agent" -c dev/agent.conf status --json | jq -r .root.version)
[ "$v" = "$((n_roots + 1))" ] || { echo "bench: the device is at root v$v" >&2; exit 1; }
steps=$(grep -c "root: now at v" walk.out)
figures() { # OUT: "wall rss_mib ops programmed erased"
  read -r wall rss < <(tail -1 "$1.time")
  ops=$(sed -nE 's/^flash operations: ([0-9]+).*/\1/p' "$1.out")
  prog=$(sed -nE 's/^flash bytes: programmed ([0-9]+), erased ([0-9]+).*/\1/p' "$1.out")
  era=$(sed -nE 's/^flash bytes: programmed ([0-9]+), erased ([0-9]+).*/\2/p' "$1.out")
  awk -v w="$wall" -v r="$rss" -v o="$ops" -v p="$prog" -v e="$era" \
    'BEGIN { printf "%s | %.1f | %s | %.1f | %.1f", w, r / 1024, o, p / 1024, e / 1024 }'
}
size=$(stat -c %s "root-$((n_roots + 1)).json")
cpu=$(lscpu | sed -n 's/^Model name:[[:space:]]*//p' | head -1)
cat <<EOF
### $(date -u +%Y-%m-%d) — bench/root_walk.sh

- Machine: $cpu, $(nproc) CPUs, Linux $(uname -r)
- Build: \`cmake -DCMAKE_BUILD_TYPE=Release\` ($build)
- Chain: v1..v$((n_roots + 1)), one root key, $size-byte root files; \`nobrick root rotate\`
  x $n_roots: $t_rotate s; \`nobrick root publish\` x $n_roots (server checks each step): $t_publish s
- Device: simulated flash, trust store in two copies; server on 127.0.0.1, SQLite, --threads 2
- Method: \`nobrick-agent run --once --count-ops\` of a device at v1 (it walked $steps
  steps), then the same run with nothing to walk; GNU time.

| Run | Wall (s) | Peak RSS (MiB) | Flash ops | Programmed (KiB) | Erased (KiB) |
|---|---|---|---|---|---|
| check-in + walk of $steps roots | $(figures walk) |
| check-in, nothing to walk (reference) | $(figures idle) |
EOF
