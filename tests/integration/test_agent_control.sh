#!/usr/bin/env bash
# Users in the loop, end to end: the real server on 127.0.0.1 and a real
# `nobrick-agent run` daemon (install_policy = ask, reboot_command =
# nobrick-boot on the simulated device) with its control socket in the
# work directory; `watch --json` and `watch` capture the events. An update
# is announced and waits; bad and untimely commands are refused with a
# clear error; install-now downloads (progress), installs, reboots and
# commits it; a second update fails its health check and the failure event
# carries its code, a sentence and a remedy with the support contact.
. "$(dirname "$0")/server_lib.sh"
agent_bin="$bin/nobrick-agent"
boot_bin="$bin/nobrick-boot"
make_fleet
mkbundle v1.nbb 1.0.0 1 one
mkbundle v2.nbb 1.2.0 2 two
mkbundle v3.nbb 1.3.0 3 three
start_server --poll-interval 1 --poll-jitter 0
admin_token
A=(-H "Authorization: Bearer $adm")

"$nobrick" device provision --dir dev --root root.json --hw-class thermo --bundle v1.nbb \
    --slot-size 262144 --meta-size 16384 >/dev/null
cat >>dev/agent.conf <<CONF
server = $base
poll_interval_s = 1
poll_jitter_s = 0
backoff_min_s = 1
backoff_max_s = 2
install_policy = ask
control_socket = $work/agent.sock
support_contact = help@example.com
reboot_command = $boot_bin -c $work/dev/agent.conf
CONF
printf '#!/bin/sh\n[ "$NOBRICK_VERSION" != 1.3.0 ] || { echo "sensor not found"; exit 1; }\n' \
    >dev/health.d/20-sensor
chmod +x dev/health.d/20-sensor
"$boot_bin" -c dev/agent.conf >/dev/null
id=$(jq -r .keyid dev/device.pub)
req POST /api/v1/devices "${A[@]}" -d "{\"public_key\":\"$(jq -r .ed25519 dev/device.pub)\",\"hw_class\":\"thermo\"}"
expect_status 201 "preauthorise"

ctl() { rc=0; out=$("$agent_bin" -c dev/agent.conf ctl "$@" 2>&1) || rc=$?; }
# wait_for FILE JQ-FILTER: until a line of FILE matches (30 s).
wait_for() {
    for _ in $(seq 300); do
        jq -s -e "any(.[]; $2)" "$1" >/dev/null 2>&1 && return 0
        sleep 0.1
    done
    return 1
}
deploy() { # BUNDLE -> dep
    req POST /api/v1/releases "${A[@]}" --data-binary "@$1"
    local rel
    rel=$(jq -r .id <<<"$body")
    req POST /api/v1/deployments "${A[@]}" -d "{\"release_id\":$rel,\"device_id\":\"$id\"}"
    dep=$(jq -r .id <<<"$body")
}

"$agent_bin" -c dev/agent.conf run >agent.log 2>&1 &
agent_pid=$!
stop_agent() {
    if kill -0 "$agent_pid" 2>/dev/null; then
        kill -TERM "$agent_pid"
        wait "$agent_pid" || echo "agent exited with $?" >>agent.log
    fi
}
trap 'stop_agent; stop_server; rm -rf "$work"' EXIT
for _ in $(seq 100); do [ -S agent.sock ] && break; sleep 0.1; done
[ "$(stat -c %a agent.sock)" = 660 ] && ok || bad "socket mode $(stat -c %a agent.sock)"
"$agent_bin" -c dev/agent.conf watch --json >events.jsonl &
"$agent_bin" -c dev/agent.conf watch >watch.txt &
sleep 0.5

# --- announced, waiting for the user ---------------------------------------------
deploy v2.nbb
dep2=$dep
wait_for events.jsonl '.event == "update_available" and .version == "1.2.0"' &&
    ok || bad "no update_available: $(cat events.jsonl)"
ctl status
[ "$rc" -eq 0 ] && jq -e '.ok and .status.phase == "available" and .status.policy == "ask"' \
    <<<"$out" >/dev/null && ok || bad "status while waiting: $out"
sleep 1.5 # several poll intervals: ask never downloads by itself
jq -s -e 'any(.[]; .event == "download_progress")' events.jsonl >/dev/null &&
    bad "downloaded without install-now" || ok

# --- bad and untimely commands: a clear error, nothing changes ----------------------
ctl --raw '{"command":"fly"}'
[ "$rc" -eq 1 ] && grep -q '"code":"E_PARSE"' <<<"$out" && grep -q "unknown command" <<<"$out" &&
    ok || bad "unknown command: $out"
