/* Unit tests for the agent core's root walk and endpoints
 * (lib/agent/agent_trust.c), driven by the fake server of agent_fixture.h:
 * a check-in that names a newer root makes the device walk to it, store it
 * and only then trust an instruction signed by the new keys (SECURITY.md 8);
 * a root signed only by the new or only by the old keys, or a replayed
 * version, leaves the trust store alone (9, 10); a flood of roots costs 256
 * steps per cycle (11); an endpoint that does not answer, or answers with
 * signatures from another fleet, is left for the next signed endpoint (22,
 * 38); a rotation that drops the endpoint in use moves the device. The
 * device's configured server is "https://a.example" (relative requests,
 * base ""); its root v1 lists "https://ota.example.com". */
#include "agent_fixture.h"

#include <nobrick/flash_sim.h>
#include <nobrick/trust.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#define SERVER "https://a.example"
#define LISTED "https://ota.example.com"
#define NEW_HOME "https://b.example"
#define FLOOD 300

static char texts[FLOOD][4096];
static const char *chain[FLOOD];

/* Version v of a chain whose root key is `key` (signed also by `old`
 * unless NULL), director `dir`, one endpoint; into texts[slot]. */
static void rotated(uint32_t v, const struct nb_keyfile *key, const struct nb_keyfile *old,
                    const struct nb_keyfile *dir, const char *endpoint, size_t slot)
{
    struct nb_root r;
    const struct nb_keyfile *signers[2] = {key, old};
    fx_root(&r, v, FX_NOW + 365 * FX_DAY, key, 1, 1, &ax_fleet()->w.release, dir);
    (void)snprintf(r.endpoints[0], sizeof r.endpoints[0], "%s", endpoint);
    fx_root_envelope(&r, signers, old != NULL ? 2 : 1, texts[slot], sizeof texts[slot]);
    chain[slot] = texts[slot];
}

/* The fake server of a fleet that rotated to v2: new root and director
 * keys (*d2), endpoint `home`; it announces v2, serves it and offers the
 * update signed by d2. */
static struct ax_fake rotated_fleet(const char *home, struct nb_keyfile *d2)
{
    struct nb_keyfile k2;
    fx_key(&k2, NB_KEY_ROOT);
    fx_key(d2, NB_KEY_DIRECTOR);
    rotated(2, &k2, &ax_fleet()->w.root_key, d2, home, 0);
    return (struct ax_fake){.offer = true,
                            .drop_frame = -1,
                            .root_version = 2,
                            .roots = chain,
                            .root_first = 2,
                            .n_roots = 1,
                            .director = d2};
}

/* Version v with root key `key` signed also by `old`, the fleet's
 * director, and release keys rel[0..n_rel-1] (threshold 1); into
 * texts[slot]. */
static void rekeyed(uint32_t v, const struct nb_keyfile *key, const struct nb_keyfile *old,
                    const struct nb_keyfile *rel, size_t n_rel, size_t slot)
{
    struct nb_root r;
    const struct nb_keyfile *signers[2] = {key, old};
    fx_root(&r, v, FX_NOW + 365 * FX_DAY, key, 1, 1, &rel[0], &ax_fleet()->w.director);
    fx_role(&r.roles[NB_ROLE_RELEASE], rel, n_rel, 1);
    (void)snprintf(r.endpoints[0], sizeof r.endpoints[0], "%s", SERVER);
    fx_root_envelope(&r, signers, old != NULL ? 2 : 1, texts[slot], sizeof texts[slot]);
    chain[slot] = texts[slot];
}

/* A fake server announcing root `version`, serving texts[slot] for it. */
static struct ax_fake announces(uint32_t version, size_t slot)
{
    return (struct ax_fake){.drop_frame = -1,
                            .root_version = version,
                            .roots = &chain[slot],
                            .root_first = version,
                            .n_roots = 1};
}

static void rig(struct ax_rig *g, bool failover)
{
    ax_rig_provision(g);
    g->walk = true;
    g->server = SERVER;
    g->failover = failover;
    ax_rig_agent(g, true, true, NB_BOOTCTL_A);
}

static void done(struct ax_rig *g)
{
    nb_agent_fini(&g->a);
    dx_close(&g->d);
}

/* v2 replaces the root and director keys. The check-in names v2 with an
 * instruction signed by the new director: the device walks first (one
 * GET), stores v2, checks in again and installs. */
