/* Unit tests for lib/core/dualrec.c: the two-copy record store. Round
 * trips, corrupt copies, capacity, and the power-cut matrix: a run of
 * stores of varied sizes cut at every flash operation, torn and not, must
 * reload as the payload before or after the interrupted store, never a mix
 * and never a failure once one store has completed. */
#include <nobrick/dualrec.h>
#include <nobrick/flash_sim.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#define SECTOR 4096u
#define SIZE (8u * SECTOR)
#define COPY0 ((struct nb_region){.off = 1 * SECTOR, .len = 2 * SECTOR})
#define COPY1 ((struct nb_region){.off = 4 * SECTOR, .len = 2 * SECTOR})
#define MAGIC 0x54534554u
#define STEPS 6

static char path[128];

static struct nb_flash_sim *open_sim(bool create)
{
    struct nb_flash_sim_config cfg = {
        .size = SIZE, .erase_size = SECTOR, .write_size = 16, .create = create};
    struct nb_flash_sim *sim = NULL;
    assert_int_equal(nb_flash_sim_open(path, &cfg, &sim, NULL), NB_OK);
    return sim;
}

static void bind(struct nb_dualrec *dr, struct nb_flash_sim *sim)
{
    struct nb_flash f = nb_flash_sim_flash(sim);
    assert_int_equal(nb_dualrec_init(dr, &f, COPY0, COPY1, MAGIC), NB_OK);
}

static int setup(void **state)
{
    (void)state;
    (void)snprintf(path, sizeof path, "/tmp/nb_dualrec_%d", (int)getpid());
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    unlink(path);
    return 0;
}

/* Payload i: a length and bytes that differ from every other step's
 * (sizes span one staging buffer, several, and more than a sector). */
static size_t payload(int i, uint8_t *out)
{
    static const size_t lens[STEPS + 1] = {10, 1000, 3000, 0, 5000, 17, 8000};
    for (size_t k = 0; k < lens[i]; k++)
        out[k] = (uint8_t)(k * 31 + (size_t)i * 7 + 1);
    return lens[i];
}

static void test_round_trip(void **state)
{
    (void)state;
    struct nb_flash_sim *sim = open_sim(true);
    struct nb_dualrec dr;
    uint8_t want[8192], got[8192];
    size_t len = 0;
    struct nb_diag d;
    bind(&dr, sim);
    assert_int_equal(nb_dualrec_capacity(&dr), 2 * SECTOR - NB_DUALREC_OVERHEAD);
    nb_diag_clear(&d);
    assert_int_equal(nb_dualrec_load(&dr, got, sizeof got, &len, &d), NB_EPARSE);
    assert_non_null(strstr(d.msg, "no valid copy"));
    assert_int_equal(nb_dualrec_store(&dr, want, 1), NB_EINVAL); /* load or provision first */
    size_t n = payload(0, want);
    assert_int_equal(nb_dualrec_provision(&dr, want, n), NB_OK);
    for (int i = 1; i <= STEPS; i++) {
        n = payload(i, want);
        assert_int_equal(nb_dualrec_store(&dr, want, n), NB_OK);
        bind(&dr, sim);
        assert_int_equal(nb_dualrec_load(&dr, got, sizeof got, &len, NULL), NB_OK);
        assert_int_equal(len, n);
        assert_memory_equal(got, want, n);
        assert_int_equal(dr.seq, (uint32_t)i + 1);
    }
    assert_int_equal(nb_dualrec_load(&dr, got, 10, &len, NULL), NB_ELENGTH);
    assert_int_equal(nb_dualrec_store(&dr, want, 2 * SECTOR), NB_ELENGTH);
    nb_flash_sim_close(sim);
}

