/* Unit tests for the agent core (lib/agent/) with users in the loop, on
 * the rig of agent_fixture.h: the install policies (auto, download-only,
 * window on the virtual wall clock, ask), the commands (install-now,
 * schedule-at, postpone, retry, cancel) and their refusals, the events, and
 * a remedy for every error code. */
#include "agent_fixture.h"

#include <nobrick/remedy.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

static enum nb_err command(struct ax_rig *g, enum nb_agent_command_kind k, int64_t at_s,
                           uint32_t seconds)
{
    struct nb_agent_command c = {k, at_s, seconds};
    struct nb_diag d = {{0}};
    enum nb_err err = nb_agent_command(&g->a, &c, &d);
    assert_true(err == NB_OK || d.msg[0] != '\0'); /* a refusal says why */
    return err;
}

static int64_t wall(const struct ax_rig *g)
{
    return g->clock.unix_s + (int64_t)(g->clock.ms / 1000);
}

static enum nb_bootctl_state slot_b(struct ax_rig *g)
{
    struct nb_bootctl bc;
    ax_record(g, &bc);
    return bc.slot[NB_BOOTCTL_B].state;
}

/* auto: available, progress up to every frame, installing, rebooting in
 * 0 s, with no wait and nothing asked. */
static void test_policy_auto(void **state)
{
    (void)state;
    struct ax_rig g;
    struct ax_fake f = {.offer = true, .drop_frame = -1};
    ax_rig_provision(&g);
    ax_rig_agent(&g, false, true, NB_BOOTCTL_A);
    assert_int_equal(ax_drive(&g, &f, true, 100).what, NB_AGENT_REBOOT);
    assert_int_equal(g.n_waits, 0);
    int av = ax_ev_find(&g, NB_AGENT_EV_AVAILABLE, 0), pr = ax_ev_find(&g, NB_AGENT_EV_PROGRESS, 0);
    int in = ax_ev_find(&g, NB_AGENT_EV_INSTALLING, 0),
        rb = ax_ev_find(&g, NB_AGENT_EV_REBOOTING, 0);
    assert_true(av == 0 && pr > av && in > pr && rb > in);
    assert_string_equal(g.ev[av].version, "1.2.3");
    assert_int_equal(g.ev[av].bytes_total, ax_fleet()->h.frames_len);
    assert_int_equal(g.ev[rb].in_s, 0);
    assert_int_equal(ax_ev_find(&g, NB_AGENT_EV_READY, 0), -1);
    assert_int_equal(slot_b(&g), NB_BOOTCTL_TRIAL);
    nb_agent_fini(&g.a);
    dx_close(&g.d);
}

/* download-only: every frame is fetched and verified, then READY and a
 * hold that outlasts hours of waits with nothing armed; install-now
 * finishes it. Untimely commands are refused and change nothing. */
static void test_policy_download_only(void **state)
{
    (void)state;
    struct ax_rig g;
    struct ax_fake f = {.offer = true, .drop_frame = -1};
    struct nb_agent_status st;
    ax_rig_provision(&g);
    g.policy = NB_AGENT_POLICY_DOWNLOAD_ONLY;
    ax_rig_agent(&g, false, true, NB_BOOTCTL_A);
    assert_int_equal(command(&g, NB_AGENT_CMD_CANCEL, 0, 0), NB_EINVAL); /* nothing yet */
    assert_int_equal(ax_drive(&g, &f, true, 3).what, NB_AGENT_WAIT);
    for (uint32_t i = 0; i < AX_IMG_LEN / AX_FS; i++)
        assert_int_equal(f.frame_gets[i], 1);
    assert_true(ax_ev_find(&g, NB_AGENT_EV_READY, 0) > ax_ev_find(&g, NB_AGENT_EV_PROGRESS, 0));
    assert_int_equal(ax_ev_find(&g, NB_AGENT_EV_INSTALLING, 0), -1);
    assert_int_not_equal(slot_b(&g), NB_BOOTCTL_TRIAL);
    assert_int_equal(f.checkins, 1); /* holding: no more check-ins */
    nb_agent_status(&g.a, &st);
    assert_string_equal(st.phase_name, "ready");
    assert_string_equal(st.version, "1.2.3");
    assert_int_equal(command(&g, NB_AGENT_CMD_RETRY, 0, 0), NB_EINVAL);
    assert_int_equal(command(&g, NB_AGENT_CMD_POSTPONE, 0, 0), NB_EINVAL);
    assert_int_equal(command(&g, NB_AGENT_CMD_INSTALL_NOW, 0, 0), NB_OK);
    int waits = g.n_waits;
    assert_int_equal(ax_drive(&g, &f, true, 100).what, NB_AGENT_REBOOT);
    assert_int_equal(g.n_waits, waits); /* at once */
    assert_true(ax_ev_find(&g, NB_AGENT_EV_INSTALLING, 0) > 0);
    assert_int_equal(slot_b(&g), NB_BOOTCTL_TRIAL);
    nb_agent_fini(&g.a);
    dx_close(&g.d);
}

