#!/usr/bin/env bash
# `nobrick bundle create|inspect|verify` end to end with the real binary:
# keys and a root, bundles plain and encrypted, inspect (human and JSON),
# verify OK, and the one-line refusals: a corrupted byte (E_HASH), the wrong
# root (E_SIG), a device that is not a recipient (E_DECRYPT), a root chain,
# and bad command lines. Env: NB_BIN = the build directory.
set -euo pipefail

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
# one_line RC REGEX CMD...: like expect, and the output is exactly one line.
one_line() {
    local want=$1 pat=$2 out rc=0
    shift 2
    out=$("$@" 2>&1) || rc=$?
    if [ "$rc" -eq "$want" ] && grep -qE -- "$pat" <<<"$out" && [ "$(wc -l <<<"$out")" -eq 1 ]; then
        pass=$((pass + 1))
    else
        fail=$((fail + 1))
        echo "FAIL: $* -> exit $rc (want $want, one line /$pat/):" >&2
        echo "$out" | sed 's/^/    /' >&2
    fi
}
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
q() { "$@" >/dev/null 2>&1; }

# --- keys, roots, an image ----------------------------------------------------
for k in r1:root r2:root rel:release rel2:release dir:director dev:device dev2:device; do
    q "$nobrick" key new "${k#*:}" "${k%%:*}"
done
q "$nobrick" root new --key r1.key --threshold 1 --release-key rel.pub --director-key dir.pub \
    --endpoint https://ota.example.com --expires-days 365 --out root.json
q "$nobrick" root new --key r2.key --threshold 1 --release-key rel2.pub --director-key dir.pub \
    --endpoint https://ota.example.com --expires-days 365 --out other-root.json
check "root files exist" [ -s root.json ] && [ -s other-root.json ]
# 3 MiB + 5 bytes: 4 frames of the default 1 MiB, some compressible.
{ head -c 1048576 /dev/zero; head -c 2097157 /dev/urandom; } >image.bin
head -c 5000 /dev/urandom >small.bin

# --- create, inspect, verify --------------------------------------------------
one_line 0 "^created app.nbb: release 1.2.3 \(security counter 7\) for thermo-v3 and others, 4 frames of 1048576 bytes" \
    "$nobrick" bundle create --image image.bin --version 1.2.3 --security-counter 7 \
    --hw-class thermo-v3 --hw-class thermo-v4 --key rel.key --out app.nbb
check "no temporary files left" [ "$(ls | grep -c 'app.nbb.')" -eq 0 ]
check "bundle is readable by all" [ "$(stat -c %a app.nbb)" = 644 ]
expect 0 "version: +1\.2\.3" "$nobrick" bundle inspect app.nbb
expect 0 "frames: +4 of 1048576 bytes" "$nobrick" bundle inspect app.nbb
expect 0 "hardware classes: thermo-v3, thermo-v4" "$nobrick" bundle inspect app.nbb
expect 0 "NOT verified" "$nobrick" bundle inspect app.nbb
expect 0 "keyid +$(sed -E 's/.*"keyid":"([0-9a-f]+)".*/\1/' rel.pub)" "$nobrick" bundle inspect app.nbb
"$nobrick" bundle inspect app.nbb --json >inspect.json
check "inspect --json is JSON" python3 -c 'import json,sys; json.load(sys.stdin)' <inspect.json
check "inspect --json has the fields" python3 -c '
import json, sys
d = json.load(sys.stdin)
assert d["version"] == "1.2.3" and d["security_counter"] == 7, d
assert d["frames"]["count"] == 4 and d["frames"]["size"] == 1048576, d
assert d["image"]["size"] == 3145733 and d["encryption"] is None, d
assert d["hw_classes"] == ["thermo-v3", "thermo-v4"] and d["signatures_verified"] is False, d
assert 0 < d["compression_ratio"] < 1 and len(d["signatures"]) == 1, d
' <inspect.json
one_line 0 "^app.nbb: OK: release 1.2.3 \(security counter 7\) for thermo-v3, 4 frames" \
    "$nobrick" bundle verify --root root.json app.nbb
check "the image hash is the one shown" grep -q "$(sha256sum image.bin | head -c 16)" \
    <("$nobrick" bundle verify --root root.json app.nbb)

