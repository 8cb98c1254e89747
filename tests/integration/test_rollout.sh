#!/usr/bin/env bash
# Rollouts end to end: the real server (engine tick 1 s) and eight simulated
# devices running `nobrick-agent run --once`, driven through the CLI.
#  1. A good release goes canary -> 3 devices -> 100 % on its own, through a
#     server restart mid-rollout, with one device offline the whole time
#     that does not block the gates and is updated when it comes back.
#  2. A release whose health check fails on one hardware revision (rev-b)
#     pauses at its first wave: only the canary and that wave were touched,
#     the rest still run the good release; status says why in words.
#     resume pauses again (the gate still fails); abort cancels the rest.
#  3. A wave whose one device stays offline holds its gate, then with
#     --unseen-wait advances without it once the wait is over (the canary
#     vouches); the rollout completes; the device updates when it returns.
. "$(dirname "$0")/rollout_lib.sh"

mkbundle v1.nbb 1.0.0 1 one 100000
mkbundle v2.nbb 1.2.0 2 two 100000
mkbundle v3.nbb 1.3.0 3 three 100000
mkbundle v4.nbb 1.4.0 4 four 100000
start_server --poll-interval 1 --poll-jitter 0 --rollout-tick 1
export NOBRICK_SERVER=$base NOBRICK_TOKEN=$adm
devs=(d1 d2 d3 d4 d5 d6 d7 d8)
for d in "${devs[@]}"; do add_device "$d" "$base" v1.nbb 262144 fleet; done
upload v2.nbb
rel2=$rel
upload v3.nbb
rel3=$rel
upload v4.nbb
rel4=$rel

# --- 1. a good release, canary -> 100 %, a restart and an offline device -------
cli --json rollout plan "$rel2" --group fleet --canary "${id[d1]}" --waves 3,100% --soak 1
[ "$rc" -eq 0 ] && ok || bad "plan: exit $rc: $out"
echo "$out" >plan2.json
[ "$(jq '[.plan.waves[].devices]' -c plan2.json)" = "[1,3,4]" ] && ok ||
    bad "plan waves: $(jq -c .plan.waves plan2.json)"
[ "$(jq .plan.bytes plan2.json)" -eq $((8 * $(stat -c %s v2.nbb))) ] && ok || bad "plan bytes"
offline=$(name_of "$(plan_ids plan2.json 2 | head -n 1)")
cli rollout create "$rel2" --group fleet --canary "${id[d1]}" --waves 3,100% --soak 1 --name good
[ "$rc" -eq 0 ] && grep -q "rollout 1 'good' created (draft)" <<<"$out" && ok || bad "create: $out"
cli rollout start 1
[ "$out" = "rollout 1 is running" ] && ok || bad "start: $out"
cli rollout start 1
[ "$rc" -eq 1 ] && grep -q "409 E_STATE" <<<"$out" && ok || bad "start twice: $rc $out"

drive 1 '.current_wave == 1' 8 "$offline" && ok || bad "wave 1 not reached: $body"
[ "$(ro_get 1 '.waves[0].succeeded')" = 1 ] && ok || bad "canary: $body"
# A restart loses nothing: the same rollout, wave and devices.
stop_server
start_server --poll-interval 1 --poll-jitter 0 --rollout-tick 1
export NOBRICK_SERVER=$base
for d in "${devs[@]}"; do sed -i "s|^server = .*|server = $base|" "$d/agent.conf"; done
[ "$(ro_get 1 '"\(.state) \(.current_wave) \(.waves[0].succeeded) \(.waves[1].targeted)"')" = \
    "running 1 1 3" ] && ok || bad "after the restart: $body"

drive 1 '.state == "completed"' 12 "$offline" && ok || bad "not completed: $body"
ro_get 1 . >status1.json
jq -e '[.waves[].succeeded] == [1, 3, 3] and .waves[2].not_seen == 1 and
    ([.waves[].failed] | add) == 0' status1.json >/dev/null && ok ||
    bad "completed waves: $(jq -c '[.waves[] | {succeeded, not_seen, failed}]' status1.json)"
