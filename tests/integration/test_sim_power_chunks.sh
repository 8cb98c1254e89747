#!/usr/bin/env bash
# sim/scenarios/power-and-chunks.json at reduced size (300 devices): a
# ~1 MiB firmware in 4 KiB frames stored in about 1 KiB each, fetched over
# a network that cuts answers mid-body, flips bytes in frames and drops
# answers, with 3 % of the devices losing power (torn writes) during the
# install. From the JSON summary: no device bricked, every device on the
# old or the new version, at least 99 % on the new; the faults did happen
# (answers cut, frames corrupted and fetched again, power cuts); the
# server agrees; at most `connections` curl handles existed. A scenario
# whose fault probability or virtual-time step is out of range is refused,
# naming the field.
. "$(dirname "$0")/server_lib.sh"
. "${NB_SRC:?NB_SRC must name the source directory}/sim/scenarios/chunks.sh"
make_fleet
chunk_image factory.img 1048576 factory
chunk_image update.img 1048576 update
chunk_bundle factory.nbb factory.img 1.0.0 1 rel.key
chunk_bundle update.nbb update.img 1.1.0 2 rel.key
start_server --poll-interval 900 --poll-jitter 180
admin_token

n=300
# groups of 100: three deployments (a group deployment assigns 1000 at most)
jq --argjson n $n '.fleet.count = $n | .fleet.group_size = 100 | .run.max_wall_s = 300 |
    .run.connections = 32' \
    "$NB_SRC/sim/scenarios/power-and-chunks.json" >scenario.json
run_sim scenario.json
expect_jq ".devices == $n and .bricked == 0 and .states.bricked == 0" "no device bricked"
expect_jq "(.versions[\"1.0.0\"] // 0) + (.versions[\"1.1.0\"] // 0) == $n" "old or new version only"
expect_jq "(.versions[\"1.1.0\"] // 0) >= ($n * 99 / 100) and .updated >= ($n * 99 / 100)" \
    "at least 99 % on the new version"
expect_jq '.unreached == 0 and .states.pending == 0' "every device reached and settled"
expect_jq '.traffic.frames >= 256 * 300 and .traffic.bytes_served < 400 * 1024 * 300' \
    "256 frames a device, about 1 KiB each"
expect_jq '.faults.answers_truncated > 0 and .traffic.transport_failures >= .faults.answers_truncated' \
    "answers cut mid-body, reported as transport failures"
expect_jq '.faults.frames_corrupted > 0' "frames corrupted"
expect_jq '.traffic.frame_refetches >= .faults.frames_corrupted' \
    "every corrupted frame refused by its hash and fetched again"
# Runs of consecutive frames up to 64 KiB: ~1 KiB stored frames come about
# 60 to a request, so well under a request per 8 frames even with the
# runs fetched again after cuts, flips and power cuts.
expect_jq '.traffic.frame_requests > 0 and .traffic.frame_requests * 8 < .traffic.frames' \
    "several frames a Range request"
expect_jq '.faults.power_cuts > 0 and .faults.power_cuts <= .faults.power_cuts_armed' "power cuts hit"
expect_jq '.deployments == 3 and .server_counts.succeeded == .updated' \
    "three group deployments; server: succeeded == updated"
expect_jq '.memory.curl_handles_peak > 0 and .memory.curl_handles_peak <= 32' \
    "easy handles only for transfers in flight (at most connections)"
expect_jq '.checkins.ok >= 2 * 300 and .latency.count >= .checkins.ok and .latency.p99_ms > 0' \
    "check-ins timed"

# Bad input: a fault probability out of range is refused with the field named.
jq '.faults.corrupt = 0.9' scenario.json >bad.json
rc=0
"$bin/nobrick-sim" bad.json --server "$base" --token "$adm" --quiet 2>bad.log >/dev/null || rc=$?
[ "$rc" -eq 2 ] && grep -q "faults: truncate and corrupt in 0..0.5" bad.log && ok ||
    bad "out-of-range corrupt: exit $rc, $(cat bad.log)"
# ... and so is a virtual-time step past the challenge's lifetime.
jq '.run.inflight_step_ms = 20000' scenario.json >bad.json
rc=0
"$bin/nobrick-sim" bad.json --server "$base" --token "$adm" --quiet 2>bad.log >/dev/null || rc=$?
[ "$rc" -eq 2 ] && grep -q "inflight_step_ms 0..10000" bad.log && ok ||
    bad "out-of-range inflight_step_ms: exit $rc, $(cat bad.log)"
finish
