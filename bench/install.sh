#!/usr/bin/env bash
# Install of a 256 MiB image into a file-backed slot by nobrick-agent,
# against `dd conv=fsync` of the same raw image into the same slot of the
# same flash file in the same run (the physical reference). Then flash
# operations and bytes written per update of a 1 MiB image on the simulated
# NOR flash. Prints a markdown block for bench/RESULTS.md. Needs GNU time.
#
# The install is all of it: stored-bytes and output hash of every frame,
# decompression, the slot written and fdatasync'ed, then read back from the
# storage (the flash HAL drops the page cache on sync) and hashed against the
# signed image digest, the trial armed. Inputs (bundle, raw image) are in the
# page cache for both sides: what differs is the work done on the slot.
#
# Usage: bench/install.sh [WORK_DIR]   (default: a temporary directory, removed)
# Environment: BENCH_BUILD (default build/bench), BENCH_RUNS (default 3),
# BENCH_MIB (image size, default 256: smaller only to try the script).
set -euo pipefail
cd "$(dirname "$0")/.."
top=$PWD
build=${BENCH_BUILD:-build/bench}
runs=${BENCH_RUNS:-3}
mib_n=${BENCH_MIB:-256}
size=$((mib_n * 1024 * 1024))
[ -x /usr/bin/time ] || { echo "bench: GNU time is needed (apt-get install time)" >&2; exit 1; }

cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Release -DNB_SANITIZE=OFF -DNB_FUZZ=OFF >/dev/null
cmake --build "$build" -j"$(nproc)" --target nobrick-cli nobrick-agent nobrick-boot >/dev/null
nb=$top/$build/nobrick
agent=$top/$build/nobrick-agent
boot=$top/$build/nobrick-boot

if [ $# -gt 0 ]; then
  work=$1
  mkdir -p "$work"
else
  work=$(mktemp -d)
  trap 'rm -rf "$work"' EXIT
fi
cd "$work"

# Real content, compressible like a root filesystem; v1 is a small factory
# image so that slot B starts erased.
{ tar cf - /usr/lib /usr/share 2>/dev/null || true; } | head -c "$size" > image.bin
[ "$(stat -c %s image.bin)" -eq "$size" ] || { echo "bench: image is not $mib_n MiB" >&2; exit 1; }
head -c 65536 /usr/bin/env > v1.img
rm -rf keys && mkdir keys
"$nb" key new root keys/root >/dev/null
"$nb" key new release keys/rel >/dev/null
"$nb" key new director keys/dir >/dev/null
"$nb" root new --key keys/root.key --threshold 1 --release-key keys/rel.pub \
  --director-key keys/dir.pub --endpoint https://ota.example.com --expires-days 365 \
  --out root.json >/dev/null
"$nb" bundle create --image image.bin --version 2.0.0 --security-counter 1 --hw-class bench \
  --key keys/rel.key --out big.nbb >/dev/null

# The device: a simulated device provisioned with slots of the image size,
# then switched to the file backend (same flash file and layout) as a Linux
# device with A/B slot files or partitions would run.
rm -rf dev && "$nb" device provision --dir dev --root root.json --hw-class bench --image v1.img \
  --version 1.0.0 --release-key keys/rel.key --slot-size "$size" >/dev/null
sed -i 's/^flash_backend = sim$/flash_backend = file/' dev/agent.conf
"$boot" -c dev/agent.conf >/dev/null
cp dev/flash.img pristine.img
slot_b=$("$agent" -c dev/agent.conf status --json |
         python3 -c 'import json,sys; print(json.load(sys.stdin)["slots"]["B"]["region"]["offset"])')

# One timed run of NAME: fresh flash (slot B erased), inputs cached, caches
# of the flash file dropped; sets W (wall s) and M (peak RSS KiB).
run_one() {
  cp pristine.img dev/flash.img
  sync
  cat image.bin big.nbb > /dev/null
  dd if=dev/flash.img of=/dev/null bs=1M count=0 iflag=nocache status=none 2>/dev/null || true
  case $1 in
    dd) /usr/bin/time -f '%e %M' -o time.out dd if=image.bin of=dev/flash.img bs=1M \
          seek="$slot_b" oflag=seek_bytes conv=fsync,notrunc status=none ;;
    sha) /usr/bin/time -f '%e %M' -o time.out openssl dgst -sha256 image.bin >/dev/null ;;
    install) /usr/bin/time -f '%e %M' -o time.out "$agent" -c dev/agent.conf install big.nbb \
          >install.out ;;
  esac
  read -r W M < time.out
}

declare -a T_DD T_IN T_SHA R_DD R_IN
for ((i = 0; i < runs; i++)); do
  run_one dd;      T_DD+=("$W"); R_DD+=("$M")
  run_one install; T_IN+=("$W"); R_IN+=("$M")
  run_one sha;     T_SHA+=("$W")