static void case08_walk_then_install(void **state)
{
    (void)state;
    struct ax_rig g;
    struct nb_keyfile d2;
    struct ax_fake f = rotated_fleet(SERVER, &d2);
    rig(&g, true);
    struct nb_agent_action act = ax_drive(&g, &f, true, 100);
    assert_int_equal(act.what, NB_AGENT_REBOOT);
    assert_int_equal(f.root_gets, 1);
    assert_int_equal(f.checkins, 2); /* the instruction of the first came before the walk */
    assert_int_equal(f.meta_gets, 1);
    assert_int_equal(ax_trusted_version(&g), 2);
    assert_int_equal(g.root.version, 2);
    assert_string_equal(f.checkin_base[1], ""); /* v2 lists the configured server */
    done(&g);
}

/* SECURITY.md 9 and 10: refused, E_SIG / E_ROLLBACK, root stays v1,
 * nothing fetched, B not bootable, the failure reported with its code at
 * the next check-in; a good chain afterwards is walked. */
static void refused_root(const char *text, enum nb_err want)
{
    struct ax_rig g;
    struct nb_bootctl bc;
    const char *bad[1] = {text};
    struct ax_fake f = {.offer = true,
                        .drop_frame = -1,
                        .root_version = 2,
                        .roots = bad,
                        .root_first = 2,
                        .n_roots = 1};
    rig(&g, false);
    struct nb_agent_action act = ax_drive(&g, &f, true, 100);
    assert_int_equal(act.what, NB_AGENT_DONE);
    assert_int_equal(act.result, want);
    assert_int_equal(f.root_gets, 1);
    assert_int_equal(f.meta_gets, 0);
    assert_int_equal(ax_trusted_version(&g), 1);
    int fe = ax_ev_find(&g, NB_AGENT_EV_FAILED, 0);
    assert_true(fe >= 0);
    assert_int_equal(g.ev[fe].code, want);
    ax_record(&g, &bc);
    assert_int_equal(bc.slot[NB_BOOTCTL_B].state, NB_BOOTCTL_EMPTY);
    assert_true(strncmp(g.a.last_result, nb_errname(want), strlen(nb_errname(want))) == 0);
    done(&g);
}

static void case09_new_keys_only(void **state)
{
    (void)state;
    struct nb_keyfile k2;
    fx_key(&k2, NB_KEY_ROOT);
    rotated(2, &k2, NULL, &ax_fleet()->w.director, SERVER, 0);
    refused_root(texts[0], NB_ESIG);
}

static void case09_old_keys_only(void **state)
{
    (void)state;
    struct nb_keyfile k2;
    struct nb_root r;
    const struct nb_keyfile *old[1] = {&ax_fleet()->w.root_key};
    fx_key(&k2, NB_KEY_ROOT);
    fx_root(&r, 2, FX_NOW + 365 * FX_DAY, &k2, 1, 1, &ax_fleet()->w.release,
            &ax_fleet()->w.director);
    fx_root_envelope(&r, old, 1, texts[0], sizeof texts[0]);
    refused_root(texts[0], NB_ESIG);
}

static void case10_skipped_version(void **state)
{
    (void)state;
    rotated(3, &ax_fleet()->w.root_key, NULL, &ax_fleet()->w.director, SERVER, 0);
    refused_root(texts[0], NB_EROLLBACK); /* v3 served as the next of v1 */
}

/* SECURITY.md 11: the server names v301 and serves a valid chain. One
 * cycle takes 256 steps (v257), the next the remaining 44. */
static void case11_flood_bounded(void **state)
{
    (void)state;
    struct ax_rig g;
    for (uint32_t i = 0; i < FLOOD; i++)
        rotated(i + 2, &ax_fleet()->w.root_key, NULL, &ax_fleet()->w.director, SERVER, i);
    struct ax_fake f = {.drop_frame = -1,
                        .root_version = FLOOD + 1,
                        .roots = chain,
                        .root_first = 2,
                        .n_roots = FLOOD};
    rig(&g, true);
    struct nb_agent_action act = ax_drive(&g, &f, true, 100);
    assert_int_equal(act.what, NB_AGENT_DONE);
    assert_int_equal(act.result, NB_OK);
    assert_int_equal(f.root_gets, NB_ROOT_MAX_STEPS);
    assert_int_equal(ax_trusted_version(&g), NB_ROOT_MAX_STEPS + 1);
    nb_agent_fini(&g.a);
    ax_rig_agent(&g, true, true, NB_BOOTCTL_A);
    act = ax_drive(&g, &f, true, 100);
    assert_int_equal(act.result, NB_OK);
    assert_int_equal(f.root_gets, FLOOD);
    assert_int_equal(ax_trusted_version(&g), FLOOD + 1);
    done(&g);
}

