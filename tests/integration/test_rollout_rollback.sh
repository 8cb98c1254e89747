#!/usr/bin/env bash
# Rollout control end to end: the real server (engine tick 1 s) and eight
# simulated devices running `nobrick-agent run --once`, driven through the CLI.
#  1. Version range: a plan leaves out the devices outside [min, max], each
#     with its reason.
#  2. Approval: a rollout that needs a second operator does not start until
#     another token approved it; its creator cannot approve it.
#  3. A release that fails its health check on hardware revision rev-b, with
#     auto_rollback: stopped at wave 1 (the canary and that wave touched, no
#     one else), aborted, and rolled back by the engine: the devices that
#     committed it run the previous release again; those that fell back by
#     themselves are left alone. A rollback below the counter is refused.
#  4. Force-advance and the emergency stop (rollouts paused, plain
#     deployments' devices that had not started cancelled), all audited.
#  5. Maintenance windows: a closed window opens no wave; a closed
#     download-only window lets the device download but not install; an
#     open one installs.
. "$(dirname "$0")/rollout_lib.sh"

mkbundle v0.nbb 1.0.0 1 zero 100000
mkbundle v2.nbb 1.2.0 2 two 100000
mkbundle v3.nbb 1.3.0 2 three 100000
mkbundle v4.nbb 1.4.0 2 four 100000
start_server --poll-interval 1 --poll-jitter 0 --rollout-tick 1
export NOBRICK_SERVER=$base NOBRICK_TOKEN=$adm
devs=(d1 d2 d3 d4 d5 d6 d7 d8)
for d in "${devs[@]}"; do add_device "$d" "$base" v2.nbb 262144 fleet; done
upload v0.nbb
rel0=$rel
upload v2.nbb
rel2=$rel
upload v3.nbb
rel3=$rel
upload v4.nbb
rel4=$rel
audit_actions() {
    req GET "/api/v1/audit?limit=200" "${A[@]}"
    jq -r --arg o "$1" '[.entries[] | select(.object == $o) | "\(.actor)|\(.action)"] | .[]' <<<"$body"
}
hour_from_now() { echo $((($(date -u +%H | sed 's/^0//') + $1) % 24)); }

# --- 1. version range ---------------------------------------------------------------
cli --json rollout plan "$rel3" --group fleet --max-version 1.1.0
[ "$rc" -eq 0 ] && [ "$(jq '.plan.devices' <<<"$out")" -eq 0 ] &&
    [ "$(jq '[.plan.excluded[] | select(.reason == "runs 1.2.0, above max_version 1.1.0")] | length' <<<"$out")" -eq 8 ] &&
    ok || bad "max_version: $rc $out"
cli --json rollout plan "$rel3" --group fleet --min-version 1.2.0 --max-version 1.2.9
[ "$rc" -eq 0 ] && [ "$(jq '.plan.devices' <<<"$out")" -eq 8 ] && ok || bad "in range: $out"
cli rollout plan "$rel3" --group fleet --min-version 1.3 
[ "$rc" -eq 1 ] && grep -q "min_version" <<<"$out" && ok || bad "bad min_version: $rc $out"

# --- 2. approval by a second operator -------------------------------------------------
req POST /api/v1/tokens "${A[@]}" -d '{"role":"operator","name":"bob"}'
bob=$(jq -r .token <<<"$body")
bob_id=$(jq -r .id <<<"$body")
cli --json rollout plan "$rel3" --group fleet --canary "${id[d1]}" --waves 3,100% --soak 1 --fail-min 2
echo "$out" >plan3.json
mapfile -t wave1 < <(plan_ids plan3.json 1)
mapfile -t wave2 < <(plan_ids plan3.json 2)
[ "${#wave1[@]}" -eq 3 ] && [ "${#wave2[@]}" -eq 4 ] && ok || bad "plan 3: $(jq -c .plan plan3.json)"
cli rollout create "$rel3" --group fleet --canary "${id[d1]}" --waves 3,100% --soak 1 \
    --fail-min 2 --name bad --auto-rollback --approvals 2
[ "$rc" -eq 0 ] && grep -q "rollout 1 'bad' created (draft)" <<<"$out" && ok || bad "create: $out"
cli rollout start 1
[ "$rc" -eq 1 ] && grep -q "409 E_APPROVAL" <<<"$out" &&
    grep -q "rollout 1 needs approval by a second operator; created by token:1 (" <<<"$out" &&
    ok || bad "start without approval: $rc $out"
cli rollout approve 1
[ "$rc" -eq 1 ] && grep -q "403 E_APPROVAL" <<<"$out" && grep -q "a second operator" <<<"$out" &&
    ok || bad "creator approves: $rc $out"
