#!/usr/bin/env bash
# The operator's root ceremony end to end with the real `nobrick` binary:
# keys for every role, root v1, two rotations (keys replaced, then threshold
# raised), the chain verified as a device would, and every refusal: rotations
# signed by the wrong keys (by `root rotate` itself and, hand-crafted, by
# `root verify`), and bad command lines. Env: NB_BIN = the build directory.
set -euo pipefail

# Absolute, since the test runs in its own temporary directory.
nobrick="$(cd "${NB_BIN:?NB_BIN must name the build directory}" && pwd)/nobrick"
[ -x "$nobrick" ] || { echo "no nobrick binary at $nobrick" >&2; exit 1; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work"

pass=0
fail=0
# expect RC REGEX CMD...: runs CMD, checks its exit code and that its output
# (stdout and stderr) matches REGEX.
expect() {
    local want=$1 pat=$2 out rc=0
    shift 2
    out=$("$@" 2>&1) || rc=$?
    if [ "$rc" -eq "$want" ] && grep -qE -- "$pat" <<<"$out"; then
        pass=$((pass + 1))
    else
        fail=$((fail + 1))
        echo "FAIL: $* -> exit $rc (want $want, /$pat/):" >&2
        echo "$out" | sed 's/^/    /' >&2
    fi
}
# check DESCRIPTION CMD...: a plain condition.
check() {
    local what=$1
    shift
    if "$@"; then
        pass=$((pass + 1))
    else
        fail=$((fail + 1))
        echo "FAIL: $what" >&2
    fi
}
keyid() { sed -E 's/.*"keyid":"([0-9a-f]+)".*/\1/' "$1"; }

# --- keys ---------------------------------------------------------------------
for k in r1:root r2:root r3:root r4:root rel:release rel2:release dir:director dev:device; do
    expect 0 "created ${k#*:} key [0-9a-f]{64}" "$nobrick" key new "${k#*:}" "${k%%:*}"
    check "${k%%:*}.key is mode 600" [ "$(stat -c %a "${k%%:*}.key")" = 600 ]
    check "${k%%:*}.pub exists" [ -s "${k%%:*}.pub" ]
done
check "device key has an x25519 part" grep -q '"x25519":"' dev.pub
expect 1 "already exists" "$nobrick" key new root r1
expect 2 "unknown role 'admin'" "$nobrick" key new admin x
expect 2 "expected ROLE and NAME" "$nobrick" key new root
expect 0 "Usage: nobrick key new" "$nobrick" key new --help

# --- root v1 ------------------------------------------------------------------
expect 0 "wrote root v1 to v1.json" "$nobrick" root new --key r1.key --threshold 1 \
    --release-key rel.pub --director-key dir.pub --endpoint https://ota.example.com \
    --endpoint https://ota2.example.net --expires-days 365 --out v1.json
expect 1 "already exists \(use --force" "$nobrick" root new --key r1.key --threshold 1 \
    --release-key rel.pub --director-key dir.pub --endpoint https://ota.example.com \
    --expires-days 365 --out v1.json
expect 1 "rel.pub: a release key, not a director key" "$nobrick" root new --key r1.key \
    --threshold 1 --release-key rel.pub --director-key rel.pub \
    --endpoint https://ota.example.com --expires-days 365 --out wrong.json
expect 1 "endpoint 1: not an http\(s\) URL" "$nobrick" root new --key r1.key --threshold 1 \
    --release-key rel.pub --director-key dir.pub --endpoint ftp://ota.example.com \
    --expires-days 365 --out wrong.json
check "no file written for refused roots" [ ! -e wrong.json ]
expect 0 "root chain OK: version 1 .*ota2.example.net" "$nobrick" root verify --trusted v1.json

# --- rotations ----------------------------------------------------------------
expect 0 "wrote root v2 to v2.json" "$nobrick" root rotate --from v1.json --sign-old r1.key \
    --sign-new r2.key --out v2.json
expect 0 "wrote root v3 to v3.json .*root 2 of 2" "$nobrick" root rotate --from v2.json \
    --sign-old r2.key --sign-new r3.key --sign-new r4.key --threshold 2 --out v3.json
expect 0 "root chain OK: version 3 \(expires [0-9]{4}-[0-9]{2}-[0-9]{2}, endpoints: https://ota.example.com, https://ota2.example.net\)" \
    "$nobrick" root verify --trusted v1.json v2.json v3.json
expect 0 "root chain OK: version 3" "$nobrick" root verify --trusted v2.json v3.json
# a rotation that drops a release key says what devices will do
expect 0 "warning: root v2 drops release key $(keyid rel.pub | cut -c1-16).*E_UNBOOTABLE" \
    "$nobrick" root rotate --from v1.json --sign-old r1.key --sign-new r1.key \
    --release-key rel2.pub --out drop.json
keep_out=$("$nobrick" root rotate --from v1.json --sign-old r1.key --sign-new r1.key \
    --release-key rel.pub --release-key rel2.pub --out keep.json 2>&1)
check "no warning when every release key is kept: $keep_out" \
    [ -s keep.json -a -z "$(grep warning <<<"$keep_out")" ]

# rotate refuses what a device would refuse, and writes nothing
expect 1 "signed by 0 of 1 required v1 root keys \(E_SIG\)" "$nobrick" root rotate \
    --from v1.json --sign-old r2.key --sign-new r2.key --out bad.json
expect 1 "signed by 0 of 1 required v2 root keys \(E_SIG\)" "$nobrick" root rotate \
    --from v2.json --sign-old r1.key --sign-new r3.key --out bad.json
expect 2 "missing --sign-new" "$nobrick" root rotate --from v1.json --sign-old r1.key \
    --out bad.json
expect 2 "missing --sign-old" "$nobrick" root rotate --from v1.json --sign-new r2.key \
    --out bad.json
expect 2 "root threshold 2 is more than its 1 keys" "$nobrick" root rotate --from v2.json \
    --sign-old r2.key --sign-new r3.key --threshold 2 --out bad.json
check "no file written for refused rotations" [ ! -e bad.json ]

# hand-crafted rotations: one signature removed from a valid v2
r1id=$(keyid r1.pub)
r2id=$(keyid r2.pub)
sed -E "s/,?\{\"keyid\":\"$r2id\",\"sig\":\"[^\"]*\"\}//" v2.json >v2-old-only.json
sed -E "s/\{\"keyid\":\"$r1id\",\"sig\":\"[^\"]*\"\},?//" v2.json >v2-new-only.json
check "crafted files differ from v2" [ "$(cat v2-old-only.json)" != "$(cat v2.json)" ]
expect 1 "^nobrick: v2-old-only.json: step 1 \(v1 -> \?\): signed by 0 of 1 required v2 root keys \(its own\) \(E_SIG\)$" \
    "$nobrick" root verify --trusted v1.json v2-old-only.json v3.json
expect 1 "^nobrick: v2-new-only.json: step 1 \(v1 -> \?\): signed by 0 of 1 required v1 root keys \(E_SIG\)$" \
    "$nobrick" root verify --trusted v1.json v2-new-only.json v3.json
# a payload edited after signing (endpoint moved to an attacker's domain)
sed -E 's/"payload":"[^"]{8}/"payload":"AAAAAAAA/' v2.json >v2-edited.json
expect 1 "v2-edited.json: step 1 .*E_(SIG|PARSE)" "$nobrick" root verify --trusted v1.json \
    v2-edited.json
# version games: skipped, replayed, out of order
expect 1 "v3.json: step 1 \(v1 -> \?\): signed by 0 of 1 required v1 root keys \(E_SIG\)" \
    "$nobrick" root verify --trusted v1.json v3.json
expect 1 "v1.json: step 1 \(v1 -> \?\): version 1 offered after v1, expected v2 \(E_ROLLBACK\)" \
    "$nobrick" root verify --trusted v1.json v1.json
expect 1 "v2.json: step 3 \(v3 -> \?\)" "$nobrick" root verify --trusted v1.json v2.json \
    v3.json v2.json

# --- bad command lines -----------------------------------------------------------
new_args=(--key r1.key --release-key rel.pub --director-key dir.pub
    --endpoint https://ota.example.com)
expect 2 "missing --out" "$nobrick" root new "${new_args[@]}" --threshold 1 --expires-days 9
expect 2 "--threshold: '0' is not a number" "$nobrick" root new "${new_args[@]}" \
    --threshold 0 --expires-days 9 --out t.json
expect 2 "--expires-days: 'soon' is not a number" "$nobrick" root new "${new_args[@]}" \
    --threshold 1 --expires-days soon --out t.json
expect 2 "--release-threshold: '-1' is not a number" "$nobrick" root new "${new_args[@]}" \
    --threshold 1 --release-threshold -1 --expires-days 9 --out t.json
expect 2 "unknown option '--colour'" "$nobrick" root new --colour
expect 2 "--out given twice" "$nobrick" root new --out a --out b
expect 2 "option --out needs a value" "$nobrick" root new --out
expect 2 "unknown subcommand 'grow'" "$nobrick" root grow
expect 1 "nope.json" "$nobrick" root rotate --from nope.json --sign-old r1.key \
    --sign-new r2.key --out t.json
expect 1 "missing.key" "$nobrick" root new "${new_args[@]}" --key missing.key --threshold 1 \
    --expires-days 9 --out t.json
expect 1 "gone.json: step 1 .*E_NOENT" "$nobrick" root verify --trusted v1.json gone.json
expect 2 "missing --trusted" "$nobrick" root verify v1.json
check "no file written for bad command lines" [ ! -e t.json ]
for sub in new rotate verify; do
    expect 0 "Usage: nobrick root $sub" "$nobrick" root "$sub" --help
done

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
