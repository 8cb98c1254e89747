#!/usr/bin/env bash
# The online agent when things break, through the real programs: the server
# (127.0.0.1, temporary SQLite database), `nobrick-agent run --once` on
# simulated devices and, between them, the loopback proxy http_proxy.py.
#   1. the server killed (SIGKILL) in the middle of a run of frames and
#      restarted on the same database: nothing lost, the download resumes,
#      no verified frame is fetched twice;
#   2. the connection cut in the middle of runs: that run is fetched again
#      by Range, no other twice;
#   3. power cuts (and torn writes) spread over the install and over the
#      commit: a verified image boots, re-running finishes, the deployment
#      succeeds;
#   4. a device offline for the whole deployment updates when it returns.
. "$(dirname "$0")/agent_lib.sh"
start_server --poll-interval 1 --poll-jitter 0
start_proxy

mkbundle v1.nbb 1.0.0 1 one 100000
mkbundle big.nbb 2.0.0 2 big $((2 * 1024 * 1024)) # 128 frames of 16 KiB
frames=$(sed -nE 's/.*, ([0-9]+) frames of.*/\1/p' big.nbb.out)
[ "$frames" -eq 128 ] && ok || bad "big bundle: $frames frames"
upload big.nbb
rel_big=$rel
# The agent fetches runs of consecutive frames, up to fetch_max_bytes (64 KiB
# by default) a Range request. The image is random, so every frame is stored
# in the same number of bytes: runs of `per` frames, `runs` requests.
bundle_len=$(stat -c %s big.nbb)
frames_len=$(od -An -tu8 -j20 -N8 big.nbb | tr -d ' ')
frames_at=$((bundle_len - frames_len))
stored=$((frames_len / frames))
per=$((65536 / stored))
runs=$(((frames + per - 1) / per))
[ $((stored * frames)) -eq "$frames_len" ] && [ "$per" -eq 3 ] && [ "$runs" -eq 43 ] && ok ||
    bad "big bundle: $frames_len bytes of frames, $stored each, runs of $per: $runs requests"

