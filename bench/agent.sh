#!/usr/bin/env bash
# The online agent's memory during an update of a 256 MiB image: the real
# server on 127.0.0.1 (SQLite), one device with file-backed slots, a
# deployment, and `nobrick-agent run --once` downloading every frame by
# Range, verifying, installing and reading the slot back. Reports the
# agent's and the server's peak RSS and the wall time of the update.
# Prints a markdown block for bench/RESULTS.md. Needs GNU time, curl, jq.
#
# Usage: bench/agent.sh [WORK_DIR]   (default: a temporary directory, removed)
# Environment: BENCH_BUILD (default build/bench), BENCH_MIB (default 256).
set -euo pipefail
cd "$(dirname "$0")/.."
top=$PWD
build=${BENCH_BUILD:-build/bench}
mib_n=${BENCH_MIB:-256}
size=$((mib_n * 1024 * 1024))
for t in /usr/bin/time curl jq; do
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
if [ $# -gt 0 ]; then
  work=$1 keep=1
  mkdir -p "$work"
else
  work=$(mktemp -d)
fi
server_pid=
cleanup() {
  [ -z "$server_pid" ] || kill "$server_pid" 2>/dev/null || true
  [ -n "$keep" ] || rm -rf "$work"
}
trap cleanup EXIT
cd "$work"

{ tar cf - /usr/lib /usr/share 2>/dev/null || true; } | head -c "$size" > image.bin
head -c 65536 /usr/bin/env > v1.img
rm -rf keys && mkdir keys
for k in root release director; do "$nb" key new "$k" "keys/$k" >/dev/null; done
"$nb" root new --key keys/root.key --threshold 1 --release-key keys/release.pub \
  --director-key keys/director.pub --endpoint https://ota.example.com --expires-days 365 \
  --out root.json >/dev/null
"$nb" bundle create --image image.bin --version 2.0.0 --security-counter 1 --hw-class bench \
  --key keys/release.key --out big.nbb >/dev/null

rm -rf srv && mkdir srv
"$server" --db sqlite:srv/db --data srv/data --listen 127.0.0.1:0 --threads 2 \
  --director-key keys/director.key --root root.json --min-checkin-interval 0 2>srv/log &
server_pid=$!
port=
for _ in $(seq 1 100); do
  port=$(sed -nE 's/.*listening on [0-9.]+:([0-9]+).*/\1/p' srv/log)
  [ -n "$port" ] && break
  sleep 0.1
done
[ -n "$port" ] || { cat srv/log >&2; echo "bench: server did not start" >&2; exit 1; }
base="http://127.0.0.1:$port"
export NOBRICK_SERVER=$base
NOBRICK_TOKEN=$("$server" token create --role admin --db sqlite:srv/db 2>/dev/null)
export NOBRICK_TOKEN

rm -rf dev && "$nb" device provision --dir dev --root root.json --hw-class bench --image v1.img \
  --version 1.0.0 --release-key keys/release.key --slot-size "$size" >/dev/null
sed -i 's/^flash_backend = sim$/flash_backend = file/' dev/agent.conf
printf 'server = %s\npoll_interval_s = 1\npoll_jitter_s = 0\n' "$base" >> dev/agent.conf
"$boot" -c dev/agent.conf >/dev/null
"$nb" device preauthorise --pub dev/device.pub --hw-class bench >/dev/null
"$agent" -c dev/agent.conf run --once >/dev/null 2>&1
"$nb" release upload big.nbb >/dev/null
rel=$("$nb" --json release list | jq -r '.releases[0].id')
"$nb" deploy "$rel" --device "$(jq -r .keyid dev/device.pub)" >/dev/null

# The agent's peak RSS split into its own memory (RssAnon: heap, stacks,
# buffers) and the pages of mapped files it touched (RssFile: libcurl,
# OpenSSL and the other shared libraries of this distribution's builds),
# sampled every 20 ms from /proc; GNU time gives the total peak.
sample() { # PID: prints "max_anon_kib max_file_kib" when PID ends
  local an=0 fi=0 a f
  while [ -r "/proc/$1/status" ]; do
    a=$(awk '/^RssAnon/ { print $2 }' "/proc/$1/status" 2>/dev/null || echo 0)
    f=$(awk '/^RssFile/ { print $2 }' "/proc/$1/status" 2>/dev/null || echo 0)
    [ "${a:-0}" -gt "$an" ] && an=$a
    [ "${f:-0}" -gt "$fi" ] && fi=$f
    sleep 0.02
  done
  echo "$an $fi"
}
rc=0
/usr/bin/time -f '%e %M' -o agent.time "$agent" -c dev/agent.conf run --once > agent.out 2>&1 &
tpid=$!
sleep 0.05
apid=$(pgrep -P "$tpid" -x nobrick-agent || true)
spid=
if [ -n "$apid" ]; then sample "$apid" > agent.rss & spid=$!; fi
wait "$tpid" || rc=$?
[ -z "$spid" ] || wait "$spid"
read -r a_anon a_file < <(cat agent.rss 2>/dev/null || echo "0 0")
[ "$rc" -eq 5 ] || { echo "bench: the update did not complete (exit $rc):" >&2; cat agent.out >&2; exit 1; }
read -r a_wall a_rss < <(tail -1 agent.time)
s_rss=$(awk '/VmHWM/ { print $2 }' "/proc/$server_pid/status")
"$boot" -c dev/agent.conf >/dev/null
"$agent" -c dev/agent.conf run --once >/dev/null 2>&1 || true
state=$("$nb" --json deployment list | jq -r '[.deployments[] | .id] | max' |
        xargs -I{} "$nb" --json deployment show {} | jq -r '.assignments[0].state')

kib2mib() { awk -v k="$1" 'BEGIN { printf "%.1f", k / 1024 }'; }
cpu=$(lscpu | sed -n 's/^Model name:[[:space:]]*//p' | head -1)
cat <<EOF
### $(date -u +%Y-%m-%d) — bench/agent.sh

- Machine: $cpu, $(nproc) CPUs, Linux $(uname -r)
- Build: \`cmake -DCMAKE_BUILD_TYPE=Release\` ($build)
- Image: $mib_n MiB (\`tar cf - /usr/lib /usr/share\`), bundle $(awk -v b="$(stat -c %s big.nbb)" 'BEGIN { printf "%.1f", b / 1048576 }') MiB in 1 MiB frames;
  slot on a file (flash_backend = file), server on 127.0.0.1 with SQLite, --threads 2
- Method: one \`nobrick-agent run --once\` from check-in to the armed trial:
  instruction verified, every frame fetched by Range, verified, written, the
  slot read back and hashed; peak RSS by GNU time (agent) and VmHWM (server,
  after the download). The deployment then ended \`$state\`.

| Process | Wall (s) | Peak RSS (MiB) |
|---|---|---|
| \`nobrick-agent run --once\` (the update) | $a_wall | $(kib2mib "$a_rss") (own memory $(kib2mib "$a_anon"), shared libraries $(kib2mib "$a_file")) |
| \`nobrick-server\` (whole run, upload included) | | $(kib2mib "$s_rss") |
EOF
