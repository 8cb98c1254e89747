#!/usr/bin/env bash
# The device API end to end against the real server: bundle upload (verified
# against the root), enrolment and approval, challenge-response login, a
# check-in with nothing to do (and an unchanged one, whose time is written
# a moment later), a deployment, a check-in that gets a director-signed
# instruction bound to the device and its nonce (the signature checked with
# openssl), Range downloads (206, 416, If-Range), status reports (idempotent
# by report id) and success on the next check-in.
. "$(dirname "$0")/server_lib.sh"
make_fleet
"$nobrick" key new device dev >/dev/null
make_bundle 1.2.0
start_server
admin_token
A=(-H "Authorization: Bearer $adm")

# --- release upload -------------------------------------------------------------
req POST /api/v1/releases "${A[@]}" --data-binary @fw.nbb
expect_status 201 "upload"
expect_jq '.version == "1.2.0" and .hw_classes == ["thermo"] and .withdrawn == false' "upload body"
rel=$(jq -r .id <<<"$body")
env_sha=$(jq -r .envelope_sha256 <<<"$body")
size=$(stat -c %s fw.nbb)
expect_jq ".bundle_size == $size and .bundle_sha256 == \"$(sha256sum fw.nbb | cut -d' ' -f1)\"" "digest"
req POST /api/v1/releases "${A[@]}" --data-binary @fw.nbb
expect_status 409 "same bundle twice"

# --- enrolment, approval, login ---------------------------------------------------
id=$(dev_id dev)
enrol dev thermo
expect_status 201 "enrol"
expect_jq ".device_id == \"$id\" and .state == \"pending\"" "enrol body"
enrol dev valve
expect_status 409 "enrol with another class"
device_login dev
expect_status 403 "login while pending"
req POST "/api/v1/devices/$id/approve" "${A[@]}"
expect_status 200 "approve"
expect_jq '.state == "active"' "approved"
req POST "/api/v1/devices/$id/approve" "${A[@]}"
expect_status 409 "approve twice"
device_login dev
expect_status 200 "login"
D=(-H "Authorization: Bearer $dtok")

# --- check-in: nothing to do, then an instruction --------------------------------------
nonce=$(openssl rand -hex 16)
ci() {
    req POST /api/v1/device/checkin "${D[@]}" -d "{\"installed_version\":\"$1\",\"security_counter\":2,\"slots\":{\"a\":\"good\",\"b\":\"empty\"},\"nonce\":\"$nonce\"}"
}
ci 1.0.0
expect_status 200 "check-in"
expect_jq '.action == "none" and .poll_after == 900 and .poll_jitter == 180' "nothing to do"
# A check-in that reports nothing new is written with others a moment later.
req GET "/api/v1/devices/$id" "${A[@]}"
seen1=$(jq .last_seen <<<"$body")
sleep 1.1
ci 1.0.0
sleep 0.5
req GET "/api/v1/devices/$id" "${A[@]}"
expect_jq ".last_seen > $seen1 and .installed_version == \"1.0.0\"" "coalesced last_seen"
req POST /api/v1/deployments "${A[@]}" -d "{\"release_id\":$rel,\"device_id\":\"$id\"}"
expect_status 201 "deploy"
dep=$(jq -r .id <<<"$body")
ci 1.0.0
expect_status 200 "check-in with a deployment"
expect_jq ".action == \"install\" and .deployment_id == $dep and .bundle.size == $size" "install"
expect_jq ".bundle.url == \"/api/v1/device/releases/$rel/bundle\"" "bundle url"
jq -r .instruction <<<"$body" >instr.json
jq -e '.payloadType == "application/vnd.nobrick.director+json" and (.signatures | length) == 1' \
    instr.json >/dev/null && ok || bad "instruction envelope: $(cat instr.json)"
jq -r .payload instr.json | base64 -d >payload.json
jq -e ".type == \"director\" and .device_id == \"$id\" and .nonce == \"$nonce\" and .deployment_id == $dep and .release.version == \"1.2.0\" and .release.envelope_sha256 == \"$env_sha\" and .expires > .issued_at" \
    payload.json >/dev/null && ok || bad "instruction payload: $(cat payload.json)"
