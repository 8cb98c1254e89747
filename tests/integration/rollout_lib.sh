# Helpers of the rollout tests (test_rollout.sh, test_rollout_rollback.sh),
# sourced, not run. On top of agent_lib.sh: a CLI home, and functions that
# read a rollout, map device ids to names, and drive the simulated devices
# (the array devs) round by round until a rollout reaches a state.
# shellcheck shell=bash
. "$(dirname "${BASH_SOURCE[0]}")/agent_lib.sh"
export HOME="$work/home" XDG_CONFIG_HOME="$work/cfg"
unset NOBRICK_CA
mkdir -p "$HOME" "$XDG_CONFIG_HOME/nobrick"

# cli ARGS...: one nobrick command; sets rc and out (stdout+stderr).
cli() { rc=0; out=$("$nobrick" "$@" 2>&1) || rc=$?; }

# ro_get RO FILTER: jq FILTER on GET /api/v1/rollouts/RO.
ro_get() {
    req GET "/api/v1/rollouts/$1" "${A[@]}"
    jq -r "$2" <<<"$body"
}
# members RO WAVE: the ids the plan of rollout RO puts in WAVE.
plan_ids() { jq -r --argjson w "$2" ".plan.members[] | select(.wave == \$w) | .device_id" "$1"; }
name_of() {
    local d
    for d in "${devs[@]}"; do [ "${id[$d]}" != "$1" ] || echo "$d"; done
}
# drive RO UNTIL_JQ ROUNDS [SKIP...]: rounds of one agent run per device
# (and a boot when it asks), until the rollout satisfies UNTIL_JQ.
drive() {
    local ro=$1 until=$2 rounds=$3 d r
    shift 3
    for r in $(seq 1 "$rounds"); do
        for d in "${devs[@]}"; do
            [[ " $* " == *" $d "* ]] && continue
            run_agent "$d"
            [ "$rc" -ne 5 ] || "$boot_bin" -c "$d/agent.conf" >/dev/null
        done
        sleep 1.2
        req GET "/api/v1/rollouts/$ro" "${A[@]}"
        jq -e "$until" >/dev/null <<<"$body" && return 0
    done
    return 1
}
installed() { req GET "/api/v1/devices/${id[$1]}" "${A[@]}"; jq -r .installed_version <<<"$body"; }
