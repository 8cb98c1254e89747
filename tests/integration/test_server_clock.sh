#!/usr/bin/env bash
# --clock-file, the server's virtual clock for the simulator: created with
# the real time when missing; every time the server records follows the
# file as another process rewrites it in place; POST /api/v1/rollouts/tick
# runs one engine tick at that time (404 on a real clock); a clock file of
# the wrong size and a listen address off loopback are refused at start-up.
. "$(dirname "$0")/server_lib.sh"
make_fleet
# set_clock FILE SECONDS: the 8-byte int64 written in place (the server maps it).
set_clock() {
    python3 -c 'import struct,sys; f=open(sys.argv[1],"r+b"); f.write(struct.pack("=q",int(sys.argv[2])))' "$1" "$2"
}

# --- 1. a real clock: no tick on request ------------------------------------------
start_server
admin_token
A=(-H "Authorization: Bearer $adm")
req POST /api/v1/rollouts/tick "${A[@]}"
expect_status 404 "tick on a real clock"
expect_jq '.error.code == "E_NOENT"' "tick on a real clock: E_NOENT"
stop_server

# --- 2. a virtual clock ------------------------------------------------------------
start_server --clock-file "$work/clock"
[ "$(stat -c %s clock)" -eq 8 ] && ok || bad "clock file created with 8 bytes"
req POST /api/v1/rollouts/tick "${A[@]}"
expect_status 200 "tick"
real=$(date +%s)
expect_jq ".now >= $real - 60 and .now <= $real" "a new clock file starts at the real time"
set_clock clock 2000000000
req POST /api/v1/rollouts/tick "${A[@]}"
expect_jq '.now == 2000000000' "tick at the file's time"
req POST /api/v1/tokens "${A[@]}" -d '{"role":"viewer","name":"clocked"}'
expect_status 201 "token created"
req GET "/api/v1/audit?limit=1" "${A[@]}"
expect_jq '.entries[0].action == "token.create" and .entries[0].at == 2000000000' \
    "the audit entry is stamped with the virtual time"
set_clock clock 2000086400
req POST /api/v1/tokens "${A[@]}" -d '{"role":"viewer","name":"a-day-later"}'
req GET "/api/v1/audit?limit=1" "${A[@]}"
expect_jq '.entries[0].at == 2000086400' "a day later, without restarting"
req POST /api/v1/rollouts/tick -H "Authorization: Bearer nope"
expect_status 401 "tick needs a token"
stop_server

# --- 3. refused at start-up --------------------------------------------------------
refused() { # refused WHAT PATTERN OPTIONS...
    local what=$1 pat=$2
    shift 2
    rc=0
    "$server" --db "sqlite:$work/r.db" --data "$work/rdata" --director-key dir.key \
        --root root.json "$@" 2>refused.log && rc=0 || rc=$?
    if [ "$rc" -ne 0 ] && grep -q -- "$pat" refused.log; then ok; else
        bad "$what: exit $rc: $(cat refused.log)"; fi
}
head -c 4 /dev/zero >short
refused "a 4-byte clock file" "4 bytes" --listen 127.0.0.1:0 --clock-file "$work/short"
head -c 8 /dev/zero >zero
refused "a zero time" "no positive Unix time" --listen 127.0.0.1:0 --clock-file "$work/zero"
refused "off loopback" "must be on 127.0.0.0/8" --listen 0.0.0.0:0 --clock-file "$work/clock"
finish
