/* Unit tests for server/rollout_control.c's pure decisions: the version
 * range of a selection (SemVer order, pre-releases, bounds inclusive,
 * versions that are not SemVer), the rollback's security-counter check
 * (devices refuse a lower counter: the remedy is in the sentence), the
 * escalation of a gate's pause with auto_rollback, and the spec fields of
 * rollout control read back and refused with the field named. */
#include "rollout_control.h"

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

static struct rollout_spec range(const char *lo, const char *hi)
{
    struct rollout_spec s;
    memset(&s, 0, sizeof s);
    (void)snprintf(s.min_version, sizeof s.min_version, "%s", lo);
    (void)snprintf(s.max_version, sizeof s.max_version, "%s", hi);
    return s;
}

static void version_range(void **state)
{
    (void)state;
    static const struct {
        const char *lo, *hi, *v, *why; /* why NULL: in range */
    } cases[] = {
        {"", "", "anything", NULL},
        {"1.2.0", "", "1.2.0", NULL},
        {"1.2.0", "", "1.10.0", NULL}, /* numeric, not text, order */
        {"1.2.0", "", "1.1.9", "runs 1.1.9, below min_version 1.2.0"},
        {"1.2.0", "", "1.2.0-rc.1", "runs 1.2.0-rc.1, below min_version 1.2.0"},
        {"", "1.2.9", "1.2.9", NULL},
        {"", "1.2.9", "1.3.0", "runs 1.3.0, above max_version 1.2.9"},
        {"1.0.0", "2.0.0", "2.0.0-beta", NULL},
        {"1.0.0", "2.0.0", "2.0.0+build.5", NULL},
        {"1.0.0", "", "", "runs '', not a SemVer version"},
        {"1.0.0", "", "v1.2", "runs 'v1.2', not a SemVer version"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct rollout_spec s = range(cases[i].lo, cases[i].hi);
        char why[ROLLOUT_WHY_MAX] = "";
        bool in = rollout_version_in_range(&s, cases[i].v, why, sizeof why);
        if (in != (cases[i].why == NULL) || (cases[i].why != NULL && strcmp(why, cases[i].why)))
            fail_msg("case %zu (%s): in %d, why '%s'", i, cases[i].v, in, why);
    }
}

static struct store_release rel(int64_t id, const char *version, uint64_t counter)
{
    struct store_release r;
    memset(&r, 0, sizeof r);
    r.id = id;
    (void)snprintf(r.version, sizeof r.version, "%s", version);
    r.security_counter = counter;
    return r;
}

static void rollback_counter(void **state)
{
    (void)state;
    char why[ROLLOUT_WHY_MAX] = "";
    struct store_release bad = rel(3, "1.3.0", 5);
    struct store_release same = rel(2, "1.2.0", 5), higher = rel(4, "1.2.0-r", 6),
                         lower = rel(1, "1.2.0", 4);
    assert_int_equal(rollout_rollback_check(&bad, &same, why, sizeof why), NB_OK);
    assert_int_equal(rollout_rollback_check(&bad, &higher, why, sizeof why), NB_OK);
    assert_int_equal(rollout_rollback_check(&bad, &lower, why, sizeof why), NB_EROLLBACK);
    assert_string_equal(why, "release 1.2.0 has security counter 4, below the 5 of release 1.3.0 "
                             "that the devices committed: they would refuse it (anti-rollback). "
                             "Re-sign the 1.2.0 image with security counter 5 as a new release "
                             "and roll back to that");
    assert_int_equal(rollout_rollback_check(&bad, &bad, why, sizeof why), NB_EINVAL);
    same.withdrawn = true;
    assert_int_equal(rollout_rollback_check(&bad, &same, why, sizeof why), NB_EINVAL);
    assert_non_null(strstr(why, "is withdrawn"));
}

static void escalate(void **state)
{
    (void)state;
    struct rollout_spec s;
    memset(&s, 0, sizeof s);
    struct gate_result g = {GATE_PAUSE, GATE_R_WAVE_FAILURES, "wave 1 paused: 2 failed"};
    rollout_escalate(&s, &g);
    assert_int_equal(g.decision, GATE_PAUSE); /* not opted in */
    s.auto_rollback = true;
    rollout_escalate(&s, &g);
    assert_int_equal(g.decision, GATE_ABORT);
    assert_string_equal(g.reason, "wave 1 paused: 2 failed; aborted for its automatic rollback");
    struct gate_result h = {GATE_HOLD, GATE_R_SOAKING, "holds"};
    rollout_escalate(&s, &h);
    assert_int_equal(h.decision, GATE_HOLD);
    s.rollback_of = 7; /* a rollback does not roll itself back */
    struct gate_result k = {GATE_PAUSE, GATE_R_WAVE_FAILURES, "paused"};
    rollout_escalate(&s, &k);
    assert_int_equal(k.decision, GATE_PAUSE);
}

static enum nb_err read_text(const char *text, struct rollout_spec *s, const char **field,
                             char *msg)
{
    json_t *o = json_loads(text, 0, NULL);
    struct nb_diag diag = {{0}};
    assert_non_null(o);
    enum nb_err err = rollout_spec_read(o, s, field, &diag);
    (void)snprintf(msg, 200, "%s", diag.msg);
    json_decref(o);
    return err;
}

static void spec_fields(void **state)
{
    (void)state;
    struct rollout_spec s;
    const char *field = NULL;
    char msg[200];
    assert_int_equal(read_text("{\"select\":{\"min_version\":\"1.2.0\",\"max_version\":\"1.9.0\"},"
                               "\"auto_rollback\":{\"release\":\"1.1.0\"},\"approvals_required\":2,"
                               "\"window\":{\"cron\":\"0 2 * * 1-5\",\"duration_s\":7200,"
                               "\"tz\":\"Europe/Berlin\",\"download_only\":true}}",
                               &s, &field, msg),
                     NB_OK);
    assert_string_equal(s.min_version, "1.2.0");
    assert_true(s.auto_rollback);
    assert_string_equal(s.rollback_version, "1.1.0");
    assert_int_equal(s.approvals_required, 2);
    assert_true(s.has_window && s.download_only);
    assert_int_equal(s.window.duration_s, 7200);
    /* Written and read back: the same. */
    json_t *o = rollout_spec_json(&s);
    char text[2048];
    size_t n = json_dumpb(o, text, sizeof text - 1, JSON_COMPACT);
    assert_true(n > 0 && n < sizeof text - 1);
    text[n] = '\0';
    struct rollout_spec back;
    assert_int_equal(rollout_spec_parse(text, &back), NB_OK);
    assert_memory_equal(&back.window, &s.window, sizeof s.window);
    assert_string_equal(back.rollback_version, "1.1.0");
    json_decref(o);
    static const struct {
        const char *text, *field, *msg;
    } bad[] = {
        {"{\"select\":{\"min_version\":\"1.2\"}}", "min_version", "SemVer"},
        {"{\"select\":{\"min_version\":\"2.0.0\",\"max_version\":\"1.0.0\"}}", "max_version",
         "below min_version"},
        {"{\"select\":{\"version\":\"1.0.0\"}}", "select", "min_version and max_version"},
        {"{\"approvals_required\":9}", "approvals_required", "1..5"},
        {"{\"auto_rollback\":\"yes\"}", "auto_rollback", "true, false"},
        {"{\"window\":{\"cron\":\"0 2 * *\"}}", "window", "has not 5 fields"},
        {"{\"window\":{\"cron\":\"0 2 * * *\",\"tz\":\"Nowhere/City\"}}", "window",
         "not in the system's zoneinfo"},
        {"{\"window\":{\"cron\":\"0 2 * * *\",\"duration_s\":10}}", "duration_s", "60..604800"},
        {"{\"window\":{\"cron\":\"0 2 * * *\",\"start\":1}}", "window", "an object of cron"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        field = NULL;
        assert_int_equal(read_text(bad[i].text, &s, &field, msg), NB_EPARSE);
        if (field == NULL || strcmp(field, bad[i].field) != 0 || strstr(msg, bad[i].msg) == NULL)
            fail_msg("%s: field %s, '%s'", bad[i].text, field ? field : "(null)", msg);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(version_range),
        cmocka_unit_test(rollback_counter),
        cmocka_unit_test(escalate),
        cmocka_unit_test(spec_fields),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
