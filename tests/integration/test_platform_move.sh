#!/usr/bin/env bash
# Moving a fleet to a new server (docs/trust.md "Moving a fleet to a new
# server", SECURITY.md 8, 9, 38): real servers and `nobrick-agent run --once`
# on simulated devices. Devices live on server A (root v1 lists A, then B).
# A bad v2 (signed only by the new keys) is refused by A. B starts from root
# v2 (new root, release and director keys; endpoints [B]); v2 is published
# on A; the online devices walk to v2 at their next check-in, move to B and
# install a release signed with v2's release key. A is switched off and a
# stranger with its own keys takes its address: a device that was offline
# (still at v1, configured for A) meets the stranger first, refuses its
# instruction (E_SIG), falls back to B, walks to v2 there and installs.
# Nothing of the stranger's is ever installed.
. "$(dirname "$0")/server_lib.sh"
trap 'stop_all_named; rm -rf "$work"' EXIT

PA=$(free_port)
PB=$(free_port)
UA="http://127.0.0.1:$PA"
UB="http://127.0.0.1:$PB"
for k in r1:root rel1:release dir1:director r2:root rel2:release dir2:director \
    sr:root srel:release sdir:director; do
    "$nobrick" key new "${k#*:}" "${k%%:*}" >/dev/null
done
"$nobrick" root new --key r1.key --threshold 1 --release-key rel1.pub --director-key dir1.pub \
    --endpoint "$UA" --endpoint "$UB" --expires-days 365 --out root-v1.json >/dev/null
"$nobrick" root rotate --from root-v1.json --sign-old r1.key --sign-new r2.key \
    --release-key rel1.pub --release-key rel2.pub --director-key dir2.pub --endpoint "$UB" \
    --out root-v2.json >/dev/null
# v2 signed by the new key alone: a chain made from a v1 of r2's own.
"$nobrick" root new --key r2.key --threshold 1 --release-key rel2.pub --director-key dir2.pub \
    --endpoint "$UB" --expires-days 365 --out r2-v1.json >/dev/null
"$nobrick" root rotate --from r2-v1.json --sign-old r2.key --sign-new r2.key \
    --out bad-v2.json >/dev/null
# The stranger's fleet: its own root for A's address.
"$nobrick" root new --key sr.key --threshold 1 --release-key srel.pub --director-key sdir.pub \
    --endpoint "$UA" --expires-days 365 --out stranger-root.json >/dev/null

bundle() { # OUT VERSION COUNTER KEY SEED
    head -c 150000 /dev/zero | openssl enc -aes-256-ctr -nosalt -pbkdf2 -pass "pass:$5" >"$1.img"
    "$nobrick" bundle create --image "$1.img" --version "$2" --security-counter "$3" \
        --hw-class thermo --key "$4" --frame-size 16384 --out "$1" >/dev/null
}
bundle fw1.nbb 1.0.0 1 rel1.key one
bundle fw2.nbb 2.0.0 2 rel2.key two
bundle evil.nbb 6.6.6 9 srel.key evil

token_of() { "$server" token create --role admin --db "sqlite:$work/$1/server.db" 2>/dev/null; }
# api NAME METHOD PATH [CURL ARGS...]: req on server NAME with its admin token.
declare -A url=([a]="$UA" [b]="$UB" [s]="$UA") tok=()
api() {
    local n=$1
    base=${url[$n]}
    shift
    req "$1" "$2" -H "Authorization: Bearer ${tok[$n]}" "${@:3}"
}
preauth() { # NAME DEV
    api "$1" POST /api/v1/devices \
        -d "{\"public_key\":\"$(jq -r .ed25519 "$2/device.pub")\",\"hw_class\":\"thermo\"}"
    expect_status 201 "preauthorise $2 on $1"
}
declare -A rel=()
upload() { # NAME BUNDLE: sets rel[NAME]
    api "$1" POST /api/v1/releases --data-binary "@$2"
    expect_status 201 "upload $2 on $1"
    rel[$1]=$(jq -r .id <<<"$body")
}
deploy_to() { # NAME DEV...: deploys rel[NAME] to each device
    local n=$1 d
    shift
    for d in "$@"; do
        api "$n" POST /api/v1/deployments \
            -d "{\"release_id\":${rel[$n]},\"device_id\":\"$(jq -r .keyid "$d/device.pub")\"}"
        expect_status 201 "deploy release ${rel[$n]} to $d on $n"
    done
}
root_of() { "$agent_bin" -c "$1/agent.conf" status --json | jq -r '.root.version'; }
running() { "$agent_bin" -c "$1/agent.conf" status --json | jq -r '.running.version'; }

