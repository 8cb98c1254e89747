/* Unit tests for the pure decisions of server/rollout_device.c: the class of
 * every error code (which failures are retried), the back-off schedule, how
 * a finished attempt is settled (retry, final, quarantine, a success
 * clearing the count), the verdict at check-in (pause, quarantine,
 * back-off, the caps), and the spec fields with their defaults and bounds. */
#include "rollout_device.h"

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#define NOW 1000000

static void test_classify_every_code(void **state)
{
    (void)state;
    static const char *const transient[] = {
        "E_TIMEOUT", "E_IO",    "E_BUSY",   "E_POWER",
        "E_NOMEM",   "E_NOSPC", "E_CRYPTO", ROLLOUT_TIMEOUT_CODE};
    static const char *const refused[] = {"E_SIG",       "E_FRESHNESS", "E_NOT_FOR_DEVICE",
                                          "E_EXPIRED",   "E_MISMATCH",  "E_HASH",
                                          "E_TRUNCATED", "E_PARSE"};
    static const char *const final[] = {
        "E_THRESHOLD", "E_ROLLBACK",    "E_LENGTH",     "E_INCOMPAT",      "E_UNAUTHORIZED",
        "E_DECRYPT",   "E_BOOT_VERIFY", "E_INVAL",      "E_UNSUPPORTED",   "E_NOENT",
        "E_EXIST",     "E_HEALTH",      "E_UNBOOTABLE", "E_SOMETHING_NEW", ""};
    size_t counts[3] = {0, 0, 0};
    for (size_t i = 0; i < sizeof transient / sizeof transient[0]; i++)
        counts[rdev_classify(STORE_ASSIGN_FAILED, transient[i])] += 1;
    assert_int_equal(counts[RDEV_TRANSIENT], 8);
    for (size_t i = 0; i < sizeof refused / sizeof refused[0]; i++)
        counts[rdev_classify(STORE_ASSIGN_FAILED, refused[i])] += 1;
    assert_int_equal(counts[RDEV_REFUSED], 8);
    for (size_t i = 0; i < sizeof final / sizeof final[0]; i++)
        counts[rdev_classify(STORE_ASSIGN_FAILED, final[i])] += 1;
    assert_int_equal(counts[RDEV_FINAL], 15);
    assert_int_equal(counts[RDEV_TRANSIENT] + counts[RDEV_REFUSED], 16);
    /* Every code of the library's table is classified on purpose: 28 of
     * them (E_OK aside) are listed above, plus the server's E_TIMED_OUT. */
    for (int e = -1; e >= NB_EUNBOOTABLE; e--) {
        const char *name = nb_errname((enum nb_err)e);
        bool seen = false;
        for (size_t i = 0; i < sizeof final / sizeof final[0] && !seen; i++)
            seen = strcmp(final[i], name) == 0;
        for (size_t i = 0; i < sizeof transient / sizeof transient[0] && !seen; i++)
            seen = strcmp(transient[i], name) == 0;
        for (size_t i = 0; i < sizeof refused / sizeof refused[0] && !seen; i++)
            seen = strcmp(refused[i], name) == 0;
        assert_true(seen);
    }
    /* A rollback (health check, silent fallback) is final whatever its code. */
    assert_int_equal(rdev_classify(STORE_ASSIGN_ROLLED_BACK, "E_IO"), RDEV_FINAL);
    assert_int_equal(rdev_classify(STORE_ASSIGN_ROLLED_BACK, ""), RDEV_FINAL);
    assert_string_equal(rdev_class_name(RDEV_REFUSED), "refused");
}

static void test_backoff_schedule(void **state)
{
    (void)state;
    static const uint32_t want[] = {300, 600, 1200, 2400, 4800, 9600, 19200, 21600, 21600};
    for (uint32_t n = 1; n <= 9; n++)
        assert_int_equal(rdev_backoff_s(300, n), want[n - 1]);
    assert_int_equal(rdev_backoff_s(2, 1), 2);
    assert_int_equal(rdev_backoff_s(2, 3), 8);
    assert_int_equal(rdev_backoff_s(1, 1000), RDEV_BACKOFF_MAX_S); /* no overflow */
    assert_int_equal(rdev_backoff_s(86400, 1), 86400);             /* a base above the cap stays */
    assert_int_equal(rdev_backoff_s(86400, 5), 86400);
}

