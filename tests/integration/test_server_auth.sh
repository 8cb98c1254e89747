#!/usr/bin/env bash
# Requests that must fail without changing anything: no, bogus, revoked and
# expired tokens (401), the wrong role or kind of token and another device's
# token (403), a wrong or replayed login signature, malformed JSON,
# duplicate and unknown keys, bad field values (400 naming the field),
# oversized bodies and uploads (413), and check-ins faster than allowed
# (429 + Retry-After). The audit log, devices, releases and assignments are
# compared before and after.
. "$(dirname "$0")/server_lib.sh"
make_fleet
"$nobrick" key new device dev >/dev/null
"$nobrick" key new device dev2 >/dev/null
make_bundle 1.2.0
start_server --max-json-body 4096 --max-upload 400000 --min-checkin-interval 60
admin_token
A=(-H "Authorization: Bearer $adm")

# --- setup: a release, two approved devices, a deployment to dev ------------------------
req POST /api/v1/releases "${A[@]}" --data-binary @fw.nbb
rel=$(jq -r .id <<<"$body")
for d in dev dev2; do
    enrol $d thermo
    req POST "/api/v1/devices/$(dev_id $d)/approve" "${A[@]}"
done
req POST /api/v1/deployments "${A[@]}" -d "{\"release_id\":$rel,\"device_id\":\"$(dev_id dev)\"}"
dep=$(jq -r .id <<<"$body")
req POST /api/v1/tokens "${A[@]}" -d '{"role":"viewer","name":"ro"}'
expect_status 201 "viewer token"
V=(-H "Authorization: Bearer $(jq -r .token <<<"$body")")
device_login dev
D1=(-H "Authorization: Bearer $dtok")
device_login dev2
D2=(-H "Authorization: Bearer $dtok")

snapshot() {
    curl -sS "${A[@]}" "$base/api/v1/audit?limit=1000" | jq -c '.entries | length'
    curl -sS "${A[@]}" "$base/api/v1/devices" | jq -c '[.devices[] | del(.last_seen)]'
    curl -sS "${A[@]}" "$base/api/v1/releases" | jq -c .
    curl -sS "${A[@]}" "$base/api/v1/deployments/$dep" | jq -c .
}
before=$(snapshot)

# --- 401 ----------------------------------------------------------------------------------
req GET /api/v1/devices
expect_status 401 "no token"
expect_jq '.error.code == "E_UNAUTHORIZED" and .error.field == "Authorization"' "401 body"
req GET /api/v1/devices -H "Authorization: Bearer nonsense"
expect_status 401 "malformed token"
req GET /api/v1/devices -H "Authorization: Bearer nbt_$(printf '0%.0s' $(seq 64))"
expect_status 401 "unknown token"
req GET /api/v1/devices -H "Authorization: Basic YTpi"
expect_status 401 "not a bearer token"
req POST /api/v1/tokens "${A[@]}" -d '{"role":"operator","name":"gone"}'
gone=$(jq -r .token <<<"$body")
req DELETE "/api/v1/tokens/$(jq -r .id <<<"$body")" "${A[@]}"
expect_status 200 "revoke"
req GET /api/v1/devices -H "Authorization: Bearer $gone"
expect_status 401 "revoked token"
before=$(snapshot) # the two token changes above are audited; nothing below may be

# --- 403 ----------------------------------------------------------------------------------
req GET /api/v1/devices "${D1[@]}"
expect_status 403 "device token on the management API"
req POST /api/v1/device/checkin "${A[@]}" -d '{}'
expect_status 403 "API token on the device API"
req POST /api/v1/releases "${V[@]}" --data-binary @fw.nbb
expect_status 403 "viewer uploads"
req POST /api/v1/tokens "${V[@]}" -d '{"role":"admin","name":"x"}'
expect_status 403 "viewer makes an admin token"
req POST "/api/v1/devices/$(dev_id dev)/decommission" "${V[@]}"
expect_status 403 "viewer decommissions"
req POST /api/v1/device/reports "${D2[@]}" \
    -d "{\"report_id\":\"x1\",\"deployment_id\":$dep,\"state\":\"failed\",\"code\":\"E_HASH\"}"
expect_status 403 "another device's deployment"
expect_jq '.error.code == "E_NOT_FOR_DEVICE"' "403 names the class"
req GET "/api/v1/device/releases/$rel/bundle" "${D2[@]}"
expect_status 403 "another device's release"

# --- login attacks --------------------------------------------------------------------------
id=$(dev_id dev)
req POST /api/v1/device/challenge -d "{\"device_id\":\"$id\"}"
ch=$(jq -r .challenge <<<"$body")
sig=$(device_sign dev2 "$id:$ch")
req POST /api/v1/device/token -d "{\"device_id\":\"$id\",\"challenge\":\"$ch\",\"signature\":\"$sig\"}"
expect_status 401 "signed by another device's key"
sig=$(device_sign dev "$id:$ch")
req POST /api/v1/device/token -d "{\"device_id\":\"$id\",\"challenge\":\"$ch\",\"signature\":\"$sig\"}"
expect_status 401 "challenge burnt by the failed attempt"
expect_jq '.error.field == "challenge"' "names the challenge"