# --- refusals, one line each --------------------------------------------------
cp app.nbb corrupt.nbb
size=$(stat -c %s corrupt.nbb)
# A byte of the last frame (5 image bytes: a few stored bytes at the end).
printf '\x42' | dd of=corrupt.nbb bs=1 seek=$((size - 3)) conv=notrunc status=none
one_line 1 "^nobrick: corrupt.nbb: hash mismatch in frame 3 \(stored bytes\) \(E_HASH\)$" \
    "$nobrick" bundle verify --root root.json corrupt.nbb
one_line 1 "^nobrick: app.nbb: .*\(E_SIG\)$" "$nobrick" bundle verify --root other-root.json app.nbb
cp app.nbb long.nbb && printf 'x' >>long.nbb
one_line 1 "^nobrick: long.nbb: 1 bytes after the end of the bundle.*\(E_TRUNCATED\)$" \
    "$nobrick" bundle verify --root root.json long.nbb
head -c $((size - 1)) app.nbb >short.nbb
one_line 1 "^nobrick: short.nbb: bundle ends early.*\(E_TRUNCATED\)$" \
    "$nobrick" bundle verify --root root.json short.nbb
one_line 1 "\(E_PARSE\)$" "$nobrick" bundle verify --root root.json image.bin
one_line 1 "\(E_PARSE\)$" "$nobrick" bundle inspect image.bin

# --- encrypted ----------------------------------------------------------------
one_line 0 "^created raw.nbb: .*2 frames of 4096 bytes.*encrypted" \
    "$nobrick" bundle create --image small.bin --version 2.0.0-rc.1 --security-counter 8 \
    --hw-class thermo-v3 --key rel.key --frame-size 4096 --encrypt-to dev.pub \
    --compression none --out raw.nbb
expect 0 "compression: +none, 5000 -> 5032 bytes" "$nobrick" bundle inspect raw.nbb
one_line 0 "^raw.nbb: OK: " "$nobrick" bundle verify --root root.json --device-key dev.key raw.nbb
"$nobrick" bundle create --image small.bin --version 2.0.0-rc.1 --security-counter 8 \
    --hw-class thermo-v3 --key rel.key --frame-size 4096 --encrypt-to dev.pub \
    --encrypt-to dev2.pub --out enc.nbb >/dev/null
expect 0 "encryption: +aes-256-gcm, 2 recipients" "$nobrick" bundle inspect enc.nbb
one_line 0 "^enc.nbb: OK: release 2.0.0-rc.1" \
    "$nobrick" bundle verify --root root.json --device-key dev.key enc.nbb
one_line 0 "^enc.nbb: OK \(encrypted; stored bytes checked, not decrypted" \
    "$nobrick" bundle verify --root root.json enc.nbb
q "$nobrick" key new device stranger
one_line 1 "^nobrick: enc.nbb: .*not a recipient.*\(E_DECRYPT\)$" \
    "$nobrick" bundle verify --root root.json --device-key stranger.key enc.nbb
one_line 1 "not a device secret key" \
    "$nobrick" bundle verify --root root.json --device-key dev.pub enc.nbb

# --- a root chain: v2 moves the release role to rel2 --------------------------
q "$nobrick" root rotate --from root.json --sign-old r1.key --sign-new r2.key \
    --release-key rel2.pub --out root2.json
check "root v2 written" [ -s root2.json ]
q "$nobrick" bundle create --image small.bin --version 3.0.0 --security-counter 9 \
    --hw-class thermo-v3 --key rel2.key --frame-size 4096 --out v3.nbb
one_line 0 "^v3.nbb: OK" "$nobrick" bundle verify --root root.json --root root2.json v3.nbb
one_line 1 "^nobrick: v3.nbb: .*\(E_SIG\)$" "$nobrick" bundle verify --root root.json v3.nbb
one_line 1 "^nobrick: trusted root: root.json: .*\(E_SIG\)$" \
    "$nobrick" bundle verify --root root2.json --root root.json v3.nbb
# Several signers.
q "$nobrick" bundle create --image small.bin --version 3.0.1 --security-counter 9 \
    --hw-class thermo-v3 --key rel.key --key rel2.key --out two.nbb
