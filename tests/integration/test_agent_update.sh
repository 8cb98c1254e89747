#!/usr/bin/env bash
# The online agent end to end: the real server on 127.0.0.1 (temporary
# SQLite database) and `nobrick-agent run --once` on simulated devices made
# by `nobrick device provision`. A successful update (the deployment is
# "succeeded" only after the check-in that follows the commit), then a
# release whose image fails its health check (the device rolls back and
# the server records rolled_back with E_HEALTH).
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
CONF
"$boot_bin" -c dev/agent.conf >/dev/null
id=$(jq -r .keyid dev/device.pub)
run_agent() { rc=0; out=$("$agent_bin" -c dev/agent.conf run --once 2>&1) || rc=$?; }
status() { "$agent_bin" -c dev/agent.conf status --json | jq -e "$1" >/dev/null; }
assignment() { req GET "/api/v1/deployments/$1" "${A[@]}"; jq -r '.assignments[0].state' <<<"$body"; }

# --- enrolment: preauthorised by the operator, active at the first run -------
req POST /api/v1/devices "${A[@]}" -d "{\"public_key\":\"$(jq -r .ed25519 dev/device.pub)\",\"hw_class\":\"thermo\"}"
expect_status 201 "preauthorise"
run_agent
[ "$rc" -eq 0 ] && ok || bad "first run with nothing to do: exit $rc: $out"
req GET "/api/v1/devices/$id" "${A[@]}"
expect_jq '.state == "active" and .installed_version == "1.0.0"' "enrolled and checked in"

# --- a successful update ---------------------------------------------------------
req POST /api/v1/releases "${A[@]}" --data-binary @v2.nbb
rel2=$(jq -r .id <<<"$body")
req POST /api/v1/deployments "${A[@]}" -d "{\"release_id\":$rel2,\"device_id\":\"$id\"}"
dep2=$(jq -r .id <<<"$body")
run_agent
[ "$rc" -eq 5 ] && ok || bad "install run: exit $rc (want 5): $out"
status '.slots.B.state == "trial" and .slots.B.version == "1.2.0" and .primary == "A"' &&
    ok || bad "after install: B not on trial"
[ "$(assignment "$dep2")" = rebooting ] && ok || bad "before reboot: $(assignment "$dep2")"
boot=$("$boot_bin" -c dev/agent.conf)
grep -q "booted slot B: version 1.2.0 (trial" <<<"$boot" && ok || bad "trial boot: $boot"
[ "$(assignment "$dep2")" = rebooting ] && ok || bad "trial not yet a success"
run_agent
[ "$rc" -eq 0 ] && ok || bad "commit run: exit $rc: $out"
grep -q "committed 1.2.0" <<<"$out" && ok || bad "commit not logged: $out"
status '.slots.B.state == "good" and .primary == "B" and .min_security_counter == 2' &&
    ok || bad "after commit"
[ "$(assignment "$dep2")" = succeeded ] && ok || bad "deployment: $(assignment "$dep2")"
req GET "/api/v1/devices/$id" "${A[@]}"
expect_jq '.installed_version == "1.2.0" and ([.reports[].state] | index("committed") != null)' \
    "device history"

# --- a release that fails its health check ------------------------------------------
printf '#!/bin/sh\n[ "$NOBRICK_VERSION" != 1.3.0 ] || { echo "sensor not found"; exit 1; }\n' \
    >dev/health.d/20-sensor
chmod +x dev/health.d/20-sensor
req POST /api/v1/releases "${A[@]}" --data-binary @v3.nbb
rel3=$(jq -r .id <<<"$body")
req POST /api/v1/deployments "${A[@]}" -d "{\"release_id\":$rel3,\"device_id\":\"$id\"}"
dep3=$(jq -r .id <<<"$body")
run_agent
[ "$rc" -eq 5 ] && ok || bad "install 1.3.0: exit $rc: $out"
"$boot_bin" -c dev/agent.conf >/dev/null
run_agent
[ "$rc" -eq 5 ] && ok || bad "health failure must ask for a reboot: exit $rc: $out"
status '.slots.A.state == "bad" and .primary == "B"' && ok || bad "1.3.0 not rejected"
boot=$("$boot_bin" -c dev/agent.conf)
grep -q "booted slot B: version 1.2.0 (good)" <<<"$boot" && ok || bad "fallback boot: $boot"
run_agent
[ "$rc" -eq 0 ] && ok || bad "after rollback: exit $rc: $out"
[ "$(assignment "$dep3")" = rolled_back ] && ok || bad "deployment 3: $(assignment "$dep3")"
req GET "/api/v1/deployments/$dep3" "${A[@]}"
expect_jq '.assignments[0].code == "E_HEALTH"' "rollback code"
status '.min_security_counter == 2' && ok || bad "counter raised by a rejected image"
finish
