/* Unit tests for boot/boot.c, nobrick-boot's policy, on a simulated device:
 * trial boots and their tries, rollback after an uncommitted trial, secure
 * boot refusing a rewritten slot (SECURITY.md 37), a foreign signature and
 * a counter below the minimum (14), fallback to the other slot and to gold,
 * the capability record, and a power-cut matrix over whole boots: cut (and
 * tear) at every flash operation, reboot, and the device must boot a
 * verified image with tries never growing and the minimum counter unchanged. */
#include "device_fixture.h"

#include <nobrick/boot.h>
#include <nobrick/caps.h>

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdint.h>
#include <string.h>

static struct bx_world world;
static struct nb_keyfile foreign; /* a release key the root does not know */

static const struct dx_image v1 = {
    .version = "1.0.0", .security_counter = 1, .len = 20000, .seed = 1};
static const struct dx_image v2 = {
    .version = "2.0.0", .security_counter = 2, .len = 24001, .seed = 2};
/* v2 without a counter bump: committing it keeps v1 bootable. */
static const struct dx_image v2_same = {
    .version = "2.0.0", .security_counter = 1, .len = 24001, .seed = 2};

static int group_setup(void **state)
{
    (void)state;
    bx_world_init(&world);
    fx_key(&foreign, NB_KEY_RELEASE);
    return 0;
}

/* The event about slot id with error err, or fails the test. */
static const struct nb_boot_event *find_event(const struct nb_boot_result *r,
                                              enum nb_bootctl_slot_id id, enum nb_err err)
{
    for (size_t i = 0; i < r->n_events; i++)
        if (r->events[i].slot == id && r->events[i].err == err)
            return &r->events[i];
    fail_msg("no event for slot %s with %s (%zu events)", nb_slot_name(id), nb_errname(err),
             r->n_events);
    return NULL;
}

static void assert_boots(struct dx_device *d, enum nb_bootctl_slot_id id, const char *version,
                         struct nb_boot_result *r)
{
    enum nb_err err = dx_boot(d, r);
    if (err != NB_OK)
        fail_msg("boot: %s, %zu events, first: %s", nb_errname(err), r->n_events,
                 r->n_events > 0 ? r->events[0].what : "-");
    assert_int_equal(r->slot, id);
    assert_string_equal(r->version, version);
    (void)find_event(r, id, NB_OK);
}

/* --- the policy -------------------------------------------------------------- */

static void boots_primary_without_trial(void **state)
{
    (void)state;
    struct dx_device d;
    struct nb_bootctl before, after;
    struct nb_boot_result r;
    dx_provision(&d, &world, &v1, false);
    dx_record(&d, &before);
    assert_boots(&d, NB_BOOTCTL_A, "1.0.0", &r);
    assert_int_equal(r.state, NB_BOOTCTL_GOOD);
    assert_int_equal(r.n_events, 1);
    dx_record(&d, &after);
    assert_true(nb_bootctl_equal(&before, &after));
    dx_close(&d);
}

static void trial_consumes_a_stored_try(void **state)
{
    (void)state;
    struct dx_device d;
    struct nb_bootctl rec;
    struct nb_boot_result r;
    dx_provision(&d, &world, &v1, true);
    dx_install_trial(&d, &world, NB_BOOTCTL_B, &v2, 3);
    assert_boots(&d, NB_BOOTCTL_B, "2.0.0", &r);
    assert_int_equal(r.state, NB_BOOTCTL_TRIAL);
    assert_int_equal(r.tries_left, 2);
    dx_reboot(&d); /* the try is on flash, not only in memory */
    dx_record(&d, &rec);
    assert_int_equal(rec.slot[NB_BOOTCTL_B].tries_left, 2);
    assert_int_equal(rec.primary, NB_BOOTCTL_A);
    assert_boots(&d, NB_BOOTCTL_B, "2.0.0", &r);
    assert_int_equal(r.tries_left, 1);
    dx_close(&d);
}

/* SECURITY.md 38: the health check never commits; after its tries the trial
 * is marked bad, the old image boots and the counter does not move. */
