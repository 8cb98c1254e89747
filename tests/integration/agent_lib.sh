# Helpers of the online agent's resilience and security tests
# (test_agent_resilience.sh, test_agent_security.sh), sourced, not run. On top
# of server_lib.sh (the server, req, expect_*): simulated devices that run
# `nobrick-agent run --once` against the server, images and bundles with
# their hashes, a power-on checked against what the flash holds, and the
# loopback proxy of http_proxy.py (counts the agent's requests, cuts
# connections, replays check-in answers). Env: NB_BIN, NB_SRC.
# shellcheck shell=bash
. "$(dirname "${BASH_SOURCE[0]}")/server_lib.sh"
src="${NB_SRC:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}"
command -v python3 >/dev/null || { echo "python3 is needed (scripts/setup installs it)" >&2; exit 1; }
proxy_pid=
agent_pid=
stop_proxy() {
    [ -z "$proxy_pid" ] || { kill "$proxy_pid" 2>/dev/null || true; wait "$proxy_pid" 2>/dev/null || true; }
    proxy_pid=
}
trap '[ -z "$agent_pid" ] || kill "$agent_pid" 2>/dev/null; stop_proxy; stop_server; rm -rf "$work"' EXIT
make_fleet
admin_token
A=(-H "Authorization: Bearer $adm")

# upload BUNDLE: POST it as a release; sets $rel.
upload() {
    req POST /api/v1/releases "${A[@]}" --data-binary "@$1"
    [ "$status" = 201 ] || { echo "upload $1: $status $body" >&2; exit 1; }
    rel=$(jq -r .id <<<"$body")
}
# deploy JSON-SELECTOR: a deployment of $rel ("device_id":".." or "group":".."); sets $dep.
deploy() {
    req POST /api/v1/deployments "${A[@]}" -d "{\"release_id\":$rel,$1}"
    [ "$status" = 201 ] || { echo "deploy $1: $status $body" >&2; exit 1; }
    dep=$(jq -r .id <<<"$body")
}

# add_device DEV URL BUNDLE SLOT_SIZE [GROUP [CONF]]: provisions DEV with
# BUNDLE (slot A), points its agent at URL with short polls (and the
# agent.conf lines CONF), boots it once,
# preauthorises it (in GROUP) and runs its agent once (it enrols: active);
# sets id[DEV].
declare -A id=()
add_device() {
    "$nobrick" device provision --dir "$1" --root root.json --hw-class thermo --bundle "$3" \
        --slot-size "$4" --meta-size 16384 >/dev/null
    printf 'server = %s\npoll_interval_s = 1\npoll_jitter_s = 0\nbackoff_min_s = 1\nbackoff_max_s = 2\ntimeout_s = 5\n' \
        "$2" >>"$1/agent.conf"
    [ -z "${6:-}" ] || printf '%s\n' "$6" >>"$1/agent.conf"
    "$boot_bin" -c "$1/agent.conf" >/dev/null
    id[$1]=$(jq -r .keyid "$1/device.pub")
    local group=
    [ -z "${5:-}" ] || group=",\"group\":\"$5\""
    req POST /api/v1/devices "${A[@]}" \
        -d "{\"public_key\":\"$(jq -r .ed25519 "$1/device.pub")\",\"hw_class\":\"thermo\"$group}"
    [ "$status" = 201 ] || { echo "preauthorise $1: $status $body" >&2; exit 1; }
    run_agent "$1"
    [ "$rc" -eq 0 ] || { echo "first run of $1: exit $rc: $out" >&2; exit 1; }
}

# status_is DEV WHAT JQ: `status --json` of DEV satisfies JQ.
status_is() {
    if "$agent_bin" -c "$1/agent.conf" status --json | jq -e "$3" >/dev/null; then ok; else
        bad "$2: status does not satisfy $3: $("$agent_bin" -c "$1/agent.conf" status --json |
            jq -c '{primary, min_security_counter, journal, slots: (.slots | map_values({state, version}))}')"
    fi
}
# assignment DEP DEV [FIELD]: the state (or FIELD) of DEV's assignment in deployment DEP.
assignment() {
    req GET "/api/v1/deployments/$1" "${A[@]}"
    jq -r --arg d "${id[$2]}" --arg f "${3:-state}" \
        '.assignments[] | select(.device_id == $d) | .[$f] // ""' <<<"$body"
}
# region_sha DEV SLOT: SHA-256 of the whole region of SLOT on flash.img.
region_sha() {
    local off size
    read -r off size < <("$agent_bin" -c "$1/agent.conf" status --json |
        jq -r ".slots.$2.region | \"\(.offset) \(.size)\"")
    dd if="$1/flash.img" iflag=skip_bytes,count_bytes skip="$off" count="$size" status=none |
        sha256sum | cut -c1-64
}

# power_on DEV WHAT VERSION...: nobrick-boot must boot one of VERSION..., and
# every slot the record calls good or trial must hold exactly its image.
power_on() {
    local dev=$1 what=$2 v line booted s off size sha
    shift 2
    line=$("$boot_bin" -c "$dev/agent.conf" 2>&1 | grep '^booted slot ') ||
        { bad "$what: nothing booted"; return; }
    booted=$(sed -E 's/^booted slot [^:]+: version ([^ ]+) .*/\1/' <<<"$line")
    local known=0
    for v in "$@"; do [ "$v" = "$booted" ] && known=1; done
    [ "$known" -eq 1 ] && ok || bad "$what: booted $booted, not one of $*"
    while read -r s v size off; do
        sha=$(dd if="$dev/flash.img" iflag=skip_bytes,count_bytes skip="$off" count="$size" \
            status=none | sha256sum | cut -c1-64)
        [ "$sha" = "${img_sha[$v]:-none}" ] && ok || bad "$what: slot $s ($v) does not hold its image"
    done < <("$agent_bin" -c "$dev/agent.conf" status --json | jq -r '.slots | to_entries[] |
        select(.value.state | IN("good", "trial")) |
        "\(.key) \(.value.version) \(.value.image_size) \(.value.region.offset)"')
}


# --- the proxy ---------------------------------------------------------------------
# start_proxy: http_proxy.py in $work/proxy, forwarding to the server; sets $purl.
start_proxy() {
    stop_proxy
    rm -rf "$work/proxy" && mkdir "$work/proxy"
    proxy_upstream
    python3 "$src/tests/integration/http_proxy.py" "$work/proxy" 2>"$work/proxy.err" &
    proxy_pid=$!
    for _ in $(seq 1 100); do
        [ -s "$work/proxy/port" ] && break
        sleep 0.05
    done
    [ -s "$work/proxy/port" ] || { cat "$work/proxy.err" >&2; echo "proxy did not start" >&2; exit 1; }
    purl="http://127.0.0.1:$(cat "$work/proxy/port")"
}
# proxy_reset: an empty log, no rules (rules fire once per distinct line).
proxy_reset() {
    : >"$work/proxy/log"
    proxy_upstream
}
# proxy_upstream [RULE LINES...]: ctl = the server's current port plus the rules.
proxy_upstream() {
    { echo "upstream ${base##*:}"; for l in "$@"; do echo "$l"; done; } >"$work/proxy/ctl.tmp"
    mv "$work/proxy/ctl.tmp" "$work/proxy/ctl"
}
# wait_log REGEX [TENTHS]: until a proxy log line matches (default 20 s).
wait_log() {
    for _ in $(seq 1 "${2:-200}"); do
        grep -qE "$1" "$work/proxy/log" 2>/dev/null && return 0
        sleep 0.1
    done
    return 1
}