jq -e '.reason | startswith("completed: all 3 waves passed their gates (wave 2 advances: 3 of 3 reachable devices healthy (100.0% >= 95.0%); devices not seen do not count)")' \
    status1.json >/dev/null && ok || bad "completion reason: $(jq .reason status1.json)"
jq -e '.time_to_share["50%"] != null and .time_to_share["100%"] == null' status1.json \
    >/dev/null && ok || bad "time to share: $(jq -c .time_to_share status1.json)"
# The offline device comes back and takes the update.
for _ in 1 2 3; do
    run_agent "$offline"
    [ "$rc" -ne 5 ] || "$boot_bin" -c "$offline/agent.conf" >/dev/null
done
[ "$(installed "$offline")" = 1.2.0 ] && ok || bad "offline device: $(installed "$offline")"
[ "$(ro_get 1 '.waves[2].succeeded')" = 4 ] && ok || bad "offline device counted: $body"
req GET "/api/v1/audit?limit=100" "${A[@]}"
expect_jq '[.entries[] | select(.object == "rollout:1") | .action] |
    (map(select(. == "rollout.wave")) | length) == 3 and index("rollout.complete") != null' \
    "audit of rollout 1"

# --- 2. a release that fails its health check on rev-b -------------------------------
cli --json rollout plan "$rel3" --group fleet --canary "${id[d1]}" --waves 3,100% --soak 1 \
    --fail-min 2
echo "$out" >plan3.json
mapfile -t wave1 < <(plan_ids plan3.json 1)
mapfile -t wave2 < <(plan_ids plan3.json 2)
[ "${#wave1[@]}" -eq 3 ] && [ "${#wave2[@]}" -eq 4 ] && ok || bad "plan 3: $(jq -c .plan plan3.json)"
# rev-b: two devices of the first wave, two of the second.
revb=("$(name_of "${wave1[0]}")" "$(name_of "${wave1[1]}")" "$(name_of "${wave2[0]}")"
    "$(name_of "${wave2[1]}")")
for d in "${revb[@]}"; do
    printf '#!/bin/sh\n[ "$NOBRICK_VERSION" != 1.3.0 ] || { echo "sensor not found"; exit 1; }\n' \
        >"$d/health.d/20-sensor"
    chmod +x "$d/health.d/20-sensor"
    req PUT "/api/v1/devices/${id[$d]}/tags" "${A[@]}" -d '{"tags":["rev-b"]}'
done
cli --json rollout create "$rel3" --group fleet --canary "${id[d1]}" --waves 3,100% --soak 1 \
    --fail-min 2 --name bad
# Re-created, the same waves (the salt comes from the release).
[ "$(jq -c .plan.members <<<"$out")" = "$(jq -c .plan.members plan3.json)" ] && ok ||
    bad "waves differ between plan and create"
cli rollout start 2
drive 2 '.state != "running"' 14 && ok || bad "bad release not stopped: $body"
ro_get 2 . >status2.json
[ "$(jq -r '"\(.state) \(.current_wave)"' status2.json)" = "paused 1" ] && ok ||
    bad "bad release: $(jq -c '{state, current_wave, reason}' status2.json)"
jq -e '.reason == "wave 1 paused: 2 of 3 finished devices failed (66.6%; the limit is 2, max(2, 5.0%)): 2 health check failed"' \
    status2.json >/dev/null && ok || bad "pause reason: $(jq .reason status2.json)"
# Touched: the canary and wave 1, nobody else.
jq -e '[.waves[].targeted] == [1, 3, 0] and .waves[1].failed_by_reason["health check failed"] == 2' \
    status2.json >/dev/null && ok || bad "touched: $(jq -c '[.waves[] | {targeted, failed}]' status2.json)"