/* The configured server does not answer: after two failed requests (with
 * the back-off between) the next endpoint, the one root v1 signs. */
static void case22_dead_server_next_endpoint(void **state)
{
    (void)state;
    struct ax_rig g;
    struct ax_fake f = {.offer = true, .drop_frame = -1, .dead = ""};
    rig(&g, true);
    struct nb_agent_action act = ax_drive(&g, &f, true, 100);
    assert_int_equal(act.what, NB_AGENT_REBOOT);
    assert_int_equal(f.dead_hits, 2);
    assert_int_equal(g.n_waits, 2); /* a back-off after each failure */
    assert_int_equal(f.checkins, 1);
    assert_string_equal(f.checkin_base[0], LISTED);
    assert_string_equal(nb_agent_endpoint(&g.a, g.a.endpoint, NULL), LISTED);
    done(&g);
}

/* Without failover (the simulator's cores), the same outage is retried on
 * the configured server until the core gives up. */
static void test_no_failover_stays(void **state)
{
    (void)state;
    struct ax_rig g;
    struct ax_fake f = {.drop_frame = -1, .dead = ""};
    uint32_t n = 0;
    rig(&g, false);
    g.a.cfg.max_failures = 4;
    struct nb_agent_action act = ax_drive(&g, &f, true, 100);
    assert_int_equal(act.what, NB_AGENT_DONE);
    assert_int_equal(act.result, NB_EIO);
    assert_int_equal(f.dead_hits, 4);
    assert_int_equal(f.checkins, 0);
    assert_non_null(nb_agent_endpoint(&g.a, 0, &n));
    assert_int_equal(n, 1);
    done(&g);
}

/* SECURITY.md 38: a stranger holds the configured address with its own
 * director key. Its instruction fails E_SIG: nothing is fetched from it,
 * nothing reported to it, and the device installs from the next signed
 * endpoint, whose check-in carries the E_SIG as last_result. */
static void case38_stranger_instruction(void **state)
{
    (void)state;
    struct ax_rig g;
    struct nb_keyfile evil;
    struct nb_bootctl bc;
    fx_key(&evil, NB_KEY_DIRECTOR);
    struct ax_fake f = {.offer = true, .drop_frame = -1, .stranger = "", .stranger_key = &evil};
    rig(&g, true);
    struct nb_agent_action act = ax_drive(&g, &f, true, 100);
    assert_int_equal(act.what, NB_AGENT_REBOOT);
    assert_int_equal(f.checkins, 2);
    assert_string_equal(f.checkin_base[0], "");
    assert_string_equal(f.checkin_base[1], LISTED);
    assert_int_equal(f.stranger_reports, 0);
    assert_int_equal(f.meta_gets, 1); /* from the signed endpoint only */
    int fe = ax_ev_find(&g, NB_AGENT_EV_FAILED, 0);
    assert_true(fe >= 0);
    assert_int_equal(g.ev[fe].code, NB_ESIG);
    ax_record(&g, &bc);
    assert_int_equal(bc.slot[NB_BOOTCTL_B].state, NB_BOOTCTL_TRIAL);
    done(&g);
}

/* A stranger announcing its own newer root: the step fails E_SIG, the
 * trust store stays at v1, the device moves on. */
static void case38_stranger_root(void **state)
{
    (void)state;
    struct ax_rig g;
    struct nb_keyfile evil;
    fx_key(&evil, NB_KEY_ROOT);
    rotated(2, &evil, NULL, &ax_fleet()->w.director, SERVER, 0);
    struct ax_fake f = {.drop_frame = -1,
                        .stranger = "",
                        .stranger_key = &evil,
                        .stranger_root_version = 2,
                        .roots = chain,
                        .root_first = 2,
                        .n_roots = 1};
    rig(&g, true);
    struct nb_agent_action act = ax_drive(&g, &f, true, 100);
    assert_int_equal(act.what, NB_AGENT_DONE);
    assert_int_equal(act.result, NB_OK);
    assert_int_equal(f.root_gets, 1);
    assert_int_equal(ax_trusted_version(&g), 1);
    assert_int_equal(f.checkins, 2);
    assert_string_equal(f.checkin_base[1], LISTED);
    done(&g);
}

