#!/usr/bin/env bash
# The online agent under attack, through the real programs (server on
# 127.0.0.1, `nobrick-agent run --once` on simulated devices):
#   5. director instructions replayed by the network (http_proxy.py): one
#      signed for device X delivered to device Y (SECURITY.md 27,
#      E_NOT_FOR_DEVICE), and X's own instruction with an old nonce
#      delivered to X again (SECURITY.md 18, E_FRESHNESS): refused before
#      anything is fetched, the inactive slot byte-identical, the refusal
#      in the server's record, the next honest deployment succeeds;
#   6. TLS: a server certificate from a test CA; the agent given that CA
#      updates, an agent given another CA or none, or a certificate for
#      another name, refuses to talk and installs nothing.
. "$(dirname "$0")/agent_lib.sh"
start_server --poll-interval 1 --poll-jitter 0
start_proxy
mkbundle v1.nbb 1.0.0 1 one 100000
mkbundle v2.nbb 2.0.0 2 two 200000
upload v2.nbb

# refused DEV DEP CODE WHAT: the last run refused DEP with CODE: exit 1, the
# code in its log, the failure and its code in the server's record, nothing
# fetched from the bundle, slot B as it was ($slot_b).
refused() {
    [ "$rc" -eq 1 ] && grep -q "deployment $2 refused: .*($3)" <<<"$out" && ok ||
        bad "$4: exit $rc, want 1 and $3: $(tail -n 4 <<<"$out")"
    [ "$(assignment "$2" "$1")" = failed ] && [ "$(assignment "$2" "$1" code)" = "$3" ] && ok ||
        bad "$4: server has $(assignment "$2" "$1") / $(assignment "$2" "$1" code), want failed / $3"
    ! grep -q 'GET /api/v1/device/releases' proxy/log && ok || bad "$4: the bundle was fetched"
    [ "$(region_sha "$1" B)" = "$slot_b" ] && ok || bad "$4: slot B was written"
    status_is "$1" "$4" '.slots.B.state == "empty" and .primary == "A" and .min_security_counter == 1'
}

# --- 5a. X's instruction replayed to X with an old nonce -----------------------------------
add_device x "$purl" v1.nbb 262144
add_device y "$purl" v1.nbb 262144
slot_b=$(region_sha x B)
[ "$slot_b" = "$(region_sha y B)" ] && ok || bad "x and y differ in slot B"
deploy "\"device_id\":\"${id[x]}\""
dep_x=$dep
deploy "\"device_id\":\"${id[y]}\""
dep_y=$dep
# X's first install answer is lost on the way (503); its next check-in
# (a fresh nonce) gets that old answer back instead of the new one.
proxy_upstream drop_install replay_install
run_agent x
refused x "$dep_x" E_FRESHNESS "old nonce"
grep -q ' dropped$' proxy/log && grep -q ' replayed$' proxy/log && ok || bad "the proxy did not replay"
old=$(grep ' dropped$' proxy/log | cut -d' ' -f1)
jq -e --arg d "${id[x]}" '.action == "install" and
    (.instruction | fromjson | .payload | @base64d | fromjson | .device_id == $d)' \
    "proxy/checkin-$old.json" >/dev/null && ok || bad "no instruction for x recorded"
# What Y will be sent: X's signed instruction, in an answer naming Y's deployment.
jq -c --argjson d "$dep_y" '.deployment_id = $d' "proxy/checkin-$old.json" >for-y.json

# --- 5b. X's instruction delivered to Y -------------------------------------------------
proxy_reset
proxy_upstream "replace_install $work/for-y.json"
run_agent y
grep -q ' replaced$' proxy/log && ok || bad "the proxy did not substitute"
refused y "$dep_y" E_NOT_FOR_DEVICE "another device's instruction"
req GET "/api/v1/devices/${id[y]}" "${A[@]}"
expect_jq '[.reports[] | select(.state == "failed" and .code == "E_NOT_FOR_DEVICE")] | length == 1' \
    "y's report"

# --- 5c. the next honest cycle --------------------------------------------------------------
for d in x y; do
    deploy "\"device_id\":\"${id[$d]}\""
    finish_update "$d" "$d honestly"
    [ "$(assignment "$dep" "$d")" = succeeded ] && ok || bad "$d honestly: $(assignment "$dep" "$d")"
    status_is "$d" "$d honestly" '.slots.B.state == "good" and .slots.B.version == "2.0.0" and .primary == "B"'