# frame_fetches: the ranged GETs of the bundle in the proxy log after the
# first (the envelope and frame table), as "RANGE OUTCOME" lines.
frame_fetches() { grep -E 'GET /api/v1/device/releases/[0-9]+/bundle [0-9]' proxy/log | tail -n +2 | cut -d' ' -f4-; }
# no_frame_twice WHAT: every frame was relayed whole exactly once: the
# answers relayed whole are `runs` ranges of at most 64 KiB that tile the
# frames area, none twice.
no_frame_twice() {
    local whole distinct meta tiled
    whole=$(frame_fetches | grep -c ' ok 206$' || true)
    distinct=$(frame_fetches | grep ' ok 206$' | cut -d' ' -f1 | sort -u | wc -l)
    meta=$(grep -cE 'GET /api/v1/device/releases/[0-9]+/bundle [0-9]+-[0-9]+ ok' proxy/log || true)
    [ "$whole" -eq "$runs" ] && [ "$distinct" -eq "$runs" ] && ok ||
        bad "$1: $whole whole run fetches of $distinct runs, want $runs of $runs"
    [ "$meta" -eq $((runs + 1)) ] && ok || bad "$1: $meta successful ranged GETs, want $((runs + 1))"
    tiled=$(frame_fetches | grep ' ok 206$' | cut -d' ' -f1 | tr '-' ' ' | sort -n |
        awk -v at="$frames_at" -v end=$((bundle_len - 1)) '
            $1 != at || $2 - $1 + 1 > 65536 { bad = 1 } { at = $2 + 1 }
            END { print (bad || at != end + 1) ? "no" : "yes" }')
    [ "$tiled" = yes ] && ok || bad "$1: the runs relayed whole do not tile the frames area"
}

# --- 1. the server killed mid-download, restarted on the same database ------------------
add_device dk "$purl" v1.nbb 2621440
deploy "\"device_id\":\"${id[dk]}\""
dep_k=$dep
proxy_upstream "hold 40 5000" # the 39th run: 5000 bytes of it, then the line goes dead
"$agent_bin" -c dk/agent.conf run --once >dk.out 2>&1 &
agent_pid=$!
wait_log ' hold 206 5000$' || bad "the download never reached run 39: $(tail -n 3 proxy/log)"
held=$(grep ' hold 206 ' proxy/log | cut -d' ' -f4)
[ "$(assignment "$dep_k" dk)" = downloading ] && ok || bad "before the kill: not downloading"
kill -KILL "$server_pid"
wait "$server_pid" 2>/dev/null || true
server_pid=
touch proxy/release
wait_log "bundle $held upstream-down" || bad "the agent did not retry run 39 while the server was down"
start_server --poll-interval 1 --poll-jitter 0 # same database and data directory, new port
proxy_upstream
rc=0
wait "$agent_pid" || rc=$?
agent_pid=
[ "$rc" -eq 5 ] && grep -q "installed 2.0.0 into slot B" dk.out && ok ||
    bad "run across the restart: exit $rc: $(tail -n 5 dk.out)"
no_frame_twice "server restart"
[ "$(frame_fetches | grep -c "^$held ")" -ge 3 ] && ok || bad "run 39 was not held, refused, then fetched"
# No state lost: the device token survived the restart (no new login), the
# reports sent before the kill are kept, the assignment moved on.
! sed -n "/ hold 206 /,\$p" proxy/log | grep -qE '/device/(token|challenge|enrol) ' && ok ||
    bad "the agent had to log in again after the restart"
req GET "/api/v1/devices/${id[dk]}" "${A[@]}"
expect_jq '[.reports[] | select(.state == "downloading") | .progress] | index(25) != null' \
    "the 25 % report sent before the kill"
[ "$(assignment "$dep_k" dk)" = rebooting ] && ok || bad "after the install: $(assignment "$dep_k" dk)"
"$boot_bin" -c dk/agent.conf >/dev/null
finish_update dk "after the restart"
[ "$(assignment "$dep_k" dk)" = succeeded ] && ok || bad "deployment after the restart: $(assignment "$dep_k" dk)"
status_is dk "after the restart" '.slots.B.state == "good" and .slots.B.version == "2.0.0" and .primary == "B"'

# --- 2. the network cut mid-frame ----------------------------------------------------
start_proxy
add_device dn "$purl" v1.nbb 2621440
deploy "\"device_id\":\"${id[dn]}\""
dep_n=$dep
# Ranged GETs: the envelope and table, then 43 runs; with the two cuts
# before it fetched again, the last run is the 46th. A cut connection loses
# the whole run (the transport keeps no partial answer): it is fetched again.
proxy_upstream "cut 10 8000" "cut 25 1" "cut 46 16000" # mid-run, at its start, the last one
run_agent dn
[ "$rc" -eq 5 ] && ok || bad "run with cut connections: exit $rc: $(tail -n 5 <<<"$out")"
[ "$(grep -c ' cut 206 ' proxy/log)" -eq 3 ] && ok || bad "not 3 cuts: $(grep -c ' cut ' proxy/log)"
for r in $(grep ' cut 206 ' proxy/log | cut -d' ' -f4); do
    [ "$(frame_fetches | grep -c "^$r ok 206$")" -eq 1 ] && ok || bad "cut run $r not fetched again once"
done
no_frame_twice "network cut"
grep -q "frame: .*retrying" <<<"$out" && ok || bad "the retries are not logged: $out"
"$boot_bin" -c dn/agent.conf >/dev/null
finish_update dn "after the cuts"
[ "$(assignment "$dep_n" dn)" = succeeded ] && ok || bad "deployment with cuts: $(assignment "$dep_n" dn)"

# --- 3. power cuts during the install and during the commit ---------------------------
mkbundle v21.nbb 2.1.0 2 small 200000
upload v21.nbb
rel_small=$rel
ops() { sed -nE 's/^flash operations: ([0-9]+)$/\1/p' <<<"$out"; }
add_device p0 "$base" v1.nbb 262144 cut
for i in 1 2 3 4 5; do add_device "i$i" "$base" v1.nbb 262144 cut; done
deploy '"group":"cut"'
dep_p=$dep
run_agent p0 --count-ops
install_ops=$(ops)
[ "$rc" -eq 5 ] && [ "${install_ops:-0}" -gt 10 ] && ok || bad "counting the install: exit $rc, ops '$install_ops'"
"$boot_bin" -c p0/agent.conf >/dev/null
run_agent p0 --count-ops
commit_ops=$(ops)
[ "$rc" -eq 0 ] && [ "${commit_ops:-0}" -gt 0 ] && ok || bad "counting the commit: exit $rc, ops '$commit_ops'"
i=0
for n in 0 $((install_ops / 4)) $((install_ops / 2)) $((install_ops * 3 / 4)) $((install_ops - 1)); do
    i=$((i + 1))
    tear=()
    [ $((i % 2)) -eq 0 ] && tear=(--tear)
    run_agent "i$i" --cut-after-ops "$n" "${tear[@]}"
    [ "$rc" -eq 3 ] && ok || bad "install cut at $n ${tear[*]}: exit $rc: $(tail -n 3 <<<"$out")"
    power_on "i$i" "install cut at $n ${tear[*]}" 1.0.0 2.1.0
    finish_update "i$i" "install cut at $n ${tear[*]}"
    status_is "i$i" "install cut at $n" '.slots.B.state == "good" and .slots.B.version == "2.1.0" and .primary == "B" and .min_security_counter == 2'
done
# The commit: every flash operation of the run after the trial boot, torn every other time.
for n in $(seq 0 $((commit_ops - 1))); do
    add_device "c$n" "$base" v1.nbb 262144
    deploy "\"device_id\":\"${id[c$n]}\""
    run_agent "c$n"
    "$boot_bin" -c "c$n/agent.conf" >/dev/null
    tear=()
    [ $((n % 2)) -eq 1 ] && tear=(--tear)
    run_agent "c$n" --cut-after-ops "$n" "${tear[@]}"
    [ "$rc" -eq 3 ] && ok || bad "commit cut at $n ${tear[*]}: exit $rc: $(tail -n 3 <<<"$out")"
    power_on "c$n" "commit cut at $n ${tear[*]}" 1.0.0 2.1.0
    finish_update "c$n" "commit cut at $n ${tear[*]}"
    status_is "c$n" "commit cut at $n" '.slots.B.state == "good" and .slots.B.version == "2.1.0" and .primary == "B" and .min_security_counter == 2'
    [ "$(assignment "$dep" "c$n")" = succeeded ] && ok || bad "commit cut at $n: deployment $(assignment "$dep" "c$n")"
done
req GET "/api/v1/deployments/$dep_p" "${A[@]}"
expect_jq '.counts == {"succeeded": 6}' "the deployment through install cuts"

# --- 4. a device offline for the whole deployment ------------------------------------
rel=$rel_small
add_device on "$base" v1.nbb 262144 field
add_device off "$base" v1.nbb 262144 field
deploy '"group":"field"'
dep_f=$dep
finish_update on "the online device"
req GET "/api/v1/deployments/$dep_f" "${A[@]}"
expect_jq '.counts.succeeded == 1 and (.counts.pending // 0) + (.counts.notified // 0) == 1' \
    "one device updated, one still to go"
[ "$(assignment "$dep_f" off)" = pending ] && ok || bad "the offline device: $(assignment "$dep_f" off)"
status_is off "while switched off" '.slots.B.state == "empty" and .primary == "A"'
finish_update off "the device back online"
req GET "/api/v1/deployments/$dep_f" "${A[@]}"
expect_jq '.counts == {"succeeded": 2}' "the deployment completed"
status_is off "back online" '.slots.B.version == "2.1.0" and .slots.B.state == "good" and .primary == "B"'
finish
