#!/usr/bin/env bash
# The test bench, `nobrick bench run`, against the real server and real
# agents on three simulated devices tagged "bench" (each run by a loop that
# plays the device: `nobrick-agent run --once`, and nobrick-boot when it
# asks for a reboot). A release that installs with a battery that passes
# (exit 0, JUnit and JSON counts); a battery where one test fails on one
# device and another times out on another (exit 1, both named); a release
# that fails its health check on one device (exit 1, E_HEALTH and its
# remedy); what is refused before deploying (exit 2: no such tag or
# release, no test directory, no executable, a foreign hardware class,
# anti-rollback); an unreachable server (exit 3); a device that never
# checks in (timed out, its deployment cancelled) and Ctrl-C (cancelled).
. "$(dirname "$0")/agent_lib.sh"
loops=()
stop_devices() {
    touch "$work/stop-devices"
    for p in "${loops[@]}"; do wait "$p" 2>/dev/null || true; done
    loops=()
}
trap 'stop_devices; stop_proxy; stop_server; rm -rf "$work"' EXIT
mkbundle v1.nbb 1.0.0 1 one
mkbundle v2.nbb 1.1.0 2 two
mkbundle v0.nbb 0.9.0 2 zero # older, same counter: the bench may go back to it
mkbundle v3.nbb 1.2.0 3 three
start_server --poll-interval 1 --poll-jitter 0
export HOME="$work/home" XDG_CONFIG_HOME="$work/cfg"
mkdir -p "$HOME" "$XDG_CONFIG_HOME"
export NOBRICK_SERVER=$base NOBRICK_TOKEN=$adm

# device_loop DEV: plays DEV until $work/stop-devices exists.
device_loop() {
    while [ ! -e "$work/stop-devices" ]; do
        local r=0
        "$agent_bin" -c "$1/agent.conf" run --once >>"$1/agent.log" 2>&1 || r=$?
        [ "$r" -ne 5 ] || "$boot_bin" -c "$1/agent.conf" >>"$1/boot.log" 2>&1
        sleep 0.3
    done
}
mkdir devmap
for d in d1 d2 d3 idle; do
    add_device "$d" "$base" v1.nbb 262144
    echo "$work/$d" >"devmap/${id[$d]}"
done
for d in d1 d2 d3; do
    run device tag "${id[$d]}" bench
    expect 0 "tag $d"
    device_loop "$d" &
    loops+=($!)
done
run device tag "${id[idle]}" idle
# An active device of another hardware class, tagged "mixed" with d1.
"$nobrick" key new device oven >/dev/null
enrol oven oven
expect_status 201 "oven enrols"
run device approve "$(dev_id oven)"
run device tag "$(dev_id oven)" mixed
run device tag "${id[d1]}" bench mixed
expect 0 "d1 tagged bench and mixed"
for v in v1 v2 v0 v3; do run release upload "$v.nbb"; done

# The batteries. 10-running: the device runs NOBRICK_RELEASE (asked of its
# own agent), argv[1] is NOBRICK_DEVICE_ID. 20-server: NOBRICK_SERVER answers.
mkdir ok fails empty
cat >ok/10-running <<EOF
#!/bin/sh
[ "\$1" = "\$NOBRICK_DEVICE_ID" ] || { echo "argv[1] \$1 is not \$NOBRICK_DEVICE_ID"; exit 1; }
dir=\$(cat "$work/devmap/\$1") || exit 1
v=\$("$agent_bin" -c "\$dir/agent.conf" status --json | jq -r '.running.version')
echo "running \$v"
[ "\$v" = "\$NOBRICK_RELEASE" ]
EOF
printf '#!/bin/sh\ncurl -sf "$NOBRICK_SERVER/healthz" >/dev/null && echo "server up"\n' >ok/20-server
echo "notes, not a test" >ok/README
chmod +x ok/10-running ok/20-server
cp ok/10-running fails/10-running
printf '#!/bin/sh\n[ "$NOBRICK_DEVICE_ID" != %s ] || { echo "sensor offline on this unit"; exit 3; }\n' \
    "${id[d2]}" >fails/20-sensor
