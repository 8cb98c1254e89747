/* Unit tests for server/window.c: the cron subset's parser (lists, ranges,
 * steps, errors that name the field) and the next window, in UTC and in
 * Europe/Berlin across both DST transitions of 2026 (29 March: 02:00 CET
 * -> 03:00 CEST; 25 October: 03:00 CEST -> 02:00 CET). */
#include "window.h"

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

/* 2026-01-01T00:00:00Z and friends. */
#define JAN1 INT64_C(1767225600)
#define MAR29_00Z INT64_C(1774742400) /* 2026-03-29T00:00:00Z, a Sunday */
#define OCT25_00Z INT64_C(1792886400) /* 2026-10-25T00:00:00Z, a Sunday */
#define H 3600

static struct window make(const char *cron, uint32_t duration_s, const char *tz)
{
    struct window w;
    struct nb_diag diag = {{0}};
    memset(&w, 0, sizeof w);
    assert_int_equal(window_cron_parse(cron, &w.cron, &diag), NB_OK);
    w.duration_s = duration_s;
    (void)snprintf(w.tz, sizeof w.tz, "%s", tz);
    return w;
}

static int64_t next_open(const struct window *w, int64_t now)
{
    int64_t open_at = 0, close_at = 0;
    assert_int_equal(window_next(w, now, &open_at, &close_at), NB_OK);
    assert_int_equal(close_at - open_at, w->duration_s);
    return open_at;
}

static void parse_fields(void **state)
{
    (void)state;
    struct window_cron c;
    struct nb_diag diag = {{0}};
    assert_int_equal(window_cron_parse("*/15 1,3-5 * 2-12/5 7", &c, &diag), NB_OK);
    assert_true(c.minute == ((UINT64_C(1) << 0) | (UINT64_C(1) << 15) | (UINT64_C(1) << 30) |
                             (UINT64_C(1) << 45)));
    assert_int_equal(c.hour, (1u << 1) | (1u << 3) | (1u << 4) | (1u << 5));
    assert_int_equal(c.month, (1u << 2) | (1u << 7) | (1u << 12));
    assert_int_equal(c.dow, 1u); /* 7 is Sunday, 0 */
    assert_true(c.dom_any);
    assert_false(c.dow_any);
    assert_int_equal(window_cron_parse("5/20 0 1 * *", &c, &diag), NB_OK);
    assert_true(c.minute == ((UINT64_C(1) << 5) | (UINT64_C(1) << 25) | (UINT64_C(1) << 45)));
}

