/* Unit tests for cli/table.c and the CLI's percent-encoding: columns as
 * wide as their widest cell with no trailing blanks, "-" for empty cells,
 * UTC ISO 8601 times, binary sizes, allocation failures reported, and
 * query values escaped so '&', '/', ' ' cannot change a request. */
#include "http_client.h"
#include "table.h"

#include <nobrick/alloc.h>

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* Prints t into buf (a temporary file read back). */
static void render(const struct cli_table *t, char *buf, size_t size)
{
    FILE *f = tmpfile();
    assert_non_null(f);
    cli_table_print(t, f);
    rewind(f);
    size_t n = fread(buf, 1, size - 1, f);
    buf[n] = '\0';
    assert_int_equal(fclose(f), 0);
}

static void test_aligned(void **state)
{
    (void)state;
    static const char *const head[] = {"ID", "VERSION", "STATE"};
    struct cli_table *t = cli_table_new(3, head);
    assert_non_null(t);
    const char *r1[] = {"1", "1.2.0", "available"};
    const char *r2[] = {"12", "", NULL};
    const char *r3[] = {"3", "10.20.300-rc.1", "withdrawn"};
    assert_int_equal(cli_table_add(t, r1), NB_OK);
    assert_int_equal(cli_table_add(t, r2), NB_OK);
    assert_int_equal(cli_table_add(t, r3), NB_OK);
    assert_int_equal(cli_table_rows(t), 3);
    char out[512];
    render(t, out, sizeof out);
    assert_string_equal(out, "ID  VERSION         STATE\n"
                             "1   1.2.0           available\n"
                             "12  -               -\n"
                             "3   10.20.300-rc.1  withdrawn\n");
    cli_table_free(t);
    cli_table_free(NULL);
    assert_null(cli_table_new(0, head));
    assert_null(cli_table_new(CLI_TABLE_MAX_COLS + 1, head));
}

static void test_no_memory(void **state)
{
    (void)state;
    static const char *const head[] = {"A", "B"};
    struct cli_table *t = cli_table_new(2, head);
    const char *row[] = {"x", "y"};
    nb_alloc_fail_after(1); /* the row array, then the first cell fails */
    assert_int_equal(cli_table_add(t, row), NB_ENOMEM);
    nb_alloc_fail_after(-1);
    assert_int_equal(cli_table_rows(t), 0);
    assert_int_equal(cli_table_add(t, row), NB_OK);
    cli_table_free(t);
}

static void test_time_and_size(void **state)
{
    (void)state;
    char b[32];
    cli_table_time(0, b);
    assert_string_equal(b, "-");
    cli_table_time(-5, b);
    assert_string_equal(b, "-");
    setenv("TZ", "Asia/Tokyo", 1); /* the local time zone must not matter */
    tzset();
    cli_table_time(1795961320, b);
    assert_string_equal(b, "2026-11-29T14:08:40Z");
    cli_table_size(0, b);
    assert_string_equal(b, "0 B");
    cli_table_size(1023, b);
    assert_string_equal(b, "1023 B");
    cli_table_size(1536, b);
    assert_string_equal(b, "1.5 KiB");
    cli_table_size(300898, b);
    assert_string_equal(b, "293.8 KiB");
    cli_table_size(4ull << 30, b);
    assert_string_equal(b, "4.0 GiB");
    cli_table_size(UINT64_MAX, b);
    assert_string_equal(b, "16384.0 PiB");
}

static void test_escape(void **state)
{
    (void)state;
    char out[32];
    assert_true(cli_http_escape("canary-1.eu_x~", out, sizeof out));
    assert_string_equal(out, "canary-1.eu_x~");
    assert_true(cli_http_escape("a&b=c/d e", out, sizeof out));
    assert_string_equal(out, "a%26b%3Dc%2Fd%20e");
    assert_true(cli_http_escape("\xff", out, sizeof out));
    assert_string_equal(out, "%FF");
    assert_true(cli_http_escape("", out, sizeof out));
    assert_string_equal(out, "");
    assert_true(cli_http_escape("abc", out, 4));
    assert_false(cli_http_escape("abcd", out, 4)); /* no room for the NUL */
    assert_false(cli_http_escape("a/", out, 4));   /* "a%2F" needs 5 */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_aligned),
        cmocka_unit_test(test_no_memory),
        cmocka_unit_test(test_time_and_size),
        cmocka_unit_test(test_escape),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
