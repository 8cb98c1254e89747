#!/usr/bin/env bash
# Per-device safety of rollouts end to end: the real server (engine tick
# 1 s), simulated devices running `nobrick-agent run --once`, the loopback
# proxy of http_proxy.py, all driven through the CLI and the API.
#  d. start rate 2 per minute over 5 devices: 2 start, 3 wait ("rate cap",
#     counted in progress, not as unseen); a minute later (by the store's
#     start times, checked after a.-c.) 2 more; no 60 s window ever holds
#     more than 2 first starts.
#  a. pause with one device mid-download (its first frame held by the
#     proxy) and one notified but idle (install_policy = ask): the first
#     finishes and boots the new release while paused, the second gets no
#     instruction while paused; after resume it updates too.
#  a2. abort with one device mid-download and one notified but idle: the
#     first finishes its attempt and boots the new release, the second is
#     cancelled and never instructed again.
#  b. a download cut (the network goes away): the lease times the device
#     out, the engine offers it again after the back-off (not before), and
#     it ends updated, counted as a success of attempt 2.
#  c. a device whose slot is too small fails 3 attempts (E_NOSPC):
#     quarantined, shown in status, list and show, left out of the gate
#     (the rollout completes on the healthy one); not offered a release by
#     a new rollout until an operator lifts the quarantine (audited).
. "$(dirname "$0")/agent_lib.sh"
export HOME="$work/home" XDG_CONFIG_HOME="$work/cfg"
unset NOBRICK_CA
mkdir -p "$HOME" "$XDG_CONFIG_HOME/nobrick"

mkbundle v1.nbb 1.0.0 1 one 100000
mkbundle v2.nbb 1.2.0 2 two 200000
start_server --poll-interval 1 --poll-jitter 0 --rollout-tick 1
export NOBRICK_SERVER=$base NOBRICK_TOKEN=$adm
upload v2.nbb
cli() { rc=0; out=$("$nobrick" "$@" 2>&1) || rc=$?; }
ro_get() {
    req GET "/api/v1/rollouts/$1" "${A[@]}"
    jq -r "$2" <<<"$body"
}
# member RO DEV FILTER: jq FILTER on DEV's entry of GET /api/v1/rollouts/RO/devices.
member() {
    req GET "/api/v1/rollouts/$1/devices" "${A[@]}"
    jq -r --arg d "${id[$2]}" ".devices[] | select(.device_id == \$d) | $3" <<<"$body"
}
# wait_for WHAT TENTHS CMD...: until CMD succeeds (checked every 0.1 s).
wait_for() {
    local what=$1 n=$2 i
    shift 2
    for i in $(seq 1 "$n"); do
        "$@" && { ok; return 0; }
        sleep 0.1
    done
    bad "$what: not after $((n / 10)) s: $body"
    return 1
}
ro_is() { req GET "/api/v1/rollouts/$1" "${A[@]}" && jq -e "$2" >/dev/null <<<"$body"; }
member_is() { [ "$(member "$1" "$2" "$3")" = "$4" ]; }
installed() { req GET "/api/v1/devices/${id[$1]}" "${A[@]}"; jq -r .installed_version <<<"$body"; }
# settle DEV: agent runs (and a boot when one asks) until a run has nothing to do.
settle() {
    local i
    for i in 1 2 3 4; do
        run_agent "$1"
        [ "$rc" -eq 5 ] || return 0
        "$boot_bin" -c "$1/agent.conf" >/dev/null
    done
}
# create NAME SOAK ARGS...: a rollout of release $rel (one wave after an
# empty canary); sets ro to its id and starts it.
create() {
    local name=$1 soak=$2
    shift 2
    cli --json rollout create "$rel" --waves 100% --soak "$soak" --name "$name" "$@"
    [ "$rc" -eq 0 ] || { bad "create $name: $out"; return 1; }
    ro=$(jq -r .id <<<"$out")
    cli rollout start "$ro"
    wait_for "rollout $name: wave 1" 100 ro_is "$ro" '.current_wave == 1'
}
started() { member "$1" "$2" .first_started_at; }

# --- d (first minute): the start rate ------------------------------------------------
cli rollout plan "$rel" --retry-max 11
[ "$rc" -eq 1 ] && grep -q "400 E_PARSE (field retry_max): field 'retry_max': an integer 1..10" <<<"$out" && ok ||
    bad "a bad safety field: $rc $out"
