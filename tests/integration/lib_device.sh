# Helpers of the simulated-device integration tests (test_device_flow.sh,
# test_power_cut.sh), sourced, not run: the programs, a temporary working
# directory, pass/fail counters, keys and a root, deterministic images and
# bundles, the device's state read with `status --json` and jq, and the
# invariants every power-on must satisfy. Env: NB_BIN = the build directory.
# shellcheck shell=bash

bin="$(cd "${NB_BIN:?NB_BIN must name the build directory}" && pwd)"
nobrick="$bin/nobrick"
agent_bin="$bin/nobrick-agent"
boot_bin="$bin/nobrick-boot"
for b in "$nobrick" "$agent_bin" "$boot_bin"; do
    [ -x "$b" ] || { echo "no binary at $b" >&2; exit 1; }
done
command -v jq >/dev/null || { echo "jq is needed (scripts/setup installs it)" >&2; exit 1; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work" || exit 1

HW=thermo-v3
FRAME=16384
SLOT=262144
pass=0
fail=0

ok() { pass=$((pass + 1)); }
bad() {
    fail=$((fail + 1))
    echo "FAIL: $*" >&2
}
# check WHAT CMD...: CMD must succeed.
check() {
    local what=$1
    shift
    if "$@"; then ok; else bad "$what"; fi
}
# expect RC REGEX CMD...: CMD exits RC and its output (stdout+stderr) matches.
expect() {
    local want=$1 pat=$2 out rc=0
    shift 2
    out=$("$@" 2>&1) || rc=$?
    if [ "$rc" -eq "$want" ] && grep -qE -- "$pat" <<<"$out"; then
        ok
    else
        bad "$* -> exit $rc (want $want, /$pat/):"
        echo "$out" | sed 's/^/    /' >&2
    fi
}
q() { "$@" >/dev/null 2>&1; }
# The summary line; the script's exit status.
finish() {
    echo "$pass passed, $fail failed"
    [ "$fail" -eq 0 ]
}

# --- keys, images, bundles, devices (in $work) ------------------------------
make_keys() {
    local k
    for k in r1:root rel:release dir:director; do
        q "$nobrick" key new "${k#*:}" "${k%%:*}"
    done
    q "$nobrick" root new --key r1.key --threshold 1 --release-key rel.pub \
        --director-key dir.pub --endpoint https://ota.example.com --expires-days 365 \
        --out root.json
    [ -s root.json ] || { echo "cannot make root.json" >&2; exit 1; }
}

# make_image FILE SIZE SEED: SIZE deterministic bytes, half noise, half zeros
# (so frames compress differently); img_sha[VERSION] is filled by make_bundle.
make_image() {
    local half=$(($2 / 2))
    { head -c "$half" /dev/zero | openssl enc -aes-256-ctr -nosalt -pbkdf2 -pass "pass:$3"
      head -c $(($2 - half)) /dev/zero; } >"$1"
}
declare -A img_sha=()
# make_bundle OUT VERSION COUNTER IMAGE [bundle create options...]
make_bundle() {
    local out=$1 version=$2 counter=$3 image=$4
    shift 4
    q "$nobrick" bundle create --image "$image" --version "$version" \
        --security-counter "$counter" --hw-class "$HW" --key rel.key \
        --frame-size "$FRAME" --out "$out" "$@"
    [ -s "$out" ] || { echo "cannot make $out" >&2; exit 1; }
    img_sha[$version]=$(sha256sum <"$image" | cut -c1-64)
}
# provision DEV BUNDLE [device provision options...]
provision() {
    local dev=$1 bundle=$2
    shift 2
    q "$nobrick" device provision --dir "$dev" --root root.json --hw-class "$HW" \
        --bundle "$bundle" --slot-size "$SLOT" --meta-size 16384 "$@"
    [ -s "$dev/agent.conf" ] || { echo "cannot provision $dev" >&2; exit 1; }
}

# --- the programs on a device ---------------------------------------------------
agent() {
    local dev=$1
    shift
    "$agent_bin" -c "$dev/agent.conf" "$@"
}
# power_on DEV [options]: one nobrick-boot; sets boot_rc, boot_out, booted_slot,
# booted_version, booted_state (from "booted slot X: version V (state").
power_on() {
    local dev=$1
    shift
    boot_rc=0
    boot_out=$("$boot_bin" -c "$dev/agent.conf" "$@" 2>&1) || boot_rc=$?
    local line
    line=$(grep -E '^booted slot ' <<<"$boot_out" || true)
    booted_slot=$(sed -E 's/^booted slot ([^:]+): .*/\1/' <<<"$line")
    booted_version=$(sed -E 's/^booted slot [^:]+: version ([^ ]+) .*/\1/' <<<"$line")
    booted_state=$(sed -E 's/.*\(([a-z]+).*/\1/' <<<"$line")
}
# count_ops CMD...: runs CMD with --count-ops, prints N of "flash operations: N".
count_ops() {
    "$@" --count-ops 2>&1 >/dev/null | sed -nE 's/^flash operations: ([0-9]+)$/\1/p'
}
# js DEV FILTER: a value of `status --json`.
js() { agent "$1" status --json | jq -r "$2"; }
# state_is DEV WHAT JQ-EXPRESSION: the status JSON satisfies the expression.
state_is() {
    local json
    json=$(agent "$1" status --json 2>&1) || { bad "$2: status --json failed: $json"; return; }
    if jq -e "$3" >/dev/null <<<"$json"; then
        ok
    else
        bad "$2: status does not satisfy: $3"
        jq -c '{running, primary, min_security_counter, journal,
                slots: (.slots | map_values({state, version, tries_left}))}' <<<"$json" |
            sed 's/^/    /' >&2
    fi
}

