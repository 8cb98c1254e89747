#!/usr/bin/env bash
# Regenerates the seed inputs of the fuzz corpora, tests/fuzz/corpus/<parser>/.
# Valid roots and bundles come from the real `nobrick` CLI; signed edge cases
# (threshold 0, duplicate keys, rotations) are signed here with `openssl
# pkeyutl` using the fixed seeds of fuzz_fixture.h, so they verify in the fuzz
# targets and reach the parsers behind the signature. Every generated file is
# named gen-*: inputs added from fuzzing runs (other names) are left alone.
# Usage: tests/fuzz/make-corpus.sh [PATH_TO_NOBRICK]   (default: build/asan/nobrick)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
src=$(cd "$here/../.." && pwd)
nobrick=$(realpath "${1:-$src/build/asan/nobrick}")
[ -x "$nobrick" ] || { echo "make-corpus: no nobrick CLI at $nobrick (build it first)" >&2; exit 1; }
corpus=$here/corpus
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work"

# ---- bytes ------------------------------------------------------------------

hex2bin() { printf "$(printf '%s' "$1" | sed 's/../\\x&/g')"; }
bin2hex() { od -An -v -tx1 | tr -d ' \n'; }
le16() { printf '%02x%02x' $(($1 & 255)) $(($1 >> 8 & 255)); }
le32() { printf '%02x%02x%02x%02x' $(($1 & 255)) $(($1 >> 8 & 255)) $(($1 >> 16 & 255)) $(($1 >> 24 & 255)); }
le64() { le32 $(($1 & 0xffffffff)); le32 $(($1 >> 32 & 0xffffffff)); }
# patch FILE OFFSET HEX: overwrite bytes in place.
patch() { hex2bin "$3" | dd of="$1" bs=1 seek="$2" conv=notrunc status=none; }
zeros() { head -c "$1" /dev/zero | bin2hex; }
# nest N: N nested JSON arrays (past jansson's depth limit of 2048).
nest() { printf '%*s' "$1" '' | tr ' ' '['; printf '%*s' "$1" '' | tr ' ' ']'; }

# ---- fixed keys (the seeds of fuzz_fixture.h: 32 copies of one byte) -------

seed_hex() { printf "$1%.0s" {1..32}; }
declare -A PUB KID
ed_key() { # TAG: TAG.pem, PUB[TAG], KID[TAG]
  hex2bin "302e020100300506032b657004220420$(seed_hex "$1")" | openssl pkey -inform DER -out "$1.pem"
  PUB[$1]=$(openssl pkey -in "$1.pem" -pubout -outform DER | tail -c 32 | bin2hex)
  KID[$1]=$(hex2bin "${PUB[$1]}" | sha256sum | cut -c1-64)
}
x_pub() { # TAG: the X25519 public key of the private key 32*TAG
  hex2bin "302e020100300506032b656e04220420$(seed_hex "$1")" | openssl pkey -inform DER -pubout -outform DER | tail -c 32 | bin2hex
}
for t in 11 12 13 22 33 44 66; do ed_key $t; done
XPUB55=$(x_pub 55)
# keyfile NAME ROLE TAG: NAME.key and NAME.pub as `nobrick key new` writes them.
keyfile() {
  local x_sec="" x_pub=""
  if [ "$2" = device ]; then
    x_sec=",\"x25519_private\":\"$(seed_hex 55)\""
    x_pub=",\"x25519\":\"$XPUB55\""
  fi
  printf '{"type":"nobrick-secret-key","role":"%s","keyid":"%s","ed25519_seed":"%s"%s}\n' \
    "$2" "${KID[$3]}" "$(seed_hex "$3")" "$x_sec" > "$1.key"
  chmod 600 "$1.key"
  printf '{"type":"nobrick-public-key","role":"%s","keyid":"%s","ed25519":"%s"%s}\n' \
    "$2" "${KID[$3]}" "${PUB[$3]}" "$x_pub" > "$1.pub"
}
keyfile root1 root 11
keyfile root2 root 12
keyfile root3 root 13
keyfile release release 22
keyfile director director 33
keyfile device device 44
keyfile rogue release 66

# ---- envelopes ---------------------------------------------------------------

