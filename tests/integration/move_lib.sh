# What a simulated fleet move needs (sourced by test_sim_platform_move.sh
# and bench/sim_platform_move.sh; docs/simulator.md "Moving the fleet"),
# made in the current directory.

# move_fixture NOBRICK UA UB: the keys of three fleets (r1/rel1/dir1: the
# fleet's at the start, r2/rel2/dir2: after the rotation, sr/srel/sdir: a
# stranger's); root-v1.json (endpoints A and B), root-v2.json (new root
# and director keys, rel2 beside rel1: the bootloader verifies every boot
# against the newest root, so the old release key stays until the fleet
# runs a release signed with the new one; endpoints [B]),
# stranger-root.json (endpoints [A]); bundles fw1.nbb 1.0.0 (rel1, the
# factory image), fw2.nbb 2.0.0 (rel2), evil.nbb 6.6.6 (srel).
move_fixture() {
    local nb=$1 ua=$2 ub=$3 k
    for k in r1:root rel1:release dir1:director r2:root rel2:release dir2:director \
        sr:root srel:release sdir:director; do
        "$nb" key new "${k#*:}" "${k%%:*}" >/dev/null
    done
    "$nb" root new --key r1.key --threshold 1 --release-key rel1.pub --director-key dir1.pub \
        --endpoint "$ua" --endpoint "$ub" --expires-days 365 --out root-v1.json >/dev/null
    "$nb" root rotate --from root-v1.json --sign-old r1.key --sign-new r2.key \
        --release-key rel1.pub --release-key rel2.pub --director-key dir2.pub --endpoint "$ub" \
        --out root-v2.json >/dev/null
    "$nb" root new --key sr.key --threshold 1 --release-key srel.pub --director-key sdir.pub \
        --endpoint "$ua" --expires-days 365 --out stranger-root.json >/dev/null
    move_bundle "$nb" fw1.nbb 1.0.0 1 rel1.key one
    move_bundle "$nb" fw2.nbb 2.0.0 2 rel2.key two
    move_bundle "$nb" evil.nbb 6.6.6 9 srel.key evil
}

move_bundle() { # NOBRICK OUT VERSION COUNTER KEY SEED
    head -c 150000 /dev/zero | openssl enc -aes-256-ctr -nosalt -pbkdf2 -pass "pass:$6" >"$2.img"
    "$1" bundle create --image "$2.img" --version "$3" --security-counter "$4" \
        --hw-class thermo --key "$5" --frame-size 16384 --out "$2" >/dev/null
}

# move_switch SERVER A_PID PORT DIR: writes switch.sh, the scenario's
# switch command: server A_PID stopped (its port freed), then the stranger
# (stranger-root.json, sdir.key, its database in DIR/s) started on
# 127.0.0.1:PORT; its pid in stranger.pid, its log in DIR/s.log.
move_switch() {
    cat >switch.sh <<SH
set -e
kill -TERM $2
for i in \$(seq 1 100); do kill -0 $2 2>/dev/null || break; sleep 0.1; done
"$1" --db "sqlite:$4/s/server.db" --data "$4/s/data" --listen "127.0.0.1:$3" \\
    --director-key sdir.key --root stranger-root.json --min-checkin-interval 0 \\
    --poll-interval 600 --poll-jitter 120 --rollout-tick 1 2>"$4/s.log" &
echo \$! >stranger.pid
for i in \$(seq 1 100); do grep -q "listening on" "$4/s.log" && exit 0; sleep 0.1; done
exit 1
SH
}

# move_scenario A TOKEN_A B TOKEN_B TOKEN_S: scenario.json from
# sim/scenarios/platform-move.json with the servers and tokens filled in.
move_scenario() {
    local here
    here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
    sed -e "s|@A@|$1|; s|@TA@|$2|; s|@B@|$3|; s|@TB@|$4|; s|@TS@|$5|" \
        "$here/../../sim/scenarios/platform-move.json" >scenario.json
}