static void parse_errors(void **state)
{
    (void)state;
    static const struct {
        const char *cron, *msg;
    } cases[] = {
        {"0 24 * * *", "cron field 2 (hour): '24' is out of 0..23"},
        {"0 2 * *", "cron: '0 2 * *' has not 5 fields"},
        {"0 2 * * * *", "has more than 5 fields"},
        {"0 2 * JAN *", "cron field 4 (month): 'JAN' is not a number"},
        {"*/0 2 * * *", "cron field 1 (minute): '*/0': a step is /N, N >= 1"},
        {"0 5-2 * * *", "cron field 2 (hour): '5-2' is out of 0..23"},
        {"0 2 0 * *", "cron field 3 (day of month): '0' is out of 1..31"},
        {"0 2,,3 * * *", "cron field 2 (hour): an empty list item"},
        {"0 2x * * *", "cron field 2 (hour): '2x': unexpected 'x'"},
        {"@daily", "has not 5 fields"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct window_cron c;
        struct nb_diag diag = {{0}};
        assert_int_equal(window_cron_parse(cases[i].cron, &c, &diag), NB_EPARSE);
        if (strstr(diag.msg, cases[i].msg) == NULL)
            fail_msg("%s: %s", cases[i].cron, diag.msg);
    }
}

static void utc_next_and_open(void **state)
{
    (void)state;
    struct window w = make("0 2 * * *", 2 * H, "UTC");
    assert_true(next_open(&w, JAN1) == JAN1 + 2 * H);         /* later today */
    assert_true(next_open(&w, JAN1 + 3 * H) == JAN1 + 2 * H); /* open now */
    assert_true(window_is_open(&w, JAN1 + 3 * H));
    assert_false(window_is_open(&w, JAN1 + 4 * H));            /* closed at 04:00 */
    assert_true(next_open(&w, JAN1 + 4 * H) == JAN1 + 26 * H); /* tomorrow */
    /* Mondays and Fridays at 22:30 (1 January 2026 was a Thursday). */
    w = make("30 22 * * 1,5", 600, "UTC");
    assert_true(next_open(&w, JAN1) == JAN1 + 22 * H + 1800 + 86400);
    /* Both day fields restricted: either matches (the 10th, or a Sunday). */
    w = make("0 0 10 * 0", 60, "UTC");
    assert_true(next_open(&w, JAN1) == JAN1 + 3 * 86400); /* Sunday 4 January */
    /* A date that never comes. */
    w = make("0 0 31 2 *", 60, "UTC");
    int64_t o, c;
    assert_int_equal(window_next(&w, JAN1, &o, &c), NB_ENOENT);
}

static void berlin_dst(void **state)
{
    (void)state;
    /* Winter: 02:00 CET is 01:00Z. */
    struct window w = make("0 2 * * *", 2 * H, "Europe/Berlin");
    assert_true(next_open(&w, JAN1) == JAN1 + 1 * H);
    /* Spring forward, 29 March: 02:30 does not exist; opens at 03:30 CEST (01:30Z). */
    w = make("30 2 * * *", H, "Europe/Berlin");
    assert_true(next_open(&w, MAR29_00Z - 86400 + 12 * H) == MAR29_00Z + H + 1800);
    /* The day after: 02:30 CEST is 00:30Z. */
    assert_true(next_open(&w, MAR29_00Z + 12 * H) == MAR29_00Z + 86400 + 1800);
    /* 03:00 on that day exists (CEST): 01:00Z. */
    w = make("0 3 * * *", H, "Europe/Berlin");
    assert_true(next_open(&w, MAR29_00Z) == MAR29_00Z + H);
    /* Fall back, 25 October: 02:30 happens twice; the first (CEST, 00:30Z) only. */
    w = make("30 2 * * *", 600, "Europe/Berlin");
    assert_true(next_open(&w, OCT25_00Z) == OCT25_00Z + 1800);
    assert_true(next_open(&w, OCT25_00Z + 1800 + 600) == OCT25_00Z + 86400 + H + 1800);
    /* Every 30 minutes from 01:00 to 03:59 local, that night: the second 02:00 and 02:30
     * (CET) are not extra windows; 03:00 CET is 02:00Z; then 01:00 CET the next day. */
    w = make("*/30 1-3 * * *", 60, "Europe/Berlin");
    int64_t t = OCT25_00Z - H, seen[8];
    size_t n = 0;
    while (n < 8) {
        t = next_open(&w, t) + 60;
        seen[n++] = t - 60;
    }
    static const int64_t want[8] = {-H,    -H + 1800,    0,     1800,
                                    2 * H, 2 * H + 1800, 86400, 86400 + 1800};
    for (size_t i = 0; i < 8; i++)
        assert_true(seen[i] == OCT25_00Z + want[i]);
}

static void time_zones(void **state)
{
    (void)state;
    struct nb_diag diag = {{0}};
    assert_int_equal(window_tz_check("Europe/Berlin", &diag), NB_OK);
    assert_int_equal(window_tz_check("UTC", &diag), NB_OK);
    assert_int_equal(window_tz_check("Europe/Atlantis", &diag), NB_EINVAL);
    assert_non_null(
        strstr(diag.msg, "time zone 'Europe/Atlantis' is not in the system's zoneinfo"));
    assert_int_equal(window_tz_check("../../etc/passwd", &diag), NB_EINVAL);
    assert_int_equal(window_tz_check("", &diag), NB_EINVAL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(parse_fields),      cmocka_unit_test(parse_errors),
        cmocka_unit_test(utc_next_and_open), cmocka_unit_test(berlin_dst),
        cmocka_unit_test(time_zones),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
