#!/usr/bin/env bash
# nobrick-server start-up and shutdown: /healthz, /metrics, unknown routes
# and methods, bad command lines, a config file, `token create`, a graceful
# exit 0 on SIGTERM, and HTTPS with --tls-cert/--tls-key.
. "$(dirname "$0")/server_lib.sh"
make_fleet

# Bad command lines exit 2 (usage) or 1 (start-up failure), never serve.
rc=0; "$server" --bogus x 2>/dev/null || rc=$?
[ "$rc" -eq 2 ] && ok || bad "unknown option exit $rc"
rc=0; "$server" --db "sqlite:$work/x.db" --data "$work/d" --director-key dir.key \
    --root root.json --listen nonsense 2>/dev/null || rc=$?
[ "$rc" -eq 1 ] && ok || bad "bad --listen exit $rc"
rc=0; "$server" --db "sqlite:$work/x.db" --data "$work/d" --director-key rel.key \
    --root root.json --listen 127.0.0.1:0 2>err.txt || rc=$?
[ "$rc" -eq 1 ] && grep -q "not a director key" err.txt && ok || bad "release key as director"

start_server
req GET /healthz
expect_status 200 healthz
expect_jq '.status == "ok" and .schema_version >= 1' healthz
req GET /metrics
expect_status 200 metrics
grep -q '^nobrick_http_requests_2xx_total [1-9]' <<<"$body" && ok || bad "metrics: $body"
req GET /no/such/thing
expect_status 404 "unknown path"
expect_jq '.error.code == "E_NOENT"' "unknown path"
req DELETE /healthz
expect_status 405 "wrong method"
h=$(curl -sS -D - -o /dev/null -X DELETE "$base/healthz" | tr -d '\r')
grep -q "^Allow: GET" <<<"$h" && ok || bad "405 without Allow: $h"
h=$(curl -sS -I "$base/healthz" | tr -d '\r')
grep -q "^HTTP/1.1 200" <<<"$h" && ok || bad "HEAD: $h"

# token create on the server host (the database is shared with the server).
tok=$("$server" token create --role admin --name first --db "sqlite:$work/server.db" 2>/dev/null)
[[ "$tok" =~ ^nbt_[0-9a-f]{64}$ ]] && ok || bad "token create printed '$tok'"
rc=0; "$server" token create --role root --db "sqlite:$work/server.db" 2>/dev/null || rc=$?
[ "$rc" -eq 2 ] && ok || bad "token create --role root exit $rc"

# SIGTERM: a clean exit 0, logged.
kill -TERM "$server_pid"
rc=0; wait "$server_pid" || rc=$?
server_pid=
[ "$rc" -eq 0 ] && ok || bad "exit after SIGTERM: $rc"
grep -q "shutting down" server.log && grep -q "stopped" server.log && ok || bad "shutdown log"

# Options from a config file; the command line wins.
printf '# test\nmax-json-body = 10\nlog-level=debug\n' >srv.conf
start_server --config srv.conf --max-json-body 20
req POST /api/v1/device/enrol -d '{"public_key":"00000000000000000000"}'
expect_status 413 "max-json-body from the command line (20), over the file's"
grep -q "debug: POST /api/v1/device/enrol -> 413" server.log && ok || bad "log-level from file"
stop_server
printf 'no-such-option = 1\n' >bad.conf
rc=0; "$server" --config bad.conf 2>err.txt || rc=$?
[ "$rc" -eq 2 ] && grep -q "bad.conf:1: unknown option" err.txt && ok || bad "bad config file"

# HTTPS through libmicrohttpd's GnuTLS support.
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout tls.key \
    -out tls.crt -days 2 -subj /CN=127.0.0.1 >/dev/null 2>&1
start_server --tls-cert tls.crt --tls-key tls.key
grep -q "(https)" server.log && ok || bad "https not announced"
out=$(curl -sS --cacert tls.crt "https${base#http}/healthz") && ok || bad "https request failed"
jq -e '.status == "ok"' <<<"$out" >/dev/null && ok || bad "https healthz: $out"
rc=0; curl -sS -o /dev/null "$base/healthz" 2>/dev/null || rc=$?
[ "$rc" -ne 0 ] && ok || bad "plain http answered on the TLS port"
finish