static void case38a_uncommitted_trial_rolls_back(void **state)
{
    (void)state;
    struct dx_device d;
    struct nb_bootctl rec;
    struct nb_boot_result r;
    dx_provision(&d, &world, &v1, false);
    dx_install_trial(&d, &world, NB_BOOTCTL_B, &v2, 3);
    for (unsigned i = 0; i < 3; i++) {
        assert_boots(&d, NB_BOOTCTL_B, "2.0.0", &r);
        assert_int_equal(r.tries_left, 2 - i);
    }
    assert_boots(&d, NB_BOOTCTL_A, "1.0.0", &r);
    (void)find_event(&r, NB_BOOTCTL_B, NB_EBOOT_VERIFY);
    dx_record(&d, &rec);
    assert_int_equal(rec.slot[NB_BOOTCTL_B].state, NB_BOOTCTL_BAD);
    assert_int_equal(rec.primary, NB_BOOTCTL_A);
    assert_int_equal(rec.min_security_counter, 1);
    assert_boots(&d, NB_BOOTCTL_A, "1.0.0", &r); /* and stays there */
    dx_close(&d);
}

/* SECURITY.md 37: the staged slot is rewritten after the agent verified it
 * and before the reboot (RAUC CVE-2020-25860, ESP-IDF CVE-2024-28183). */
static void case37_rewritten_trial_slot_is_refused(void **state)
{
    (void)state;
    struct dx_device d;
    struct nb_bootctl rec;
    struct nb_boot_result r;
    dx_provision(&d, &world, &v1, false);
    dx_install_trial(&d, &world, NB_BOOTCTL_B, &v2, 3);
    dx_flip(&d, NB_BOOTCTL_B, 24000); /* the last byte of the image */
    assert_boots(&d, NB_BOOTCTL_A, "1.0.0", &r);
    const struct nb_boot_event *e = find_event(&r, NB_BOOTCTL_B, NB_EBOOT_VERIFY);
    assert_non_null(strstr(e->what, "image hash mismatch"));
    dx_record(&d, &rec);
    assert_int_equal(rec.slot[NB_BOOTCTL_B].state, NB_BOOTCTL_BAD);
    assert_int_equal(rec.min_security_counter, 1);
    assert_true(dx_slot_intact(&d, NB_BOOTCTL_A, v1.len));
    dx_close(&d);
}

static void corrupt_primary_falls_back_to_other_slot(void **state)
{
    (void)state;
    struct dx_device d;
    struct nb_bootctl rec;
    struct nb_boot_result r;
    dx_provision(&d, &world, &v1, false);
    dx_install_trial(&d, &world, NB_BOOTCTL_B, &v2_same, 3);
    dx_commit(&d, NB_BOOTCTL_B);
    dx_flip(&d, NB_BOOTCTL_B, 5);
    assert_boots(&d, NB_BOOTCTL_A, "1.0.0", &r);
    assert_int_equal(r.state, NB_BOOTCTL_GOOD);
    (void)find_event(&r, NB_BOOTCTL_B, NB_EBOOT_VERIFY);
    dx_record(&d, &rec);
    assert_int_equal(rec.primary, NB_BOOTCTL_A);
    assert_int_equal(rec.slot[NB_BOOTCTL_B].state, NB_BOOTCTL_BAD);
    dx_close(&d);
}

static void both_slots_corrupt_boot_gold(void **state)
{
    (void)state;
    struct dx_device d;
    struct nb_bootctl rec;
    struct nb_boot_result r;
    dx_provision(&d, &world, &v1, true);
    dx_install_trial(&d, &world, NB_BOOTCTL_B, &v2_same, 3);
    dx_commit(&d, NB_BOOTCTL_B);
    dx_flip(&d, NB_BOOTCTL_A, 100);
    dx_flip(&d, NB_BOOTCTL_B, 100);
    assert_boots(&d, NB_BOOTCTL_GOLD, "1.0.0", &r);
    (void)find_event(&r, NB_BOOTCTL_A, NB_EBOOT_VERIFY);
    (void)find_event(&r, NB_BOOTCTL_B, NB_EBOOT_VERIFY);
    dx_record(&d, &rec);
    assert_int_equal(rec.primary, NB_BOOTCTL_GOLD);
    assert_int_equal(rec.slot[NB_BOOTCTL_GOLD].state, NB_BOOTCTL_GOOD);
    assert_boots(&d, NB_BOOTCTL_GOLD, "1.0.0", &r);
    dx_close(&d);
}