NOBRICK_TOKEN=$bob cli rollout approve 1
[ "$rc" -eq 0 ] && grep -q "rollout 1 approved by token:$bob_id (bob); 0 more approval(s) needed" \
    <<<"$out" && ok || bad "approve: $rc $out"
NOBRICK_TOKEN=$bob cli rollout approve 1
[ "$rc" -eq 1 ] && grep -q "409 E_EXIST" <<<"$out" && ok || bad "approve twice: $rc $out"
[ "$(ro_get 1 .state)" = draft ] && ok || bad "approval started it: $body"

# --- 3. a bad release on rev-b, stopped and rolled back automatically ----------------------
revb=("$(name_of "${wave1[0]}")" "$(name_of "${wave1[1]}")" "$(name_of "${wave2[0]}")"
    "$(name_of "${wave2[1]}")")
for d in "${revb[@]}"; do
    printf '#!/bin/sh\n[ "$NOBRICK_VERSION" != 1.3.0 ] || { echo "sensor not found"; exit 1; }\n' \
        >"$d/health.d/20-sensor"
    chmod +x "$d/health.d/20-sensor"
done
r1_wave1=$(name_of "${wave1[2]}")
cli rollout start 1
[ "$out" = "rollout 1 is running" ] && ok || bad "start after approval: $out"
drive 1 '.state != "running"' 14 && ok || bad "bad release not stopped: $body"
ro_get 1 . >status1.json
[ "$(jq -r '"\(.state) \(.current_wave)"' status1.json)" = "aborted 1" ] && ok ||
    bad "bad release: $(jq -c '{state, current_wave, reason}' status1.json)"
jq -e '.reason == "wave 1 paused: 2 of 3 finished devices failed (66.6%; the limit is 2, max(2, 5.0%)): 2 health check failed; aborted for its automatic rollback"' \
    status1.json >/dev/null && ok || bad "abort reason: $(jq .reason status1.json)"
# Touched: the canary and wave 1 (4 devices), nobody else.
jq -e '[.waves[].targeted] == [1, 3, 0] and ([.waves[].targeted] | add) == 4 and
    .waves[1].failed_by_reason["health check failed"] == 2' status1.json >/dev/null && ok ||
    bad "touched: $(jq -c '[.waves[] | {targeted, failed}]' status1.json)"
for w in "${wave2[@]}"; do
    d=$(name_of "$w")
    [ "$(installed "$d")" = 1.2.0 ] && ok || bad "$d (wave 2) runs $(installed "$d")"
done
[ "$(installed d1)" = 1.3.0 ] && [ "$(installed "$r1_wave1")" = 1.3.0 ] && ok ||
    bad "rev-a devices did not commit 1.3.0: $(installed d1) $(installed "$r1_wave1")"
# The engine started the rollback: rollout 2, the previous release, two devices.
[ "$(ro_get 2 '"\(.name) \(.release_id) \(.created_by) \(.spec.rollback_of)"')" = \
    "rollback-of-1 $rel2 engine 1" ] && ok || bad "rollback rollout: $body"
audit_actions rollout:1 | grep -qx "engine|rollout.rollback" && ok || bad "rollback not audited"
drive 2 '.state == "completed"' 10 && ok || bad "rollback not completed: $body"
ro_get 2 . >status2.json
jq -e '[.waves[].targeted] == [1, 1, 0] and [.waves[].succeeded] == [1, 1, 0]' status2.json \
    >/dev/null && ok || bad "rollback waves: $(jq -c '[.waves[] | {targeted, succeeded}]' status2.json)"
for d in "${devs[@]}"; do
    [ "$(installed "$d")" = 1.2.0 ] && ok || bad "$d runs $(installed "$d") after the rollback"
done
cli rollout rollback 1
[ "$rc" -eq 1 ] && grep -q "409 E_EXIST" <<<"$out" &&
    grep -q "rollout 1 is rolled back already, by rollout 2" <<<"$out" && ok || bad "twice: $out"
# Below the counter the devices committed (2): refused, with the remedy.
cli rollout create "$rel3" --group fleet --name again
cli rollout rollback 3 --release 1.0.0
[ "$rc" -eq 1 ] && grep -q "409 E_ROLLBACK" <<<"$out" &&
    grep -q "release 1.0.0 has security counter 1, below the 2 of release 1.3.0" <<<"$out" &&
    grep -q "Re-sign the 1.0.0 image with security counter 2 as a new release" <<<"$out" && ok ||
    bad "counter refusal: $rc $out"
cli rollout rollback 3 --release 9.9.9
[ "$rc" -eq 1 ] && grep -q "404 E_NOENT" <<<"$out" && ok || bad "unknown release: $rc $out"
cli rollout abort 3

