/* Unit tests for server/wave.c, sticky wave membership: the same salt and
 * devices give the same waves in any order; every wave contains the ones
 * before it; shares, counts and minimums give the sizes they promise; the
 * canary list is wave 0; a device under a step's share stays in that step
 * when more devices join; another salt gives other waves. */
#include "wave.h"

#include <nobrick/alloc.h>
#include <nobrick/crypto.h>

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#define N 2000

static struct wave_member *fleet(size_t n, size_t canaries)
{
    struct wave_member *m = nb_calloc(n, sizeof *m);
    assert_non_null(m);
    for (size_t i = 0; i < n; i++) {
        (void)snprintf(m[i].id, sizeof m[i].id, "%064zx", i * 7919u + 13u);
        m[i].canary = i < canaries;
    }
    return m;
}

static unsigned wave_of(const struct wave_member *m, size_t n, const char *id)
{
    for (size_t i = 0; i < n; i++) {
        if (strcmp(m[i].id, id) == 0)
            return m[i].wave;
    }
    fail_msg("no device %s", id);
    return 0;
}

static size_t in_waves_upto(const struct wave_member *m, size_t n, unsigned k)
{
    size_t c = 0;
    for (size_t i = 0; i < n; i++)
        c += m[i].wave <= k;
    return c;
}

static void test_default_plan_sizes(void **state)
{
    (void)state;
    struct wave_step plan[WAVE_STEPS_MAX];
    size_t n_steps = wave_default_plan(plan, WAVE_STEPS_MAX);
    assert_int_equal(n_steps, 5);
    struct wave_member *m = fleet(N, 3);
    assert_int_equal(wave_assign("salt-1", plan, n_steps, m, N), NB_OK);
    assert_int_equal(in_waves_upto(m, N, 0), 3);
    /* Shares by hash: within a few percent of what they promise. */
    static const size_t want[] = {20, 100, 500, 1000, 1997};
    for (unsigned k = 1; k <= 5; k++) {
        size_t got = in_waves_upto(m, N, k) - 3;
        assert_true(got + 1 >= want[k - 1] * 8 / 10 || k == 1);
        assert_true(got <= want[k - 1] * 12 / 10 + 10);
    }
    assert_true(in_waves_upto(m, N, 1) - 3 >= 10);
    assert_int_equal(in_waves_upto(m, N, 5), N);
    /* Sorted: canary, then waves in order (each contains the ones before). */
    for (size_t i = 1; i < N; i++)
        assert_true(m[i - 1].wave <= m[i].wave);
    for (size_t i = 4; i < N; i++)
        assert_true(m[i - 1].pos <= m[i].pos);
    nb_free(m);
}

static void test_minimum_and_small_fleets(void **state)
{
    (void)state;
    struct wave_step plan[WAVE_STEPS_MAX];
    size_t n_steps = wave_default_plan(plan, WAVE_STEPS_MAX);
    for (size_t n = 0; n <= 40; n++) {
        struct wave_member *m = fleet(n == 0 ? 1 : n, 0);
        assert_int_equal(wave_assign("s", plan, n_steps, m, n), NB_OK);
        /* At least 10 (or all) in the first wave; everyone by the last. */
        assert_int_equal(in_waves_upto(m, n, 1), n < 10 ? n : 10);
        assert_int_equal(in_waves_upto(m, n, 5), n);
        nb_free(m);
    }
}

static void test_counts_and_tail(void **state)
{
    (void)state;
    const struct wave_step plan[] = {{0, 3, 0}, {0, 5, 0}, {0, 2, 0}, {500000, 0, 0}};
    struct wave_member *m = fleet(20, 2);
    assert_int_equal(wave_assign("x", plan, 4, m, 20), NB_OK);
    assert_int_equal(in_waves_upto(m, 20, 0), 2);
    assert_int_equal(in_waves_upto(m, 20, 1), 5);
    assert_int_equal(in_waves_upto(m, 20, 2), 7);
    assert_int_equal(in_waves_upto(m, 20, 3), 7); /* a smaller count adds nobody */
    size_t half = in_waves_upto(m, 20, 4);
    assert_true(half >= 7 && half < 20);
    /* Past the last step (50 %): the rest wait in wave n_steps + 1. */
    assert_int_equal(in_waves_upto(m, 20, 5), 20);
    assert_int_equal(wave_assign("x", plan, WAVE_STEPS_MAX + 1, m, 20), NB_EINVAL);
    nb_free(m);
}