# --- the fleet on A ----------------------------------------------------------------
start_named a "$PA" root-v1.json dir1.key
tok[a]=$(token_of a)
for d in d1 d2 d3; do
    "$nobrick" device provision --dir "$d" --root root-v1.json --hw-class thermo --bundle fw1.nbb \
        --slot-size 262144 --meta-size 16384 >/dev/null
    printf 'server = %s\npoll_interval_s = 1\npoll_jitter_s = 0\nbackoff_min_s = 1\nbackoff_max_s = 2\ntimeout_s = 5\n' \
        "$UA" >>"$d/agent.conf"
    "$boot_bin" -c "$d/agent.conf" >/dev/null
    preauth a "$d"
    run_agent "$d"
    [ "$rc" -eq 0 ] && ok || bad "$d on A: exit $rc: $out"
    [ "$(root_of "$d")" = 1 ] && ok || bad "$d: root $(root_of "$d"), want 1"
done

# --- SECURITY.md 9: v2 signed only by the new key is refused, A stays at v1 -----------
rc=0
msg=$("$nobrick" --server "$UA" --token "${tok[a]}" root publish bad-v2.json 2>&1) || rc=$?
[ "$rc" -eq 1 ] && grep -q "E_SIG" <<<"$msg" && ok || bad "bad v2 published: exit $rc: $msg"
api a GET /api/v1/roots
expect_jq '.version == 1 and .first == 1' "A still at v1 after the bad v2"
base=$UA
req GET /api/v1/device/roots/2
expect_status 404 "no v2 served after the refusal"

# --- B starts from v2; v2 is published on A ------------------------------------------
start_named b "$PB" root-v2.json dir2.key
tok[b]=$(token_of b)
for d in d1 d2 d3; do preauth b "$d"; done
rc=0
msg=$("$nobrick" --server "$UA" --token "${tok[a]}" root publish root-v2.json 2>&1) || rc=$?
[ "$rc" -eq 0 ] && grep -q "published root v2" <<<"$msg" && ok || bad "publish v2: exit $rc: $msg"
grep -q "warning" <<<"$msg" && bad "v2 keeps every release key, yet: $msg" || ok
rc=0
msg=$("$nobrick" --server "$UA" --token "${tok[a]}" root publish root-v2.json 2>&1) || rc=$?
[ "$rc" -eq 1 ] && grep -q "E_ROLLBACK" <<<"$msg" && ok || bad "v2 twice: exit $rc: $msg"
api a GET /api/v1/audit
expect_jq '[.entries[] | select(.action == "root.publish")] | length == 1' "one publication audited"
# Bad input changes nothing; the chain survives a restart (DATA/roots/2.json).
api a POST /api/v1/roots -d '{"root":5}'
expect_status 400 "a root that is not text"
api a POST /api/v1/roots -d '{"root":"{}","extra":1}'
expect_status 400 "an unknown field"
base=$UA
req POST /api/v1/roots -d "{\"root\":$(jq -Rs . <root-v2.json)}"
expect_status 401 "publishing without a token"
req GET /api/v1/device/roots/0
expect_status 400 "root version 0"
req GET /api/v1/device/roots/3
expect_status 404 "root v3 is not published"
stop_named a
start_named a "$PA" root-v1.json dir1.key
grep -q "no longer a director key of root v2" "$work/a.log" && ok || bad "A: no warning"
api a GET /api/v1/roots
expect_jq '.version == 2 and .first == 1 and .endpoints == ["'"$UB"'"]' "A serves v2 after a restart"
base=$UA
req GET /api/v1/device/roots/2
expect_status 200 "v2 served to devices"
cmp -s <(printf '%s' "$body") <(printf '%s' "$(cat root-v2.json)") && ok || bad "v2 served as published"
# A release signed with v2's key is now accepted by A too (its newest root).
api a POST /api/v1/releases --data-binary @fw2.nbb
expect_status 201 "A verifies releases against v2"

# --- the online devices walk at A and move to B ---------------------------------------
for d in d1 d2; do
    finish_update "$d" "$d moves"
    api b GET "/api/v1/devices/$(jq -r .keyid "$d/device.pub")"
    expect_jq '.state == "active" and .installed_version == "1.0.0"' "$d checked in at B"