/* window 02:00-03:00 UTC, the clock at 22:15: downloaded at once, then
 * scheduled for the next 02:00, re-checked hourly, installed and rebooted
 * inside the window after a 30 s countdown. */
static void test_policy_window(void **state)
{
    (void)state;
    struct ax_rig g;
    struct ax_fake f = {.offer = true, .drop_frame = -1};
    ax_rig_provision(&g);
    g.policy = NB_AGENT_POLICY_WINDOW;
    g.win_start = 2 * 60;
    g.win_end = 3 * 60;
    g.reboot_delay_s = 30;
    int64_t start = wall(&g), sod = start % 86400;
    assert_int_equal(sod, 22 * 3600 + 15 * 60);
    ax_rig_agent(&g, false, true, NB_BOOTCTL_A);
    assert_int_equal(ax_drive(&g, &f, true, 2).what, NB_AGENT_WAIT);
    assert_int_equal(g.waits_ms[0], 3600000);
    int sc = ax_ev_find(&g, NB_AGENT_EV_SCHEDULED, 0);
    assert_true(sc > ax_ev_find(&g, NB_AGENT_EV_READY, 0));
    assert_true(g.ev[sc].at_s == start - sod + 86400 + 2 * 3600);
    assert_int_equal(ax_ev_find(&g, NB_AGENT_EV_SCHEDULED, sc + 1), -1); /* told once */
    assert_int_equal(ax_ev_find(&g, NB_AGENT_EV_INSTALLING, 0), -1);
    assert_int_equal(ax_drive(&g, &f, true, 100).what, NB_AGENT_REBOOT);
    int64_t at = wall(&g) % 86400;
    assert_true(at >= 2 * 3600 + 30 && at < 3 * 3600); /* rebooted inside the window */
    int rb = ax_ev_find(&g, NB_AGENT_EV_REBOOTING, 0);
    assert_true(rb > 0 && g.ev[rb].in_s == 30);
    assert_int_equal(slot_b(&g), NB_BOOTCTL_TRIAL);
    nb_agent_fini(&g.a);
    dx_close(&g.d);
}

/* ask: announced, nothing fetched while it waits (cellular data costs);
 * postpone 600 s schedules it; then it downloads and installs unasked. */
static void test_policy_ask_postpone(void **state)
{
    (void)state;
    struct ax_rig g;
    struct ax_fake f = {.offer = true, .drop_frame = -1};
    ax_rig_provision(&g);
    g.policy = NB_AGENT_POLICY_ASK;
    ax_rig_agent(&g, false, true, NB_BOOTCTL_A);
    assert_int_equal(ax_drive(&g, &f, true, 3).what, NB_AGENT_WAIT);
    assert_int_equal(ax_ev_find(&g, NB_AGENT_EV_AVAILABLE, 0), 0);
    assert_int_equal(f.meta_gets, 0);
    assert_int_equal(f.frame_gets[0], 0);
    struct nb_agent_status st;
    nb_agent_status(&g.a, &st);
    assert_string_equal(st.phase_name, "available");
    int64_t now = wall(&g);
    assert_int_equal(command(&g, NB_AGENT_CMD_POSTPONE, 0, 600), NB_OK);
    assert_int_equal(ax_drive(&g, &f, true, 100).what, NB_AGENT_REBOOT);
    int sc = ax_ev_find(&g, NB_AGENT_EV_SCHEDULED, 0);
    assert_true(sc > 0 && g.ev[sc].at_s == now + 600);
    assert_true(wall(&g) >= now + 600);
    assert_int_equal(f.meta_gets, 1);
    assert_int_equal(slot_b(&g), NB_BOOTCTL_TRIAL);
    nb_agent_fini(&g.a);
    dx_close(&g.d);
}

/* ask + schedule_at two hours ahead: nothing before, installed after. */
static void test_policy_schedule_at(void **state)
{
    (void)state;
    struct ax_rig g;
    struct ax_fake f = {.offer = true, .drop_frame = -1};
    ax_rig_provision(&g);
    g.policy = NB_AGENT_POLICY_ASK;
    ax_rig_agent(&g, false, true, NB_BOOTCTL_A);
    assert_int_equal(ax_drive(&g, &f, true, 1).what, NB_AGENT_WAIT);
    int64_t at = wall(&g) + 7200;
    assert_int_equal(command(&g, NB_AGENT_CMD_SCHEDULE_AT, at, 0), NB_OK);
    assert_int_equal(ax_drive(&g, &f, true, 2).what, NB_AGENT_WAIT); /* 3600 s, then 3600 s */
    assert_int_equal(f.meta_gets, 0);
    assert_int_equal(ax_drive(&g, &f, true, 100).what, NB_AGENT_REBOOT);
    assert_true(wall(&g) >= at);
    assert_int_equal(f.meta_gets, 1);
    nb_agent_fini(&g.a);
    dx_close(&g.d);
}