printf '#!/bin/sh\n[ "$NOBRICK_DEVICE_ID" != %s ] || sleep 30\n' "${id[d3]}" >fails/30-slow
chmod +x fails/*
echo "not executable" >empty/10-check

# --- refused before anything is deployed: exit 2 (3: no server) -----------------------
deployments() { req GET /api/v1/deployments "${A[@]}"; jq '.deployments | length' <<<"$body"; }
run bench run --release 1.1.0 --devices nope --tests ok
expect 2 "unknown tag"
has "no active device is tagged 'nope'" err "unknown tag named"
run bench run --release 1.1.0 --devices bench --tests missing
expect 2 "no test directory"
has "test directory missing" err "missing directory named"
run bench run --release 1.1.0 --devices bench --tests empty
expect 2 "no executable test"
has "skipping empty/10-check: not executable" err "the non-executable is named"
has "holds no executable test" err "empty battery refused"
run bench run --release 7.7.7 --devices bench
expect 2 "unknown release"
has "no release with version 7.7.7" err "unknown release named"
run bench run --release 1.1.0 --devices mixed
expect 2 "foreign hardware class"
has "device $(dev_id oven): hardware class oven is not in the release's (thermo)" err "oven named"
has "cannot go to 1 device tagged mixed" err "refusal counted"
run --server http://127.0.0.1:1 bench run --release 1.1.0 --devices bench
expect 3 "unreachable server"
[ "$(deployments)" = 0 ] && ok || bad "a refused bench deployed something"

# --- a release that installs, a battery that passes: exit 0 ---------------------------------
run bench run --release 1.1.0 --devices bench --tests ok --timeout 120 --junit ok.xml \
    --logs logs --json
expect 0 "bench 1.1.0"
has "skipping ok/README: not executable" err "README skipped"
jq_out '.passed and .summary == {"devices":3,"updated":3,"tests":6,"passed":6,"failed":0,
    "timed_out":0,"not_run":0}' "3 devices updated, 6 tests passed"
jq_out '[.devices[].tests[].name] == ["10-running","20-server","10-running","20-server",
    "10-running","20-server"]' "the battery sorted, once per device"
jq_out '[.devices[].tests[0].output_tail] | all(. == "running 1.1.0\n")' "the tests saw 1.1.0"
grep -q "running 1.1.0" "logs/${id[d2]}/10-running.log" && ok || bad "d2's log"
xmllint --noout ok.xml && ok || bad "ok.xml is not well-formed XML"
[ "$(xmllint --xpath 'string(/testsuites/@tests)' ok.xml)" = 9 ] && ok || bad "junit: 9 tests"
[ "$(xmllint --xpath 'count(//failure)' ok.xml)" = 0 ] && ok || bad "junit: failures"
for d in d1 d2 d3; do status_is "$d" "$d on 1.1.0" '.running.version == "1.1.0"'; done

# Going back: an older version with the same counter installs; one with a
# lower counter is refused up front (anti-rollback) for all three.
run bench run --release 0.9.0 --devices bench --timeout 120
expect 0 "back to 0.9.0"
has "3 of 3 devices updated" out "summary without tests"
run bench run --release 1.0.0 --devices bench
expect 2 "anti-rollback"
[ "$(grep -c "minimum security counter is 2, the release's 1: it would refuse it (E_ROLLBACK)" \
    <<<"$err")" = 3 ] && ok || bad "each device's rollback named: $err"

# --- a battery with a failing test and a slow one: exit 1 -----------------------------------
rel2=$(req GET /api/v1/releases "${A[@]}"; jq '.releases[] | select(.version == "1.1.0") | .id' <<<"$body")
run bench run --release "$rel2" --devices bench --tests fails --test-timeout 1 --timeout 120 \
    --junit fails.xml --logs logs
expect 1 "a failing battery"
has "sensor offline on this unit" out "the failing test's output"
[ "$(grep -cE '^  20-sensor +fail \(3\)' <<<"$out")" = 1 ] && ok || bad "one sensor failure: $out"
[ "$(grep -cE '^  30-slow +timeout' <<<"$out")" = 1 ] && ok || bad "one timeout: $out"
grep -A4 "^device ${id[d2]}" <<<"$out" | grep -qE '20-sensor +fail' && ok ||
    bad "the failure is d2's: $out"
grep -A5 "^device ${id[d3]}" <<<"$out" | grep -qE '30-slow +timeout' && ok ||
    bad "the timeout is d3's: $out"
has "tests: 7 passed, 1 failed, 1 timed out, 0 not run: FAILED" out "summary"
[ "$(xmllint --xpath 'count(//failure)' fails.xml)" = 2 ] && ok || bad "junit: 2 failures"
[ "$(xmllint --xpath "string(//testsuite[@name='${id[d2]}']/testcase[@name='20-sensor']/failure/@message)" \
    fails.xml)" = "exit status 3" ] && ok || bad "junit: d2's failure"

# --- a release that fails its health check on d1: exit 1 ------------------------------------
printf '#!/bin/sh\n[ "$NOBRICK_VERSION" != 1.2.0 ] || { echo "sensor not found"; exit 1; }\n' \
    >d1/health.d/20-sensor
chmod +x d1/health.d/20-sensor
run bench run --release 1.2.0 --devices bench --tests ok --timeout 120 --json
expect 1 "health failure"
jq_out ".devices[] | select(.id == \"${id[d1]}\") | .update.succeeded == false and
    .update.state == \"rolled_back\" and .update.code == \"E_HEALTH\" and (.update.remedy | length > 0)
    and ([.tests[].result] == [\"not run\",\"not run\"])" "d1 rolled back with E_HEALTH, not tested"
jq_out '.summary == {"devices":3,"updated":2,"tests":6,"passed":4,"failed":0,"timed_out":0,
    "not_run":2}' "two devices updated and tested"
run bench run --release 1.2.0 --devices bench --timeout 60
expect 1 "health failure again, as a table"
has "device ${id[d1]} (thermo): update rolled_back: E_HEALTH" out "table names d1 and E_HEALTH"
has "what to do:" out "the remedy"

# --- a device that never checks in: timed out, then Ctrl-C --------------------------------
run bench run --release 1.1.0 --devices idle --timeout 2
expect 1 "idle device"
has "update timed out: still pending after" out "timed out named"
req GET "/api/v1/devices/${id[idle]}" "${A[@]}"
expect_jq '[.assignments[].state] == ["cancelled"]' "its deployment cancelled"
"$nobrick" bench run --release 1.1.0 --devices idle --timeout 60 >int.out 2>int.err &
bpid=$!
for _ in $(seq 1 100); do grep -q "bench: " int.err && break; sleep 0.1; done
kill -INT "$bpid"
rc=0
wait "$bpid" || rc=$?
[ "$rc" = 1 ] && ok || bad "Ctrl-C: exit $rc: $(cat int.out int.err)"
grep -q "update interrupted" int.out && grep -q "(interrupted): FAILED" int.out && ok ||
    bad "Ctrl-C report: $(cat int.out)"
req GET "/api/v1/devices/${id[idle]}" "${A[@]}"
expect_jq '[.assignments[].state] == ["cancelled","cancelled"]' "Ctrl-C cancelled its deployment"
stop_devices
finish
