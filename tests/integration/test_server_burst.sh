#!/usr/bin/env bash
# nobrick-server answers a burst of requests that arrive together on idle
# keep-alive connections. With libmicrohttpd 0.9.75's epoll loop, a request
# thread that found exactly 128 (or 256, ...) sockets ready at once went
# back to sleep without reading them, until the connection timeout (60 s):
# the check-in stall of bench/RESULTS.md. keepalive_burst.py makes that
# happen on purpose: one request thread, N idle connections, the server
# stopped while a request goes out on each, then resumed.
. "$(dirname "$0")/server_lib.sh"
make_fleet
burst="$(dirname "$0")/keepalive_burst.py"

start_server --threads 1
port=${base##*:}
# 127 never stalled; 128 and 256 always did.
for n in 127 128 256; do
    out=$(timeout 60 python3 "$burst" "$port" "$server_pid" "$n" 5 2>&1) && ok ||
        bad "$n requests at once on $n keep-alive connections: $out"
done
# Never leave the server stopped (a killed helper could).
kill -CONT "$server_pid" 2>/dev/null || true
req GET /healthz
expect_status 200 "healthz after the bursts"
finish
