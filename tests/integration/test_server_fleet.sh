#!/usr/bin/env bash
# The management API for the fleet: preauthorised devices become active on
# enrolment, tags and groups with list filters, a group deployment that
# excludes incompatible and inactive devices, cancel and withdraw,
# decommissioning (the device's token stops working), the audit log naming
# who did what, and 503 + Retry-After above --max-inflight.
. "$(dirname "$0")/server_lib.sh"
make_fleet
for d in a b c; do "$nobrick" key new device "$d" >/dev/null; done
make_bundle 2.0.0
start_server
admin_token
A=(-H "Authorization: Bearer $adm")
req POST /api/v1/tokens "${A[@]}" -d '{"role":"operator","name":"ops"}'
O=(-H "Authorization: Bearer $(jq -r .token <<<"$body")")
op_id=$(jq -r .id <<<"$body")

# --- preauthorisation -----------------------------------------------------------------
req POST /api/v1/devices "${O[@]}" -d "{\"public_key\":\"$(dev_pub a)\",\"hw_class\":\"thermo\",\"group\":\"lab\"}"
expect_status 201 "preauthorise"
expect_jq ".id == \"$(dev_id a)\" and .state == \"preauthorized\" and .group == \"lab\"" "preauth body"
req POST /api/v1/devices "${O[@]}" -d "{\"public_key\":\"$(dev_pub a)\",\"hw_class\":\"thermo\"}"
expect_status 409 "preauthorise twice"
enrol a thermo
expect_status 200 "enrol a preauthorised device"
expect_jq '.state == "active"' "active at once"
enrol b valve
req POST "/api/v1/devices/$(dev_id b)/approve" "${O[@]}"
enrol c thermo

# --- tags, groups, filters ------------------------------------------------------------------
for d in b c; do
    req PUT "/api/v1/devices/$(dev_id $d)/group" "${O[@]}" -d '{"group":"lab"}'
    expect_status 200 "group $d"
done
req PUT "/api/v1/devices/$(dev_id b)/tags" "${O[@]}" -d '{"tags":["eu","beta"]}'
expect_jq '.id != null' "tags"
req PUT "/api/v1/devices/$(dev_id b)/tags" "${O[@]}" -d '{"tags":["no spaces"]}'
expect_status 400 "bad tag"
expect_jq '.error.field == "tags"' "tag field"
req GET "/api/v1/devices?tag=eu" "${A[@]}"
expect_jq "[.devices[].id] == [\"$(dev_id b)\"]" "filter by tag"
req GET "/api/v1/devices?group=lab&state=active" "${A[@]}"
expect_jq '.devices | length == 2' "filter by group and state"
req GET "/api/v1/devices?state=pending" "${A[@]}"
expect_jq "[.devices[].id] == [\"$(dev_id c)\"]" "pending"
req GET "/api/v1/devices?state=sleepy" "${A[@]}"
expect_status 400 "bad state filter"
# Pages by cursor: a full page names the next; the last (short) one says null.
req GET "/api/v1/devices" "${A[@]}"
expect_jq '.next == null and (.devices | length) == 3' "one page: no next"
all=$(jq -c '[.devices[].id]' <<<"$body")
req GET "/api/v1/devices?limit=2" "${A[@]}"
expect_jq '(.devices | length) == 2 and (.next | test("^[0-9]+\\.[0-9a-f]{64}$"))' "a full page: next"
first=$(jq -c '[.devices[].id]' <<<"$body")
req GET "/api/v1/devices?limit=2&after=$(jq -r .next <<<"$body")" "${A[@]}"
expect_jq ".next == null and ($first + [.devices[].id]) == $all" "the next page: the rest, in order"
req GET "/api/v1/devices?limit=1&group=lab&after=$(jq -r '.devices[0].created_at' <<<"$body").0" "${A[@]}"
expect_status 200 "a cursor with filters"
for bad in 12 .abc 12. x.abc "12.no%20spaces"; do
    req GET "/api/v1/devices?after=$bad" "${A[@]}"
    expect_status 400 "after=$bad refused"
    expect_jq '.error.field == "after"' "after=$bad: the field named"
