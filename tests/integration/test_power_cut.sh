#!/usr/bin/env bash
# The power-cut matrix through the real programs (DESIGN.md: "after any power cut
# the device boots a verified image, and the state it reports is true"). For
# each scenario, from a template device: run the command once with
# --count-ops (N flash operations), then for k = 0..N-1, with and without
# --tear, on a fresh copy: run it with --cut-after-ops k (the k+1-th program
# or erase is cut; exit 3), power on (nobrick-boot), check the invariants of
# lib_device.sh (the old or the new version boots, every bootable slot holds
# exactly its image, the status is coherent, the minimum security counter did
# not go down), the scenario's own expectations, then re-run the interrupted
# command (or, for a boot, go on) and check that the job is finished.
# Env: NB_BIN = the build directory.
set -euo pipefail
# shellcheck source=tests/integration/lib_device.sh
. "$(dirname "$0")/lib_device.sh"

make_keys
make_image img1.bin 100000 one
make_image img2.bin 150000 two
make_image img3.bin 120000 three
make_bundle v1.nbb 1.0.0 1 img1.bin
make_bundle v2.nbb 2.0.0 2 img2.bin
make_bundle v3.nbb 3.0.0 3 img3.bin
# The gold scenario keeps the minimum counter at gold's (1): the same 2.0.0
# image, signed with counter 1.
make_bundle v2c1.nbb 2.0.0 1 img2.bin
printf '#!/bin/sh\n[ "$NOBRICK_VERSION" != 3.0.0 ]\n' >not-v3

# --- templates: built once, copied per cut ------------------------------------
must() { "$@" >/dev/null 2>&1 || { echo "template step failed: $*" >&2; "$@"; exit 1; }; }
provision t_idle v1.nbb
must "$boot_bin" -c t_idle/agent.conf # A good 1.0.0 runs
cp -a t_idle t_trial
must agent t_trial install v2.nbb # B trial 2.0.0 (3 tries), A runs
cp -a t_trial t_on_trial
must "$boot_bin" -c t_on_trial/agent.conf # B trial 2.0.0 runs, 2 tries left
cp not-v3 t_on_trial/health.d/50-not-v3
chmod +x t_on_trial/health.d/50-not-v3
cp -a t_on_trial t_v3
must agent t_v3 health
must "$boot_bin" -c t_v3/agent.conf
must agent t_v3 install v3.nbb
must "$boot_bin" -c t_v3/agent.conf # A trial 3.0.0 runs (2 tries left), B good 2.0.0
cp -a t_v3 t_rejected
rc=0 && agent t_rejected health >/dev/null 2>&1 || rc=$?
[ "$rc" -eq 4 ] || { echo "template t_rejected: health exit $rc, not 4" >&2; exit 1; }
cp -a t_v3 t_spent
must "$boot_bin" -c t_spent/agent.conf
must "$boot_bin" -c t_spent/agent.conf # A trial 3.0.0 with 0 tries left
provision t_gold v1.nbb --gold
must "$boot_bin" -c t_gold/agent.conf
must agent t_gold install v2c1.nbb
must "$boot_bin" -c t_gold/agent.conf
must agent t_gold mark-good # B good 2.0.0 primary, A good 1.0.0, gold 1.0.0
flip_byte t_gold A 5000
flip_byte t_gold B 100000

# --- the commands, each taking the power-cut options after it ----------------
do_install() { agent "$1" install v2.nbb "${@:2}"; }
do_boot() { "$boot_bin" -c "$1/agent.conf" "${@:2}"; }
do_health() { agent "$1" health "${@:2}"; }
do_mark_bad() { agent "$1" mark-bad "${@:2}"; }