ctl --raw 'not json'
[ "$rc" -eq 1 ] && grep -q '"code":"E_PARSE"' <<<"$out" && ok || bad "bad JSON: $out"
ctl --raw '{"command":"postpone","seconds":0}'
[ "$rc" -eq 1 ] && grep -q '"seconds\\" must be' <<<"$out" && ok || bad "postpone 0: $out"
ctl --raw '{"command":"cancel","command":"retry"}'
[ "$rc" -eq 1 ] && grep -q "E_PARSE" <<<"$out" && ok || bad "duplicate key: $out"
ctl retry
[ "$rc" -eq 1 ] && grep -q '"code":"E_INVAL"' <<<"$out" && grep -q "nothing to retry" <<<"$out" &&
    ok || bad "retry while holding: $out"
ctl schedule-at 2026-13-01T00:00:00Z
[ "$rc" -eq 1 ] && grep -q "UTC time" <<<"$out" && ok || bad "bad time: $out"
ctl frobnicate
[ "$rc" -eq 2 ] && ok || bad "ctl with an unknown command: exit $rc"
ctl status
jq -e '.status.phase == "available"' <<<"$out" >/dev/null && ok || bad "state changed: $out"

# --- install now: progress, installing, rebooting, succeeded -------------------------
ctl install-now
[ "$rc" -eq 0 ] && [ "$out" = '{"ok":true}' ] && ok || bad "install-now: $out"
wait_for events.jsonl '.event == "succeeded" and .version == "1.2.0"' &&
    ok || bad "no succeeded: $(cat events.jsonl) $(tail -20 agent.log)"
jq -e -s '[.[] | select(.event == "download_progress")] | length >= 2 and
    (last | .done == .total and .percent == 100 and .bytes_total > 0)' events.jsonl >/dev/null &&
    ok || bad "progress events"
order=$(jq -r -s '[.[].event | select(. != "download_progress")] | join(",")' events.jsonl)
[ "$order" = "update_available,installing,rebooting,succeeded" ] && ok || bad "events: $order"
jq -s -e 'all(.[] | select(.event == "rebooting"); .in_s == 0)' events.jsonl >/dev/null &&
    ok || bad "in_s"
"$agent_bin" -c dev/agent.conf status --json |
    jq -e '.slots.B.state == "good" and .primary == "B"' >/dev/null && ok || bad "not committed"
for _ in $(seq 50); do
    req GET "/api/v1/deployments/$dep2" "${A[@]}"
    [ "$(jq -r '.assignments[0].state' <<<"$body")" = succeeded ] && break
    sleep 0.2
done
expect_jq '.assignments[0].state == "succeeded"' "deployment 1.2.0 succeeded"

# --- a failure event: code, sentence, remedy, support ----------------------------------
deploy v3.nbb
wait_for events.jsonl '.event == "update_available" and .version == "1.3.0"' &&
    ok || bad "no update_available 1.3.0"
ctl install-now
[ "$rc" -eq 0 ] && ok || bad "install-now 1.3.0: $out"
wait_for events.jsonl '.event == "failed" and .version == "1.3.0"' &&
    ok || bad "no failed event: $(tail -5 events.jsonl) $(tail -20 agent.log)"
jq -s -e '[.[] | select(.event == "failed")] | length == 1 and (.[0] | .code == "E_HEALTH" and
    (.sentence | test("health checks")) and (.remedy | length > 0) and
    .support == "help@example.com")' events.jsonl >/dev/null &&
    ok || bad "failure event: $(jq -c 'select(.event == "failed")' events.jsonl)"
for _ in $(seq 50); do grep -q "update 1.3.0 failed" watch.txt && break; sleep 0.1; done
grep -q "^update 1.3.0 failed: the new software failed its health checks.* — what to do: .* (support: help@example.com)" \
    watch.txt && ok || bad "watch: $(cat watch.txt)"
grep -q "^update 1.2.0 available" watch.txt && grep -q "^downloading 1.2.0: 100%" watch.txt &&
    grep -q "^update 1.2.0 succeeded" watch.txt && ok || bad "watch lines: $(cat watch.txt)"
for _ in $(seq 100); do
    "$agent_bin" -c dev/agent.conf status --json | jq -e '.running.slot == "B"' >/dev/null && break
    sleep 0.1
done
"$agent_bin" -c dev/agent.conf status --json |
    jq -e '.slots.A.state == "bad" and .running.slot == "B"' >/dev/null && ok || bad "not back on B"

stop_agent
[ ! -e agent.sock ] && ok || bad "socket left behind"
grep -q "agent exited" agent.log && bad "agent: $(tail -20 agent.log)" || ok
finish
