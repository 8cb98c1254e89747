# Helpers for the nobrick-server integration tests (sourced, not run):
# a work directory with keys and a root, the server started on 127.0.0.1
# with a free port and a temporary SQLite database, stopped on exit, and
# assertions on HTTP status codes and JSON bodies (curl + jq).
# Env: NB_BIN = the build directory.
set -euo pipefail

bin="$(cd "${NB_BIN:?NB_BIN must name the build directory}" && pwd)"
nobrick="$bin/nobrick"
server="$bin/nobrick-server"
[ -x "$server" ] || { echo "no nobrick-server at $server" >&2; exit 1; }
work=$(mktemp -d)
server_pid=
server_rc=0
# Stops the server with SIGTERM; a non-zero exit (a crash, or a leak the
# sanitizers report at exit) is remembered in server_rc and fails the test.
stop_server() {
    if [ -n "$server_pid" ] && kill -0 "$server_pid" 2>/dev/null; then
        kill -TERM "$server_pid" 2>/dev/null || true
        local rc=0
        wait "$server_pid" 2>/dev/null || rc=$?
        if [ "$rc" -ne 0 ]; then
            server_rc=$rc
            echo "server exited with $rc:" >&2
            tail -n 40 "$work/server.log" >&2
        fi
    fi
    server_pid=
}
trap 'stop_server; rm -rf "$work"' EXIT
cd "$work"

pass=0
fail=0
ok() { pass=$((pass + 1)); }
bad() {
    fail=$((fail + 1))
    echo "FAIL: $*" >&2
}
finish() {
    stop_server
    [ "$server_rc" -eq 0 ] || bad "server exit status $server_rc"
    echo "$pass passed, $fail failed"
    [ "$fail" -eq 0 ]
}

# --- the CLI ---------------------------------------------------------------------
# run ARGS...: runs the CLI; sets $out (stdout), $err (stderr), $rc.
run() {
    rc=0
    out=$("$nobrick" "$@" 2>"$work/stderr") || rc=$?
    err=$(cat "$work/stderr")
}
# expect RC WHAT: the last run's exit status.
expect() { if [ "$rc" = "$1" ]; then ok; else bad "$2: exit $rc, want $1: $out $err"; fi; }
# has TEXT IN WHAT: a fixed string in $out or $err (IN = out|err).
has() {
    local v=$out
    [ "$2" = err ] && v=$err
    if grep -qF -- "$1" <<<"$v"; then ok; else bad "$3: '$1' not in: $v"; fi
}
# jq_out FILTER WHAT: the last stdout satisfies the filter.
jq_out() { if jq -e "$1" >/dev/null 2>&1 <<<"$out"; then ok; else bad "$2: jq '$1' on: $out"; fi; }

# Keys and a root for the fleet (director key dir.key, release key rel.key).
make_fleet() {
    for k in r1:root rel:release dir:director; do
        "$nobrick" key new "${k#*:}" "${k%%:*}" >/dev/null
    done
    "$nobrick" root new --key r1.key --threshold 1 --release-key rel.pub \
        --director-key dir.pub --endpoint https://ota.example.com --expires-days 365 \
        --out root.json >/dev/null
}

# start_server [EXTRA OPTIONS...]: sets $base (http://127.0.0.1:PORT).
start_server() {
    # Tests check in back to back: no minimum interval unless asked.
    "$server" --db "sqlite:$work/server.db" --data "$work/data" --listen 127.0.0.1:0 \
        --director-key dir.key --root root.json --min-checkin-interval 0 "$@" \
        2>"$work/server.log" &
    server_pid=$!
    local port=
    for _ in $(seq 1 100); do
        port=$(sed -nE 's/.*listening on [0-9.]+:([0-9]+).*/\1/p' "$work/server.log")
        [ -n "$port" ] && break
        kill -0 "$server_pid" 2>/dev/null || break
        sleep 0.1
    done
    [ -n "$port" ] || { cat "$work/server.log" >&2; echo "server did not start" >&2; exit 1; }
    base="http://127.0.0.1:$port"
}