static void nothing_bootable(void **state)
{
    (void)state;
    struct dx_device d;
    struct nb_bootctl rec;
    struct nb_boot_result r;
    dx_provision(&d, &world, &v1, true);
    dx_install_trial(&d, &world, NB_BOOTCTL_B, &v2, 3);
    dx_flip(&d, NB_BOOTCTL_A, 0);
    dx_flip(&d, NB_BOOTCTL_B, 0);
    dx_flip(&d, NB_BOOTCTL_GOLD, 0);
    assert_int_equal(dx_boot(&d, &r), NB_EBOOT_VERIFY);
    assert_int_equal(r.n_events, 3);
    (void)find_event(&r, NB_BOOTCTL_A, NB_EBOOT_VERIFY);
    (void)find_event(&r, NB_BOOTCTL_B, NB_EBOOT_VERIFY);
    (void)find_event(&r, NB_BOOTCTL_GOLD, NB_EBOOT_VERIFY);
    dx_record(&d, &rec);
    assert_int_equal(rec.slot[NB_BOOTCTL_A].state, NB_BOOTCTL_BAD);
    assert_int_equal(rec.slot[NB_BOOTCTL_B].state, NB_BOOTCTL_BAD);
    assert_int_equal(rec.slot[NB_BOOTCTL_GOLD].state, NB_BOOTCTL_GOOD); /* read-only */
    assert_int_equal(rec.primary, NB_BOOTCTL_GOLD);
    /* The next power-on refuses gold again, and writes nothing. */
    struct nb_flash_sim_stats st;
    nb_flash_sim_reset_stats(d.sim);
    assert_int_equal(dx_boot(&d, &r), NB_EBOOT_VERIFY);
    nb_flash_sim_stats(d.sim, &st);
    assert_int_equal(st.programs + st.erases, 0);
    dx_close(&d);
}

/* SECURITY.md 14: once v2 (counter 2) is committed, the v1 image (counter 1)
 * left in slot A is validly signed but must never boot again. */
static void case14_counter_below_minimum_is_refused(void **state)
{
    (void)state;
    struct dx_device d;
    struct nb_bootctl rec;
    struct nb_boot_result r;
    dx_provision(&d, &world, &v1, false);
    dx_install_trial(&d, &world, NB_BOOTCTL_B, &v2, 3);
    dx_commit(&d, NB_BOOTCTL_B);
    dx_flip(&d, NB_BOOTCTL_B, 7);
    assert_int_equal(dx_boot(&d, &r), NB_EBOOT_VERIFY);
    (void)find_event(&r, NB_BOOTCTL_B, NB_EBOOT_VERIFY);
    const struct nb_boot_event *e = find_event(&r, NB_BOOTCTL_A, NB_EROLLBACK);
    assert_non_null(strstr(e->what, "E_ROLLBACK"));
    dx_record(&d, &rec);
    assert_int_equal(rec.min_security_counter, 2);
    assert_int_equal(rec.slot[NB_BOOTCTL_A].state, NB_BOOTCTL_BAD);
    dx_close(&d);
}

static void foreign_signature_is_refused(void **state)
{
    (void)state;
    struct dx_device d;
    struct nb_bootctl rec;
    struct nb_boot_result r;
    struct dx_image forged = v2;
    forged.signer = &foreign;
    dx_provision(&d, &world, &v1, false);
    dx_install_trial(&d, &world, NB_BOOTCTL_B, &forged, 3);
    assert_boots(&d, NB_BOOTCTL_A, "1.0.0", &r);
    (void)find_event(&r, NB_BOOTCTL_B, NB_ESIG);
    dx_record(&d, &rec);
    assert_int_equal(rec.slot[NB_BOOTCTL_B].state, NB_BOOTCTL_BAD);
    dx_close(&d);
}

/* A record that disagrees with the signed release (an unsigned field
 * edited: MCUboot CVE-2024-32883) decides nothing. */
