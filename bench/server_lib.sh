# Helpers for the benchmarks that run nobrick-server (sourced, not run).
# bench_work [DIR]: works in DIR (kept) or in a temporary directory (removed
# at exit); the server in $server_pid is stopped at exit either way.
bench_work() {
  if [ $# -gt 0 ]; then
    mkdir -p "$1"
    work=$(cd "$1" && pwd) # the script works from inside it
    keep_work=1
  else
    work=$(mktemp -d)
    keep_work=0
  fi
  server_pid=
  trap 'stop_server; [ "$keep_work" = 1 ] || rm -rf "$work"' EXIT
  cd "$work"
}

# stop_server: SIGTERM to $server_pid, and wait for it.
stop_server() {
  if [ -n "$server_pid" ]; then
    kill -TERM "$server_pid" 2>/dev/null || true
    wait "$server_pid" 2>/dev/null || true
  fi
  server_pid=
}