done
req GET "/api/v1/devices/$(dev_id b)" "${A[@]}"
expect_jq '.tags == ["beta", "eu"] and .group == "lab"' "show"

# --- a group deployment -----------------------------------------------------------------------
req POST /api/v1/releases "${O[@]}" --data-binary @fw.nbb
rel=$(jq -r .id <<<"$body")
req POST /api/v1/deployments "${O[@]}" -d "{\"release_id\":$rel,\"group\":\"lab\"}"
expect_status 201 "group deployment"
expect_jq '.devices == 1 and (.excluded | length) == 2' "only the compatible active device"
expect_jq "[.excluded[].reason] | sort == [\"hardware class not in the release\", \"not active\"]" \
    "exclusion reasons"
dep=$(jq -r .id <<<"$body")
req POST /api/v1/deployments "${O[@]}" -d "{\"release_id\":$rel,\"group\":\"nobody\"}"
expect_status 409 "empty group"
req POST "/api/v1/deployments/$dep/cancel" "${O[@]}"
expect_jq '.cancelled == true' "cancel"
req GET "/api/v1/deployments/$dep" "${A[@]}"
expect_jq '.counts.cancelled == 1' "assignment cancelled"
req POST "/api/v1/releases/$rel/withdraw" "${O[@]}"
expect_jq '.withdrawn == true' "withdraw"
req POST /api/v1/deployments "${O[@]}" -d "{\"release_id\":$rel,\"device_id\":\"$(dev_id a)\"}"
expect_status 409 "deploy a withdrawn release"

# --- decommission -----------------------------------------------------------------------------
device_login a
D=(-H "Authorization: Bearer $dtok")
req POST "/api/v1/devices/$(dev_id a)/decommission" "${O[@]}"
expect_jq '.state == "decommissioned"' "decommission"
req POST /api/v1/device/checkin "${D[@]}" -d '{"installed_version":"1.0.0","security_counter":1,"nonce":"'"$(openssl rand -hex 16)"'"}'
expect_status 403 "a decommissioned device's token"
req POST "/api/v1/devices/$(dev_id a)/decommission" "${O[@]}"
expect_status 409 "decommission twice"
req PUT "/api/v1/devices/$(dev_id a)/group" "${O[@]}" -d '{"group":"x"}'
expect_status 409 "regroup a decommissioned device"

# --- the audit log ----------------------------------------------------------------------------
req GET "/api/v1/audit?limit=100" "${A[@]}"
expect_jq "[.entries[] | select(.actor == \"token:$op_id (ops)\") | .action] | index(\"device.decommission\") != null" \
    "decommission audited with its author"
expect_jq '[.entries[].action] | contains(["release.upload", "release.withdraw", "deployment.create", "deployment.cancel", "device.preauthorize", "device.approve", "device.tags", "device.group", "device.enrol", "token.create"])' \
    "every kind of change audited"
first=$(jq '.entries[0].id' <<<"$body")
req GET "/api/v1/audit?before=$first&limit=1" "${A[@]}"
expect_jq ".entries | length == 1 and .[0].id < $first" "audit paging"

# --- 503 under load ----------------------------------------------------------------------------
stop_server
start_server --max-inflight 1 --retry-after 7
# A request whose body never comes holds the only slot.
exec 3<>"/dev/tcp/127.0.0.1/${base##*:}"
printf 'POST /api/v1/device/enrol HTTP/1.1\r\nHost: t\r\nContent-Length: 100\r\n\r\n' >&3
sleep 0.5
h=$(curl -sS -D - -o /dev/null "$base/healthz" | tr -d '\r')
grep -q "^HTTP/1.1 503" <<<"$h" && grep -q "^Retry-After: 7" <<<"$h" && ok || bad "503: $h"
exec 3>&-
sleep 0.5
req GET /metrics
grep -q '^nobrick_http_shed_total 1' <<<"$body" && ok || bad "shed metric: $body"
finish