rdevs=(r1 r2 r3 r4 r5)
for d in "${rdevs[@]}"; do add_device "$d" "$base" v1.nbb 262144 rgrp; done
create rate 3600 --group rgrp --start-rate 2 # held by its soak: the caps alone act
ro_rate=$ro
for d in "${rdevs[@]}"; do settle "$d"; done
n_started=0 n_waiting=0
for d in "${rdevs[@]}"; do
    [ "$(started "$ro_rate" "$d")" = 0 ] || n_started=$((n_started + 1))
    [ "$(member "$ro_rate" "$d" .waiting)" != "rate cap" ] || n_waiting=$((n_waiting + 1))
done
[ "$n_started" -eq 2 ] && [ "$n_waiting" -eq 3 ] && ok ||
    bad "rate cap, first minute: $n_started started, $n_waiting waiting"
[ "$(ro_get "$ro_rate" '"\(.waves[1].waiting_rate_cap) \(.waves[1].not_seen) \(.waves[1].succeeded)"')" = "3 0 2" ] &&
    ok || bad "rate cap funnel: $body"
cli rollout status "$ro_rate"
grep -q "^devices:     3 waiting for the rate cap$" <<<"$out" && ok || bad "rate cap status: $out"

# mid_download VERB NAME D1 D2 STATE: a rollout NAME (id in ro) with D1
# held mid-download by the proxy and D2 notified but idle (install_policy
# = ask); then `rollout VERB`, and D2, now with a policy that would install
# by itself, must get no instruction and stay in STATE on 1.0.0. D1's run
# is left to finish_held.
mid_download() {
    local verb=$1 name=$2 d1=$3 d2=$4 state=$5
    start_proxy
    add_device "$d1" "$purl" v1.nbb 262144 "${name}grp"
    add_device "$d2" "$base" v1.nbb 262144 "${name}grp" "install_policy = ask"
    create "$name" 1 --group "${name}grp"
    run_agent "$d2"
    [ "$rc" -eq 0 ] && member_is "$ro" "$d2" .state notified && ok ||
        bad "$d2 not notified: rc $rc: $(member "$ro" "$d2" .state)"
    proxy_upstream "hold 2 100"
    "$agent_bin" -c "$d1/agent.conf" run --once >"$d1.out" 2>&1 &
    agent_pid=$!
    wait_for "$d1 downloading" 200 member_is "$ro" "$d1" .state downloading
    cli rollout "$verb" "$ro"
    [[ "$out" == "rollout $ro is ${verb}ed" || "$out" == "rollout $ro is ${verb}d" ]] && ok ||
        bad "$verb: $out"
    sed -i 's/^install_policy = ask$/install_policy = auto/' "$d2/agent.conf"
    run_agent "$d2"
    [ "$rc" -eq 0 ] && ! grep -q "install 1.2.0" <<<"$out" && ok || bad "$d2 instructed after $verb: $out"
    member_is "$ro" "$d2" .state "$state" && [ "$(installed "$d2")" = 1.0.0 ] && ok ||
        bad "$d2 after $verb: $(member "$ro" "$d2" .state) $(installed "$d2")"
}
# finish_held D1 RO: the proxy lets D1's download go; it finishes its
# attempt (the whole image verified), boots the new release and succeeds.
finish_held() {
    local d1=$1 ro_id=$2 d1_rc=0
    touch "$work/proxy/release"
    wait "$agent_pid" || d1_rc=$?
    agent_pid=
    [ "$d1_rc" -eq 5 ] && ok || bad "$d1 run: exit $d1_rc: $(tail -n 5 "$d1.out")"
    "$boot_bin" -c "$d1/agent.conf" >/dev/null
    finish_update "$d1" "$d1 after the download"
    power_on "$d1" "$d1 (held rollout)" 1.2.0
    [ "$(installed "$d1")" = 1.2.0 ] && member_is "$ro_id" "$d1" .state succeeded && ok ||
        bad "$d1: $(installed "$d1") $(member "$ro_id" "$d1" .state)"
}

# --- a. pause with a device mid-download and one notified but idle ------------------
mid_download pause pause p1 p2 notified
ro_pause=$ro
finish_held p1 "$ro_pause"
[ "$(ro_get "$ro_pause" '"\(.state) \(.waves[1].succeeded) \(.waves[1].notified)"')" = "paused 1 1" ] &&
    ok || bad "paused rollout: $body"