/* cancel: the ready update is dropped (CANCELLED), the same deployment
 * offered at the next check-in is ignored; retry checks in at once and
 * takes it again, and the frames already in the slot are not fetched
 * again. */
static void test_policy_cancel_retry(void **state)
{
    (void)state;
    struct ax_rig g;
    struct ax_fake f = {.offer = true, .drop_frame = -1};
    ax_rig_provision(&g);
    g.policy = NB_AGENT_POLICY_DOWNLOAD_ONLY;
    ax_rig_agent(&g, false, true, NB_BOOTCTL_A);
    assert_int_equal(ax_drive(&g, &f, true, 1).what, NB_AGENT_WAIT);
    assert_true(ax_ev_find(&g, NB_AGENT_EV_READY, 0) > 0);
    assert_int_equal(command(&g, NB_AGENT_CMD_CANCEL, 0, 0), NB_OK);
    assert_int_equal(ax_drive(&g, &f, true, 3).what, NB_AGENT_WAIT); /* polls on */
    assert_true(ax_ev_find(&g, NB_AGENT_EV_CANCELLED, 0) > 0);
    assert_true(f.checkins >= 2);
    assert_int_equal(ax_ev_find(&g, NB_AGENT_EV_AVAILABLE, 1), -1); /* not offered again */
    assert_int_equal(command(&g, NB_AGENT_CMD_INSTALL_NOW, 0, 0), NB_EINVAL);
    int checkins = f.checkins;
    /* The fake's instruction expires an hour after FX_NOW: the wall clock
     * (which may jump) is set back so the retried one is still valid. */
    g.clock.unix_s = FX_NOW + 100 - (int64_t)(g.clock.ms / 1000);
    assert_int_equal(command(&g, NB_AGENT_CMD_RETRY, 0, 0), NB_OK);
    assert_int_equal(ax_drive(&g, &f, true, g.n_waits + 1).what, NB_AGENT_WAIT);
    assert_int_equal(f.checkins, checkins + 1);
    assert_true(ax_ev_find(&g, NB_AGENT_EV_AVAILABLE, 1) > 0);
    for (uint32_t i = 0; i < AX_IMG_LEN / AX_FS; i++)
        assert_int_equal(f.frame_gets[i], 1);
    nb_agent_fini(&g.a);
    dx_close(&g.d);
}

/* The server takes the update back after announcing it (an aborted
 * rollout cancels the deployment): its download is answered 403, the
 * agent drops it, says so (CANCELLED, by the server, with why), touches
 * no slot, and polls on. */
static void test_withdrawn_by_server(void **state)
{
    (void)state;
    struct ax_rig g;
    struct ax_fake f = {.offer = true, .drop_frame = -1, .withdrawn = true};
    ax_rig_provision(&g);
    ax_rig_agent(&g, false, true, NB_BOOTCTL_A);
    assert_int_equal(ax_drive(&g, &f, true, 2).what, NB_AGENT_WAIT);
    int av = ax_ev_find(&g, NB_AGENT_EV_AVAILABLE, 0),
        cx = ax_ev_find(&g, NB_AGENT_EV_CANCELLED, 0);
    assert_true(av >= 0 && cx > av);
    assert_true(g.ev[cx].by_server);
    assert_string_equal(g.ev[cx].version, "1.2.3");
    assert_non_null(strstr(g.ev[cx].detail, "HTTP 403"));
    assert_int_equal(ax_ev_find(&g, NB_AGENT_EV_INSTALLING, 0), -1);
    assert_int_equal(ax_ev_find(&g, NB_AGENT_EV_FAILED, 0), -1);
    assert_int_equal(slot_b(&g), NB_BOOTCTL_EMPTY);
    assert_true(f.checkins >= 2); /* it polls on */
    nb_agent_fini(&g.a);
    dx_close(&g.d);
}

/* The countdown: "rebooting in 60 s"; postpone makes it 120 s more (a new
 * event); cancel is refused (the trial is armed); install-now reboots at
 * once. */
