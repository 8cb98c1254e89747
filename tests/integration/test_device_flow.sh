#!/usr/bin/env bash
# The offline flow of a simulated device through the real programs
# (docs/agent.md): provision v1, install v2, boot (trial), health (commit),
# install v3 that fails its health check, boot, health (rejected), boot
# (back on v2), with `status --json` checked at every step; then an
# encrypted bundle, refusals that write nothing (another hardware class, a
# lower security counter), a corrupted slot refused at boot, mark-bad, and
# the errors of bad command lines and configurations.
# Env: NB_BIN = the build directory.
set -euo pipefail
# shellcheck source=tests/integration/lib_device.sh
. "$(dirname "$0")/lib_device.sh"

make_keys
make_image img1.bin 100000 one
make_image img2.bin 150000 two
make_image img3.bin 120000 three
make_image img4.bin 130000 four
make_bundle v1.nbb 1.0.0 1 img1.bin
make_bundle v2.nbb 2.0.0 2 img2.bin
make_bundle v3.nbb 3.0.0 3 img3.bin
dev=dev

# --- provision and the first power-on ------------------------------------------
expect 0 "^provisioned dev: hardware class $HW, slot A = 1.0.0 \(security counter 1\)" \
    "$nobrick" device provision --dir $dev --root root.json --hw-class "$HW" \
    --bundle v1.nbb --slot-size "$SLOT"
check "DEV/ holds the device" test -s $dev/flash.img -a -s $dev/device.key \
    -a -s $dev/device.pub -a -d $dev/health.d -a -s $dev/agent.conf
state_is $dev "provisioned" '.running == null and .primary == "A" and .hw_class == "thermo-v3"
    and .slots.A.state == "good" and .slots.A.version == "1.0.0"
    and .slots.B.state == "empty" and .min_security_counter == 1 and .journal.op == "idle"'
power_on $dev
invariants $dev "first power-on" 1 1.0.0
check "first power-on boots A 1.0.0 good" test "$booted_slot $booted_state" = "A good"
expect 0 "^running: +slot A, version 1.0.0" agent $dev status

# --- install v2, trial boot, health commits -----------------------------------
expect 0 "^installed 2.0.0 \(security counter 2\) into slot B: trial armed with 3 tries" \
    agent $dev install v2.nbb
state_is $dev "v2 installed" '.running.version == "1.0.0" and .slots.B.state == "trial"
    and .slots.B.version == "2.0.0" and .slots.B.tries_left == 3 and .primary == "A"
    and .min_security_counter == 1 and .journal.op == "idle"'
sha_before=$(sha256sum <$dev/flash.img)
expect 0 "trial armed with 3 tries" agent $dev install v2.nbb
check "the same install again writes nothing" test "$(sha256sum <$dev/flash.img)" = "$sha_before"
expect 1 "slot B is on trial \(version 2.0.0\): commit or reject" agent $dev install v3.nbb
power_on $dev
invariants $dev "trial boot of v2" 1 2.0.0
check "trial boot prints B 2.0.0 with 2 tries left" \
    grep -q "^booted slot B: version 2.0.0 (trial, 2 tries left)$" <<<"$boot_out"
state_is $dev "v2 on trial" '.running == {"slot": "B", "version": "2.0.0"}
    and .slots.B.state == "trial" and .slots.B.tries_left == 2 and .primary == "A"
    and .min_security_counter == 1'
cat >$dev/health.d/10-env <<'EOF'
#!/bin/sh
# The agent tells a check what runs.
echo "$NOBRICK_SLOT $NOBRICK_VERSION $NOBRICK_STATE" >"$(dirname "$0")/../seen"
EOF
chmod +x $dev/health.d/10-env
expect 0 "committed slot B \(2.0.0\): minimum security counter is now 2" agent $dev health
check "checks see slot, version and state" test "$(cat $dev/seen)" = "B 2.0.0 trial"
state_is $dev "v2 committed" '.slots.B.state == "good" and .primary == "B"
    and .slots.A.state == "good" and .min_security_counter == 2 and .running.slot == "B"'
expect 0 "already committed" agent $dev mark-good
power_on $dev
invariants $dev "boot after commit" 2 2.0.0
check "v2 boots as good" test "$booted_slot $booted_state" = "B good"

# --- install v3, whose health check fails: rejected, back on v2 ---------------
expect 0 "into slot A: trial armed" agent $dev install v3.nbb
power_on $dev
invariants $dev "trial boot of v3" 2 3.0.0
printf '#!/bin/sh\n[ "$NOBRICK_VERSION" != 3.0.0 ]\n' >$dev/health.d/20-not-v3
chmod +x $dev/health.d/20-not-v3
expect 4 "health: check '20-not-v3' failed: exited with status 1" agent $dev health
state_is $dev "v3 rejected" '.slots.A.state == "bad" and .slots.A.version == "3.0.0"
    and .running.version == "3.0.0" and .primary == "B" and .min_security_counter == 2'
expect 4 "^reboot now \(nobrick-boot\): the device goes back to slot B \(2.0.0\)" \
    agent $dev health
power_on $dev
invariants $dev "boot after rejection" 2 2.0.0
check "back on B 2.0.0" test "$booted_slot $booted_version" = "B 2.0.0"
state_is $dev "back on v2" '.running == {"slot": "B", "version": "2.0.0"}
    and .slots.A.state == "bad" and .slots.B.state == "good" and .min_security_counter == 2'
expect 0 "^slot A +bad +version 3.0.0, security counter 3$" agent $dev status
expect 0 "health: 2 checks passed" agent $dev health
expect 1 "slot B \(2.0.0\) is committed: mark-bad only rejects a trial image" \
    agent $dev mark-bad