static void test_corrupt_copy_falls_back(void **state)
{
    (void)state;
    struct nb_flash_sim *sim = open_sim(true);
    struct nb_flash f = nb_flash_sim_flash(sim);
    struct nb_dualrec dr, other;
    uint8_t a[100], b[100], got[100];
    size_t len = 0;
    memset(a, 0xA1, sizeof a);
    memset(b, 0xB2, sizeof b);
    bind(&dr, sim);
    assert_int_equal(nb_dualrec_provision(&dr, a, sizeof a), NB_OK);
    assert_int_equal(nb_dualrec_store(&dr, b, sizeof b), NB_OK); /* copy 1 */
    /* Rot in the newer copy (a bit cleared: NOR can program it). */
    uint8_t byte;
    assert_int_equal(nb_flash_read(&f, COPY1.off + 40, &byte, 1), NB_OK);
    assert_int_equal(nb_flash_erase(&f, COPY1.off, SECTOR), NB_OK);
    bind(&dr, sim);
    assert_int_equal(nb_dualrec_load(&dr, got, sizeof got, &len, NULL), NB_OK);
    assert_memory_equal(got, a, sizeof a);
    assert_int_equal(dr.current, 0);
    /* Another magic sees nothing. */
    assert_int_equal(nb_dualrec_init(&other, &f, COPY0, COPY1, MAGIC + 1), NB_OK);
    assert_int_equal(nb_dualrec_load(&other, got, sizeof got, &len, NULL), NB_EPARSE);
    nb_flash_sim_close(sim);
}

static void test_init_refuses_bad_regions(void **state)
{
    (void)state;
    struct nb_flash_sim *sim = open_sim(true);
    struct nb_flash f = nb_flash_sim_flash(sim);
    struct nb_dualrec dr;
    struct nb_region half = {.off = SECTOR, .len = SECTOR / 2};
    struct nb_region past = {.off = SIZE, .len = SECTOR};
    assert_int_equal(nb_dualrec_init(&dr, &f, COPY0, COPY0, MAGIC), NB_EINVAL);
    assert_int_equal(nb_dualrec_init(&dr, &f, half, COPY1, MAGIC), NB_EINVAL);
    assert_int_equal(nb_dualrec_init(&dr, &f, COPY0, past, MAGIC), NB_EINVAL);
    nb_flash_sim_close(sim);
}

/* Stores payloads from..STEPS; returns the first that failed, or STEPS+1. */
static int run_from(struct nb_dualrec *dr, int from)
{
    uint8_t buf[8192];
    for (int i = from; i <= STEPS; i++) {
        size_t n = payload(i, buf);
        if (nb_dualrec_store(dr, buf, n) != NB_OK)
            return i;
    }
    return STEPS + 1;
}

/* Reloads after a cut in store j: payload j-1 or j, exactly. */
static void check_reload(struct nb_flash_sim **sim, struct nb_dualrec *dr, int j)
{
    uint8_t got[8192], want[8192];
    size_t len = 0;
    nb_flash_sim_close(*sim);
    *sim = open_sim(false);
    bind(dr, *sim);
    assert_int_equal(nb_dualrec_load(dr, got, sizeof got, &len, NULL), NB_OK);
    size_t n = payload(j - 1, want);
    if (len == n && memcmp(got, want, n) == 0)
        return;
    n = payload(j, want);
    assert_int_equal(len, n);
    assert_memory_equal(got, want, n);
}

static void test_power_cut_matrix(void **state)
{
    (void)state;
    uint8_t buf[8192];
    struct nb_dualrec dr;
    struct nb_flash_sim_stats st;
    struct nb_flash_sim *sim = open_sim(true);
    bind(&dr, sim);
    assert_int_equal(nb_dualrec_provision(&dr, buf, payload(0, buf)), NB_OK);
    nb_flash_sim_reset_stats(sim);
    assert_int_equal(run_from(&dr, 1), STEPS + 1);
    nb_flash_sim_stats(sim, &st);
    nb_flash_sim_close(sim);
    uint64_t total = st.programs + st.erases;
    int cells = 0;
    for (uint64_t k = 0; k < total; k++) {
        for (int tear = 0; tear < 2; tear++) {
            sim = open_sim(true);
            bind(&dr, sim);
            assert_int_equal(nb_dualrec_provision(&dr, buf, payload(0, buf)), NB_OK);
            nb_flash_sim_cut_after(sim, k, tear != 0, k * 13 + 5);
            int j = run_from(&dr, 1);
            assert_true(j <= STEPS);
            check_reload(&sim, &dr, j);
            assert_int_equal(run_from(&dr, j), STEPS + 1);
            check_reload(&sim, &dr, STEPS);
            nb_flash_sim_close(sim);
            cells++;
        }
    }
    print_message("dualrec power-cut matrix: %llu ops, %d cells\n", (unsigned long long)total,
                  cells);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_round_trip, setup, teardown),
        cmocka_unit_test_setup_teardown(test_corrupt_copy_falls_back, setup, teardown),
        cmocka_unit_test_setup_teardown(test_init_refuses_bad_regions, setup, teardown),
        cmocka_unit_test_setup_teardown(test_power_cut_matrix, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