# The director's signature over PAE(type, payload), checked with openssl.
type=application/vnd.nobrick.director+json
{ printf 'DSSEv1 %d %s %d ' ${#type} "$type" "$(stat -c %s payload.json)"; cat payload.json; } >pae.bin
jq -r .signatures[0].sig instr.json | base64 -d >sig.bin
printf '302a300506032b6570032100%s' "$(jq -r .ed25519 dir.pub)" | xxd -r -p |
    openssl pkey -pubin -inform DER -out dir.pem 2>/dev/null
openssl pkeyutl -verify -pubin -inkey dir.pem -rawin -in pae.bin -sigfile sig.bin >/dev/null &&
    ok || bad "director signature does not verify"

# --- downloads with Range ---------------------------------------------------------------
url="/api/v1/device/releases/$rel/bundle"
curl -sS "${D[@]}" -o got.nbb "$base$url"
cmp -s got.nbb fw.nbb && ok || bad "full download differs"
etag="\"$(sha256sum fw.nbb | cut -d' ' -f1)\""
hdrs() { curl -sS -D - -o part.bin "${D[@]}" "$@" "$base$url" | tr -d '\r'; }
h=$(hdrs -H "Range: bytes=0-31")
grep -q "^HTTP/1.1 206" <<<"$h" && grep -q "^Content-Range: bytes 0-31/$size" <<<"$h" &&
    [ "$(stat -c %s part.bin)" -eq 32 ] && cmp -s part.bin <(head -c 32 fw.nbb) && ok ||
    bad "range 0-31: $h"
h=$(hdrs -H "Range: bytes=-10")
grep -q "^HTTP/1.1 206" <<<"$h" && cmp -s part.bin <(tail -c 10 fw.nbb) && ok || bad "suffix: $h"
h=$(hdrs -H "Range: bytes=100-")
grep -q "^HTTP/1.1 206" <<<"$h" && cmp -s part.bin <(tail -c +101 fw.nbb) && ok || bad "open: $h"
h=$(hdrs -H "Range: bytes=$size-")
grep -q "^HTTP/1.1 416" <<<"$h" && grep -q "^Content-Range: bytes \*/$size" <<<"$h" && ok ||
    bad "416: $h"
h=$(hdrs -H "Range: bytes=0-9" -H "If-Range: $etag")
grep -q "^HTTP/1.1 206" <<<"$h" && grep -q "^ETag: $etag" <<<"$h" && ok || bad "If-Range match: $h"
h=$(hdrs -H "Range: bytes=0-9" -H 'If-Range: "0000"')
grep -q "^HTTP/1.1 200" <<<"$h" && [ "$(stat -c %s part.bin)" -eq "$size" ] && ok ||
    bad "If-Range mismatch must send all: $h"

h=$(curl -sS -I "${D[@]}" "$base$url" | tr -d '\r')
grep -q "^HTTP/1.1 200" <<<"$h" && grep -q "^Content-Length: $size" <<<"$h" &&
    grep -q "^Accept-Ranges: bytes" <<<"$h" && ok || bad "HEAD: $h"

# --- status reports -----------------------------------------------------------------------
rep() { req POST /api/v1/device/reports "${D[@]}" -d "$1"; }
rep "{\"report_id\":\"r1\",\"deployment_id\":$dep,\"state\":\"downloading\",\"progress\":50}"
expect_status 200 "report downloading"
expect_jq '.duplicate == false and .assignment_state == "downloading"' "report 1"
rep "{\"report_id\":\"r1\",\"deployment_id\":$dep,\"state\":\"failed\",\"code\":\"E_HASH\"}"
expect_status 200 "same report id again"
expect_jq '.duplicate == true' "duplicate"
rep "{\"report_id\":\"r2\",\"deployment_id\":$dep,\"state\":\"failed\"}"
expect_status 400 "failed without a code"
expect_jq '.error.field == "code"' "names the field"
for s in installing rebooting committed; do
    rep "{\"report_id\":\"r-$s\",\"deployment_id\":$dep,\"state\":\"$s\"}"
    expect_jq ".assignment_state == \"$s\"" "report $s"
done
req GET "/api/v1/deployments/$dep" "${A[@]}"
expect_jq '.assignments[0].state == "committed"' "committed, not yet succeeded"
ci 1.2.0
expect_jq '.action == "none"' "check-in on the new version"
req GET "/api/v1/deployments/$dep" "${A[@]}"
expect_jq '.assignments[0].state == "succeeded" and .counts.succeeded == 1' "succeeded"
req GET "/api/v1/devices/$id" "${A[@]}"
expect_jq '.installed_version == "1.2.0" and .slots.a == "good" and (.reports | length) == 4' \
    "device history"
req GET /metrics
grep -q '^nobrick_director_instructions_total 1' <<<"$body" && ok || bad "metrics instructions"
finish
