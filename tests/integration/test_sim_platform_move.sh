#!/usr/bin/env bash
# nobrick-sim's platform-move (docs/simulator.md "Moving the fleet"): 100
# simulated devices on server A (root v1 listing A and B), 20 % of them
# offline. Root v2 (new root and director keys, a new release key beside
# the old one; endpoints [B]) is published on A; the online devices walk to
# v2 at their next check-in (a share with their power cut during the
# walk's write) and move to B. A is switched off and a stranger with its
# own root takes its address and deploys its own release to the whole
# fleet; the offline devices come up, meet the stranger first, refuse its
# instruction, fall back to B and walk there. A release signed with v2's key is deployed on B. From the summary
# and the servers: every device at root v2, last talking to B, running B's
# release; nothing of the stranger's installed; nothing bricked.
here=$(cd "$(dirname "$0")" && pwd)
. "$here/server_lib.sh"
. "$here/move_lib.sh"
trap 'stop_all_named; [ -s stranger.pid ] && kill -TERM "$(cat stranger.pid)" 2>/dev/null; rm -rf "$work"' EXIT
sim_bin="$bin/nobrick-sim"

PA=$(free_port)
PB=$(free_port)
UA="http://127.0.0.1:$PA"
UB="http://127.0.0.1:$PB"
move_fixture "$nobrick" "$UA" "$UB"

token_of() { "$server" token create --role admin --db "sqlite:$work/$1/server.db" 2>/dev/null; }
opts=(--poll-interval 600 --poll-jitter 120 --rollout-tick 1)
start_named a "$PA" root-v1.json dir1.key "${opts[@]}"
start_named b "$PB" root-v2.json dir2.key "${opts[@]}"
ta=$(token_of a)
tb=$(token_of b)
mkdir -p "$work/s"
ts=$(token_of s) # the stranger's database, before it starts

# The switch: A off (its port freed), the stranger started at A's address.
move_switch "$server" "${named_pid[a]}" "$PA" "$work"
move_scenario "$UA" "$ta" "$UB" "$tb" "$ts"
# The reduced size: 100 devices (the scenario's full size is bench/sim_platform_move.sh's).
jq '.fleet.count = 100 | .run.connections = 16 | .move.devices_file = "devices.jsonl"' \
    scenario.json >s.json && mv s.json scenario.json

# Bad move scenarios: refused, naming what is wrong.
jq '.move.bogus = 1' scenario.json >bad-field.json
rc=0
"$sim_bin" bad-field.json --quiet >/dev/null 2>bad.log || rc=$?
[ "$rc" -eq 2 ] && grep -q "scenario: move" bad.log && ok || bad "unknown move field: exit $rc: $(cat bad.log)"
jq '.move.new_server = "http://127.0.0.1:1"' scenario.json >bad-server.json
rc=0
"$sim_bin" bad-server.json --quiet >/dev/null 2>bad.log || rc=$?
[ "$rc" -eq 3 ] && grep -q "root v2 does not list move.new_server" bad.log && ok ||
    bad "a new server the chain does not list: exit $rc: $(cat bad.log)"

rc=0
"$sim_bin" scenario.json --summary summary.json --quiet 2>sim.log || rc=$?
[ "$rc" -eq 0 ] && ok || { bad "nobrick-sim exit $rc"; tail -n 20 sim.log >&2; }
[ -s summary.json ] || { bad "no summary"; finish; }
body=$(cat summary.json)
expect_jq '.devices == 100 and .bricked == 0 and .states.bricked == 0' "no device bricked"
expect_jq '.root_versions == {"2": 100}' "every device at root v2"
expect_jq ".servers == {\"$UB\": 100}" "every device last talked to B"
expect_jq '.versions == {"2.0.0": 100} and .updated == 100' "every device runs B's release"
expect_jq '.stranger_installs == 0' "nothing of the stranger's installed"
expect_jq '.server_counts.succeeded == 100' "B's counts in the summary: 100 succeeded"
expect_jq '.move.moved == 100 and .move.final_root_version == 2' "100 devices moved"
expect_jq '.move.offline_devices >= 10 and .move.offline_devices <= 30' "about 20 % offline"
expect_jq '.move.stranger_version == "6.6.6" and .move.stranger_deployment_id > 0' \
    "the stranger deployed its release"
expect_jq '.move.walk_power_cuts_armed >= 1 and .faults.power_cuts >= 1' \
    "power cut during a walk (seed 11)"
expect_jq '.expectations_met == true' "expectations met"
# Per device: its root, the server of its last answer, what it boots.
body=$(jq -s . devices.jsonl)
expect_jq "length == 100 and ([.[] | .index] | unique | length) == 100" "100 device lines"
expect_jq "[.[] | select(.root_version == 2 and .server == \"$UB\" and .version == \"2.0.0\")]
    | length == 100" "every device line: root v2, B, 2.0.0"
grep -q "root chain published on $UA (v2)" sim.log && ok || bad "v2 not published on A"
grep -q "stopped at a limit" sim.log && bad "a phase hit a limit: $(grep limit sim.log)" || ok

# B saw every device install its release.
base=$UB
req GET "/api/v1/devices?group=sim-move&limit=200" -H "Authorization: Bearer $tb"
expect_jq '[.devices[] | select(.installed_version == "2.0.0")] | length == 100' "B: 100 at 2.0.0"
dep=$(jq -r .deployment_id summary.json)
req GET "/api/v1/deployments/$dep" -H "Authorization: Bearer $tb"
expect_jq '.counts.succeeded == 100' "B: deployment succeeded on 100"
# The stranger met the offline devices and got nothing from them.
base=$UA
sdep=$(jq -r .move.stranger_deployment_id summary.json)
req GET "/api/v1/deployments/$sdep" -H "Authorization: Bearer $ts"
expect_jq '(.counts.succeeded // 0) == 0' "stranger: no success"
req GET "/api/v1/devices?group=sim-move&limit=200" -H "Authorization: Bearer $ts"
off=$(jq .move.offline_devices summary.json)
expect_jq "[.devices[] | select(.state == \"active\")] | length == $off" \
    "stranger: exactly the offline devices enrolled there"
expect_jq '[.devices[] | select(.installed_version == "6.6.6")] | length == 0' \
    "stranger: no device reports its release"
kill -TERM "$(cat stranger.pid)" 2>/dev/null || true
stop_named b
finish