static struct rdev_policy policy(void)
{
    struct rdev_policy p = {3, 300, 86400, RDEV_QUARANTINE_AFTER};
    return p;
}

static struct store_rollout_member member(enum store_assign_state st, const char *code,
                                          uint32_t attempt, uint32_t failures)
{
    struct store_rollout_member m;
    memset(&m, 0, sizeof m);
    memcpy(m.a.device_id, "dev", 4);
    m.a.state = st;
    (void)snprintf(m.a.code, sizeof m.a.code, "%s", code);
    m.t.attempt = attempt;
    m.q.failures = failures;
    return m;
}

static void test_settle_retry_and_final(void **state)
{
    (void)state;
    struct rdev_policy p = policy();
    struct store_settle s;
    struct store_rollout_member m = member(STORE_ASSIGN_FAILED, "E_TIMEOUT", 1, 0);
    rdev_settle(&p, &m, NOW, &s);
    assert_true(s.retry && s.count);
    assert_int_equal(s.not_before, NOW + 300);
    assert_int_equal(s.failures, 1);
    assert_int_equal(s.quarantined_until, 0);
    assert_string_equal(s.code, "E_TIMEOUT");

    m = member(STORE_ASSIGN_FAILED, "E_FRESHNESS", 2, 1); /* refused: retried too */
    rdev_settle(&p, &m, NOW, &s);
    assert_true(s.retry);
    assert_int_equal(s.not_before, NOW + 600);
    assert_int_equal(s.failures, 2);

    m = member(STORE_ASSIGN_FAILED, "E_IO", 3, 0); /* the last attempt */
    rdev_settle(&p, &m, NOW, &s);
    assert_false(s.retry);
    assert_int_equal(s.failures, 1);

    m = member(STORE_ASSIGN_ROLLED_BACK, "E_HEALTH", 1, 0);
    rdev_settle(&p, &m, NOW, &s);
    assert_false(s.retry);
    assert_true(s.count);
    assert_string_equal(s.code, "E_HEALTH");

    m = member(STORE_ASSIGN_ROLLED_BACK, "", 1, 0); /* a silent fallback */
    rdev_settle(&p, &m, NOW, &s);
    assert_false(s.retry);
    assert_string_equal(s.code, "rolled_back");

    m = member(STORE_ASSIGN_FAILED, ROLLOUT_TIMEOUT_CODE, 2, 0); /* silent or slow */
    rdev_settle(&p, &m, NOW, &s);
    assert_true(s.retry);
    assert_int_equal(s.not_before, NOW + 600);
    assert_int_equal(s.failures, 1);

    m = member(STORE_ASSIGN_FAILED, "E_INCOMPAT", 1, 0); /* not made for this device */
    rdev_settle(&p, &m, NOW, &s);
    assert_false(s.retry);
}