expect 0 "signatures: +2," "$nobrick" bundle inspect two.nbb
one_line 0 "^two.nbb: OK" "$nobrick" bundle verify --root root.json two.nbb

# --- memory is one frame, whatever the image size ----------------------------
# 256 MiB (32 MiB of noise, so frames are full size), 1 MiB frames: verify's
# peak RSS must stay under 32 MiB. No mmap, no whole-file buffer.
if [ -x /usr/bin/time ]; then
    { head -c 32M /dev/urandom; head -c 224M /dev/zero; } >big.img
    q "$nobrick" bundle create --image big.img --version 1.0.0 --security-counter 1 \
        --hw-class a --key rel.key --level 1 --out big.nbb
    rm -f big.img
    /usr/bin/time -f "%M" -o rss.txt "$nobrick" bundle verify --root root.json big.nbb >/dev/null
    check "verify of a 256 MiB image peaks under 32 MiB (was $(cat rss.txt) KiB)" \
        [ "$(cat rss.txt)" -lt 32768 ]
    rm -f big.nbb
else
    echo "note: /usr/bin/time missing, peak memory not measured" >&2
fi

# --- bad command lines, named -------------------------------------------------
base=(--version 1.0.0 --security-counter 1 --hw-class thermo-v3 --key rel.key --out x.nbb)
expect 2 "--image FILE is required" "$nobrick" bundle create "${base[@]}"
expect 2 "--frame-size '5000' is not a power of two" \
    "$nobrick" bundle create --image small.bin "${base[@]}" --frame-size 5000
expect 2 "--frame-size '2048' is not a power of two from 4096" \
    "$nobrick" bundle create --image small.bin "${base[@]}" --frame-size 2048
expect 2 "--version '1.0' is not a SemVer" "$nobrick" bundle create --image small.bin \
    --version 1.0 --security-counter 1 --hw-class thermo-v3 --key rel.key --out x.nbb
expect 2 "--hw-class NAME is required" "$nobrick" bundle create --image small.bin \
    --version 1.0.0 --security-counter 1 --key rel.key --out x.nbb
expect 2 "--security-counter '-1' is not a number" "$nobrick" bundle create --image small.bin \
    --version 1.0.0 --security-counter -1 --hw-class a --key rel.key --out x.nbb
expect 2 "--compression 'gzip' is not zstd or none" \
    "$nobrick" bundle create --image small.bin "${base[@]}" --compression gzip
expect 2 "unknown option '--bogus'" "$nobrick" bundle create --image small.bin "${base[@]}" --bogus
expect 2 "--out needs a value" "$nobrick" bundle create --image small.bin --out
one_line 1 "^nobrick: x.nbb: missing.bin: No such file.*\(E_NOENT\)$" \
    "$nobrick" bundle create --image missing.bin "${base[@]}"
one_line 1 "hardware class.*\(E_INVAL\)$" "$nobrick" bundle create --image small.bin \
    --version 1.0.0 --security-counter 1 --hw-class 'bad class' --key rel.key --out x.nbb
one_line 1 "a public key cannot sign" "$nobrick" bundle create --image small.bin \
    --version 1.0.0 --security-counter 1 --hw-class a --key rel.pub --out x.nbb
check "failed creates leave no file" [ ! -e x.nbb ]
one_line 1 "^nobrick: missing.nbb: .*\(E_NOENT\)$" "$nobrick" bundle verify --root root.json missing.nbb
one_line 1 "^nobrick: missing.nbb: .*\(E_NOENT\)$" "$nobrick" bundle inspect missing.nbb
expect 2 "--root root.json is required" "$nobrick" bundle verify app.nbb
expect 2 "FILE.nbb is required" "$nobrick" bundle verify --root root.json
expect 2 "FILE.nbb is required" "$nobrick" bundle inspect
one_line 1 "^nobrick: trusted root: nope.json: .*\(E_NOENT\)$" \
    "$nobrick" bundle verify --root nope.json app.nbb
expect 0 "Usage: nobrick bundle create" "$nobrick" bundle create --help
expect 0 "Usage: nobrick bundle verify" "$nobrick" bundle verify --help

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