# --- the scenarios' own checks: after CUT+boot, then after finishing ---------
# $2 names the case in messages.
# Slot B goes empty -> installing -> trial in single stores: never a "ready"
# or half-recorded B; 2.0.0 boots only as a trial.
after_install() {
    state_is "$1" "$2" '.min_security_counter == 1 and .primary == "A"
        and ((.running.slot == "A" and (.slots.B.state | IN("empty", "installing")))
          or (.running.slot == "B" and .slots.B.state == "trial"))'
}
finish_install() {
    expect 0 "^installed 2.0.0 \(security counter 2\) into slot B" do_install "$1"
    power_on "$1"
    invariants "$1" "$2: resumed install, boot" 1 2.0.0
    state_is "$1" "$2: v2 on trial" '.running.slot == "B" and .slots.B.state == "trial"
        and .slots.B.tries_left >= 1 and .primary == "A" and .min_security_counter == 1'
}
after_trial() {
    state_is "$1" "$2" '.running.slot == "B" and (.slots.B.tries_left | IN(1, 2))'
}
finish_trial() {
    expect 0 "committed slot B \(2.0.0\): minimum security counter is now 2" \
        agent "$1" mark-good
    power_on "$1"
    invariants "$1" "$2: committed, boot" 2 2.0.0
}
after_commit() {
    state_is "$1" "$2" '(.slots.B.state == "good" and .primary == "B"
            and .min_security_counter == 2)
        or (.slots.B.state == "trial" and .slots.B.tries_left == 1 and .primary == "A"
            and .min_security_counter == 1)'
}
finish_commit() {
    expect 0 "health: 1 check passed" do_health "$1"
    state_is "$1" "$2: committed" '.slots.B.state == "good" and .primary == "B"
        and .min_security_counter == 2 and .slots.A.state == "good"'
    power_on "$1"
    invariants "$1" "$2: committed, boot" 2 2.0.0
}
# A rejection never raises the counter; after it, the previous slot boots.
after_reject() {
    state_is "$1" "$2" '.min_security_counter == 2 and .primary == "B"
        and ((.running.slot == "A" and .slots.A.state == "trial" and .slots.A.tries_left == 1)
          or (.running.slot == "B" and .slots.A.state == "bad"))'
}
finish_reject() {
    if [ "$booted_version" = 3.0.0 ]; then
        expect 4 "health: check '50-not-v3' failed" do_health "$1"
    else
        expect 0 "health: 2 checks passed" do_health "$1"
    fi
    finish_back_on_v2 "$@"
}
finish_back_on_v2() {
    power_on "$1"
    invariants "$1" "$2: back on 2.0.0" 2 2.0.0
    state_is "$1" "$2: 3.0.0 rejected" '.slots.A.state == "bad" and .slots.A.version == "3.0.0"
        and .running.slot == "B" and .min_security_counter == 2'
}
finish_mark_bad() {
    if [ "$booted_version" = 3.0.0 ]; then
        expect 0 "rejected slot A \(3.0.0\)" do_mark_bad "$1"
    else
        expect 1 "slot B \(2.0.0\) is committed: mark-bad only rejects a trial" do_mark_bad "$1"
    fi
    finish_back_on_v2 "$@"
}
after_spent() {
    check "$2: the spent trial is not booted" grep -q "not committed after its last try" \
        <<<"$boot_out$(cat "$1/cut.out")"
}
after_gold() {
    state_is "$1" "$2" '.running.slot == "gold" and .primary == "gold"
        and .slots.A.state == "bad" and .slots.B.state == "bad" and .slots.gold.state == "good"
        and .min_security_counter == 1'
}
finish_gold() {
    power_on "$1"
    invariants "$1" "$2: gold again" 1 1.0.0
    check "$2: gold boots again" test "$booted_slot" = gold
}
none() { :; }

# matrix NAME TEMPLATE WANT_RC RUN AFTER FINISH VERSION...: the matrix of one
# scenario. WANT_RC is the command's exit code when no power is cut.
matrix() {
    local name=$1 tpl=$2 want=$3 run=$4 after=$5 fin=$6 min n k tear rc fails=$fail
    shift 6
    min=$(js "$tpl" .min_security_counter)
    rm -rf c && cp -a "$tpl" c
    rc=0 && "$run" c --count-ops >c/cut.out 2>&1 || rc=$?
    n=$(sed -nE 's/^flash operations: ([0-9]+)$/\1/p' c/cut.out)
    if [ "$rc" -ne "$want" ] || [ -z "$n" ]; then
        bad "$name: uncut run exit $rc (want $want), no operation count:"
        sed 's/^/    /' c/cut.out >&2
        return
    fi
    if [ "$n" -eq 0 ]; then
        power_on c
        invariants c "$name (uncut)" "$min" "$@"
        echo "$name: 0 flash operations, nothing to cut; boots $booted_version"
        return
    fi
    for tear in "" --tear; do
        for ((k = 0; k < n; k++)); do
            local what="$name: cut after $k${tear:+ (torn)}"
            rm -rf c && cp -a "$tpl" c
            rc=0 && "$run" c --cut-after-ops "$k" $tear >c/cut.out 2>&1 || rc=$?
            if [ "$rc" -ne 3 ] || ! grep -q "^power cut after $k flash operations$" c/cut.out
            then
                bad "$what: exit $rc, not 3 (power cut):"
                sed 's/^/    /' c/cut.out >&2
                continue
            fi
            power_on c
            invariants c "$what" "$min" "$@"
            "$after" c "$what"
            "$fin" c "$what"
        done
    done
    [ "$fail" -eq "$fails" ] && echo "$name: $n cut points x 2 (tear/no tear) ok"
    return 0
}

matrix install t_idle 0 do_install after_install finish_install 1.0.0 2.0.0
matrix "trial boot" t_trial 0 do_boot after_trial finish_trial 2.0.0
matrix "health commit" t_on_trial 0 do_health after_commit finish_commit 2.0.0
matrix "health reject" t_v3 4 do_health after_reject finish_reject 2.0.0 3.0.0
matrix "fallback boot after reject" t_rejected 0 do_boot none finish_back_on_v2 2.0.0
matrix "trial out of tries" t_spent 0 do_boot after_spent finish_back_on_v2 2.0.0
matrix mark-bad t_v3 0 do_mark_bad after_reject finish_mark_bad 2.0.0 3.0.0
matrix "gold fallback" t_gold 0 do_boot after_gold finish_gold 1.0.0

finish
