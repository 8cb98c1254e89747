#!/usr/bin/env bash
# The management side of the nobrick CLI against the real server, through
# the CLI only (but for the device's own enrolment): tokens of each role,
# release upload/list/show (tables and --json), a tampered bundle refused
# with the server's code, preauthorise/list/show/tag/group a device, deploy
# and follow the deployment, 403 and 401 explained, settings precedence
# (flags > NOBRICK_* > cli.conf) and the chmod 600 check, token revoke, the
# audit log, --help everywhere, "cannot reach" when the server is down, and
# HTTPS with a private CA (--ca, cli.conf 'ca').
. "$(dirname "$0")/server_lib.sh"
make_fleet
"$nobrick" key new device d1 >/dev/null
make_bundle 2.0.0
cp fw.nbb bad.nbb
printf 'x' | dd of=bad.nbb bs=1 seek=200000 conv=notrunc 2>/dev/null # inside frame 0
start_server
admin_token

# Nothing from the caller's environment or home may leak in.
export HOME="$work/home" XDG_CONFIG_HOME="$work/cfg"
unset NOBRICK_SERVER NOBRICK_TOKEN NOBRICK_CA
mkdir -p "$HOME" "$XDG_CONFIG_HOME/nobrick"
export NOBRICK_SERVER=$base NOBRICK_TOKEN=$adm


# --- tokens -------------------------------------------------------------------------------------
run token create --role operator --name ci
expect 0 "operator token"
op=$out
[[ "$op" =~ ^nbt_[0-9a-f]{64}$ ]] && ok || bad "the token alone on stdout: $out"
has "created operator token" err "token create says what it made on stderr"
run token create --role viewer --name dash --json
jq_out '.role == "viewer" and .name == "dash" and (.token | startswith("nbt_"))' "viewer --json"
viewer=$(jq -r .token <<<"$out")
viewer_id=$(jq -r .id <<<"$out")
run token list
has "ci" out "token list"
grep -qE "^$viewer_id +viewer +dash +[0-9T:-]+Z +active$" <<<"$out" && ok || bad "token row: $out"

# --- releases -----------------------------------------------------------------------------------
run --token "$op" release upload fw.nbb
expect 0 "upload"
has "uploaded fw.nbb as release 1 (version 2.0.0)" out "upload summary"
run release upload bad.nbb
expect 1 "a tampered bundle"
has "nobrick: release upload: 400 E_HASH (field bundle): " err "the server's code and field"
has "hash mismatch in frame 0" err "the server's message"
run release list
expect 0 "release list"
head -n1 <<<"$out" | grep -qE '^ID +VERSION +COMPONENT +COUNTER +HW CLASSES +SIZE +UPLOADED +STATE$' &&
    ok || bad "list header: $out"
grep -qE '^1 +2\.0\.0 +system +3 +thermo +[0-9.]+ KiB +20[0-9-]+T[0-9:]+Z +available$' <<<"$out" &&
    ok || bad "list row: $out"
run release list --json
jq_out '.releases | length == 1 and .[0].version == "2.0.0" and .[0].withdrawn == false' "list --json"
run --json release show 1
jq_out ".id == 1 and .bundle_size == $(stat -c %s fw.nbb)" "global --json"
run release show 1
has "hardware classes: thermo" out "show card"
run release show 7
expect 1 "no such release"
has "release show: 404 E_NOENT" err "404 named"
run release show seven
expect 2 "a bad id is a usage error"

# --- devices ------------------------------------------------------------------------------------
id=$(dev_id d1)
run device preauthorise --pub d1.pub --hw-class thermo --group lab
expect 0 "preauthorise"
has "preauthorised $id: state preauthorized, group lab" out "preauthorise summary"
run device list --state preauthorized --json
jq_out "[.devices[].id] == [\"$id\"]" "list filtered by state"
run device list
grep -qE "^$id +thermo +preauthorized +lab +- +-$" <<<"$out" && ok || bad "device row: $out"
enrol d1 thermo
expect_status 200 "the device enrols itself"
run device tag "$id" beta eu
has "tagged $id" out "tag"
run device list --tag eu --json
jq_out "[.devices[].id] == [\"$id\"] and .devices[0].state == \"active\"" "list by tag"
run device list --limit 1
cursor=$(sed -nE 's/^more: nobrick device list --after ([^ ]+) .*/\1/p' <<<"$out")
[ -n "$cursor" ] && ok || bad "a full page names the next: $out"
run device list --limit 1 --after "$cursor"
grep -q "^more:" <<<"$out" && bad "the last page names a next: $out" || ok
run device list --after nonsense
expect 1 "a bad cursor"
has "after" err "the bad cursor named"
run device show "$id"
has "state:            active" out "show: state"
has "tags:             beta,eu" out "show: tags"
run device group "$id"
has "ungrouped $id" out "group cleared"
run device group "$id" canary
run device show "$id" --json
jq_out '.group == "canary"' "group set"