# --- 400: malformed and bad fields ---------------------------------------------------------------
pub=$(dev_pub dev)
bad_json() { # BODY FIELD WHAT
    req POST /api/v1/device/enrol -d "$1"
    expect_status 400 "$3"
    expect_jq ".error.code == \"E_PARSE\" and .error.field == $2" "$3: field"
}
bad_json '{' null "truncated JSON"
bad_json '{}x' null "trailing bytes"
bad_json '[1]' null "not an object"
bad_json "{\"public_key\":\"$pub\",\"public_key\":\"$pub\",\"hw_class\":\"t\"}" null "duplicate key"
bad_json "{\"public_key\":\"$pub\",\"hw_class\":\"t\",\"color\":1}" '"color"' "unknown field"
bad_json "{\"public_key\":\"$pub\",\"hw_class\":5}" '"hw_class"' "wrong type"
bad_json "{\"public_key\":\"$pub\",\"hw_class\":\"a b\"}" '"hw_class"' "bad characters"
bad_json "{\"public_key\":\"$pub\"}" '"hw_class"' "missing field"
bad_json "{\"public_key\":\"${pub^^}\",\"hw_class\":\"t\"}" '"public_key"' "uppercase hex"
zeros=$(printf '0%.0s' $(seq 128))
bad_json "{\"public_key\":\"${zeros:0:64}\",\"hw_class\":\"t\",\"signature\":\"$zeros\"}" '"public_key"' "weak key"
bad_json "{\"public_key\":\"$pub\",\"hw_class\":\"t\"}" '"signature"' "unsigned enrolment"
"$nobrick" key new device dev3 >/dev/null
sig=$(device_sign dev "$(dev_pub dev3):thermo" application/vnd.nobrick.device-enrol)
req POST /api/v1/device/enrol -d "{\"public_key\":\"$(dev_pub dev3)\",\"hw_class\":\"thermo\",\"signature\":\"$sig\"}"
expect_status 400 "enrolment signed by another key"
expect_jq '.error.code == "E_SIG" and .error.field == "signature"' "E_SIG on signature"
sig=$(device_sign dev3 "$(dev_pub dev3):valve" application/vnd.nobrick.device-enrol)
req POST /api/v1/device/enrol -d "{\"public_key\":\"$(dev_pub dev3)\",\"hw_class\":\"thermo\",\"signature\":\"$sig\"}"
expect_status 400 "enrolment signed for another hardware class"
req POST /api/v1/device/checkin "${D1[@]}" -d '{"installed_version":"1.0.0","security_counter":1,"nonce":"abc"}'
expect_status 400 "short nonce"
expect_jq '.error.field == "nonce"' "nonce named"
req POST /api/v1/device/checkin "${D1[@]}" -d '{"installed_version":"1.0.0","security_counter":-1,"nonce":"'"$(openssl rand -hex 16)"'"}'
expect_jq '.error.field == "security_counter"' "negative counter"
req POST /api/v1/deployments "${A[@]}" -d "{\"release_id\":$rel,\"device_id\":\"$id\",\"group\":\"g\"}"
expect_status 400 "device and group"
req POST /api/v1/deployments "${A[@]}" -d '{"release_id":999,"group":"g"}'
expect_jq '.error.field == "release_id"' "unknown release"
req POST /api/v1/releases "${A[@]}" --data-binary @fw.img
expect_status 400 "not a bundle"
expect_jq '.error.field == "bundle"' "bundle named"
"$nobrick" key new release rogue >/dev/null
"$nobrick" bundle create --image fw.img --version 9.9.9 --security-counter 9 --hw-class thermo \
    --key rogue.key --out rogue.nbb >/dev/null
req POST /api/v1/releases "${A[@]}" --data-binary @rogue.nbb
expect_status 400 "bundle signed by a key the root does not list"
expect_jq '.error.code == "E_SIG"' "E_SIG"

# --- 413 ------------------------------------------------------------------------------------------
head -c 5000 /dev/zero | tr '\0' ' ' >big.json
req POST /api/v1/device/enrol --data-binary @big.json
expect_status 413 "JSON body over the cap"
req POST /api/v1/device/enrol -H "Transfer-Encoding: chunked" --data-binary @big.json
expect_status 413 "chunked JSON body over the cap"
head -c 500000 /dev/urandom >big.img
"$nobrick" bundle create --image big.img --version 2.0.0 --security-counter 3 --hw-class thermo \
    --compression none --key rel.key --out big.nbb >/dev/null 2>&1 ||
    "$nobrick" bundle create --image big.img --version 2.0.0 --security-counter 3 \
        --hw-class thermo --key rel.key --out big.nbb >/dev/null
req POST /api/v1/releases "${A[@]}" --data-binary @big.nbb
expect_status 413 "upload over --max-upload"
[ -z "$(ls data/tmp)" ] && ok || bad "upload left a temporary file"

# --- nothing changed --------------------------------------------------------------------------------
after=$(snapshot)
[ "$before" = "$after" ] && ok || bad "state changed: $(diff <(echo "$before") <(echo "$after"))"

# --- 429 ------------------------------------------------------------------------------------------
ci='{"installed_version":"1.0.0","security_counter":1,"nonce":"'"$(openssl rand -hex 16)"'"}'
req POST /api/v1/device/checkin "${D2[@]}" -d "$ci"
expect_status 200 "first check-in"
seen=$(curl -sS "${A[@]}" "$base/api/v1/devices/$(dev_id dev2)" | jq .last_seen)
h=$(curl -sS -D - -o /dev/null "${D2[@]}" -d "$ci" "$base/api/v1/device/checkin" | tr -d '\r')
grep -q "^HTTP/1.1 429" <<<"$h" && grep -qE "^Retry-After: [0-9]+" <<<"$h" && ok || bad "429: $h"

req GET "/api/v1/devices/$(dev_id dev2)" "${A[@]}"
expect_jq ".last_seen == $seen" "a refused check-in is not recorded"

# --- expired device tokens ----------------------------------------------------------------------
stop_server
start_server --device-token-ttl 1
device_login dev
sleep 2
req POST /api/v1/device/checkin -H "Authorization: Bearer $dtok" -d "$ci"
expect_status 401 "expired device token"
finish
