/* Unit tests for the agent core (lib/agent/): the update loop on a
 * simulated device, driven by the fake server of agent_fixture.h and a
 * virtual clock: polling with jitter, back-off and Retry-After; a full
 * update through reboot, health and commit; director instruction refusals
 * (SECURITY.md 16-18, 26, 27) each reported with its code and leaving the
 * other slot unbootable; a dropped answer mid-download that re-fetches only
 * that frame; power cuts at every flash operation of the install and of the
 * commit, each followed by a reboot and a resume. */
#include "agent_fixture.h"

#include <nobrick/flash_sim.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

/* Nothing to do: the next check-in comes poll_after + 0..jitter later (the
 * server's values, not the configured ones). Then the server vanishes:
 * waits grow 2, 4, 8, ... s (+ up to half at random), never past 64 s;
 * then a 503 with Retry-After: exactly its 42 s. */
static void test_poll_backoff_retry_after(void **state)
{
    (void)state;
    struct ax_rig g;
    struct ax_fake f = {.drop_frame = -1};
    ax_rig_provision(&g);
    ax_rig_agent(&g, false, true, NB_BOOTCTL_A);
    ax_drive(&g, &f, true, 1);
    assert_int_equal(f.checkins, 1);
    assert_true(g.waits_ms[0] >= 900000 && g.waits_ms[0] <= 1080000);
    f.down = 9;
    ax_drive(&g, &f, true, 1 + 9);
    assert_int_equal(f.checkins, 1);
    uint64_t base = 2000;
    for (int i = 1; i <= 9; i++) {
        uint64_t w = g.waits_ms[i], cap = 64000;
        assert_true(w >= (base < cap ? base : cap) && w <= cap);
        assert_true(w <= base + base / 2);
        base *= 2;
    }
    assert_int_equal(g.waits_ms[9], 64000);
    f.busy = 1;
    ax_drive(&g, &f, true, 1 + 9 + 2);
    assert_int_equal(g.waits_ms[10], 42000); /* Retry-After */
    assert_true(g.waits_ms[11] >= 900000);   /* then a normal poll */
    assert_int_equal(f.checkins, 2);
    nb_agent_fini(&g.a);
    dx_close(&g.d);
}

/* A whole update: install into B (each frame fetched once), reboot, trial
 * boot, health passes, commit, "committed" reported, and only then a
 * check-in on the new version. */
static void test_full_update(void **state)
{
    (void)state;
    struct ax_rig g;
    struct ax_fake f = {.offer = true, .drop_frame = -1, .stop_on_commit = true};
    struct nb_bootctl bc;
    ax_rig_provision(&g);
    ax_rig_agent(&g, true, true, NB_BOOTCTL_A);
    struct nb_agent_action act = ax_drive(&g, &f, true, 100);
    assert_int_equal(act.what, NB_AGENT_REBOOT);
    assert_int_equal(f.meta_gets, 1);
    for (uint32_t i = 0; i < AX_IMG_LEN / AX_FS; i++)
        assert_int_equal(f.frame_gets[i], 1);
    assert_true(ax_reported(&f, "downloading", NULL) && ax_reported(&f, "installing", NULL) &&
                ax_reported(&f, "rebooting", NULL));
    assert_false(ax_reported(&f, "committed", NULL));
    ax_record(&g, &bc);
    assert_int_equal(bc.slot[NB_BOOTCTL_B].state, NB_BOOTCTL_TRIAL);
    assert_memory_equal(bc.slot[NB_BOOTCTL_B].sha256, ax_fleet()->image_sha, 32);
    assert_int_equal(ax_journal_of(&g).owed, NB_JOURNAL_OWED_TRIAL);
    assert_true(ax_journal_of(&g).time_floor == FX_NOW);
    nb_agent_fini(&g.a);

    ax_power_on(&g, NB_BOOTCTL_B, "1.2.3");
    ax_rig_agent(&g, true, true, NB_BOOTCTL_B);
    act = ax_drive(&g, &f, true, 100);
    assert_int_equal(act.what, NB_AGENT_DONE);
    assert_int_equal(act.result, NB_OK);
    assert_true(ax_reported(&f, "committed", NULL));
    assert_string_equal(f.installed, "1.2.3");
    ax_record(&g, &bc);
    assert_int_equal(bc.slot[NB_BOOTCTL_B].state, NB_BOOTCTL_GOOD);
    assert_int_equal(bc.primary, NB_BOOTCTL_B);
    assert_int_equal(bc.min_security_counter, 4);
    assert_int_equal(ax_journal_of(&g).owed, NB_JOURNAL_OWED_NONE);
    nb_agent_fini(&g.a);
    dx_close(&g.d);
}