# req METHOD PATH [CURL ARGS...]: sets $status and $body.
req() {
    local method=$1 path=$2
    shift 2
    body=$(curl -sS -o - -w '\n%{http_code}' -X "$method" "$@" "$base$path") || true
    status=${body##*$'\n'}
    body=${body%$'\n'*}
}

# expect_status WANT WHAT: checks the last req's status.
expect_status() {
    if [ "$status" = "$1" ]; then ok; else bad "$2: status $status, want $1: $body"; fi
}

# expect_jq FILTER WHAT: the last body satisfies the jq filter (true).
expect_jq() {
    if jq -e "$1" >/dev/null 2>&1 <<<"$body"; then ok; else bad "$2: jq '$1' on: $body"; fi
}

# Devices: NAME.key/NAME.pub from `nobrick key new device NAME`.
dev_pub() { jq -r .ed25519 "$1.pub"; }
dev_id() { jq -r .keyid "$1.pub"; }

# device_sign NAME PAYLOAD [TYPE]: hex Ed25519 signature by NAME's identity
# key over PAE(TYPE, PAYLOAD), made with openssl; TYPE defaults to the login
# type application/vnd.nobrick.device-auth.
device_sign() {
    local seed type=${3:-application/vnd.nobrick.device-auth}
    seed=$(jq -r .ed25519_seed "$1.key")
    printf '302e020100300506032b657004220420%s' "$seed" | xxd -r -p |
        openssl pkey -inform DER -out "$1.pem" 2>/dev/null
    printf 'DSSEv1 %d %s %d %s' ${#type} "$type" ${#2} "$2" >"$1.msg"
    openssl pkeyutl -sign -inkey "$1.pem" -rawin -in "$1.msg" | xxd -p | tr -d '\n'
}

# enrol NAME CLASS: POST /api/v1/device/enrol, signed by NAME's key.
enrol() {
    local pub sig
    pub=$(dev_pub "$1")
    sig=$(device_sign "$1" "$pub:$2" application/vnd.nobrick.device-enrol)
    req POST /api/v1/device/enrol -d "{\"public_key\":\"$pub\",\"hw_class\":\"$2\",\"signature\":\"$sig\"}"
}

# device_login NAME: challenge, signature, token; sets $dtok.
device_login() {
    local id ch sig
    id=$(dev_id "$1")
    req POST /api/v1/device/challenge -d "{\"device_id\":\"$id\"}"
    ch=$(jq -r .challenge <<<"$body")
    sig=$(device_sign "$1" "$id:$ch")
    req POST /api/v1/device/token -d "{\"device_id\":\"$id\",\"challenge\":\"$ch\",\"signature\":\"$sig\"}"
    dtok=$(jq -r .token <<<"$body")
}

# admin_token: bootstraps an admin token on the server's database; sets $adm.
admin_token() {
    adm=$("$server" token create --role admin --db "sqlite:$work/server.db" 2>/dev/null)
}

# A bundle for hardware class thermo signed by rel.key: fw.nbb (version $1).
make_bundle() {
    head -c 300000 /dev/urandom >fw.img
    "$nobrick" bundle create --image fw.img --version "$1" --security-counter 3 \
        --hw-class thermo --key rel.key --out "${2:-fw.nbb}" >/dev/null
}

# mkbundle OUT VERSION COUNTER SEED [SIZE [FRAME_SIZE]]: a bundle of SIZE
# (default 200000) pseudo-random, incompressible bytes derived from SEED,
# for hardware class thermo, signed with rel.key (make_fleet);
# img_sha[VERSION] = its image's hash.
declare -A img_sha=()
mkbundle() {
    head -c "${5:-200000}" /dev/zero | openssl enc -aes-256-ctr -nosalt -pbkdf2 -pass "pass:$4" >"$1.img"
    "$nobrick" bundle create --image "$1.img" --version "$2" --security-counter "$3" \
        --hw-class thermo --key rel.key --frame-size "${6:-16384}" --out "$1" >"$1.out"
    img_sha[$2]=$(sha256sum <"$1.img" | cut -c1-64)
}

# ---- devices: `nobrick-agent run --once` on a simulated device ------------------
agent_bin="$bin/nobrick-agent"
boot_bin="$bin/nobrick-boot"
# run_agent DEV [OPTIONS]: one `run --once`; sets rc and out (stdout+stderr),
# also appended to $work/DEV.out.
run_agent() {
    local dev=$1
    shift
    rc=0
    out=$("$agent_bin" -c "$dev/agent.conf" run --once "$@" 2>&1) || rc=$?
    printf '%s\n' "$out" >>"$work/$(basename "$dev").out"
}
# finish_update DEV WHAT: run --once (and nobrick-boot when it asks for a
# reboot) until a run has nothing more to do; at most 4 runs.
finish_update() {
    local i
    for i in 1 2 3 4; do
        run_agent "$1"
        case $rc in
        0) ok; return ;;
        5) "$boot_bin" -c "$1/agent.conf" >/dev/null ;;
        *) bad "$2: run $i: exit $rc: $(tail -n 8 <<<"$out")"; return ;;
        esac
    done
    bad "$2: not finished after 4 runs"
}