done

# --- 6. TLS ----------------------------------------------------------------------------------
# make_ca NAME: a self-signed CA NAME.pem/NAME.key.
make_ca() {
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
        -subj "/CN=nobrick test $1" -keyout "$1.key" -out "$1.pem" 2>/dev/null
}
# make_cert NAME CA SAN: a server certificate for SAN signed by CA.
make_cert() {
    openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/CN=$1" \
        -keyout "$1.key" -out "$1.csr" 2>/dev/null
    printf 'subjectAltName=%s\nextendedKeyUsage=serverAuth\n' "$3" >"$1.ext"
    openssl x509 -req -in "$1.csr" -CA "$2.pem" -CAkey "$2.key" -CAcreateserial -days 2 \
        -extfile "$1.ext" -out "$1.pem" 2>/dev/null
}
make_ca ca
make_ca other
make_cert srv ca IP:127.0.0.1
make_cert wrongname ca DNS:ota.example.com
stop_proxy
stop_server
start_server --poll-interval 1 --poll-jitter 0 --tls-cert srv.pem --tls-key srv.key
base="https://${base#http://}"
A=(--cacert ca.pem -H "Authorization: Bearer $adm")
req GET /healthz --cacert ca.pem
expect_status 200 "healthz over TLS"

add_device t "$base" v1.nbb 262144 "" "server_ca = $work/ca.pem" # enrols over TLS
deploy "\"device_id\":\"${id[t]}\""
finish_update t "over TLS"
[ "$(assignment "$dep" t)" = succeeded ] && ok || bad "over TLS: $(assignment "$dep" t)"
status_is t "over TLS" '.slots.B.state == "good" and .slots.B.version == "2.0.0"'

# untrusted DEV WHAT CONF ERROR: a device whose agent is given CONF cannot
# talk to the server: exit 1, curl's ERROR in its log, never enrolled, the
# flash unchanged.
untrusted() {
    "$nobrick" device provision --dir "$1" --root root.json --hw-class thermo --bundle v1.nbb \
        --slot-size 262144 --meta-size 16384 >/dev/null
    printf 'server = %s\nbackoff_min_s = 1\nbackoff_max_s = 1\ntimeout_s = 5\n%s\n' "$base" "$3" \
        >>"$1/agent.conf"
    "$boot_bin" -c "$1/agent.conf" >/dev/null
    id[$1]=$(jq -r .keyid "$1/device.pub")
    req POST /api/v1/devices "${A[@]}" \
        -d "{\"public_key\":\"$(jq -r .ed25519 "$1/device.pub")\",\"hw_class\":\"thermo\"}"
    cp "$1/flash.img" "$1/flash.before"
    run_agent "$1"
    [ "$rc" -eq 1 ] && grep -qE "$4" <<<"$out" && ok ||
        bad "$2: exit $rc, want 1 and /$4/: $(tail -n 3 <<<"$out")"
    # The failure line says why in words (it once printed uninitialised
    # bytes), and the last line what to do about it.
    tail -n 2 <<<"$out" | head -n 1 | grep -qxE 'nobrick-agent: run: [ -~]+ \(E_[A-Z_]+\)' && ok ||
        bad "$2: failure line: $(tail -n 2 <<<"$out" | head -n 1 | od -c | head -3)"
    tail -n 1 <<<"$out" | grep -qE '^nobrick-agent: what to do: [ -~]+$' && ok ||
        bad "$2: remedy line: $(tail -n 1 <<<"$out")"
    cmp -s "$1/flash.img" "$1/flash.before" && ok || bad "$2: the flash changed"
    req GET "/api/v1/devices/${id[$1]}" "${A[@]}"
    expect_jq '.state != "active" and (.last_seen // 0) == 0' "$2: the server never saw it"
}
untrusted u1 "another CA" "server_ca = $work/other.pem" "SSL certificate problem"
untrusted u2 "the system's CAs" "" "SSL certificate problem"
stop_server
start_server --poll-interval 1 --poll-jitter 0 --tls-cert wrongname.pem --tls-key wrongname.key
base="https://${base#http://}"
A=(-k -H "Authorization: Bearer $adm") # the test's own calls need no check of the name
untrusted u3 "a certificate for another name" "server_ca = $work/ca.pem" \
    "no alternative certificate subject name matches"
finish