static void test_settle_quarantine(void **state)
{
    (void)state;
    struct rdev_policy p = policy();
    struct store_settle s;
    /* The third failure in a row (two from other rollouts) quarantines,
     * and a retry waits for the quarantine's end. */
    struct store_rollout_member m = member(STORE_ASSIGN_FAILED, "E_IO", 1, 2);
    rdev_settle(&p, &m, NOW, &s);
    assert_int_equal(s.failures, 3);
    assert_int_equal(s.since, NOW);
    assert_int_equal(s.quarantined_until, NOW + 86400);
    assert_true(s.retry);
    assert_int_equal(s.not_before, NOW + 86400);

    /* Still quarantined: a failure counts, the quarantine is not extended. */
    m = member(STORE_ASSIGN_FAILED, "E_HEALTH", 1, 3);
    m.q.until = NOW + 50;
    m.q.since = NOW - 100;
    rdev_settle(&p, &m, NOW, &s);
    assert_int_equal(s.failures, 4);
    assert_int_equal(s.quarantined_until, NOW + 50);
    assert_int_equal(s.since, NOW - 100);

    /* A quarantine served starts the count afresh. */
    m.q.until = NOW - 1;
    rdev_settle(&p, &m, NOW, &s);
    assert_int_equal(s.failures, 1);
    assert_int_equal(s.quarantined_until, NOW - 1);

    /* A success clears the failures; a device with none writes nothing. */
    m = member(STORE_ASSIGN_SUCCEEDED, "", 2, 2);
    rdev_settle(&p, &m, NOW, &s);
    assert_true(s.count);
    assert_false(s.retry);
    assert_int_equal(s.failures, 0);
    m = member(STORE_ASSIGN_SUCCEEDED, "", 1, 0);
    rdev_settle(&p, &m, NOW, &s);
    assert_false(s.count);
    assert_true(rdev_quarantined(&(struct store_quarantine){.until = NOW + 1}, NOW));
    assert_false(rdev_quarantined(&(struct store_quarantine){.until = NOW}, NOW));
}

static struct store_start_facts facts(enum store_rollout_state rs, enum store_assign_state st)
{
    struct store_start_facts f;
    memset(&f, 0, sizeof f);
    f.rollout_state = rs;
    f.state = st;
    f.t.attempt = 1;
    return f;
}

static void test_start_verdict(void **state)
{
    (void)state;
    struct rdev_caps none = {0, 0}, caps = {2, 3};
    struct store_start_facts f = facts(STORE_ROLLOUT_RUNNING, STORE_ASSIGN_PENDING);
    assert_int_equal(rdev_start_verdict(&none, &f, NOW), STORE_START_GO);
    /* Paused: neither a pending nor a notified device starts. */
    f.rollout_state = STORE_ROLLOUT_PAUSED;
    assert_int_equal(rdev_start_verdict(&none, &f, NOW), STORE_START_HELD);
    f.state = STORE_ASSIGN_NOTIFIED;
    assert_int_equal(rdev_start_verdict(&none, &f, NOW), STORE_START_HELD);
    f.rollout_state = STORE_ROLLOUT_DRAFT;
    assert_int_equal(rdev_start_verdict(&none, &f, NOW), STORE_START_HELD);
    /* Running: a notified device is re-instructed whatever the caps. */
    f.rollout_state = STORE_ROLLOUT_RUNNING;
    f.downloading = 99;
    f.started_last_min = 99;
    assert_int_equal(rdev_start_verdict(&caps, &f, NOW), STORE_START_GO);
    /* A completed rollout still serves its late devices. */
    f = facts(STORE_ROLLOUT_COMPLETED, STORE_ASSIGN_PENDING);
    assert_int_equal(rdev_start_verdict(&caps, &f, NOW), STORE_START_GO);

    f = facts(STORE_ROLLOUT_RUNNING, STORE_ASSIGN_PENDING);
    f.quarantined_until = NOW + 1;
    f.t.not_before = NOW + 10;
    assert_int_equal(rdev_start_verdict(&caps, &f, NOW), STORE_START_QUARANTINED);
    f.quarantined_until = NOW;
    assert_int_equal(rdev_start_verdict(&caps, &f, NOW), STORE_START_BACKOFF);
    f.t.not_before = NOW;
    assert_int_equal(rdev_start_verdict(&caps, &f, NOW), STORE_START_GO);
    /* The download cap: 3 in flight is full. */
    f.downloading = 3;
    assert_int_equal(rdev_start_verdict(&caps, &f, NOW), STORE_START_DOWNLOADS);
    f.downloading = 2;
    /* The start rate: 2 first starts this minute is full, for first starts only. */
    f.started_last_min = 2;
    assert_int_equal(rdev_start_verdict(&caps, &f, NOW), STORE_START_RATE);
    assert_int_equal(rdev_start_verdict(&none, &f, NOW), STORE_START_GO);
    f.t.first_started_at = NOW - 500; /* a retry: started before */
    assert_int_equal(rdev_start_verdict(&caps, &f, NOW), STORE_START_GO);
    f.t.first_started_at = 0;
    f.started_last_min = 1;
    assert_int_equal(rdev_start_verdict(&caps, &f, NOW), STORE_START_GO);
    assert_string_equal(rdev_start_name(STORE_START_RATE), "rate cap");
}