# sign TYPE PAYLOAD_FILE SIGNER...: envelope text on stdout. A signer is TAG
# (that key, under its own keyid), TAG@KEYID (that key, another keyid) or
# raw@KEYID@BASE64 (a given signature).
sign() {
  local type=$1 payload=$2 sigs="" s tag kid b64
  shift 2
  { printf 'DSSEv1 %d %s %d ' "${#type}" "$type" "$(stat -c %s "$payload")"; cat "$payload"; } > pae
  for s in "$@"; do
    case $s in
      raw@*) kid=${s#raw@}; b64=${kid#*@}; kid=${kid%%@*} ;;
      *@*) tag=${s%%@*}; kid=${s#*@}; b64=$(openssl pkeyutl -sign -inkey "$tag.pem" -rawin -in pae | base64 -w0) ;;
      *) kid=${KID[$s]}; b64=$(openssl pkeyutl -sign -inkey "$s.pem" -rawin -in pae | base64 -w0) ;;
    esac
    sigs+="${sigs:+,}{\"keyid\":\"$kid\",\"sig\":\"$b64\"}"
  done
  printf '{"payloadType":"%s","payload":"%s","signatures":[%s]}' "$type" "$(base64 -w0 < "$payload")" "$sigs"
}
T_ROOT=application/vnd.nobrick.root+json
T_RELEASE=application/vnd.nobrick.release+json
T_DIRECTOR=application/vnd.nobrick.director+json
L_HEX=edd3f55c1a631258d69cf7a2def9de1400000000000000000000000000000010 # Ed25519 group order, big-endian
# add_l B64SIG: the same signature with S + L (non-canonical S, SECURITY.md 32).
add_l() {
  local h out="" carry=0 i a b s
  h=$(printf '%s' "$1" | base64 -d | bin2hex)
  for ((i = 0; i < 32; i++)); do
    a=$((16#${h:64 + 2 * i:2})); b=$((16#${L_HEX:62 - 2 * i:2}))
    s=$((a + b + carry)); carry=$((s >> 8)); out+=$(printf '%02x' $((s & 255)))
  done
  hex2bin "${h:0:64}$out" | base64 -w0
}

out() { mkdir -p "$corpus/$1"; cat > "$corpus/$1/gen-$2"; }

# ---- envelope ------------------------------------------------------------------
# fuzz_envelope's role: 11, 12, and 11 again under keyid 00..0; threshold 2.
Z64=$(printf '0%.0s' {1..64})
printf '{"hello":"nobrick"}' > p.json
sign "$T_ROOT" p.json 11 12 | out envelope two-keys.json
sign "$T_ROOT" p.json 11 | out envelope one-key.json
sign "$T_ROOT" p.json 11 11 | out envelope same-sig-twice.json
sign "$T_ROOT" p.json 11 "11@$Z64" | out envelope one-key-two-keyids.json
sign "$T_ROOT" p.json "66@${KID[11]}" | out envelope foreign-key.json
sign "$T_ROOT" p.json "raw@${KID[11]}@" | out envelope empty-sig.json
sign "$T_ROOT" p.json | out envelope no-sigs.json
sign "$T_ROOT" p.json "raw@${KID[11]}@$(head -c 64 /dev/zero | base64 -w0)" | out envelope zero-sig.json
good=$(openssl pkeyutl -sign -inkey 11.pem -rawin -in pae | base64 -w0)
sign "$T_ROOT" p.json 12 "raw@${KID[11]}@$(add_l "$good")" | out envelope noncanonical-s.json
sign "$T_ROOT" p.json "raw@${KID[11]}@$(head -c 65 /dev/zero | base64 -w0)" | out envelope sig-65-bytes.json
sign "$T_RELEASE" p.json 11 12 | out envelope release-type.json
sigs33=(); for i in $(seq 33); do sigs33+=(11); done
sign "$T_ROOT" p.json "${sigs33[@]}" | out envelope 33-sigs.json
env=$(sign "$T_ROOT" p.json 11 12)
printf '%s' "${env/eyJoZWxsbyI6Im5vYnJpY2sifQ==/eyJoZWxsbyI6Im5vYnJpY2sifR==}" | out envelope noncanonical-base64.json
printf '%s' "${env/eyJoZWxsbyI6Im5vYnJpY2sifQ==/eyJoZWxsbyI6Im5vYnJpY2sifQ}" | out envelope unpadded-base64.json
printf '%s' "${env/\{/\{\"payloadType\":\"x\",}" | out envelope duplicate-key.json
printf '%s' "${env/\{/\{\"critical\":1,}" | out envelope unknown-field.json
printf '%s\n{}' "$env" | out envelope trailing-bytes.json
printf '%s' "${env:0:100}" | out envelope truncated.json
printf '%s' "${env/$T_ROOT/$(printf 'x%.0s' {1..64})}" | out envelope type-64-chars.json
: | out envelope empty
nest 3000 | out envelope deep-nesting.json

# ---- root ----------------------------------------------------------------------
# fuzz_root: raw payloads for nb_root_parse; envelopes for nb_root_step from
# the fixed trusted v1 (root keys 11, 12, threshold 1); lines form a chain.
"$nobrick" root new --key root1.key --key root2.key --threshold 1 --release-key release.pub \
  --director-key director.pub --endpoint https://ota.example.com --expires-days 36500 --out v1.json
"$nobrick" root rotate --from v1.json --sign-old root1.key --sign-new root1.key --sign-new root2.key \
  --expires-days 36500 --out v2.json
"$nobrick" root rotate --from v2.json --sign-old root1.key --sign-new root3.key --expires-days 36500 \
  --out v3.json
"$nobrick" root rotate --from v1.json --sign-old root1.key --sign-new root3.key --threshold 1 \
  --expires-days 36500 --out v2-rotated.json
"$nobrick" root verify --trusted v1.json v2.json v3.json > /dev/null
out root cli-v1.json < v1.json
out root cli-v2.json < v2.json
out root cli-v2-rotated.json < v2-rotated.json
{ cat v2.json; printf '\n'; cat v3.json; } | out root chain-v2-v3.txt
{ cat v2.json; printf '\n'; cat v3.json; printf '\n'; cat v2.json; } | out root chain-v2-v3-v2.txt
payload() { sed 's/.*"payload":"\([^"]*\)".*/\1/' "$1" | base64 -d; }
payload v1.json | out root payload-v1.json

kj() { printf '{"keyid":"%s","ed25519":"%s"}' "${KID[$1]}" "${PUB[$1]}"; }
# rp VERSION ROOT_THRESHOLD ROOT_KEYS [EXTRA_TOP_LEVEL]: a root payload.
rp() {
  printf '{"type":"root","spec":1,"version":%s,"expires":4102444800,"roles":{"root":{"threshold":%s,"keys":[%s]},"release":{"threshold":1,"keys":[%s]},"director":{"threshold":1,"keys":[%s]}},"endpoints":["https://ota.example.com"]%s}' \
    "$1" "$2" "$3" "$(kj 22)" "$(kj 33)" "${4:-}"
}
K11=$(kj 11); K12=$(kj 12)
rstep() { # NAME VERSION THRESHOLD KEYS EXTRA SIGNERS...: a signed next root
  local name=$1; rp "$2" "$3" "$4" "$5" > r.json; shift 5
  sign "$T_ROOT" r.json "$@" | out root "$name"
}
rstep step-v2-ok.json 2 1 "$K11,$K12" "" 11
rstep step-v2-threshold-2.json 2 2 "$K11,$K12" "" 11 12
rstep step-v2-threshold-0.json 2 0 "$K11" "" 11
rstep step-v2-duplicate-version.json '2,"version":99' 1 "$K11" "" 11
rstep step-v2-unknown-field.json 2 1 "$K11" ',"critical":true' 11
rstep step-v2-one-key-two-keyids.json 2 2 "$K11,{\"keyid\":\"$Z64\",\"ed25519\":\"${PUB[11]}\"}" "" 11 "11@$Z64"
rstep step-v2-duplicate-keyid.json 2 1 "$K11,$K11" "" 11
rstep step-v2-new-keys-only.json 2 1 "$(kj 13)" "" 13
rstep step-v2-old-keys-only.json 2 1 "$(kj 13)" "" 11
rstep step-v3-skipped.json 3 1 "$K11" "" 11
rstep step-v2-version-2p31.json 2147483648 1 "$K11" "" 11
rstep step-v2-weak-key.json 2 1 "$K11,{\"keyid\":\"ab\",\"ed25519\":\"0100000000000000000000000000000000000000000000000000000000000000\"}" "" 11
rp 2 1 "$K11" > r.json
sign "$T_DIRECTOR" r.json 11 | out root step-v2-director-type.json
rp 2147483649 1 "$K11" | out root payload-version-2p31p1.json
rp 9223372036854775808 1 "$K11" | out root payload-version-2p63.json
rp 1 0 "$K11" | out root payload-threshold-0.json
rp 1 4294967297 "$K11" | out root payload-threshold-2p32p1.json
rp 1 1 "$K11" ',"expires":1' | out root payload-duplicate-expires.json
keys17=$K11; for i in $(seq 16); do keys17+=",{\"keyid\":\"$(printf '%02x' "$i")\",\"ed25519\":\"${PUB[12]}\"}"; done
rp 1 1 "$keys17" | out root payload-17-keys.json
rp 1 1 "$K11" | sed 's|\["https://ota.example.com"\]|["https://a","https://b","https://c","https://d","https://e","https://f","https://g","https://h","https://i"]|' | out root payload-9-endpoints.json
rp 1 1 "$K11" | sed 's|https://ota.example.com|ftp://ota.example.com|' | out root payload-ftp-endpoint.json
rp 1 1 "$K11" | sed 's|"expires":4102444800|"expires":-1|' | out root payload-expires-negative.json
: | out root empty

# ---- bundles (the release and frame table corpora are cut from them) --------
# A 12188-byte image in 4096-byte frames: 3 frames, the geometry of
# fuzz_frame_table's fixed release.
head -c 12188 /usr/share/common-licenses/GPL-3 > image.bin
head -c 1 /usr/share/common-licenses/GPL-3 > one.bin
create() { "$nobrick" bundle create --version 1.2.3 --security-counter 5 --hw-class thermo-v3 \
             --key release.key --frame-size 4096 "$@" > /dev/null; }
create --image image.bin --out plain.nbb
create --image image.bin --encrypt-to device.pub --out encrypted.nbb
create --image one.bin --out one-byte.nbb
"$nobrick" bundle create --version 1.2.3 --security-counter 5 --hw-class thermo-v3 \
  --key rogue.key --frame-size 4096 --image one.bin --out rogue.nbb > /dev/null
"$nobrick" bundle verify --root v1.json plain.nbb > /dev/null
"$nobrick" bundle verify --root v1.json --device-key device.key encrypted.nbb > /dev/null

u32at() { od -An -v -tu4 -j "$2" -N 4 "$1" | tr -d ' '; }
env_len() { u32at "$1" 12; }
tbl_len() { u32at "$1" 16; }
# cut FILE OFFSET [LEN]: bytes of FILE (no pipe into head: with pipefail a
# writer killed by SIGPIPE would stop the script).
cut_bytes() {
  if [ $# -eq 3 ]; then dd if="$1" iflag=skip_bytes,count_bytes skip="$2" count="$3" status=none
  else dd if="$1" iflag=skip_bytes skip="$2" status=none; fi
}
part() { # FILE envelope|table|frames
  local e t; e=$(env_len "$1"); t=$(tbl_len "$1")
  case $2 in
    envelope) cut_bytes "$1" 32 "$e" ;;
    table) cut_bytes "$1" $((32 + e)) "$t" ;;
    frames) cut_bytes "$1" $((32 + e + t)) ;;
  esac
}