# slot_sha DEV OFFSET SIZE: SHA-256 of SIZE bytes of flash.img at OFFSET.
slot_sha() {
    dd if="$1/flash.img" iflag=skip_bytes,count_bytes skip="$2" count="$3" status=none |
        sha256sum | cut -c1-64
}
# flip_byte DEV SLOT AT: inverts one byte of SLOT's image on flash.img.
flip_byte() {
    local off byte
    off=$(( $(js "$1" ".slots[\"$2\"].region.offset") + $3 ))
    byte=$(od -An -tu1 -j "$off" -N1 "$1/flash.img" | tr -d ' ')
    printf "\\$(printf '%03o' $((byte ^ 0xFF)))" |
        dd of="$1/flash.img" bs=1 seek="$off" conv=notrunc status=none
}

# invariants DEV WHAT MIN_BEFORE VERSION...: after a power-on that booted,
# the state is true: a good or trial slot runs, one of VERSION...; every slot
# the record calls bootable holds exactly the image of its version (so never
# a mix); the running slot is what nobrick-boot said; at most one trial; the
# primary is good; the journal names an install only while its slot is
# installing; the minimum security counter is not below MIN_BEFORE.
invariants() {
    local dev=$1 what=$2 min=$3 v json s size off sha want
    shift 3
    if [ "$boot_rc" -ne 0 ]; then
        bad "$what: power-on exit $boot_rc:"
        echo "$boot_out" | sed 's/^/    /' >&2
        return
    fi
    local known=0
    for v in "$@"; do [ "$v" = "$booted_version" ] && known=1; done
    [ "$known" -eq 1 ] && ok || bad "$what: booted '$booted_version', not one of $*"
    json=$(agent "$dev" status --json) || { bad "$what: status failed"; return; }
    if jq -e --arg s "$booted_slot" --arg v "$booted_version" --argjson min "$min" '
        .running.slot == $s and .running.version == $v
        and .slots[$s].version == $v and (.slots[$s].state | IN("good", "trial"))
        and .min_security_counter >= $min
        and ([.slots[] | select(.state == "trial")] | length) <= 1
        and (.primary == null or .slots[.primary].state == "good")
        and (.journal.op == "idle" or .slots[.journal.slot].state == "installing")
        and ([.slots[] | select(.state != "trial") | .tries_left] | all(. == 0))' \
        >/dev/null <<<"$json"; then
        ok
    else
        bad "$what: booted $booted_slot $booted_version, status is not coherent:"
        jq -c '{running, primary, min_security_counter, journal,
                slots: (.slots | map_values({state, version, tries_left}))}' <<<"$json" |
            sed 's/^/    /' >&2
    fi
    while read -r s v size off; do
        sha=$(slot_sha "$dev" "$off" "$size")
        want=${img_sha[$v]:-unknown}
        [ "$sha" = "$want" ] && ok || bad "$what: slot $s ($v) does not hold the image of $v"
    done < <(jq -r '.slots | to_entries[] | select(.value.state | IN("good", "trial")) |
                    "\(.key) \(.value.version) \(.value.image_size) \(.value.region.offset)"' \
                 <<<"$json")
}