static void record_disagreeing_with_release_is_refused(void **state)
{
    (void)state;
    struct dx_device d;
    struct nb_bootctl rec;
    struct nb_boot_result r;
    dx_provision(&d, &world, &v1, false);
    dx_install_trial(&d, &world, NB_BOOTCTL_B, &v2, 3);
    dx_record(&d, &rec);
    memcpy(rec.slot[NB_BOOTCTL_B].version, "9.9.9", sizeof "9.9.9");
    assert_int_equal(nb_bootctl_store(&d.bootctl, &rec), NB_OK);
    assert_boots(&d, NB_BOOTCTL_A, "1.0.0", &r);
    (void)find_event(&r, NB_BOOTCTL_B, NB_EMISMATCH);
    dx_close(&d);
}

/* Without a trusted root nothing can be verified, so nothing boots, but the
 * slots are not at fault: none is marked, and restoring the store heals it. */
static void unusable_trust_store_marks_nothing(void **state)
{
    (void)state;
    struct dx_device d;
    struct nb_bootctl before, after;
    struct nb_boot_result r;
    dx_provision(&d, &world, &v1, true);
    dx_install_trial(&d, &world, NB_BOOTCTL_B, &v2, 3);
    dx_record(&d, &before);
    for (int i = 0; i < 2; i++)
        assert_int_equal(nb_flash_erase(&d.flash, d.layout.trust[i].off, d.layout.trust[i].len),
                         NB_OK);
    assert_int_equal(dx_boot(&d, &r), NB_EBOOT_VERIFY);
    assert_int_equal(r.n_events, 1);
    assert_int_not_equal(r.events[0].err, NB_OK);
    dx_record(&d, &after);
    assert_true(nb_bootctl_equal(&before, &after));
    dx_close(&d);
}

static void small_buffers_are_refused(void **state)
{
    (void)state;
    struct dx_device d;
    struct nb_boot_result r;
    uint8_t small[64];
    struct nb_boot_bufs bufs = {small, sizeof small, small, sizeof small,
                                small, sizeof small, small, sizeof small};
    dx_provision(&d, &world, &v1, false);
    assert_int_equal(nb_boot_run(&d.dev, &bufs, &r), NB_EINVAL);
    dx_close(&d);
}

static void capability_record_written_once(void **state)
{
    (void)state;
    struct dx_device d;
    struct nb_caps want, got;
    struct nb_boot_result r;
    struct nb_flash_sim_stats st;
    dx_provision(&d, &world, &v1, true);
    assert_int_equal(nb_caps_read(&d.flash, d.layout.caps, &got, NULL), NB_EPARSE);
    assert_boots(&d, NB_BOOTCTL_A, "1.0.0", &r);
    nb_boot_caps(&d.layout, &want);
    assert_int_equal(nb_caps_read(&d.flash, d.layout.caps, &got, NULL), NB_OK);
    assert_int_equal(got.boot_version, NB_BOOT_VERSION);
    assert_int_equal(got.max_tries, want.max_tries);
    assert_true(got.anti_rollback && got.verifies_signature);
    assert_int_equal(got.slots, 3);
    nb_flash_sim_reset_stats(d.sim);
    assert_boots(&d, NB_BOOTCTL_A, "1.0.0", &r);
    nb_flash_sim_stats(d.sim, &st);
    assert_int_equal(st.programs + st.erases, 0); /* unchanged: no wear */
    /* Erased (or corrupt): the next boot writes it again. */
    assert_int_equal(nb_flash_erase(&d.flash, d.layout.caps.off, d.layout.caps.len), NB_OK);
    assert_boots(&d, NB_BOOTCTL_A, "1.0.0", &r);
    assert_int_equal(nb_caps_read(&d.flash, d.layout.caps, &got, NULL), NB_OK);
    dx_close(&d);
}

/* --- the power-cut matrix ---------------------------------------------------- */

enum scenario { TRIAL, TRIAL_CORRUPT, PRIMARY_CORRUPT };

/* The device before the boot under test. */
static void build(struct dx_device *d, enum scenario s)
{
    dx_provision(d, &world, &v1, true);
    dx_install_trial(d, &world, NB_BOOTCTL_B, s == PRIMARY_CORRUPT ? &v2_same : &v2, 3);
    if (s == PRIMARY_CORRUPT)
        dx_commit(d, NB_BOOTCTL_B);
    if (s != TRIAL)
        dx_flip(d, NB_BOOTCTL_B, 4096);
}