static void test_policy_reboot_countdown(void **state)
{
    (void)state;
    struct ax_rig g;
    struct ax_fake f = {.offer = true, .drop_frame = -1};
    ax_rig_provision(&g);
    g.reboot_delay_s = 60;
    ax_rig_agent(&g, false, true, NB_BOOTCTL_A);
    assert_int_equal(ax_drive(&g, &f, true, 1).what, NB_AGENT_WAIT);
    assert_int_equal(g.waits_ms[0], 60000);
    assert_int_equal(command(&g, NB_AGENT_CMD_POSTPONE, 0, 120), NB_OK);
    int second =
        ax_ev_find(&g, NB_AGENT_EV_REBOOTING, ax_ev_find(&g, NB_AGENT_EV_REBOOTING, 0) + 1);
    assert_true(second > 0 && g.ev[second].in_s == 120);
    assert_int_equal(command(&g, NB_AGENT_CMD_CANCEL, 0, 0), NB_EINVAL);
    assert_int_equal(ax_drive(&g, &f, true, 2).what, NB_AGENT_WAIT);
    assert_int_equal(g.waits_ms[1], 120000);
    assert_int_equal(command(&g, NB_AGENT_CMD_POSTPONE, 0, 500), NB_OK);
    assert_int_equal(command(&g, NB_AGENT_CMD_INSTALL_NOW, 0, 0), NB_OK);
    assert_int_equal(ax_drive(&g, &f, true, 100).what, NB_AGENT_REBOOT);
    assert_int_equal(g.n_waits, 2);
    nb_agent_fini(&g.a);
    dx_close(&g.d);
}

/* Health failure and success reach the UI: FAILED with E_HEALTH and the
 * failing check, SUCCEEDED on commit. */
static void test_events_health(void **state)
{
    (void)state;
    struct ax_rig g;
    struct ax_fake f = {.offer = true, .drop_frame = -1};
    ax_rig_provision(&g);
    ax_rig_agent(&g, true, true, NB_BOOTCTL_A);
    assert_int_equal(ax_drive(&g, &f, true, 100).what, NB_AGENT_REBOOT);
    nb_agent_fini(&g.a);
    ax_power_on(&g, NB_BOOTCTL_B, "1.2.3");
    g.n_ev = 0;
    ax_rig_agent(&g, true, true, NB_BOOTCTL_B);
    assert_int_equal(ax_drive(&g, &f, false, 100).what, NB_AGENT_REBOOT);
    int fe = ax_ev_find(&g, NB_AGENT_EV_FAILED, 0);
    assert_true(fe >= 0 && g.ev[fe].code == NB_EHEALTH && g.ev[fe].retry_in_s == 0);
    assert_string_equal(g.ev[fe].version, "1.2.3");
    assert_non_null(strstr(g.ev[fe].detail, "20-app"));
    assert_int_equal(ax_ev_find(&g, NB_AGENT_EV_SUCCEEDED, 0), -1);
    nb_agent_fini(&g.a);
    dx_close(&g.d);
}

/* Every error code in err.h has its own remedy: a sentence and what to do,
 * neither empty nor "something went wrong". */
static void test_remedy_table_covers_err_h(void **state)
{
    (void)state;
    static const enum nb_err codes[] = {
#define NB_ERR_CODE(e, v, name, text) e,
        NB_ERR_TABLE(NB_ERR_CODE)
#undef NB_ERR_CODE
    };
    size_t n = 0;
    const struct nb_remedy *t = nb_remedy_table(&n);
    assert_int_equal(n, sizeof codes / sizeof codes[0] - 1); /* all but NB_OK */
    for (size_t i = 0; i < sizeof codes / sizeof codes[0]; i++) {
        if (codes[i] == NB_OK)
            continue;
        const struct nb_remedy *r = nb_remedy_for(codes[i]);
        assert_int_equal(r->code, codes[i]);
        assert_true(r >= t && r < t + n);
        assert_true(strlen(r->sentence) > 10 && strlen(r->what_to_do) > 5);
        assert_null(strstr(r->sentence, "something went wrong"));
    }
    assert_int_equal(nb_remedy_for((enum nb_err) - 999)->code, NB_EINVAL); /* the fallback */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_policy_auto),
        cmocka_unit_test(test_policy_download_only),
        cmocka_unit_test(test_policy_window),
        cmocka_unit_test(test_policy_ask_postpone),
        cmocka_unit_test(test_policy_schedule_at),
        cmocka_unit_test(test_policy_cancel_retry),
        cmocka_unit_test(test_withdrawn_by_server),
        cmocka_unit_test(test_policy_reboot_countdown),
        cmocka_unit_test(test_events_health),
        cmocka_unit_test(test_remedy_table_covers_err_h),
    };
    return cmocka_run_group_tests(tests, ax_group_setup, ax_group_teardown);
}