out bundle plain.nbb < plain.nbb
out bundle encrypted.nbb < encrypted.nbb
out bundle one-byte.nbb < one-byte.nbb
out bundle rogue-release-key.nbb < rogue.nbb
b() { cp plain.nbb m.nbb; }
b; head -c -1 plain.nbb | out bundle truncated-1.nbb
b; { cat plain.nbb; printf 'x'; } | out bundle trailing-byte.nbb
b; patch m.nbb 0 "$(printf 'X' | bin2hex)"; out bundle bad-magic.nbb < m.nbb
b; patch m.nbb 8 "$(le16 2)"; out bundle version-2.nbb < m.nbb
b; patch m.nbb 10 "$(le16 1)"; out bundle flags-1.nbb < m.nbb
b; patch m.nbb 28 "$(le32 1)"; out bundle reserved-1.nbb < m.nbb
b; patch m.nbb 12 "$(le32 0xffffffff)"; out bundle envelope-len-ffffffff.nbb < m.nbb
b; patch m.nbb 16 "$(le32 0x80000001)"; out bundle table-len-2p31p1.nbb < m.nbb
b; patch m.nbb 20 "$(le64 0x8000000000000000)"; out bundle frames-len-2p63.nbb < m.nbb
b; patch m.nbb 20 "$(le64 0xffffffffffffffff)"; out bundle frames-len-max.nbb < m.nbb
# Arbitrary payload at the same length (SECURITY.md 1): flip the last byte.
b; last=$(($(stat -c %s m.nbb) - 1)); patch m.nbb "$last" "$(tail -c 1 m.nbb | bin2hex | tr '0-9a-f' '1-9a-f0')"
out bundle flipped-frame-byte.nbb < m.nbb
# Dropped final frame, header adjusted (SECURITY.md 34).
e=$(env_len plain.nbb); t=$(tbl_len plain.nbb)
part plain.nbb frames > frames.bin; part plain.nbb table > table.bin
f=$(stat -c %s frames.bin); lastlen=$(u32at table.bin $((16 + 2 * 80 + 8)))
{ cut_bytes plain.nbb 0 20; hex2bin "$(le64 $((f - lastlen)))"; cut_bytes plain.nbb 28 4
  cut_bytes plain.nbb 32 $((e + t)); cut_bytes frames.bin 0 $((f - lastlen)); } |
  out bundle dropped-last-frame.nbb