static uint64_t count_ops(enum scenario s)
{
    struct dx_device d;
    struct nb_boot_result r;
    struct nb_flash_sim_stats st;
    build(&d, s);
    nb_flash_sim_reset_stats(d.sim);
    assert_int_equal(dx_boot(&d, &r), NB_OK);
    nb_flash_sim_stats(d.sim, &st);
    dx_close(&d);
    return st.programs + st.erases;
}

/* After a cut and a reboot: the record loads, tries never grew, the minimum
 * did not move, and the image booted is verified and intact. */
static void check_after_cut(struct dx_device *d, enum scenario s, const struct nb_bootctl *before)
{
    struct nb_bootctl rec;
    struct nb_boot_result r;
    dx_record(d, &rec);
    assert_int_equal(rec.min_security_counter, before->min_security_counter);
    assert_true(rec.slot[NB_BOOTCTL_B].tries_left <= before->slot[NB_BOOTCTL_B].tries_left);
    enum nb_err err = dx_boot(d, &r);
    if (err != NB_OK)
        fail_msg("boot after cut: %s (%s)", nb_errname(err),
                 r.n_events > 0 ? r.events[0].what : "-");
    assert_true(strcmp(r.version, "1.0.0") == 0 || strcmp(r.version, "2.0.0") == 0);
    if (s != TRIAL)
        assert_int_not_equal(r.slot, NB_BOOTCTL_B);
    assert_true(dx_slot_intact(d, r.slot, r.slot == NB_BOOTCTL_B ? v2.len : v1.len));
    struct nb_bootctl after;
    dx_record(d, &after);
    assert_int_equal(after.min_security_counter, before->min_security_counter);
    assert_true(after.slot[NB_BOOTCTL_B].tries_left <= rec.slot[NB_BOOTCTL_B].tries_left);
    if (r.state == NB_BOOTCTL_TRIAL)
        assert_true(after.slot[NB_BOOTCTL_B].tries_left < before->slot[NB_BOOTCTL_B].tries_left);
    else
        assert_int_equal(after.primary, r.slot);
}

static void power_cut_matrix(enum scenario s)
{
    uint64_t n = count_ops(s);
    assert_true(n >= 2);
    for (uint64_t k = 0; k < n; k++) {
        for (int tear = 0; tear <= 1; tear++) {
            struct dx_device d;
            struct nb_bootctl before;
            struct nb_boot_result r;
            build(&d, s);
            dx_record(&d, &before);
            nb_flash_sim_cut_after(d.sim, k, tear != 0, k * 31 + 7);
            assert_int_not_equal(dx_boot(&d, &r), NB_OK);
            assert_true(nb_flash_sim_power_lost(d.sim));
            dx_reboot(&d);
            check_after_cut(&d, s, &before);
            dx_close(&d);
        }
    }
}

static void power_cut_trial_boot(void **state)
{
    (void)state;
    power_cut_matrix(TRIAL);
}

static void power_cut_refused_trial(void **state)
{
    (void)state;
    power_cut_matrix(TRIAL_CORRUPT);
}

static void power_cut_primary_fallback(void **state)
{
    (void)state;
    power_cut_matrix(PRIMARY_CORRUPT);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(boots_primary_without_trial),
        cmocka_unit_test(trial_consumes_a_stored_try),
        cmocka_unit_test(case38a_uncommitted_trial_rolls_back),
        cmocka_unit_test(case37_rewritten_trial_slot_is_refused),
        cmocka_unit_test(corrupt_primary_falls_back_to_other_slot),
        cmocka_unit_test(both_slots_corrupt_boot_gold),
        cmocka_unit_test(nothing_bootable),
        cmocka_unit_test(case14_counter_below_minimum_is_refused),
        cmocka_unit_test(foreign_signature_is_refused),
        cmocka_unit_test(record_disagreeing_with_release_is_refused),
        cmocka_unit_test(unusable_trust_store_marks_nothing),
        cmocka_unit_test(small_buffers_are_refused),
        cmocka_unit_test(capability_record_written_once),
        cmocka_unit_test(power_cut_trial_boot),
        cmocka_unit_test(power_cut_refused_trial),
        cmocka_unit_test(power_cut_primary_fallback),
    };
    return cmocka_run_group_tests(tests, group_setup, NULL);
}