rm $dev/health.d/20-not-v3

# --- an encrypted bundle installs; mark-bad rejects it ------------------------
make_bundle v4e.nbb 4.0.0 4 img4.bin --encrypt-to $dev/device.pub
expect 0 "installed 4.0.0 .* into slot A" agent $dev install v4e.nbb
power_on $dev
invariants $dev "trial boot of the encrypted v4" 2 4.0.0
expect 0 "rejected slot A \(4.0.0\): it will not boot again" agent $dev mark-bad
expect 1 "only a trial image can be committed" agent $dev mark-good
power_on $dev
invariants $dev "boot after mark-bad" 2 2.0.0
state_is $dev "v4 marked bad" '.slots.A.state == "bad" and .slots.A.version == "4.0.0"
    and .min_security_counter == 2 and .running.slot == "B"'
q "$nobrick" key new device stranger
make_bundle v5s.nbb 5.0.0 5 img4.bin --encrypt-to stranger.pub
expect 1 "install refused.*\(E_DECRYPT\)" agent $dev install v5s.nbb

# --- refusals before anything is written: flash.img byte-identical -------------
sha_before=$(sha256sum <$dev/flash.img)
HW=thermo-v9 make_bundle other.nbb 5.0.0 5 img4.bin
expect 1 "hardware class thermo-v9, this device is thermo-v3 \(E_INCOMPAT\)" \
    agent $dev install other.nbb
make_bundle low.nbb 9.0.0 1 img4.bin
expect 1 "security counter 1 is below this device's minimum 2.*\(E_ROLLBACK\)" \
    agent $dev install low.nbb
expect 1 "what to do: this release is older" agent $dev install low.nbb
expect 1 "install: nope.nbb: No such file or directory \(E_NOENT\)" agent $dev install nope.nbb
head -c 3000 v3.nbb >short.nbb
expect 1 "\(E_TRUNCATED\)|\(E_PARSE\)" agent $dev install short.nbb
check "refused installs leave flash.img byte-identical" \
    test "$(sha256sum <$dev/flash.img)" = "$sha_before"

# --- an install cut by the power resumes -------------------------------------
expect 3 "^power cut after 12 flash operations$" agent $dev install v3.nbb --cut-after-ops 12
power_on $dev
invariants $dev "boot after a cut install" 2 2.0.0
expect 0 "^slot A +installing +\(being written\)$" agent $dev status
expect 0 "^in progress: +install of 8 frames into slot A, interrupted: run the same install" \
    agent $dev status
state_is $dev "install interrupted" '.journal == {"op": "install", "slot": "A", "frame_count": 8}
    and .slots.A.state == "installing" and .running.slot == "B"'
expect 0 "frames: [1-7] written, [1-7] already in the slot \(resumed an interrupted install\)" \
    agent $dev install v3.nbb
state_is $dev "install resumed" '.journal.op == "idle" and .slots.A.state == "trial"'

# --- a corrupted slot is refused at boot, the other one boots -----------------
flip_byte $dev A 70000
power_on $dev
check "the corrupted trial is refused" \
    grep -q "slot A: .*image hash mismatch.*E_BOOT_VERIFY" <<<"$boot_out"
invariants $dev "boot past a corrupted trial" 2 2.0.0
check "B 2.0.0 boots instead" test "$booted_slot $booted_version" = "B 2.0.0"
state_is $dev "corrupted slot marked bad" '.slots.A.state == "bad" and .primary == "B"'
expect 0 "frames: 4 written, 4 already in the slot" agent $dev install v3.nbb
power_on $dev
invariants $dev "reinstalled v3" 2 3.0.0

# --- bad command lines and configurations: exit codes of --help ---------------
expect 0 "Exit codes: 0 done, 1 failed, 2 bad command line, 3 power cut" "$agent_bin" --help
expect 2 "which bundle\?" agent $dev install
expect 2 "unknown verb 'instal'" agent $dev instal v2.nbb
expect 2 "--cut-after-ops needs a number" agent $dev mark-bad --cut-after-ops x
expect 2 "status: unknown option '--bogus'" agent $dev status --bogus
expect 1 "configuration: open nowhere/agent.conf: No such file or directory \(E_NOENT\)" \
    "$agent_bin" -c nowhere/agent.conf status
expect 1 "configuration: open nowhere/agent.conf: No such file" \
    "$boot_bin" -c nowhere/agent.conf
cp -a $dev bad
echo "bogus = 1" >>bad/agent.conf
expect 1 "agent.conf:16: unknown key 'bogus' \(E_PARSE\)" agent bad status
sed -i -e '/^bogus/d' -e 's/^tries = 3/tries = 9/' bad/agent.conf
expect 1 "key 'tries': '9' is not a number in 1..7" agent bad install v3.nbb
sed -i -e 's/^tries = 9/tries = 3/' -e 's/^flash_backend = sim/flash_backend = file/' \
    bad/agent.conf
echo "fetch_max_bytes = 2000000" >>bad/agent.conf
expect 1 "key 'fetch_max_bytes': 2000000 is past 1048576 bytes, the most one answer may hold" \
    agent bad status
sed -i -e 's/^fetch_max_bytes = .*/fetch_max_bytes = 64k/' bad/agent.conf
expect 1 "key 'fetch_max_bytes': '64k' is not a number" agent bad status
sed -i -e '/^fetch_max_bytes/d' bad/agent.conf
expect 1 "power-cut options need the simulated flash" agent bad mark-good --cut-after-ops 1
rm bad/booted
expect 1 "the device has not booted \(no .*booted\): run nobrick-boot" agent bad mark-good

finish
