#!/usr/bin/env bash
# nobrick-sim against the real server: 50 simulated devices (the agent
# core, install engine and bootloader policy of libnobrick on in-memory
# flash) are preauthorised, enrol, get a release deployed to their group
# with 5 % of them losing power (torn writes) during the install. From the
# JSON summary: no device bricked, every device on the old or the new
# version, at least 90 % on the new; and the server's deployment counts
# agree with what the devices did.
. "$(dirname "$0")/server_lib.sh"
make_fleet
mkbundle v1.nbb 1.0.0 1 one
mkbundle v2.nbb 1.1.0 2 two
start_server --poll-interval 600 --poll-jitter 120
admin_token

cat >scenario.json <<'JSON'
{
  "seed": 7,
  "root": "root.json",
  "factory": "v1.nbb",
  "fleet": {"count": 50, "group": "sim-basic",
            "hw_classes": [{"name": "thermo", "revisions": ["r1", "r2"]}],
            "slot_size": 262144, "meta_size": 16384, "poll_interval_s": 600,
            "poll_jitter_s": 120},
  "faults": {"power_cut_during_install": 0.05, "cut_window_ops": 60, "tear": true},
  "releases": [{"bundle": "v2.nbb"}],
  "plan": {"deploy": 0},
  "run": {"mode": "virtual", "max_virtual_s": 86400, "max_wall_s": 240, "connections": 16},
  "expect": {"bricked_max": 0, "updated_min": 0.9}
}
JSON

run_sim scenario.json
expect_jq '.devices == 50 and .bricked == 0' "no device bricked"
expect_jq '(.versions["1.0.0"] // 0) + (.versions["1.1.0"] // 0) == 50' "old or new version only"
expect_jq '(.versions["1.1.0"] // 0) >= 45 and .updated >= 45' "at least 90 % updated"
expect_jq '.unreached == 0 and .states.pending == 0' "every device reached and settled"
expect_jq '.traffic.frames > 0 and .traffic.bytes_served > 0' "frames fetched"
expect_jq '.faults.power_cuts >= 1' "a power cut happened (seed 7)"
expect_jq '.timing.time_to_50_s != null' "time to 50 %"
# The server saw the same thing: succeeded only after the check-in on the new version.
expect_jq '.server_counts.succeeded == .updated' "server: succeeded == updated"
expect_jq '(.server_counts.failed // 0) == .failed and (.server_counts.rolled_back // 0) == .rolled_back' \
    "server: failed and rolled back agree"
dep=$(jq -r .deployment_id summary.json)
req GET "/api/v1/deployments/$dep" -H "Authorization: Bearer $adm"
expect_jq "[.assignments[] | select(.state == \"succeeded\")] | length == $(jq .updated summary.json)" \
    "assignments succeeded"
req GET "/api/v1/devices?group=sim-basic&limit=100" -H "Authorization: Bearer $adm"
expect_jq '[.devices[] | select(.state == "active")] | length == 50' "50 devices active in the group"
finish