# The last frame moved first (the table still lists them in order).
{ cut_bytes plain.nbb 0 $((32 + e + t)); cut_bytes frames.bin $((f - lastlen))
  cut_bytes frames.bin 0 $((f - lastlen)); } | out bundle frames-reordered.nbb
# The encrypted bundle's frames under the plain bundle's header, envelope, table.
part encrypted.nbb frames > enc-frames.bin
{ cut_bytes plain.nbb 0 $((32 + e + t)); cut_bytes enc-frames.bin 0 "$f"; } |
  out bundle foreign-frames.nbb
: | out bundle empty
cut_bytes plain.nbb 0 32 | out bundle header-only.nbb

# ---- release ----------------------------------------------------------------------
# fuzz_release: raw payloads for nb_release_parse; envelopes for
# nb_release_verify against the fixed root (release key 22).
part plain.nbb envelope | out release envelope-plain.json
part encrypted.nbb envelope | out release envelope-encrypted.json
part rogue.nbb envelope | out release envelope-rogue-key.json
part plain.nbb envelope > rel-env.json; payload rel-env.json > base.json
part encrypted.nbb envelope > enc-env.json; payload enc-env.json > enc.json
out release payload-plain.json < base.json
out release payload-encrypted.json < enc.json
sign "$T_RELEASE" base.json 11 | out release envelope-root-key.json
sign "$T_ROOT" base.json 22 | out release envelope-root-type.json
rv() { sed "$2" base.json | out release "payload-$1.json"; }
rv duplicate-version 's/"version":"1.2.3"/"version":"1.2.3","version":"9.9.9"/'
rv unknown-field 's/"type":"release"/"type":"release","critical":1/'
rv counter-2p53 's/"security_counter":5/"security_counter":9007199254740992/'
rv counter-2p63 's/"security_counter":5/"security_counter":9223372036854775808/'
rv counter-negative 's/"security_counter":5/"security_counter":-1/'
rv image-2p40p1 's/"image":{"size":12188/"image":{"size":1099511627777/'
rv count-mismatch 's/"count":3/"count":4/'
rv count-ffffffff 's/"count":3/"count":4294967295/'
rv frame-size-2p31p1 's/"frames":{"size":4096/"frames":{"size":2147483649/'
rv frame-size-4097 's/"frames":{"size":4096/"frames":{"size":4097/'
rv semver-leading-zero 's/"version":"1.2.3"/"version":"01.2.3"/'
rv semver-64-chars "s/\"version\":\"1.2.3\"/\"version\":\"1.2.3-$(printf 'a%.0s' {1..58})\"/"
rv semver-prerelease 's/"version":"1.2.3"/"version":"1.2.3-rc.1+build.5"/'
rv hw-duplicate 's/"hw_classes":\["thermo-v3"\]/"hw_classes":["thermo-v3","thermo-v3"]/'
rv hw-17 "s/\"hw_classes\":\[\"thermo-v3\"\]/\"hw_classes\":[$(seq -s, -f '"c%g"' 17)]/"
rv delta-base 's/"compression":"zstd"/"compression":"zstd","delta_base":{"size":12188,"sha256":"'"$(zeros 32)"'"}/'
rv delta-base-none 's/"compression":"zstd"/"compression":"none","delta_base":{"size":1,"sha256":"'"$(zeros 32)"'"}/'
rv no-component 's/"component":"system",//'
sed 's/"recipients":\[.*\]/"recipients":[]/' enc.json | out release payload-no-recipients.json
# The device's entry with a corrupted wrapped key: parses, does not unwrap.
sed 's/"wrapped":"\(.\)/"wrapped":"f/' enc.json | out release payload-corrupt-wrapped.json
printf '1.2.3-alpha.1\n1.2.3-alpha.beta' | out release semver-pair.txt
nest 3000 | out release deep-nesting.json
: | out release empty

