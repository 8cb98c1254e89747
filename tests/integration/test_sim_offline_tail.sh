#!/usr/bin/env bash
# The offline-tail scenario (sim/scenarios/offline-tail.json) at reduced
# size: 100 simulated devices polling every 2 h (the server says so; two
# weeks of 15-minute polls would be 130,000 check-ins), 30 % of them offline for two virtual weeks
# from the rollout's start (their requests fail, their agents back off).
# The rollout runs on the server's virtual clock: its waves complete on
# the reachable devices (the offline ones do not hold the gates), and when
# the offline devices come back they are caught up: every device updated,
# none bricked. Another 10 % are intermittent (reachable for a poll interval
# with probability 0.5; the device timeout is two days so that they are
# not timed out): they update too.
. "$(dirname "$0")/server_lib.sh"
sim_bin="$bin/nobrick-sim"
src="${NB_SRC:?}/sim/scenarios/offline-tail.json"
make_fleet
mkbundle factory.nbb 1.0.0 1 one
mkbundle update.nbb 1.1.0 2 two
start_server --clock-file "$work/clock" --poll-interval 7200 --poll-jitter 600
admin_token

# At 100 devices the scenario's 1 % and 10 % steps would make a wave of one
# or two devices; when those are all in the offline tail, the wave has no
# reachable device to judge and its gate holds until they return (without
# unseen_wait_s, test_rollout.sh, the gate never advances on no device of
# its own). Waves of 15+ devices here.
jq '.fleet.count = 100 | .fleet.poll_interval_s = 7200 | .fleet.poll_jitter_s = 600
    | .fleet.online += [{"share": 0.1, "online_p": 0.5}] | .plan.rollout.device_timeout_s = 172800
    | .plan.rollout.waves = [{"percent": 20}, {"percent": 50}, {"percent": 100}]' \
    "$src" >scenario.json
rc=0
"$sim_bin" scenario.json --server "$base" --token "$adm" --clock-file "$work/clock" \
    --summary summary.json 2>sim.log || rc=$?
[ "$rc" -eq 0 ] && ok || { bad "nobrick-sim exit $rc"; tail -n 20 sim.log >&2; }
[ -s summary.json ] || { bad "no summary"; finish; }
body=$(cat summary.json)
weeks2=1209600
expect_jq '.online.offline >= 27 and .online.offline <= 33 and .online.intermittent >= 8
    and .online.intermittent <= 12 and .online.always == 100 - .online.offline - .online.intermittent' \
    "30 % of the fleet offline, 10 % intermittent"
expect_jq '.rollout.state == "completed"' "the rollout completed"
expect_jq ".timing.rollout_stopped_s != null and .timing.rollout_stopped_s < $weeks2" \
    "... before the offline devices came back"
expect_jq '(.rollout.waves | length) == 4 and ([.rollout.waves[].planned] | add) == 100' \
    "every device was in a wave"
expect_jq ".timing.time_to_50_s < $weeks2 and .timing.time_to_99_s >= $weeks2" \
    "half the fleet updated while the tail was offline; the tail after it returned"
expect_jq '.devices == 100 and .updated == 100 and .versions["1.1.0"] == 100' \
    "every device updated in the end"
expect_jq '.bricked == 0 and .failed == 0 and .rolled_back == 0 and .unreached == 0' \
    "none bricked, failed or left behind"
expect_jq '.traffic.offline_refusals >= 10 * .online.offline' "offline devices kept trying"
expect_jq '.expectations_met == true' "expectations met"
grep -q "rollout completed, wave 3" sim.log && ok || bad "the progress line shows the rollout"

# Bad scenarios are refused before anything starts (exit 2), naming the field.
refused() { # refused WHAT PATTERN JQ [OPTIONS...]
    local what=$1 pat=$2 edit=$3
    shift 3
    jq "$edit" scenario.json >bad.json
    rc=0
    "$sim_bin" bad.json --server "$base" --token "$adm" "$@" 2>bad.log >/dev/null || rc=$?
    if [ "$rc" -eq 2 ] && grep -q -- "$pat" bad.log; then ok; else
        bad "$what: exit $rc: $(cat bad.log)"; fi
}
clock=(--clock-file "$work/clock")
refused "release_id in the rollout" "plan.rollout: an object" '.plan.rollout.release_id = 1' "${clock[@]}"
refused "shares above 1" "fleet.online" '.fleet.online += [{"share": 0.8, "online_p": 0.5}]' "${clock[@]}"
refused "both patterns in one" "fleet.online" '.fleet.online[0].online_p = 0.5' "${clock[@]}"
refused "a probability of 2" "boot_crash" '.releases[0].boot_crash = 2' "${clock[@]}"
refused "tick_s without a rollout" "need plan.rollout" 'del(.plan.rollout)' "${clock[@]}"
refused "a rollout without the clock file" "needs --clock-file" '.'
finish