/* A rate cap run as the check-ins would: 10 devices check in every 10 s;
 * no 60 s window ever holds more than the cap of first starts. */
static void test_rate_cap_window(void **state)
{
    (void)state;
    struct rdev_caps caps = {2, 0};
    int64_t started[10] = {0};
    size_t n_started = 0;
    for (int64_t now = NOW; now < NOW + 600 && n_started < 10; now += 10) {
        for (size_t d = 0; d < 10; d++) {
            if (started[d] != 0)
                continue;
            struct store_start_facts f = facts(STORE_ROLLOUT_RUNNING, STORE_ASSIGN_PENDING);
            for (size_t k = 0; k < 10; k++)
                f.started_last_min += started[k] > now - 60;
            if (rdev_start_verdict(&caps, &f, now) == STORE_START_GO) {
                started[d] = now;
                n_started++;
            }
        }
    }
    assert_int_equal(n_started, 10);
    for (size_t a = 0; a < 10; a++) {
        uint32_t in_window = 0;
        for (size_t b = 0; b < 10; b++)
            in_window += started[b] >= started[a] && started[b] < started[a] + 60;
        assert_true(in_window <= 2);
    }
    /* 10 devices at 2 per minute: the last starts 4 minutes after the first. */
    assert_int_equal(started[9] - started[0], 240);
}

static void test_spec_fields(void **state)
{
    (void)state;
    static struct rollout_spec s;
    const char *field = NULL;
    struct nb_diag diag = {{0}};
    json_t *o = json_object();
    assert_int_equal(rollout_spec_read(o, &s, &field, &diag), NB_OK);
    assert_int_equal(s.device_timeout_s, 7200);
    assert_int_equal(s.lease_s, 1800);
    assert_int_equal(s.retry_max, 3);
    assert_int_equal(s.retry_backoff_s, 300);
    assert_int_equal(s.quarantine_s, 86400);
    assert_int_equal(s.start_rate_per_min, 0);
    assert_int_equal(s.max_downloading, 0);
    json_object_set_new(o, "start_rate_per_min", json_integer(2));
    json_object_set_new(o, "retry_backoff_s", json_integer(5));
    assert_int_equal(rollout_spec_read(o, &s, &field, &diag), NB_OK);
    json_t *back = rollout_spec_json(&s);
    assert_int_equal(json_integer_value(json_object_get(back, "start_rate_per_min")), 2);
    assert_int_equal(json_integer_value(json_object_get(back, "retry_backoff_s")), 5);
    assert_int_equal(json_integer_value(json_object_get(back, "lease_s")), 1800);
    json_decref(back);
    json_object_set_new(o, "retry_max", json_integer(0));
    assert_int_equal(rollout_spec_read(o, &s, &field, &diag), NB_EPARSE);
    assert_string_equal(field, "retry_max");
    assert_string_equal(diag.msg, "field 'retry_max': an integer 1..10");
    json_object_set_new(o, "retry_max", json_integer(2));
    json_object_set_new(o, "lease_s", json_string("1h"));
    assert_int_equal(rollout_spec_read(o, &s, &field, &diag), NB_EPARSE);
    assert_string_equal(field, "lease_s");
    json_decref(o);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_classify_every_code),
        cmocka_unit_test(test_backoff_schedule),
        cmocka_unit_test(test_settle_retry_and_final),
        cmocka_unit_test(test_settle_quarantine),
        cmocka_unit_test(test_start_verdict),
        cmocka_unit_test(test_rate_cap_window),
        cmocka_unit_test(test_spec_fields),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