/* The new image fails its health check: rejected, reboot into A, then
 * "rolled_back" with E_HEALTH; the counter is not raised. */
static void test_health_failure_rolls_back(void **state)
{
    (void)state;
    struct ax_rig g;
    struct ax_fake f = {.offer = true, .drop_frame = -1};
    struct nb_bootctl bc;
    ax_rig_provision(&g);
    ax_rig_agent(&g, true, true, NB_BOOTCTL_A);
    assert_int_equal(ax_drive(&g, &f, true, 100).what, NB_AGENT_REBOOT);
    nb_agent_fini(&g.a);
    ax_power_on(&g, NB_BOOTCTL_B, "1.2.3");
    ax_rig_agent(&g, true, true, NB_BOOTCTL_B);
    assert_int_equal(ax_drive(&g, &f, false, 100).what, NB_AGENT_REBOOT);
    assert_false(ax_reported(&f, "committed", NULL));
    nb_agent_fini(&g.a);
    ax_power_on(&g, NB_BOOTCTL_A, "1.0.0");
    f.offer = false;
    ax_rig_agent(&g, true, true, NB_BOOTCTL_A);
    assert_int_equal(ax_drive(&g, &f, true, 100).what, NB_AGENT_DONE);
    assert_true(ax_reported(&f, "rolled_back", "E_HEALTH"));
    assert_string_equal(f.installed, "1.0.0");
    ax_record(&g, &bc);
    assert_int_equal(bc.slot[NB_BOOTCTL_B].state, NB_BOOTCTL_BAD);
    assert_int_equal(bc.min_security_counter, 1);
    nb_agent_fini(&g.a);
    dx_close(&g.d);
}

/* Each forged or stale instruction is refused with its code, reported,
 * nothing is fetched (or, for a release mismatch, nothing written), the
 * active slot is intact and B is not bootable; the next good cycle works. */
static void refusal(enum ax_tamper t, enum nb_err want, bool fetches)
{
    struct ax_rig g;
    struct ax_fake f = {.offer = true, .tamper = t, .drop_frame = -1};
    struct nb_bootctl bc;
    ax_rig_provision(&g);
    ax_rig_agent(&g, true, true, NB_BOOTCTL_A);
    if (t == AX_T_OLD_ISSUED) {
        /* A device that once accepted an instruction issued later. */
        struct nb_journal j;
        assert_int_equal(nb_journal_load(&g.journal, &j, NULL), NB_OK);
        j.agent.time_floor = FX_NOW + 50;
        assert_int_equal(nb_journal_store(&g.journal, &j), NB_OK);
    }
    struct nb_agent_action act = ax_drive(&g, &f, true, 100);
    assert_int_equal(act.what, NB_AGENT_DONE);
    assert_int_equal(act.result, want);
    assert_true(ax_reported(&f, "failed", nb_errname(want)));
    int fe = ax_ev_find(&g, NB_AGENT_EV_FAILED, 0);
    assert_true(fe >= 0);
    assert_int_equal(g.ev[fe].code, want); /* the UI is told, with the code */
    assert_int_equal(f.meta_gets, fetches ? 1 : 0);
    assert_int_equal(f.frame_gets[0], 0);
    ax_record(&g, &bc);
    assert_int_equal(bc.slot[NB_BOOTCTL_B].state, NB_BOOTCTL_EMPTY);
    assert_int_equal(bc.primary, NB_BOOTCTL_A);
    assert_true(dx_slot_intact(&g.d, NB_BOOTCTL_A, ax_fleet()->factory.len));
    nb_agent_fini(&g.a);
    f.tamper = AX_T_NONE;
    ax_rig_agent(&g, true, true, NB_BOOTCTL_A);
    g.clock.unix_s = t == AX_T_OLD_ISSUED ? FX_NOW : g.clock.unix_s;
    act = ax_drive(&g, &f, true, 100);
    if (t != AX_T_OLD_ISSUED)
        assert_int_equal(act.what, NB_AGENT_REBOOT);
    nb_agent_fini(&g.a);
    dx_close(&g.d);
}