for w in "${wave2[@]}"; do
    d=$(name_of "$w")
    [ "$(installed "$d")" = 1.2.0 ] && ok || bad "$d (wave 2) runs $(installed "$d")"
done
for d in "${revb[@]:0:2}"; do
    [ "$(installed "$d")" = 1.2.0 ] && ok || bad "$d did not fall back: $(installed "$d")"
done
cli rollout status 2
grep -q "^why:         wave 1 paused: 2 of 3 finished devices failed" <<<"$out" && ok ||
    bad "status text: $out"
grep -Eq "^1 +3 +3 +0 +0 +0 +0 +1 +2 +0 +2 health check failed" <<<"$out" && ok ||
    bad "status wave 1 row: $out"
# resume: the gate still fails, so the engine pauses it again.
cli rollout resume 2
[ "$out" = "rollout 2 is running" ] && ok || bad "resume: $out"
sleep 2.5
[ "$(ro_get 2 .state)" = paused ] && ok || bad "resumed into a failing gate: $body"
cli rollout pause 2
[ "$rc" -eq 1 ] && grep -q "409 E_STATE" <<<"$out" && ok || bad "pause a paused rollout: $out"
cli rollout abort 2
[ "$out" = "rollout 2 is aborted" ] && ok || bad "abort: $out"
drive 2 'true' 1
[ "$(ro_get 2 '"\(.state) \([.waves[].targeted] | add)"')" = "aborted 4" ] && ok ||
    bad "after abort: $body"
for w in "${wave2[@]}"; do
    d=$(name_of "$w")
    [ "$(installed "$d")" = 1.2.0 ] && ok || bad "$d (wave 2) after abort: $(installed "$d")"
done
cli rollout status
grep -Eq "^2 +bad +2 +aborted +1 +aborted by token" <<<"$out" && ok || bad "list: $out"

# --- 3. a wave nobody of which checks in: --unseen-wait -----------------------------
cli --json rollout create "$rel4" --group fleet --canary "${id[d1]}" --waves 1,100% --soak 1 \
    --unseen-wait 15 --name unseen
echo "$out" >plan4.json
[ "$(jq -r .spec.unseen_wait_s plan4.json)" = 15 ] && ok || bad "spec: $(jq -c .spec plan4.json)"
away=$(name_of "$(plan_ids plan4.json 1)")
cli rollout start 3
drive 3 '.current_wave == 1' 8 "$away" && ok || bad "rollout 3: wave 1 not reached: $body"
[ "$(ro_get 3 .gate.reason)" = "wave 1 holds: none of its 1 devices has checked in yet (it advances after unseen_wait_s without them)" ] &&
    ok || bad "hold reason: $body"
drive 3 '.state == "completed"' 40 "$away" && ok || bad "rollout 3 not completed: $body"
ro_get 3 . >status4.json
jq -e '[.waves[].succeeded] == [1, 0, 6] and .waves[1].not_seen == 1' status4.json >/dev/null &&
    ok || bad "rollout 3 waves: $(jq -c '[.waves[] | {succeeded, not_seen}]' status4.json)"
grep -q "rollout 3: wave 1 advances: none of its 1 devices checked in within 15 s (unseen_wait_s), 1 healthy devices in the waves before" \
    "$work/server.log" && ok || bad "no advance logged: $(grep 'rollout 3' "$work/server.log")"
for _ in 1 2 3; do
    run_agent "$away"
    [ "$rc" -ne 5 ] || "$boot_bin" -c "$away/agent.conf" >/dev/null
done
[ "$(installed "$away")" = 1.4.0 ] && ok || bad "$away after its return: $(installed "$away")"
cli rollout create "$rel4" --group fleet --unseen-wait 8000000
[ "$rc" -ne 0 ] && grep -q "unseen_wait_s.*0..7776000" <<<"$out" && ok ||
    bad "--unseen-wait above 90 days: $rc $out"
finish