# ---- frame_table --------------------------------------------------------------------
# fuzz_frame_table hashes the input itself; its fixed release is 3 frames of
# 4096 bytes, image 12188, zstd. Crafted tables: header + entries.
part plain.nbb table | out frame_table plain.bin
part encrypted.nbb table | out frame_table encrypted.bin
part one-byte.nbb table | out frame_table one-byte.bin
H=$(zeros 32)
hdr() { printf '4e424654%s%s%s%s' "$(le16 "${3:-1}")" "$(le16 "${4:-0}")" "$(le32 "$1")" "$(le32 "$2")"; }
ent() { printf '%s%s%s%s%s' "$(le64 "$1")" "$(le32 "$2")" "$(le32 "$3")" "$H" "$H"; }
ft() { hex2bin "$2" | out frame_table "$1.bin"; }
ft crafted-ok "$(hdr 3 4096)$(ent 0 100 4096)$(ent 100 200 4096)$(ent 300 300 3996)"
ft gap "$(hdr 3 4096)$(ent 0 100 4096)$(ent 101 200 4096)$(ent 301 300 3996)"
ft overlap "$(hdr 3 4096)$(ent 0 100 4096)$(ent 99 200 4096)$(ent 299 300 3996)"
ft stored-len-0 "$(hdr 3 4096)$(ent 0 0 4096)$(ent 0 200 4096)$(ent 200 300 3996)"
ft stored-len-ffffffff "$(hdr 3 4096)$(ent 0 4294967295 4096)$(ent 4294967295 200 4096)$(ent 4294967495 300 3996)"
ft stored-off-2p63 "$(hdr 3 4096)$(ent 0x8000000000000000 100 4096)$(ent 100 200 4096)$(ent 300 300 3996)"
ft stored-off-wrap "$(hdr 3 4096)$(ent 0 100 4096)$(ent 100 0xffffffff 4096)$(ent 0xffffffffffffff00 300 3996)"
ft out-len-short "$(hdr 3 4096)$(ent 0 100 4095)$(ent 100 200 4096)$(ent 300 300 3997)"
ft out-len-sum "$(hdr 3 4096)$(ent 0 100 4096)$(ent 100 200 4096)$(ent 300 300 4096)"
ft out-len-0 "$(hdr 3 4096)$(ent 0 100 4096)$(ent 100 200 4096)$(ent 300 300 0)"
ft count-ffffffff "$(hdr 0xffffffff 4096)$(ent 0 100 4096)"
ft count-2p31p1 "$(hdr 0x80000001 4096)$(ent 0 100 4096)"
ft count-0 "$(hdr 0 4096)"
ft frame-size-0 "$(hdr 1 0)$(ent 0 100 0)"
ft frame-size-8m "$(hdr 1 8388608)$(ent 0 100 8388608)"
ft version-2 "$(hdr 3 4096 2)$(ent 0 100 4096)$(ent 100 200 4096)$(ent 300 300 3996)"
ft reserved-1 "$(hdr 3 4096 1 1)$(ent 0 100 4096)$(ent 100 200 4096)$(ent 300 300 3996)"
ft extra-entry "$(hdr 3 4096)$(ent 0 100 4096)$(ent 100 200 4096)$(ent 300 300 3996)$(ent 600 1 1)"
ft short-entry "$(hdr 3 4096)$(ent 0 100 4096)$(ent 100 200 4096)$(ent 300 300 3996 | cut -c1-100)"
ft header-15 "$(hdr 3 4096 | cut -c1-30)"
printf 'NBFT' | out frame_table magic-only.bin
: | out frame_table empty

for d in envelope root release frame_table bundle; do
  printf 'make-corpus: %-12s %3d files, %6d bytes\n' "$d" "$(ls "$corpus/$d" | wc -l)" "$(cat "$corpus/$d"/* | wc -c)"
done