/* Any input order, the same waves; re-created with the same salt, the same. */
static void test_sticky_across_order(void **state)
{
    (void)state;
    struct wave_step plan[WAVE_STEPS_MAX];
    size_t n_steps = wave_default_plan(plan, WAVE_STEPS_MAX);
    struct wave_member *a = fleet(N, 4), *b = fleet(N, 4);
    for (size_t i = 0; i < N / 2; i++) { /* reverse b */
        struct wave_member t = b[i];
        b[i] = b[N - 1 - i];
        b[N - 1 - i] = t;
    }
    assert_int_equal(wave_assign("rollout-7", plan, n_steps, a, N), NB_OK);
    assert_int_equal(wave_assign("rollout-7", plan, n_steps, b, N), NB_OK);
    for (size_t i = 0; i < N; i++) {
        assert_string_equal(a[i].id, b[i].id);
        assert_int_equal(a[i].wave, b[i].wave);
    }
    /* Another salt: other devices go first. */
    struct wave_member *c = fleet(N, 0);
    assert_int_equal(wave_assign("rollout-8", plan, n_steps, c, N), NB_OK);
    size_t same = 0;
    for (size_t i = 0; i < 20; i++)
        same += wave_of(a, N, c[i].id) == 1;
    assert_true(same < 10);
    nb_free(a);
    nb_free(b);
    nb_free(c);
}

/* Devices join: each device that was under its step's share stays in a
 * wave no later than before (the store keeps the others where they were). */
static void test_sticky_when_fleet_grows(void **state)
{
    (void)state;
    struct wave_step plan[WAVE_STEPS_MAX];
    size_t n_steps = wave_default_plan(plan, WAVE_STEPS_MAX);
    struct wave_member *small = fleet(N / 2, 0), *big = fleet(N, 0);
    assert_int_equal(wave_assign("grow", plan, n_steps, small, N / 2), NB_OK);
    assert_int_equal(wave_assign("grow", plan, n_steps, big, N), NB_OK);
    size_t checked = 0;
    for (size_t i = 0; i < N / 2; i++) {
        unsigned k = small[i].wave;
        if ((uint64_t)small[i].pos * WAVE_PPM >= (uint64_t)plan[k - 1].share_ppm << 32)
            continue; /* topped up by a minimum, not by its position */
        assert_true(wave_of(big, N, small[i].id) <= k);
        checked++;
    }
    assert_true(checked > N / 2 - 20);
    nb_free(small);
    nb_free(big);
}

static void test_position(void **state)
{
    (void)state;
    uint32_t p1, p2, p3;
    assert_int_equal(wave_position("a", "dev", &p1), NB_OK);
    assert_int_equal(wave_position("a", "dev", &p2), NB_OK);
    assert_int_equal(wave_position("b", "dev", &p3), NB_OK);
    assert_int_equal(p1, p2);
    assert_int_not_equal(p1, p3);
    /* SHA-256("a:dev"), first four bytes. */
    uint8_t d[NB_SHA256_LEN];
    assert_int_equal(nb_sha256("a:dev", 5, d), NB_OK);
    assert_int_equal(p1, (uint32_t)d[0] << 24 | (uint32_t)d[1] << 16 | (uint32_t)d[2] << 8 | d[3]);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_default_plan_sizes),
        cmocka_unit_test(test_minimum_and_small_fleets),
        cmocka_unit_test(test_counts_and_tail),
        cmocka_unit_test(test_sticky_across_order),
        cmocka_unit_test(test_sticky_when_fleet_grows),
        cmocka_unit_test(test_position),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