static void test_refuse_other_device(void **state)
{
    (void)state;
    refusal(AX_T_DEVICE, NB_ENOT_FOR_DEVICE, false);
}
static void test_refuse_old_nonce(void **state)
{
    (void)state;
    refusal(AX_T_NONCE, NB_EFRESHNESS, false);
}
static void test_refuse_expired(void **state)
{
    (void)state;
    refusal(AX_T_EXPIRED, NB_EEXPIRED, false);
}
static void test_refuse_bad_signature(void **state)
{
    (void)state;
    refusal(AX_T_SIG, NB_ESIG, false);
}
static void test_refuse_release_mismatch(void **state)
{
    (void)state;
    refusal(AX_T_VERSION, NB_EMISMATCH, true);
}
static void test_refuse_before_time_floor(void **state)
{
    (void)state;
    refusal(AX_T_OLD_ISSUED, NB_EROLLBACK, false);
}

/* The answer for frame 4 is lost: after a back-off, frame 4 alone is
 * fetched again, no frame before it. */
static void test_resume_after_lost_answer(void **state)
{
    (void)state;
    struct ax_rig g;
    struct ax_fake f = {.offer = true, .drop_frame = 4};
    ax_rig_provision(&g);
    ax_rig_agent(&g, true, true, NB_BOOTCTL_A);
    assert_int_equal(ax_drive(&g, &f, true, 100).what, NB_AGENT_REBOOT);
    for (uint32_t i = 0; i < AX_IMG_LEN / AX_FS; i++)
        assert_int_equal(f.frame_gets[i], i == 4 ? 2 : 1);
    assert_int_equal(f.meta_gets, 1);
    assert_int_equal(g.n_waits, 1);
    assert_true(g.waits_ms[0] >= 2000 && g.waits_ms[0] <= 3000);
    nb_agent_fini(&g.a);
    dx_close(&g.d);
}

/* The power is cut at every flash operation of the online install (torn
 * on odd ones): the device boots the old image, and the next power-on's
 * agent finishes the job, fetching again only frames not already in B. */
static void test_power_cut_during_install(void **state)
{
    (void)state;
    struct ax_rig g;
    uint64_t total = ax_install_flash_ops(&g, 0);
    assert_true(total > 10);
    for (uint64_t cut = 0; cut < total; cut++) {
        struct nb_bootctl bc;
        struct ax_fake f2 = {.offer = true, .drop_frame = -1};
        ax_rig_provision(&g);
        nb_flash_sim_cut_after(g.d.sim, cut, cut % 2 == 1, cut + 1);
        ax_rig_agent(&g, true, true, NB_BOOTCTL_A);
        struct nb_agent_action act = ax_drive(&g, &f2, true, 100);
        assert_int_equal(act.what, NB_AGENT_DONE);
        assert_true(act.result == NB_EIO || act.result == NB_EPOWER);
        nb_agent_fini(&g.a);
        int gets_before = 0;
        for (int i = 0; i < 64; i++)
            gets_before += f2.frame_gets[i];
        /* A cut after the trial was armed boots it: the agent then checks
         * and commits it instead of installing. */
        struct nb_boot_result br;
        dx_reboot(&g.d);
        assert_int_equal(dx_boot(&g.d, &br), NB_OK);
        memset(f2.frame_gets, 0, sizeof f2.frame_gets);
        ax_rig_agent(&g, true, true, br.slot);
        act = ax_drive(&g, &f2, true, 100);
        ax_record(&g, &bc);
        if (br.slot == NB_BOOTCTL_B) {
            assert_int_equal(act.result, NB_OK);
            assert_int_equal(bc.slot[NB_BOOTCTL_B].state, NB_BOOTCTL_GOOD);
            assert_true(ax_reported(&f2, "committed", NULL));
            nb_agent_fini(&g.a);
            dx_close(&g.d);
            continue;
        }
        assert_int_equal(act.what, NB_AGENT_REBOOT);
        int gets_after = 0;
        for (int i = 0; i < 64; i++)
            gets_after += f2.frame_gets[i];
        /* Frames verified in the slot before the cut are not fetched again
         * (the one being written when the power went may be). */
        assert_true(gets_after <=
                    (int)(AX_IMG_LEN / AX_FS) - (gets_before > 1 ? gets_before - 1 : 0));
        assert_int_equal(bc.slot[NB_BOOTCTL_B].state, NB_BOOTCTL_TRIAL);
        assert_memory_equal(bc.slot[NB_BOOTCTL_B].sha256, ax_fleet()->image_sha, 32);
        assert_true(dx_slot_intact(&g.d, NB_BOOTCTL_A, ax_fleet()->factory.len));
        nb_agent_fini(&g.a);
        dx_close(&g.d);
    }
}