done
upload b fw2.nbb
deploy_to b d1 d2
for d in d1 d2; do
    finish_update "$d" "$d updates on B"
    grep -q "root: now at v2" "$work/$d.out" && ok || bad "$d: no walk logged"
    grep -q "endpoint $UA: not listed by root v2; next: $UB" "$work/$d.out" && ok ||
        bad "$d: did not move to B: $(grep endpoint "$work/$d.out")"
    [ "$(root_of "$d")" = 2 ] && ok || bad "$d: root $(root_of "$d"), want 2"
    [ "$(running "$d")" = 2.0.0 ] && ok || bad "$d runs $(running "$d"), want 2.0.0"
done

# --- A is switched off; a stranger takes its address ------------------------------------
stop_named a
start_named s "$PA" stranger-root.json sdir.key
tok[s]=$(token_of s)
for d in d1 d2 d3; do preauth s "$d"; done

# The device that was offline: v1, configured for A, meets the stranger
# first. Its unsigned "nothing to do" cannot be told from A's own; its
# signed instruction can.
finish_update d3 "offline device at the stranger"
grep -q "root: now at v2" "$work/d3.out" && bad "d3 walked at the stranger" || ok
upload s evil.nbb
deploy_to s d3
finish_update d3 "offline device refuses the stranger"
grep -q "deployment 1 refused: .*(E_SIG)" "$work/d3.out" && ok ||
    bad "d3: the stranger's instruction was not refused: $(tail -n 20 "$work/d3.out")"
grep -q "endpoint $UA: its signed data does not verify (E_SIG); next: $UB" "$work/d3.out" && ok ||
    bad "d3: did not fall back to B"
grep -q "root: now at v2" "$work/d3.out" && ok || bad "d3: no walk at B"
api b GET "/api/v1/devices/$(jq -r .keyid d3/device.pub)"
expect_jq '.state == "active" and (.last_result | startswith("E_SIG"))' "d3 told B what it refused"
deploy_to b d3
finish_update d3 "d3 updates on B"
[ "$(root_of d3)" = 2 ] && ok || bad "d3: root $(root_of d3), want 2"
[ "$(running d3)" = 2.0.0 ] && ok || bad "d3 runs $(running d3), want 2.0.0"
# The devices that moved never talk to the old address again.
for d in d1 d2; do
    : >"$work/$d.out"
    finish_update "$d" "$d on B"
    grep -q "$UA" "$work/$d.out" && bad "$d talked to the old address" || ok
done

# Nothing of the stranger's was installed, everything succeeded on B.
for d in d1 d2 d3; do
    "$agent_bin" -c "$d/agent.conf" status --json |
        jq -e '[.slots[] | .version] | index("6.6.6") == null' >/dev/null && ok ||
        bad "$d holds the stranger's release"
    api b GET "/api/v1/devices/$(jq -r .keyid "$d/device.pub")"
    expect_jq '.installed_version == "2.0.0"' "$d reported 2.0.0 to B"
    api s GET "/api/v1/devices/$(jq -r .keyid "$d/device.pub")"
    expect_jq '.installed_version != "6.6.6"' "$d never ran the stranger's release"
done
api b GET /api/v1/devices
expect_jq '[.devices[] | select(.installed_version == "2.0.0")] | length == 3' "3 devices on B at 2.0.0"

# The fleet runs releases signed by rel2: v3 drops rel1, and the server's
# answer, printed by the CLI, still warns of what a device on a rel1
# release would do; v4 keeps every key and draws no warning.
"$nobrick" root rotate --from root-v2.json --sign-old r2.key --sign-new r2.key \
    --release-key rel2.pub --director-key dir2.pub --endpoint "$UB" --out root-v3.json \
    >/dev/null 2>&1
rc=0
msg=$("$nobrick" --server "$UB" --token "${tok[b]}" root publish root-v3.json 2>&1) || rc=$?
[ "$rc" -eq 0 ] && grep -q "published root v3" <<<"$msg" &&
    grep -q "warning: root v3 drops release key $(jq -r .keyid rel1.pub | cut -c1-16).*E_UNBOOTABLE" \
        <<<"$msg" && ok || bad "v3 drops rel1 without a warning: exit $rc: $msg"
"$nobrick" root rotate --from root-v3.json --sign-old r2.key --sign-new r2.key \
    --release-key rel2.pub --director-key dir2.pub --endpoint "$UB" --out root-v4.json >/dev/null
api b POST /api/v1/roots -d "{\"root\":$(jq -Rs . <root-v4.json)}"
expect_status 201 "v4 published on B"
expect_jq '.version == 4 and .warnings == []' "v4 keeps every release key: no warning"
finish