# free_port: a TCP port on 127.0.0.1 nobody listens on now (for a URL that
# must be known before its server starts, e.g. in a root's endpoints).
free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# Several servers at once (start_named), each in $work/NAME with its own
# database and data directory; stopped by stop_named or at exit.
declare -A named_pid=()
# start_named NAME PORT ROOT DIRECTOR_KEY [EXTRA OPTIONS...]: a server on
# 127.0.0.1:PORT (retried while the port is still held by one just stopped).
start_named() {
    local name=$1 port=$2 root=$3 dkey=$4 i
    shift 4
    mkdir -p "$work/$name"
    for i in $(seq 1 50); do
        "$server" --db "sqlite:$work/$name/server.db" --data "$work/$name/data" \
            --listen "127.0.0.1:$port" --director-key "$dkey" --root "$root" \
            --min-checkin-interval 0 --poll-interval 1 --poll-jitter 0 "$@" \
            2>"$work/$name.log" &
        named_pid[$name]=$!
        for _ in $(seq 1 50); do
            grep -q "listening on" "$work/$name.log" && return 0
            kill -0 "${named_pid[$name]}" 2>/dev/null || break
            sleep 0.1
        done
        grep -q "Address already in use\|cannot listen\|bind" "$work/$name.log" || break
        sleep 0.2
    done
    cat "$work/$name.log" >&2
    echo "server $name did not start" >&2
    exit 1
}
# stop_named NAME: SIGTERM and wait; a non-zero exit fails the test.
stop_named() {
    local pid=${named_pid[$1]:-} rc=0
    [ -n "$pid" ] || return 0
    kill -TERM "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || rc=$?
    named_pid[$1]=
    if [ "$rc" -ne 0 ]; then
        server_rc=$rc
        echo "server $1 exited with $rc:" >&2
        tail -n 40 "$work/$1.log" >&2
    fi
}
stop_all_named() {
    local n
    for n in "${!named_pid[@]}"; do stop_named "$n"; done
}

# run_sim SCENARIO: nobrick-sim against the server with the admin token
# (admin_token); it must exit 0 and write its summary (summary.json, also
# in $body for expect_jq; its stderr in sim.log). Ends the test without one.
run_sim() {
    local rc=0
    "$bin/nobrick-sim" "$1" --server "$base" --token "$adm" --summary summary.json --quiet \
        2>sim.log || rc=$?
    [ "$rc" -eq 0 ] && ok || { bad "nobrick-sim exit $rc"; tail -n 20 sim.log >&2; }
    [ -s summary.json ] || { bad "no summary"; finish; exit 1; }
    body=$(cat summary.json)
}