/* The power is cut at every flash operation of the commit after the trial
 * boot: whatever the cut, the next power-ons end with B committed and
 * "committed" reported, never a trial reported as a success. */
static void test_power_cut_during_commit(void **state)
{
    (void)state;
    for (uint64_t cut = 0;; cut++) {
        struct ax_rig g;
        struct ax_fake f = {.offer = true, .drop_frame = -1, .stop_on_commit = true};
        struct nb_bootctl bc;
        ax_rig_provision(&g);
        ax_rig_agent(&g, true, true, NB_BOOTCTL_A);
        assert_int_equal(ax_drive(&g, &f, true, 100).what, NB_AGENT_REBOOT);
        nb_agent_fini(&g.a);
        ax_power_on(&g, NB_BOOTCTL_B, "1.2.3");
        nb_flash_sim_reset_stats(g.d.sim);
        nb_flash_sim_cut_after(g.d.sim, cut, cut % 2 == 1, cut + 7);
        ax_rig_agent(&g, true, true, NB_BOOTCTL_B);
        struct nb_agent_action act = ax_drive(&g, &f, true, 100);
        bool was_cut = nb_flash_sim_power_lost(g.d.sim);
        nb_agent_fini(&g.a);
        if (!was_cut) {
            assert_int_equal(act.result, NB_OK);
            dx_close(&g.d);
            assert_true(cut >= 2); /* the commit writes the record and the journal */
            break;
        }
        assert_false(strcmp(f.installed, "1.2.3") == 0 && !ax_reported(&f, "committed", NULL));
        dx_reboot(&g.d);
        struct nb_boot_result br;
        assert_int_equal(dx_boot(&g.d, &br), NB_OK);
        assert_int_equal(br.slot, NB_BOOTCTL_B); /* a try left, or committed */
        ax_rig_agent(&g, true, true, NB_BOOTCTL_B);
        act = ax_drive(&g, &f, true, 100);
        assert_int_equal(act.what, NB_AGENT_DONE);
        assert_int_equal(act.result, NB_OK);
        assert_true(ax_reported(&f, "committed", NULL));
        dx_record(&g.d, &bc);
        assert_int_equal(bc.slot[NB_BOOTCTL_B].state, NB_BOOTCTL_GOOD);
        assert_int_equal(ax_journal_of(&g).owed, NB_JOURNAL_OWED_NONE);
        nb_agent_fini(&g.a);
        dx_close(&g.d);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_poll_backoff_retry_after),
        cmocka_unit_test(test_full_update),
        cmocka_unit_test(test_health_failure_rolls_back),
        cmocka_unit_test(test_refuse_other_device),
        cmocka_unit_test(test_refuse_old_nonce),
        cmocka_unit_test(test_refuse_expired),
        cmocka_unit_test(test_refuse_bad_signature),
        cmocka_unit_test(test_refuse_release_mismatch),
        cmocka_unit_test(test_refuse_before_time_floor),
        cmocka_unit_test(test_resume_after_lost_answer),
        cmocka_unit_test(test_power_cut_during_install),
        cmocka_unit_test(test_power_cut_during_commit),
    };
    return cmocka_run_group_tests(tests, ax_group_setup, ax_group_teardown);
}