cli rollout resume "$ro_pause"
settle p2
[ "$(installed p2)" = 1.2.0 ] && ok || bad "p2 after resume: $(installed p2): $out"
wait_for "pause rollout completed" 100 ro_is "$ro_pause" \
    '.state == "completed" and .waves[1].succeeded == 2 and .waves[1].failed == 0'

# --- a2. abort with a device mid-download and one notified but idle ------------------
# The idle one is cancelled: never instructed again; the one mid-download
# finishes its attempt and boots the new release, never unbootable.
mid_download abort abort x1 x2 cancelled
finish_held x1 "$ro"
settle x2
[ "$(installed x2)" = 1.0.0 ] && ok || bad "x2 later: $(installed x2)"

# --- b. a cut download: timed out by the lease, retried after the back-off -------------
start_proxy
add_device t1 "$purl" v1.nbb 262144 tgrp
create transient 1 --group tgrp --lease 10 --retry-backoff 5
ro_tr=$ro
proxy_upstream "hold 2 100"
"$agent_bin" -c t1/agent.conf run --once >t1.out 2>&1 &
agent_pid=$!
wait_for "t1 downloading" 200 member_is "$ro_tr" t1 .state downloading
stop_proxy # the network goes away mid-download
t1_rc=0
wait "$agent_pid" || t1_rc=$?
agent_pid=
[ "$t1_rc" -ne 0 ] && [ "$t1_rc" -ne 5 ] && ok || bad "t1 run with the network gone: exit $t1_rc"
wait_for "t1 retried" 300 member_is "$ro_tr" t1 .attempt 2
member "$ro_tr" t1 . >t1.json
jq -e '.state == "pending" and .code == "E_TIMED_OUT" and (.message | startswith("no report for 10 s"))' \
    t1.json >/dev/null && ok || bad "t1 retry: $(cat t1.json)"
