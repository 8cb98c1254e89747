/* Unit tests for server/download.c's Range parser: the three range forms,
 * clipping at the end, 416 cases, and headers it must ignore (several
 * ranges, bad syntax, numbers that overflow 64 bits). */
#include "download.h"

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

static void expect(const char *h, uint64_t size, enum range_kind kind, uint64_t off, uint64_t len)
{
    uint64_t o = 777, l = 777;
    assert_int_equal(range_parse(h, size, &o, &l), kind);
    if (kind == RANGE_PARTIAL) {
        assert_int_equal(o, off);
        assert_int_equal(l, len);
    }
}

static void test_forms(void **state)
{
    (void)state;
    expect("bytes=0-31", 100, RANGE_PARTIAL, 0, 32);
    expect("bytes=10-10", 100, RANGE_PARTIAL, 10, 1);
    expect("bytes=90-", 100, RANGE_PARTIAL, 90, 10);
    expect("bytes=-10", 100, RANGE_PARTIAL, 90, 10);
    expect("bytes=-1000", 100, RANGE_PARTIAL, 0, 100);   /* suffix longer than the file */
    expect("bytes=50-1000", 100, RANGE_PARTIAL, 50, 50); /* clipped at the end */
    expect("bytes=99-99", 100, RANGE_PARTIAL, 99, 1);
}

static void test_unsatisfiable(void **state)
{
    (void)state;
    expect("bytes=100-", 100, RANGE_UNSATISFIABLE, 0, 0);
    expect("bytes=100-200", 100, RANGE_UNSATISFIABLE, 0, 0);
    expect("bytes=-0", 100, RANGE_UNSATISFIABLE, 0, 0);
    expect("bytes=0-", 0, RANGE_UNSATISFIABLE, 0, 0);
    expect("bytes=18446744073709551615-", 100, RANGE_UNSATISFIABLE, 0, 0);
}

static void test_ignored(void **state)
{
    (void)state;
    expect(NULL, 100, RANGE_FULL, 0, 0);
    expect("", 100, RANGE_FULL, 0, 0);
    expect("items=0-1", 100, RANGE_FULL, 0, 0);
    expect("bytes=0-1,5-6", 100, RANGE_FULL, 0, 0); /* several ranges: all of it */
    expect("bytes=5-4", 100, RANGE_FULL, 0, 0);
    expect("bytes=a-4", 100, RANGE_FULL, 0, 0);
    expect("bytes=1-2x", 100, RANGE_FULL, 0, 0);
    expect("bytes= 1-2", 100, RANGE_FULL, 0, 0);
    expect("bytes=-", 100, RANGE_FULL, 0, 0);
    expect("bytes=--5", 100, RANGE_FULL, 0, 0);
    expect("bytes=18446744073709551616-", 100, RANGE_FULL, 0, 0); /* 2^64: no wrap */
    expect("bytes=0-18446744073709551616", 100, RANGE_FULL, 0, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_forms),
        cmocka_unit_test(test_unsatisfiable),
        cmocka_unit_test(test_ignored),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