done
grep -q "installed 2.0.0" install.out || { echo "bench: install failed:" >&2; cat install.out >&2; exit 1; }
median() { printf '%s\n' "$@" | sort -g | sed -n "$((($# + 1) / 2))p"; }
maxof() { printf '%s\n' "$@" | sort -g | tail -1; }
dd_w=$(median "${T_DD[@]}"); in_w=$(median "${T_IN[@]}")
sha_w=$(median "${T_SHA[@]}")
dd_m=$(maxof "${R_DD[@]}"); in_m=$(maxof "${R_IN[@]}")
ratio=$(awk -v a="$in_w" -v b="$dd_w" 'BEGIN { printf "%.2f", a / b }')
mibs() { awk -v t="$1" -v n="$mib_n" 'BEGIN { printf "%.0f", n / t }'; }
kib2mib() { awk -v k="$1" 'BEGIN { printf "%.1f", k / 1024 }'; }

# Flash operations and bytes per update of a 1 MiB image on the simulated
# NOR flash (erase 4096, write 16): install, the trial boot, the commit.
head -c 1048576 image.bin > small.img
"$nb" bundle create --image small.img --version 2.0.0 --security-counter 1 --hw-class bench \
  --key keys/rel.key --out small.nbb >/dev/null
rm -rf sim && "$nb" device provision --dir sim --root root.json --hw-class bench --image v1.img \
  --version 1.0.0 --release-key keys/rel.key --slot-size 1048576 >/dev/null
"$boot" -c sim/agent.conf >/dev/null
ops() { # LABEL CMD...: a table row from --count-ops
  local label=$1; shift
  "$@" --count-ops >/dev/null 2>ops.err
  local n p e
  n=$(sed -n 's/^flash operations: \([0-9]*\).*/\1/p' ops.err)
  p=$(sed -n 's/^flash bytes: programmed \([0-9]*\), erased \([0-9]*\).*/\1/p' ops.err)
  e=$(sed -n 's/^flash bytes: programmed \([0-9]*\), erased \([0-9]*\).*/\2/p' ops.err)
  printf '| %s | %s | %s | %s | %s |\n' "$label" "$n" "$p" "$e" \
    "$(awk -v b="$p" 'BEGIN { printf "%.3f", b / 1048576 }')"
}
sim_rows=$(ops 'install (`nobrick-agent install`)' "$agent" -c sim/agent.conf install small.nbb
           ops 'trial boot (`nobrick-boot`)' "$boot" -c sim/agent.conf
           ops 'commit (`nobrick-agent mark-good`)' "$agent" -c sim/agent.conf mark-good)

cpu=$(lscpu | sed -n 's/^Model name:[[:space:]]*//p' | head -1)
ram=$(awk '/MemTotal/ { printf "%.1f GiB", $2 / 1048576 }' /proc/meminfo)
fs=$(df -T . | awk 'NR == 2 { print $2 " on " $1 }')
cat <<EOF
### $(date -u +%Y-%m-%d) — bench/install.sh

- Machine: $cpu, $(nproc) CPUs, $ram RAM, Linux $(uname -r); work directory on $fs
- Build: \`cmake -DCMAKE_BUILD_TYPE=Release\` ($build), $(cc --version | head -1)
- Image: $mib_n MiB, the first $mib_n MiB of \`tar cf - /usr/lib /usr/share\`;
  bundle $(awk -v b="$(stat -c %s big.nbb)" 'BEGIN { printf "%.1f", b / 1048576 }') MiB (1 MiB frames, zstd)
- Method: $runs runs of each, interleaved; before each, a fresh copy of the
  flash file (slot B erased), \`sync\`, inputs read into the page cache. The
  install verifies every frame (stored bytes, output), writes, fdatasyncs,
  drops the slot's cached pages and reads the slot back from the storage to
  hash it. Median wall time, largest peak RSS (GNU time).

| Command | Wall (s) | MiB/s | Peak RSS (MiB) | Time / dd |
|---|---|---|---|---|
| \`dd bs=1M conv=fsync\` of the raw image into slot B (reference) | $dd_w | $(mibs "$dd_w") | $(kib2mib "$dd_m") | 1.00 |
| \`nobrick-agent install\` into slot B | $in_w | $(mibs "$in_w") | $(kib2mib "$in_m") | $ratio |
| \`openssl dgst -sha256\` of the raw image (one hash pass, no I/O; for scale) | $sha_w | $(mibs "$sha_w") | | $(awk -v a="$sha_w" -v b="$dd_w" 'BEGIN { printf "%.2f", a / b }') |

Runs: dd ${T_DD[*]} s; install ${T_IN[*]} s; openssl ${T_SHA[*]} s.

Simulated NOR flash, 1 MiB image (1 frame of 1 MiB), erase 4096 B, write 16 B:

| Step | Flash operations | Bytes programmed | Bytes erased | Programmed / image |
|---|---|---|---|---|
$sim_rows
EOF