not_before=$(jq .not_before t1.json)
req GET "/api/v1/audit?limit=50" "${A[@]}"
expect_jq "[.entries[] | select(.action == \"rollout.retry\" and .object == \"rollout:$ro_tr\") |
    .detail | select(.code == \"E_TIMED_OUT\" and .attempt == 1)] | length == 1" \
    "audit of the retry"
sed -i "s|^server = .*|server = $base|" t1/agent.conf
if [ "$(date +%s)" -lt "$((not_before - 1))" ]; then
    run_agent t1 # within the back-off: nothing yet
    ! grep -q "install 1.2.0" <<<"$out" && member_is "$ro_tr" t1 .state pending && ok ||
        bad "t1 offered before its back-off: $out"
fi
while [ "$(date +%s)" -le "$not_before" ]; do sleep 0.2; done
settle t1
power_on t1 "t1 (retried)" 1.2.0
[ "$(installed t1)" = 1.2.0 ] && ok || bad "t1 after the retry: $(installed t1)"
wait_for "transient rollout completed" 100 ro_is "$ro_tr" \
    '.state == "completed" and .waves[1].succeeded == 1 and .waves[1].failed == 0 and .waves[1].timed_out == 0'
[ "$(member "$ro_tr" t1 '"\(.state) \(.attempt)"')" = "succeeded 2" ] && ok || bad "t1 member: $body"

# --- c. three failed attempts: quarantine ------------------------------------------------
add_device q1 "$base" v1.nbb 131072 qgrp # v2's image does not fit: E_NOSPC
add_device h1 "$base" v1.nbb 262144 qgrp
create quarantine 1 --group qgrp --retry-backoff 1
ro_q=$ro
for _ in $(seq 1 15); do
    [ "$(member "$ro_q" q1 .quarantine)" = null ] || break
    run_agent q1
    sleep 1.2
done
member "$ro_q" q1 . >q1.json
jq -e '.state == "failed" and .attempt == 3 and .code == "E_NOSPC" and .quarantine.failures == 3
    and .quarantine.code == "E_NOSPC" and .quarantine.until - .quarantine.since == 86400' \
    q1.json >/dev/null && ok || bad "q1: $(cat q1.json)"
# The gate held while q1 retried (in progress), and holds now that it is
# out of the counts until h1, the only device left, has its say.
[ "$(ro_get "$ro_q" '"\(.state) \(.waves[1].quarantined) \(.waves[1].failed)"')" = "running 1 0" ] && ok ||
    bad "quarantine rollout before h1: $body"
settle h1
wait_for "quarantine rollout completed" 100 ro_is "$ro_q" '.state == "completed"'
ro_get "$ro_q" . >q.json
jq -e '.waves[1].quarantined == 1 and .waves[1].failed == 0 and .waves[1].succeeded == 1
    and .waves[1].targeted == 2
    and (.quarantined | length) == 1 and .quarantined[0].failures == 3' q.json >/dev/null && ok ||
    bad "quarantine status: $(jq -c '{reason, waves: .waves[1], quarantined}' q.json)"
jq -e '.reason | endswith("1 of 1 reachable devices healthy (100.0% >= 95.0%))")' q.json >/dev/null && ok ||
    bad "gate with the quarantined device: $(jq .reason q.json)"
cli rollout status "$ro_q"
grep -q "^devices:     1 quarantined (out of the gates)$" <<<"$out" &&
    grep -Eq "^quarantine:  ${id[q1]:0:16} quarantined until [0-9T:-]+Z after 3 failed attempts \(E_NOSPC\)$" \
        <<<"$out" && ok || bad "status of the quarantine: $out"
cli device list --group qgrp
grep -Eq "^${id[q1]} +thermo +active, quarantined +qgrp" <<<"$out" &&
    grep -Eq "^${id[h1]} +thermo +active +qgrp" <<<"$out" && ok || bad "device list: $out"
cli device show "${id[q1]}"
grep -q "^quarantine:       quarantined until .* after 3 failed attempts (E_NOSPC)$" <<<"$out" && ok ||
    bad "device show: $out"
req GET /api/v1/quarantine "${A[@]}"
expect_jq "[.devices[].device_id] == [\"${id[q1]}\"]" "quarantine list"
# A new rollout does not offer the quarantined device anything.
create again 1 --group qgrp --retry-backoff 1
ro_again=$ro
run_agent q1
! grep -q "install 1.2.0" <<<"$out" && member_is "$ro_again" q1 .state pending && ok ||
    bad "q1 offered while quarantined: $out"
cli device unquarantine "${id[q1]}"
[ "$out" = "lifted the quarantine of ${id[q1]}" ] && ok || bad "unquarantine: $out"
cli device unquarantine "${id[q1]}"
[ "$rc" -eq 1 ] && grep -q "409 E_STATE" <<<"$out" && ok || bad "unquarantine twice: $out"
run_agent q1
grep -q "install 1.2.0" <<<"$out" && ok || bad "q1 not offered after the lift: $out"
req GET "/api/v1/audit?limit=100" "${A[@]}"
expect_jq "([.entries[] | select(.action == \"device.quarantine\" and .actor == \"engine\")] | length) == 1
    and ([.entries[] | select(.action == \"device.unquarantine\")] | length) == 1" "quarantine audit"
cli rollout abort "$ro_again"

# --- d (a minute later): 2 more starts, never more than 2 in 60 s ---------------------
first=$(for d in "${rdevs[@]}"; do started "$ro_rate" "$d"; done | sort -n | grep -v '^0$' | tail -n 1)
while [ "$(date +%s)" -le "$((first + 60))" ]; do sleep 0.5; done
for d in "${rdevs[@]}"; do settle "$d"; done
mapfile -t starts < <(for d in "${rdevs[@]}"; do started "$ro_rate" "$d"; done | grep -v '^0$' | sort -n)
[ "${#starts[@]}" -eq 4 ] && ok || bad "rate cap, second minute: ${#starts[@]} started: ${starts[*]}"
worst=0
for s in "${starts[@]}"; do
    n=0
    for t in "${starts[@]}"; do [ "$t" -lt "$s" ] || [ "$t" -ge "$((s + 60))" ] || n=$((n + 1)); done
    [ "$n" -le "$worst" ] || worst=$n
done
[ "$worst" -eq 2 ] && ok || bad "at most 2 starts in any 60 s: $worst (${starts[*]})"
[ "$(ro_get "$ro_rate" '"\(.state) \(.waves[1].succeeded) \(.waves[1].waiting_rate_cap)"')" = "running 4 1" ] &&
    ok || bad "rate rollout after two minutes: $body"
finish
