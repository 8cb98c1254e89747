/* Unit tests for server/assignment.c, the per-device state machine of a
 * deployment: every (from, to) pair a device may report, final states, and
 * how a check-in's version settles an assignment (success only on the new
 * version, a silent fallback after commit is a rollback). */
#include "assignment.h"

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#define P STORE_ASSIGN_PENDING
#define N STORE_ASSIGN_NOTIFIED
#define DL STORE_ASSIGN_DOWNLOADING
#define IN STORE_ASSIGN_INSTALLING
#define RB STORE_ASSIGN_REBOOTING
#define CM STORE_ASSIGN_COMMITTED
#define OK STORE_ASSIGN_SUCCEEDED
#define FA STORE_ASSIGN_FAILED
#define RO STORE_ASSIGN_ROLLED_BACK
#define CA STORE_ASSIGN_CANCELLED

static void test_matrix(void **state)
{
    (void)state;
    /* allowed[from][to]: 1 when a device may report `to` in state `from`. */
    static const int allowed[STORE_ASSIGN_COUNT][STORE_ASSIGN_COUNT] = {
        /*        P  N  DL IN RB CM OK FA RO CA */
        [P] = {0, 0, 1, 1, 1, 1, 0, 1, 1, 0},
        [N] = {0, 0, 1, 1, 1, 1, 0, 1, 1, 0},
        [DL] = {0, 0, 1, 1, 1, 1, 0, 1, 1, 0},
        [IN] = {0, 0, 0, 1, 1, 1, 0, 1, 1, 0},
        [RB] = {0, 0, 0, 0, 1, 1, 0, 1, 1, 0},
        [CM] = {0, 0, 0, 0, 0, 0, 0, 0, 1, 0},
        [OK] = {0},
        [FA] = {0},
        [RO] = {0},
        [CA] = {0},
    };
    for (int from = 0; from < STORE_ASSIGN_COUNT; from++) {
        for (int to = 0; to < STORE_ASSIGN_COUNT; to++) {
            bool got = assignment_device_may_report(from, to);
            if (got != (allowed[from][to] != 0))
                fail_msg("%s -> %s: got %d", store_assign_state_name(from),
                         store_assign_state_name(to), got);
        }
    }
}

static void test_final(void **state)
{
    (void)state;
    for (int st = 0; st < STORE_ASSIGN_COUNT; st++)
        assert_int_equal(assignment_is_final(st), st == OK || st == FA || st == RO || st == CA);
}

/* Download progress: the reported figure while downloading; complete once
 * the device is past the download or succeeded; untouched otherwise. */
static void test_progress(void **state)
{
    (void)state;
    assert_int_equal(assignment_progress(DL, 40, 20), 40);
    assert_int_equal(assignment_progress(IN, 0, 75), 100);
    assert_int_equal(assignment_progress(RB, 0, 75), 100);
    assert_int_equal(assignment_progress(CM, 0, 75), 100);
    assert_int_equal(assignment_progress(OK, 0, 75), 100);
    assert_int_equal(assignment_progress(FA, 0, 75), 75);
    assert_int_equal(assignment_progress(RO, 0, 75), 75);
    assert_int_equal(assignment_progress(CA, 0, 0), 0);
}

static void test_checkin(void **state)
{
    (void)state;
    assert_int_equal(assignment_on_checkin(CM, "1.2.0", "1.2.0"), OK);
    assert_int_equal(assignment_on_checkin(CM, "1.1.0", "1.2.0"), RO); /* silent fallback */
    assert_int_equal(assignment_on_checkin(P, "1.2.0", "1.2.0"), OK);  /* already there */
    assert_int_equal(assignment_on_checkin(P, "1.1.0", "1.2.0"), P);
    assert_int_equal(assignment_on_checkin(DL, "1.1.0", "1.2.0"), DL);
    assert_int_equal(assignment_on_checkin(RB, "1.1.0", "1.2.0"), RB);
    assert_int_equal(assignment_on_checkin(FA, "1.2.0", "1.2.0"), FA); /* final stays */
    assert_int_equal(assignment_on_checkin(CA, "1.2.0", "1.2.0"), CA);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_matrix),
        cmocka_unit_test(test_final),
        cmocka_unit_test(test_checkin),
        cmocka_unit_test(test_progress),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
