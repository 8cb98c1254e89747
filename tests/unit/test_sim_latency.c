/* nobrick-sim's latency histogram (sim/latency.c): percentiles within a
 * bucket of the exact value, counts and maximum kept, constant memory
 * whatever the samples (a value past 10 s lands in the last bucket). */
#include "latency.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

static struct sim_latency l; /* 44 KiB: not on the stack */

static void test_empty(void **state)
{
    (void)state;
    sim_latency_reset(&l);
    assert_int_equal(sim_latency_percentile(&l, 50), 0);
    assert_int_equal(sim_latency_percentile(&l, 99), 0);
}

/* 1..1000 ms, one sample each: p50 is 500 ms, p99 990 ms, to within the
 * 1 ms bucket above 10 ms. */
static void test_uniform_ms(void **state)
{
    (void)state;
    sim_latency_reset(&l);
    for (uint64_t ms = 1; ms <= 1000; ms++)
        sim_latency_add(&l, ms * 1000);
    assert_int_equal(l.count, 1000);
    assert_int_equal(l.max_us, 1000000);
    uint64_t p50 = sim_latency_percentile(&l, 50), p99 = sim_latency_percentile(&l, 99);
    assert_true(p50 >= 500000 && p50 <= 501000);
    assert_true(p99 >= 990000 && p99 <= 991000);
    assert_int_equal(sim_latency_percentile(&l, 100), 1000000);
}

/* Below 10 ms the buckets are 10 us wide. */
static void test_fine_buckets(void **state)
{
    (void)state;
    sim_latency_reset(&l);
    for (int i = 0; i < 99; i++)
        sim_latency_add(&l, 123);
    sim_latency_add(&l, 9999);
    assert_int_equal(sim_latency_percentile(&l, 50), 130);
    assert_int_equal(sim_latency_percentile(&l, 99), 130);
    assert_int_equal(sim_latency_percentile(&l, 100), 9999);
}

/* One slow outlier past the histogram's range is the maximum, not lost. */
static void test_past_range(void **state)
{
    (void)state;
    sim_latency_reset(&l);
    sim_latency_add(&l, 1000);
    sim_latency_add(&l, 60u * 1000 * 1000);
    assert_int_equal(l.count, 2);
    assert_int_equal(sim_latency_percentile(&l, 50), 1010); /* the bucket's upper edge */
    assert_int_equal(sim_latency_percentile(&l, 99), 60u * 1000 * 1000);
    assert_int_equal(l.sum_us, 60u * 1000 * 1000 + 1000);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_empty),
        cmocka_unit_test(test_uniform_ms),
        cmocka_unit_test(test_fine_buckets),
        cmocka_unit_test(test_past_range),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
