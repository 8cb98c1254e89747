/* The send times of nobrick-sim's requests in flight (sim/inflight.c): the
 * oldest is the earliest still unanswered, whatever order the answers come
 * in; the ring holds max_requests requests at any spread of send times,
 * and refuses a caller's bugs (out of order, an unknown answer, too many). */
#include "inflight.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

static uint64_t oldest(const struct sim_inflight *a)
{
    uint64_t t = 0;
    assert_true(sim_inflight_oldest(a, &t));
    return t;
}

static void test_empty(void **state)
{
    (void)state;
    struct sim_inflight a;
    uint64_t t = 7;
    assert_int_equal(sim_inflight_init(&a, 4), NB_OK);
    assert_false(sim_inflight_oldest(&a, &t));
    assert_int_equal(t, 7);
    assert_false(sim_inflight_remove(&a, 0));
    sim_inflight_fini(&a);
}

/* Answers out of order: the oldest moves only when its last request is
 * answered, then to the next time still counted. */
static void test_oldest_follows_answers(void **state)
{
    (void)state;
    struct sim_inflight a;
    assert_int_equal(sim_inflight_init(&a, 8), NB_OK);
    const uint64_t sent[] = {100, 100, 250, 250, 250, 900};
    for (size_t i = 0; i < 6; i++)
        assert_true(sim_inflight_add(&a, sent[i]));
    assert_int_equal(a.len, 3); /* one batch a distinct time */
    assert_int_equal(oldest(&a), 100);
    assert_true(sim_inflight_remove(&a, 250));
    assert_true(sim_inflight_remove(&a, 100));
    assert_int_equal(oldest(&a), 100);
    assert_true(sim_inflight_remove(&a, 100));
    assert_int_equal(oldest(&a), 250);
    assert_true(sim_inflight_remove(&a, 900));
    assert_int_equal(oldest(&a), 250); /* the newest answered: the oldest stays */
    assert_true(sim_inflight_remove(&a, 250));
    assert_true(sim_inflight_remove(&a, 250));
    uint64_t t;
    assert_false(sim_inflight_oldest(&a, &t));
    assert_int_equal(a.len, 0);
    sim_inflight_fini(&a);
}

/* One request stuck at time 0 while 3 others are sent and answered at
 * 10,000 distinct times: the answered batches behind it are squeezed out,
 * the ring never grows past 2 x 4, the stuck one stays the oldest. */
static void test_stuck_request(void **state)
{
    (void)state;
    struct sim_inflight a;
    assert_int_equal(sim_inflight_init(&a, 4), NB_OK);
    assert_true(sim_inflight_add(&a, 0));
    for (uint64_t t = 1; t <= 10000; t++) {
        for (int k = 0; k < 3; k++)
            assert_true(sim_inflight_add(&a, t));
        for (int k = 0; k < 3; k++)
            assert_true(sim_inflight_remove(&a, t));
        assert_true(a.len <= a.cap);
        assert_int_equal(oldest(&a), 0);
    }
    assert_int_equal(a.cap, 8);
    assert_true(sim_inflight_remove(&a, 0));
    assert_int_equal(a.len, 0);
    sim_inflight_fini(&a);
}

/* Caller's bugs change nothing: a time earlier than the last, an answer to
 * a time never sent or already answered, a fifth request at a fifth
 * distinct time... only once the ring is full of live batches. */
static void test_refusals(void **state)
{
    (void)state;
    struct sim_inflight a;
    assert_int_equal(sim_inflight_init(&a, 2), NB_OK);
    assert_true(sim_inflight_add(&a, 10));
    assert_false(sim_inflight_add(&a, 9));
    assert_false(sim_inflight_remove(&a, 11));
    assert_true(sim_inflight_remove(&a, 10));
    assert_false(sim_inflight_remove(&a, 10));
    for (uint64_t t = 20; t < 24; t++) /* 4 live batches: the ring's 2 x 2 */
        assert_true(sim_inflight_add(&a, t));
    assert_false(sim_inflight_add(&a, 30));
    assert_int_equal(a.len, 4);
    assert_int_equal(oldest(&a), 20);
    assert_true(sim_inflight_remove(&a, 21)); /* a gap in the middle: room again */
    assert_true(sim_inflight_add(&a, 30));
    assert_int_equal(a.len, 4);
    assert_int_equal(oldest(&a), 20);
    sim_inflight_fini(&a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_empty),
        cmocka_unit_test(test_oldest_follows_answers),
        cmocka_unit_test(test_stuck_request),
        cmocka_unit_test(test_refusals),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