/* The platform move: v2 (new keys) lists only the new home. The walk
 * happens at the configured server, which v2 does not list: the device
 * logs in at the new home and installs what its new director signs. */
static void test_platform_move(void **state)
{
    (void)state;
    struct ax_rig g;
    struct nb_keyfile d2;
    uint32_t n = 0;
    struct ax_fake f = rotated_fleet(NEW_HOME, &d2);
    rig(&g, true);
    struct nb_agent_action act = ax_drive(&g, &f, true, 100);
    assert_int_equal(act.what, NB_AGENT_REBOOT);
    assert_int_equal(ax_trusted_version(&g), 2);
    assert_int_equal(f.checkins, 2);
    assert_string_equal(f.checkin_base[0], "");
    assert_string_equal(f.checkin_base[1], NEW_HOME);
    assert_string_equal(nb_agent_endpoint(&g.a, 0, &n), NEW_HOME);
    assert_int_equal(n, 1); /* the configured server is not signed any more */
    done(&g);
}

/* SECURITY.md 37 for the trust store: the power is cut at every flash
 * operation of a walk v1 -> v3 (torn on odd ones). After each cut the
 * store loads a whole root (v1, v2 or v3, never torn, never lower than
 * before), and the next power-on finishes the walk at v3. */
static void case37_power_cut_during_walk(void **state)
{
    (void)state;
    struct ax_rig g;
    struct nb_flash_sim_stats st;
    for (uint32_t i = 0; i < 2; i++)
        rotated(i + 2, &ax_fleet()->w.root_key, NULL, &ax_fleet()->w.director, SERVER, i);
    struct ax_fake f = {
        .drop_frame = -1, .root_version = 3, .roots = chain, .root_first = 2, .n_roots = 2};
    rig(&g, true);
    nb_flash_sim_reset_stats(g.d.sim);
    assert_int_equal(ax_drive(&g, &f, true, 100).result, NB_OK);
    nb_flash_sim_stats(g.d.sim, &st);
    uint64_t total = st.programs + st.erases;
    assert_int_equal(total, 6); /* per root: an erase and two programs */
    done(&g);
    for (uint64_t cut = 0; cut < total; cut++) {
        rig(&g, true);
        nb_agent_fini(&g.a);
        nb_flash_sim_cut_after(g.d.sim, cut, cut % 2 == 1, cut + 1);
        ax_rig_agent(&g, true, true, NB_BOOTCTL_A);
        struct nb_agent_action act = ax_drive(&g, &f, true, 100);
        assert_int_equal(act.what, NB_AGENT_DONE);
        assert_true(act.result == NB_EIO || act.result == NB_EPOWER);
        nb_agent_fini(&g.a);
        dx_reboot(&g.d);
        uint32_t v = ax_trusted_version(&g);
        assert_true(v >= 1 + cut / 3 && v <= 3);
        ax_rig_agent(&g, true, true, NB_BOOTCTL_A);
        act = ax_drive(&g, &f, true, 100);
        assert_int_equal(act.result, NB_OK);
        assert_int_equal(ax_trusted_version(&g), 3);
        done(&g);
    }
}

/* A v2 that replaces the release key would leave the factory image (1.0.0,
 * signed by the old key) unverifiable at the next boot: the step is
 * refused with E_UNBOOTABLE, the trust store stays v1, the refusal is a
 * FAILED event and the next check-in's last_result, and a power cut then
 * boots 1.0.0. Stored anyway (what the walk used to do), the same flash has
 * nothing to boot: the refusal is what keeps the device alive. */