# --- 4. force-advance, then the emergency stop -------------------------------------------
cli rollout create "$rel4" --group fleet --canary "${id[d1]}" --waves 3,100% --soak 3600 --name slow
cli rollout start 4
for _ in $(seq 1 30); do [ "$(ro_get 4 .current_wave)" = 0 ] && break; sleep 0.2; done
cli rollout advance 4
[ "$rc" -eq 2 ] && grep -q "reason TEXT is required" <<<"$out" && ok || bad "advance no reason: $rc $out"
cli rollout advance 4 --reason "canary looks fine"
[ "$out" = "rollout 4 is running at wave 1" ] && ok || bad "advance: $out"
[ "$(ro_get 4 '.waves[1].targeted')" = 3 ] && ok || bad "wave 1 after advance: $body"
[ "$(audit_actions rollout:4 | grep -c '^token:1 (.*)|rollout.advance$')" -eq 1 ] && ok ||
    bad "advance audit: $(audit_actions rollout:4)"
req POST /api/v1/deployments "${A[@]}" -d "{\"release_id\":$rel4,\"device_id\":\"${id[d8]}\"}"
dep=$(jq -r .id <<<"$body")
NOBRICK_TOKEN=$bob cli rollout stop-all --reason drill
[ "$rc" -eq 1 ] && grep -q "403" <<<"$out" && ok || bad "stop-all as operator: $rc $out"
cli rollout stop-all --reason drill
[ "$out" = "emergency stop: 1 rollout(s) paused, 1 deployment(s) stopped" ] && ok || bad "stop-all: $out"
ro_get 4 . >status4.json
jq -e '.state == "paused" and (.reason | test("^emergency stop by token:1 \\(.*\\): drill$"))' \
    status4.json >/dev/null && ok || bad "rollout 4 after stop: $(jq -c '{state, reason}' status4.json)"
[ "$(assignment "$dep" d8) $(assignment "$dep" d8 code)" = "cancelled E_STOPPED" ] && ok ||
    bad "deployment: $body"
[ "$(audit_actions rollout:4 | grep -c '|rollout.stop$')" -eq 1 ] &&
    [ "$(audit_actions "deployment:$dep" | grep -c '|deployment.stop$')" -eq 1 ] && ok || bad "stop audit"
run_agent d8
[ "$(installed d8)" = 1.2.0 ] && ok || bad "d8 installed after the stop"
cli rollout abort 4

# --- 5. maintenance windows --------------------------------------------------------------
closed="0 $(hour_from_now 12) * * *"
cli rollout create "$rel4" --group fleet --canary "${id[d2]}" --waves 100% --soak 1 --name shut \
    --window "$closed"
cli rollout start 5
sleep 2.5
[ "$(ro_get 5 .current_wave)" = -1 ] && ok || bad "a wave opened outside the window: $body"
cli rollout abort 5
cli rollout create "$rel4" --group fleet --canary "${id[d2]}" --waves 100% --soak 1 --name later \
    --window "$closed" --window-tz Europe/Berlin --download-only
cli rollout start 6
for _ in $(seq 1 30); do [ "$(ro_get 6 .current_wave)" = 0 ] && break; sleep 0.2; done
run_agent d2
[ "$rc" -eq 0 ] && grep -q "update 1.4.0 downloaded and verified: installs in the maintenance window from" \
    <<<"$out" && ok || bad "download-only: $rc $out"
[ "$(installed d2)" = 1.2.0 ] && [ "$(ro_get 6 '.waves[0].downloading')" = 1 ] && ok ||
    bad "installed outside the window: $(installed d2) $body"
cli rollout abort 6
cli rollout create "$rel4" --group fleet --canary "${id[d2]}" --waves 100% --soak 1 --name now \
    --window "* * * * *" --window-duration 3600 --download-only
cli rollout start 7
for _ in $(seq 1 30); do [ "$(ro_get 7 .current_wave)" = 0 ] && break; sleep 0.2; done
for _ in 1 2 3; do
    run_agent d2
    [ "$rc" -ne 5 ] || "$boot_bin" -c d2/agent.conf >/dev/null
done
[ "$(installed d2)" = 1.4.0 ] && ok || bad "not installed inside the window: $(installed d2)"
cli rollout create "$rel4" --window "0 25 * * *"
[ "$rc" -eq 1 ] && grep -q "cron field 2 (hour): '25' is out of 0..23" <<<"$out" && ok ||
    bad "bad cron: $rc $out"
cli rollout create "$rel4" --window "0 2 * * *" --window-tz Mars/Olympus
[ "$rc" -eq 1 ] && grep -q "time zone 'Mars/Olympus' is not in the system's zoneinfo" <<<"$out" &&
    ok || bad "bad tz: $rc $out"
finish