# --- deploy -------------------------------------------------------------------------------------
run --token "$op" deploy 1 --device "$id"
expect 0 "deploy"
has "deployment 1: release 1 to 1 device" out "deploy summary"
run deploy 1 --group nobody
expect 1 "no device in the group"
has "deploy: 409 E_INCOMPAT" err "409 named"
run deploy 1
expect 2 "deploy needs a target"
run deployment show 1 --json
jq_out ".counts.pending == 1 and .assignments[0].device_id == \"$id\"" "deployment show --json"
run deployment show 1
has "devices:     pending 1" out "deployment card"
grep -qE "^$id +pending +0% +- +" <<<"$out" && ok || bad "assignment row: $out"
run deployment list
grep -qE "^1 +1 +device $id +token:[0-9]+ \(ci\) +[0-9T:-]+Z +active$" <<<"$out" &&
    ok || bad "deployment row: $out"

# --- roles and tokens refused -------------------------------------------------------------------
run --token "$viewer" release upload fw.nbb
expect 1 "a viewer uploads"
has "release upload: 403 E_FORBIDDEN: this needs the operator role; the token has viewer" err \
    "403 explained"
has "ask an admin" err "403 hint"
run --token "nbt_$(printf '0%.0s' $(seq 64))" release list
expect 1 "an unknown token"
has "release list: 401 E_UNAUTHORIZED" err "401"
has "refused the token from --token" err "401 hint names the token's source"

# --- settings: cli.conf, precedence, permissions ------------------------------------------------
conf="$XDG_CONFIG_HOME/nobrick/cli.conf"
printf '# the lab server\nserver = %s\ntoken = %s\n' "$base" "$op" >"$conf"
chmod 644 "$conf"
unset NOBRICK_SERVER NOBRICK_TOKEN
run release list
expect 1 "a world-readable config with a token"
has "chmod 600 $conf" err "says chmod 600"
run key new device d2
expect 0 "offline commands ignore the config"
chmod 600 "$conf"
run release list --json
expect 0 "server and token from cli.conf"
NOBRICK_TOKEN=nbt_bad run release list
has "refused the token from NOBRICK_TOKEN" err "the environment beats cli.conf"
NOBRICK_TOKEN=nbt_bad run --token "$op" release list
expect 0 "--token beats the environment"
NOBRICK_SERVER=http://127.0.0.1:1 run release list
has "cannot reach http://127.0.0.1:1" err "NOBRICK_SERVER beats cli.conf"
printf 'server = %s\nsever = x\n' "$base" >"$conf"
run release list
expect 1 "a typo in cli.conf"
has "line 2: unknown setting 'sever'" err "the line named"
rm "$conf"
run release list
expect 1 "no server anywhere"
has "no server: give --server URL, set NOBRICK_SERVER" err "how to name a server"
export NOBRICK_SERVER=$base NOBRICK_TOKEN=$adm

# --- revoke and audit ---------------------------------------------------------------------------
run token revoke "$viewer_id"
has "revoked token $viewer_id" out "revoke"
run --token "$viewer" release list
expect 1 "a revoked token"
has "401 E_UNAUTHORIZED" err "revoked: 401"
run audit --limit 3 --json
jq_out '.entries | length == 3 and .[0].action == "token.revoke"' "audit --json"
run audit
grep -qE "^[0-9]+ +[0-9T:-]+Z +token:[0-9]+ \(ci\) +release.upload +release +" <<<"$out" &&
    ok || bad "audit row: $out"

# --- help ---------------------------------------------------------------------------------------
for c in "release upload" "release list" "release show" "release withdraw" "device list" \
    "device show" "device approve" "device preauthorise" "device decommission" "device tag" \
    "device group" "device provision" "deploy" "deployment list" "deployment show" \
    "deployment cancel" "token create" "token list" "token revoke" "audit"; do
    # shellcheck disable=SC2086
    run $c --help
    [ "$rc" = 0 ] && grep -q "^Usage: nobrick " <<<"$out" && ok || bad "$c --help: $out $err"
done
run --help
has "--token T" out "global options in the main help"

# --- withdraw, cancel, decommission --------------------------------------------------------------
run deployment cancel 1
has "cancelled deployment 1" out "cancel"
run release withdraw 1
has "withdrew release 1" out "withdraw"
run release list
grep -qE "withdrawn$" <<<"$out" && ok || bad "withdrawn in the list: $out"
run device decommission "$id"
has "state decommissioned" out "decommission"

# --- the server down ----------------------------------------------------------------------------
stop_server
run release list
expect 1 "server down"
has "nobrick: cannot reach $base: Connection refused (is nobrick-server running? check --server)" \
    err "cannot reach"

# --- HTTPS with a private CA ----------------------------------------------------------------------
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout tls.key \
    -out tls.pem -days 2 -subj /CN=127.0.0.1 -addext subjectAltName=IP:127.0.0.1 2>/dev/null
start_server --tls-cert tls.pem --tls-key tls.key
tls="https://${base#http://}"
run --server "$tls" release list
expect 1 "an unknown CA"
has "TLS with $tls failed" err "TLS failure named"
has "give --ca FILE" err "TLS hint"
run --server "$tls" --ca tls.pem release list --json
jq_out '.releases | length == 1' "--ca"
printf 'ca = %s\n' "$work/tls.pem" >"$conf"
run --server "$tls" release list --json
jq_out '.releases | length == 1' "ca from cli.conf"
finish