static void test_root_dropping_running_key_refused(void **state)
{
    (void)state;
    struct ax_rig g;
    struct nb_keyfile k2, r2;
    fx_key(&k2, NB_KEY_ROOT);
    fx_key(&r2, NB_KEY_RELEASE);
    rekeyed(2, &k2, &ax_fleet()->w.root_key, &r2, 1, 0);
    struct ax_fake f = announces(2, 0);
    rig(&g, true);
    struct nb_agent_action act = ax_drive(&g, &f, true, 100);
    assert_int_equal(act.what, NB_AGENT_DONE);
    assert_int_equal(act.result, NB_EUNBOOTABLE);
    assert_int_equal(f.root_gets, 1);
    assert_int_equal(ax_trusted_version(&g), 1);
    assert_int_equal(g.root.version, 1);
    int fe = ax_ev_find(&g, NB_AGENT_EV_FAILED, 0);
    assert_true(fe >= 0);
    assert_int_equal(g.ev[fe].code, NB_EUNBOOTABLE);
    assert_int_equal(ax_ev_find(&g, NB_AGENT_EV_FAILED, fe + 1), -1);
    assert_true(strncmp(g.a.last_result, "E_UNBOOTABLE: root v2 refused", 29) == 0);
    assert_non_null(strstr(g.a.last_result, "(1.0.0, slot A)"));
    assert_string_equal(f.checkin_base[0], ""); /* the endpoint was not blamed */
    nb_agent_fini(&g.a);
    ax_power_on(&g, NB_BOOTCTL_A, "1.0.0");
    struct nb_boot_result br;
    assert_int_equal(nb_trust_advance(&g.d.trust, &g.root, (const uint8_t *)texts[0],
                                      strlen(texts[0]), fx_scratch(), NB_ENVELOPE_SCRATCH_LEN,
                                      NULL),
                     NB_OK);
    dx_reboot(&g.d);
    assert_int_equal(dx_boot(&g.d, &br), NB_EBOOT_VERIFY);
    dx_close(&g.d);
}

/* The documented rotation: v2 lists the old and the new release key, the
 * device moves to v2 and installs 1.1.0 signed by the new key (counter 2,
 * so 1.0.0 in A no longer boots); v3 drops the old key and is stored, and
 * the device boots 1.1.0 under it. While A still boots (1.1.0 with counter
 * 1), the same v3 is refused for A's sake. */
static void walk_to_v3(uint64_t counter, enum nb_err want)
{
    struct ax_rig g;
    struct nb_keyfile k2, r2;
    fx_key(&k2, NB_KEY_ROOT);
    fx_key(&r2, NB_KEY_RELEASE);
    struct nb_keyfile both[2] = {ax_fleet()->w.release, r2};
    rekeyed(2, &k2, &ax_fleet()->w.root_key, both, 2, 0);
    rekeyed(3, &k2, NULL, &r2, 1, 1);
    struct ax_fake f2 = announces(2, 0), f3 = announces(3, 1);
    rig(&g, true);
    struct nb_agent_action act = ax_drive(&g, &f2, true, 100);
    assert_int_equal(act.result, NB_OK);
    assert_int_equal(ax_trusted_version(&g), 2);
    struct dx_image img = {"1.1.0", counter, 30000, 9, &r2};
    dx_install_trial(&g.d, &ax_fleet()->w, NB_BOOTCTL_B, &img, 3);
    dx_commit(&g.d, NB_BOOTCTL_B);
    nb_agent_fini(&g.a);
    ax_rig_agent(&g, true, true, NB_BOOTCTL_B);
    act = ax_drive(&g, &f3, true, 100);
    assert_int_equal(act.result, want);
    assert_int_equal(f3.root_gets, 1);
    assert_int_equal(ax_trusted_version(&g), want == NB_OK ? 3 : 2);
    if (want != NB_OK)
        assert_non_null(strstr(g.a.last_result, "(1.0.0, slot A)"));
    nb_agent_fini(&g.a);
    ax_power_on(&g, NB_BOOTCTL_B, "1.1.0");
    dx_close(&g.d);
}

static void test_root_drops_key_after_fleet_moved(void **state)
{
    (void)state;
    walk_to_v3(2, NB_OK);
}

static void test_root_drops_key_fallback_still_boots(void **state)
{
    (void)state;
    walk_to_v3(1, NB_EUNBOOTABLE);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(case08_walk_then_install),
        cmocka_unit_test(case09_new_keys_only),
        cmocka_unit_test(case09_old_keys_only),
        cmocka_unit_test(case10_skipped_version),
        cmocka_unit_test(case11_flood_bounded),
        cmocka_unit_test(case22_dead_server_next_endpoint),
        cmocka_unit_test(test_no_failover_stays),
        cmocka_unit_test(case38_stranger_instruction),
        cmocka_unit_test(case38_stranger_root),
        cmocka_unit_test(test_platform_move),
        cmocka_unit_test(case37_power_cut_during_walk),
        cmocka_unit_test(test_root_dropping_running_key_refused),
        cmocka_unit_test(test_root_drops_key_after_fleet_moved),
        cmocka_unit_test(test_root_drops_key_fallback_still_boots),
    };
    return cmocka_run_group_tests(tests, ax_group_setup, ax_group_teardown);
}
