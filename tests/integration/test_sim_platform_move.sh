#!/usr/bin/env bash
# nobrick-sim's platform-move (docs/simulator.md "Moving the fleet"): 100
# simulated devices on server A (root v1 listing A and B), 20 % of them
# offline. Root v2 (new root and director keys, a new release key beside
# the old one; endpoints [B]) is published on A; the online devices walk to
# v2 at their next check-in (a share with their power cut during the
# walk's write) and move to B. A is
# switched off and a stranger with its own root takes its address and
# deploys its own release to the whole fleet; the offline devices come up,
# meet the stranger first, refuse its instruction, fall back to B and walk
# there. A release signed with v2's key is deployed on B. From the summary
# and the servers: every device at root v2, last talking to B, running B's
# release; nothing of the stranger's installed; nothing bricked.
here=$(cd "$(dirname "$0")" && pwd)
. "$here/server_lib.sh"
trap 'stop_all_named; [ -s stranger.pid ] && kill -TERM "$(cat stranger.pid)" 2>/dev/null; rm -rf "$work"' EXIT
sim_bin="$bin/nobrick-sim"

PA=$(free_port)
PB=$(free_port)
UA="http://127.0.0.1:$PA"
UB="http://127.0.0.1:$PB"
for k in r1:root rel1:release dir1:director r2:root rel2:release dir2:director \
    sr:root srel:release sdir:director; do
    "$nobrick" key new "${k#*:}" "${k%%:*}" >/dev/null
done
"$nobrick" root new --key r1.key --threshold 1 --release-key rel1.pub --director-key dir1.pub \
    --endpoint "$UA" --endpoint "$UB" --expires-days 365 --out root-v1.json >/dev/null
# v2 keeps rel1 beside rel2 in its release role: the bootloader verifies
# every boot against the newest root, and a device that reboots after its
# walk but before it installs a release signed by rel2 (the power cuts
# below) still boots its factory image (docs/trust.md, step 2).
"$nobrick" root rotate --from root-v1.json --sign-old r1.key --sign-new r2.key \
    --release-key rel1.pub --release-key rel2.pub --director-key dir2.pub --endpoint "$UB" \
    --out root-v2.json >/dev/null
"$nobrick" root new --key sr.key --threshold 1 --release-key srel.pub --director-key sdir.pub \
    --endpoint "$UA" --expires-days 365 --out stranger-root.json >/dev/null
bundle() { # OUT VERSION COUNTER KEY SEED
    head -c 150000 /dev/zero | openssl enc -aes-256-ctr -nosalt -pbkdf2 -pass "pass:$5" >"$1.img"
    "$nobrick" bundle create --image "$1.img" --version "$2" --security-counter "$3" \
        --hw-class thermo --key "$4" --frame-size 16384 --out "$1" >/dev/null
}
bundle fw1.nbb 1.0.0 1 rel1.key one
bundle fw2.nbb 2.0.0 2 rel2.key two
bundle evil.nbb 6.6.6 9 srel.key evil

token_of() { "$server" token create --role admin --db "sqlite:$work/$1/server.db" 2>/dev/null; }
start_named a "$PA" root-v1.json dir1.key --poll-interval 600 --poll-jitter 120
start_named b "$PB" root-v2.json dir2.key --poll-interval 600 --poll-jitter 120
ta=$(token_of a)
tb=$(token_of b)
mkdir -p "$work/s"
ts=$(token_of s) # the stranger's database, before it starts

# The switch: A off (its port freed), the stranger started at A's address.
cat >switch.sh <<SH
set -e
kill -TERM ${named_pid[a]}
for i in \$(seq 1 100); do kill -0 ${named_pid[a]} 2>/dev/null || break; sleep 0.1; done
"$server" --db "sqlite:$work/s/server.db" --data "$work/s/data" --listen "127.0.0.1:$PA" \
    --director-key sdir.key --root stranger-root.json --min-checkin-interval 0 \
    --poll-interval 600 --poll-jitter 120 2>"$work/s.log" &
echo \$! >stranger.pid
for i in \$(seq 1 100); do grep -q "listening on" "$work/s.log" && exit 0; sleep 0.1; done
exit 1
SH

sed -e "s|@A@|$UA|; s|@TA@|$ta|; s|@B@|$UB|; s|@TB@|$tb|; s|@TS@|$ts|" \
    "$here/../../sim/scenarios/platform-move.json" >scenario.json
# The reduced size: 100 devices (the scenario's full size is bench/sim_platform_move.sh's).
jq '.fleet.count = 100 | .run.connections = 16 | .move.switch_command = "sh switch.sh"' \
    scenario.json >s.json && mv s.json scenario.json

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
expect_jq '.move.moved == 100 and .move.final_root_version == 2' "100 devices moved"
expect_jq '.move.offline_devices >= 10 and .move.offline_devices <= 30' "about 20 % offline"
expect_jq '.move.stranger_version == "6.6.6" and .move.stranger_deployment_id > 0' \
    "the stranger deployed its release"
expect_jq '.move.walk_power_cuts_armed >= 1 and .faults.power_cuts >= 1' \
    "power cut during a walk (seed 11)"
expect_jq '.expectations_met == true' "expectations met"
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
