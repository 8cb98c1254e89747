/* Unit tests for lib/host/alloc.c: the allocation contract (unique pointer
 * for 0 bytes, overflow-checked calloc) and the N-th-failure injection that
 * the other host tests rely on. */
#include <nobrick/alloc.h>

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <jansson.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static void test_basics(void **state)
{
    (void)state;
    void *a = nb_malloc(0), *b = nb_malloc(0);
    assert_non_null(a);
    assert_non_null(b);
    assert_ptr_not_equal(a, b);
    nb_free(a);
    nb_free(b);
    nb_free(NULL);

    assert_null(nb_calloc(SIZE_MAX / 2, 3)); /* n * len overflows */
    uint8_t *z = nb_calloc(16, 4);
    assert_non_null(z);
    for (size_t i = 0; i < 64; i++)
        assert_int_equal(z[i], 0);
    z[63] = 7;
    z = nb_realloc(z, 4096);
    assert_non_null(z);
    assert_int_equal(z[63], 7);
    nb_free(z);

    char *s = nb_strdup("nobrick");
    assert_non_null(s);
    assert_string_equal(s, "nobrick");
    nb_free(s);
}

static void test_fail_after(void **state)
{
    (void)state;
    long before = nb_alloc_fail_after(2);
    void *a = nb_malloc(1), *b = nb_calloc(1, 1);
    assert_non_null(a);
    assert_non_null(b);
    /* The third allocation and every later one fails, of any kind. */
    assert_null(nb_malloc(1));
    assert_null(nb_strdup("x"));
    void *keep = a;
    assert_null(nb_realloc(a, 100));
    assert_ptr_equal(a, keep); /* a failed realloc leaves the block alone */
    assert_int_equal(nb_alloc_fail_after(-1), before + 5);
    void *c = nb_malloc(1);
    assert_non_null(c);
    nb_free(a);
    nb_free(b);
    nb_free(c);
    nb_alloc_fail_after(0);
    assert_null(nb_malloc(1));
    nb_alloc_fail_after(-1);
}

/* jansson allocates through the wiping allocator (installed before main),
 * and a document built and freed through it works as usual. */
static void test_json_allocator(void **state)
{
    (void)state;
    json_malloc_t m = NULL;
    json_free_t f = NULL;
    json_get_alloc_funcs(&m, &f);
    assert_true(m != NULL && m != malloc);
    assert_true(f != NULL && f != free);
    json_t *doc = json_pack("{s:s}", "ed25519_seed", "00112233");
    assert_non_null(doc);
    assert_string_equal(json_string_value(json_object_get(doc, "ed25519_seed")), "00112233");
    json_decref(doc);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_basics),
        cmocka_unit_test(test_fail_after),
        cmocka_unit_test(test_json_allocator),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
