/* Unit tests for lib/hal/sim/flash_sim.c: the NOR rules it enforces
 * (erase before program, alignment, bounds), power cuts after N operations,
 * torn programs and erases, the counters, and reopen as a reboot. */
#include <nobrick/flash_sim.h>

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define SECTOR 4096u
#define WRITE 16u
#define SIZE (16u * SECTOR)

static char path[64];

static int setup(void **state)
{
    (void)state;
    memcpy(path, "/tmp/nb_flash_sim_XXXXXX", sizeof "/tmp/nb_flash_sim_XXXXXX");
    int fd = mkstemp(path);
    if (fd < 0)
        return -1;
    close(fd);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    unlink(path);
    return 0;
}

static struct nb_flash_sim *open_sim(bool create)
{
    struct nb_flash_sim_config cfg = {
        .size = SIZE, .erase_size = SECTOR, .write_size = WRITE, .create = create};
    struct nb_flash_sim *sim = NULL;
    assert_int_equal(nb_flash_sim_open(path, &cfg, &sim, NULL), NB_OK);
    return sim;
}

static void fill_pattern(uint8_t *buf, size_t len, unsigned salt)
{
    for (size_t i = 0; i < len; i++)
        buf[i] = (uint8_t)((i * 37 + salt) & 0x7F); /* never 0xFF */
}

static void test_fresh_flash_is_erased(void **state)
{
    (void)state;
    struct nb_flash_sim *sim = open_sim(true);
    struct nb_flash f = nb_flash_sim_flash(sim);
    struct nb_flash_geometry g;
    uint8_t buf[SECTOR];

    nb_flash_geometry(&f, &g);
    assert_int_equal(g.size, SIZE);
    assert_int_equal(g.erase_size, SECTOR);
    assert_int_equal(g.write_size, WRITE);
    assert_int_equal(g.erased_val, 0xFF);
    assert_true(g.needs_erase);
    for (uint64_t off = 0; off < SIZE; off += SECTOR) {
        assert_int_equal(nb_flash_read(&f, off, buf, sizeof buf), NB_OK);
        for (size_t i = 0; i < sizeof buf; i++)
            assert_int_equal(buf[i], 0xFF);
    }
    nb_flash_sim_close(sim);
}

static void test_program_needs_erase(void **state)
{
    (void)state;
    struct nb_flash_sim *sim = open_sim(true);
    struct nb_flash f = nb_flash_sim_flash(sim);
    struct nb_flash_sim_stats st;
    uint8_t data[64], back[64];

    fill_pattern(data, sizeof data, 1);
    assert_int_equal(nb_flash_program(&f, SECTOR, data, sizeof data), NB_OK);
    assert_int_equal(nb_flash_read(&f, SECTOR, back, sizeof back), NB_OK);
    assert_memory_equal(back, data, sizeof data);

    /* Even a program that only clears bits is refused: strict, like MCUboot. */
    uint8_t zeros[WRITE] = {0};
    assert_int_equal(nb_flash_program(&f, SECTOR + 48, zeros, sizeof zeros), NB_EIO);
    assert_non_null(strstr(nb_flash_sim_last_error(sim), "unerased"));
    nb_flash_sim_stats(sim, &st);
    assert_int_equal(st.violations, 1);
    assert_int_equal(st.programs, 1);
    /* The refused program changed nothing. */
    assert_int_equal(nb_flash_read(&f, SECTOR, back, sizeof back), NB_OK);
    assert_memory_equal(back, data, sizeof data);

    assert_int_equal(nb_flash_erase(&f, SECTOR, SECTOR), NB_OK);
    assert_int_equal(nb_flash_program(&f, SECTOR + 48, zeros, sizeof zeros), NB_OK);
    nb_flash_sim_close(sim);
}

static void test_alignment_and_bounds(void **state)
{
    (void)state;
    struct nb_flash_sim *sim = open_sim(true);
    struct nb_flash f = nb_flash_sim_flash(sim);
    uint8_t buf[2 * WRITE];

    memset(buf, 0, sizeof buf);
    assert_int_equal(nb_flash_program(&f, 8, buf, WRITE), NB_EINVAL);
    assert_int_equal(nb_flash_program(&f, 0, buf, WRITE + 1), NB_EINVAL);
    assert_int_equal(nb_flash_program(&f, SIZE - WRITE, buf, 2 * WRITE), NB_EINVAL);
    assert_int_equal(nb_flash_program(&f, UINT64_MAX - 15, buf, WRITE), NB_EINVAL);
    assert_int_equal(nb_flash_erase(&f, 100, SECTOR), NB_EINVAL);
    assert_int_equal(nb_flash_erase(&f, 0, SECTOR / 2), NB_EINVAL);
    assert_int_equal(nb_flash_erase(&f, SIZE, SECTOR), NB_EINVAL);
    assert_int_equal(nb_flash_erase(&f, SECTOR, UINT64_MAX - SECTOR + 1), NB_EINVAL);
    assert_int_equal(nb_flash_read(&f, SIZE - 1, buf, 2), NB_EINVAL);
    /* Reads take any alignment; the last sector is reachable. */
    assert_int_equal(nb_flash_read(&f, 3, buf, 5), NB_OK);
    assert_int_equal(nb_flash_erase(&f, SIZE - SECTOR, SECTOR), NB_OK);
    assert_int_equal(nb_flash_program(&f, SIZE - WRITE, buf, WRITE), NB_OK);
    nb_flash_sim_close(sim);
}

static void test_bad_config(void **state)
{
    (void)state;
    struct nb_flash_sim *sim = NULL;
    struct nb_diag d;
    struct nb_flash_sim_config cfg = {
        .size = SIZE, .erase_size = 3000, .write_size = WRITE, .create = true};

    nb_diag_clear(&d);
    assert_int_equal(nb_flash_sim_open(path, &cfg, &sim, &d), NB_EINVAL);
    assert_true(d.msg[0] != '\0');
    cfg.erase_size = SECTOR;
    cfg.write_size = 2 * SECTOR;
    assert_int_equal(nb_flash_sim_open(path, &cfg, &sim, NULL), NB_EINVAL);
    cfg.write_size = WRITE;
    cfg.size = SIZE + 1;
    assert_int_equal(nb_flash_sim_open(path, &cfg, &sim, NULL), NB_EINVAL);
    /* An existing file of another size is not silently reinterpreted. */
    nb_flash_sim_close(open_sim(true));
    cfg.size = 2 * SIZE;
    cfg.create = false;
    assert_int_equal(nb_flash_sim_open(path, &cfg, &sim, NULL), NB_EINVAL);
    assert_null(sim);
}

static void test_cut_after_n(void **state)
{
    (void)state;
    struct nb_flash_sim *sim = open_sim(true);
    struct nb_flash f = nb_flash_sim_flash(sim);
    uint8_t a[WRITE], b[WRITE], back[WRITE];

    fill_pattern(a, sizeof a, 1);
    fill_pattern(b, sizeof b, 2);
    nb_flash_sim_cut_after(sim, 2, false, 0);
    assert_int_equal(nb_flash_program(&f, 0, a, sizeof a), NB_OK);
    assert_int_equal(nb_flash_read(&f, 0, back, sizeof back), NB_OK); /* reads don't count */
    assert_int_equal(nb_flash_erase(&f, SECTOR, SECTOR), NB_OK);
    assert_false(nb_flash_sim_power_lost(sim));
    assert_int_equal(nb_flash_program(&f, SECTOR, b, sizeof b), NB_EIO);
    assert_true(nb_flash_sim_power_lost(sim));
    /* Everything fails until the power comes back. */
    assert_int_equal(nb_flash_read(&f, 0, back, sizeof back), NB_EIO);
    assert_int_equal(nb_flash_erase(&f, 0, SECTOR), NB_EIO);
    assert_int_equal(nb_flash_sync(&f), NB_EIO);
    nb_flash_sim_close(sim);

    /* Reboot: the completed program is there, the cut one is not. */
    sim = open_sim(false);
    f = nb_flash_sim_flash(sim);
    assert_false(nb_flash_sim_power_lost(sim));
    assert_int_equal(nb_flash_read(&f, 0, back, sizeof back), NB_OK);
    assert_memory_equal(back, a, sizeof a);
    assert_int_equal(nb_flash_read(&f, SECTOR, back, sizeof back), NB_OK);
    for (size_t i = 0; i < sizeof back; i++)
        assert_int_equal(back[i], 0xFF);
    assert_int_equal(nb_flash_sync(&f), NB_OK);
    nb_flash_sim_close(sim);
}

/* Every torn program leaves: the first t bytes programmed, byte t with only
 * some of its 0 bits cleared, the rest erased; t varies with the seed. */
static void test_tear_program(void **state)
{
    (void)state;
    struct nb_flash_sim *sim = open_sim(true);
    struct nb_flash f = nb_flash_sim_flash(sim);
    struct nb_flash_sim_stats st;
    uint8_t data[256], back[256];
    uint64_t min_t = UINT64_MAX, max_t = 0;

    fill_pattern(data, sizeof data, 7);
    for (uint64_t seed = 0; seed < 64; seed++) {
        assert_int_equal(nb_flash_erase(&f, 0, SECTOR), NB_OK);
        nb_flash_sim_cut_after(sim, 0, true, seed);
        assert_int_equal(nb_flash_program(&f, 0, data, sizeof data), NB_EIO);
        nb_flash_sim_restore_power(sim);
        nb_flash_sim_stats(sim, &st);
        size_t t = (size_t)st.last_torn_len;
        assert_true(t < sizeof data);
        assert_int_equal(nb_flash_read(&f, 0, back, sizeof back), NB_OK);
        assert_memory_equal(back, data, t);
        assert_int_equal(back[t] & data[t], data[t]);
        for (size_t i = t + 1; i < sizeof back; i++)
            assert_int_equal(back[i], 0xFF);
        min_t = t < min_t ? t : min_t;
        max_t = t > max_t ? t : max_t;
    }
    assert_true(max_t > min_t);
    assert_true(max_t > 0 && min_t < sizeof data - 1);
    nb_flash_sim_stats(sim, &st);
    assert_int_equal(st.torn, 64);

    /* Without tearing, the cut program leaves nothing at all. */
    assert_int_equal(nb_flash_erase(&f, 0, SECTOR), NB_OK);
    nb_flash_sim_cut_after(sim, 0, false, 5);
    assert_int_equal(nb_flash_program(&f, 0, data, sizeof data), NB_EIO);
    nb_flash_sim_restore_power(sim);
    assert_int_equal(nb_flash_read(&f, 0, back, sizeof back), NB_OK);
    for (size_t i = 0; i < sizeof back; i++)
        assert_int_equal(back[i], 0xFF);
    nb_flash_sim_close(sim);
}

/* A torn erase of two sectors: a prefix erased, byte t only partly, the rest
 * keeps its old contents (here all zeros). */
static void test_tear_erase(void **state)
{
    (void)state;
    struct nb_flash_sim *sim = open_sim(true);
    struct nb_flash f = nb_flash_sim_flash(sim);
    struct nb_flash_sim_stats st;
    static uint8_t zeros[2 * SECTOR], back[2 * SECTOR];
    bool partial_seen = false;

    for (uint64_t seed = 0; seed < 32; seed++) {
        assert_int_equal(nb_flash_erase(&f, SECTOR, 2 * SECTOR), NB_OK);
        assert_int_equal(nb_flash_program(&f, SECTOR, zeros, sizeof zeros), NB_OK);
        nb_flash_sim_cut_after(sim, 0, true, seed);
        assert_int_equal(nb_flash_erase(&f, SECTOR, 2 * SECTOR), NB_EIO);
        nb_flash_sim_close(sim);
        sim = open_sim(false); /* reboot */
        f = nb_flash_sim_flash(sim);
        assert_int_equal(nb_flash_read(&f, SECTOR, back, sizeof back), NB_OK);
        size_t t = 0;
        while (t < sizeof back && back[t] == 0xFF)
            t++;
        assert_true(t < sizeof back);
        for (size_t i = t + 1; i < sizeof back; i++)
            assert_int_equal(back[i], 0);
        partial_seen |= t > 0 && t < SECTOR;
    }
    assert_true(partial_seen);
    nb_flash_sim_stats(sim, &st);
    assert_int_equal(st.torn, 0); /* counters restart with each open */
    nb_flash_sim_close(sim);
}

static void test_counters_and_wear(void **state)
{
    (void)state;
    struct nb_flash_sim *sim = open_sim(true);
    struct nb_flash f = nb_flash_sim_flash(sim);
    struct nb_flash_sim_stats st;
    uint8_t buf[64];

    memset(buf, 0, sizeof buf);
    for (int i = 0; i < 5; i++)
        assert_int_equal(nb_flash_erase(&f, 3 * SECTOR, SECTOR), NB_OK);
    assert_int_equal(nb_flash_erase(&f, 6 * SECTOR, 2 * SECTOR), NB_OK);
    assert_int_equal(nb_flash_program(&f, 3 * SECTOR, buf, sizeof buf), NB_OK);
    assert_int_equal(nb_flash_read(&f, 0, buf, 10), NB_OK);
    assert_int_equal(nb_flash_read(&f, 0, buf, 20), NB_OK);
    nb_flash_sim_stats(sim, &st);
    assert_int_equal(st.erases, 6);
    assert_int_equal(st.bytes_erased, 7 * SECTOR);
    assert_int_equal(st.programs, 1);
    assert_int_equal(st.bytes_programmed, 64);
    assert_int_equal(st.reads, 2);
    assert_int_equal(st.bytes_read, 30);
    assert_int_equal(nb_flash_sim_erase_count(sim, 3), 5);
    assert_int_equal(nb_flash_sim_erase_count(sim, 6), 1);
    assert_int_equal(nb_flash_sim_erase_count(sim, 7), 1);
    assert_int_equal(nb_flash_sim_erase_count(sim, 0), 0);
    assert_int_equal(nb_flash_sim_erase_count(sim, 1000), 0);
    assert_int_equal(nb_flash_sim_max_erase_count(sim), 5);
    nb_flash_sim_reset_stats(sim);
    nb_flash_sim_stats(sim, &st);
    assert_int_equal(st.erases + st.programs + st.reads + st.bytes_erased, 0);
    assert_int_equal(nb_flash_sim_erase_count(sim, 3), 5); /* wear is not reset */
    nb_flash_sim_close(sim);
}

/* A little scenario: 3 erases and 3 programs. */
static enum nb_err scenario(struct nb_flash *f)
{
    uint8_t buf[WRITE];
    fill_pattern(buf, sizeof buf, 3);
    for (uint64_t s = 0; s < 3; s++) {
        enum nb_err err = nb_flash_erase(f, s * SECTOR, SECTOR);
        if (err == NB_OK)
            err = nb_flash_program(f, s * SECTOR, buf, sizeof buf);
        if (err != NB_OK)
            return err;
    }
    return NB_OK;
}

/* "Count ops" mode: run once uncut to learn N; a cut after N never fires, a
 * cut after N-1 hits the last operation. */
static void test_count_then_cut(void **state)
{
    (void)state;
    struct nb_flash_sim *sim = open_sim(true);
    struct nb_flash f = nb_flash_sim_flash(sim);
    struct nb_flash_sim_stats st;

    assert_int_equal(scenario(&f), NB_OK);
    nb_flash_sim_stats(sim, &st);
    uint64_t n = st.programs + st.erases;
    assert_int_equal(n, 6);

    nb_flash_sim_cut_after(sim, n, true, 1);
    assert_int_equal(scenario(&f), NB_OK);
    assert_false(nb_flash_sim_power_lost(sim));
    nb_flash_sim_disarm(sim);

    nb_flash_sim_cut_after(sim, n - 1, false, 1);
    assert_int_equal(scenario(&f), NB_EIO);
    assert_true(nb_flash_sim_power_lost(sim));
    nb_flash_sim_stats(sim, &st);
    assert_int_equal(st.programs + st.erases, 3 * n); /* the cut one counts too */
    nb_flash_sim_close(sim);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_fresh_flash_is_erased, setup, teardown),
        cmocka_unit_test_setup_teardown(test_program_needs_erase, setup, teardown),
        cmocka_unit_test_setup_teardown(test_alignment_and_bounds, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bad_config, setup, teardown),
        cmocka_unit_test_setup_teardown(test_cut_after_n, setup, teardown),
        cmocka_unit_test_setup_teardown(test_tear_program, setup, teardown),
        cmocka_unit_test_setup_teardown(test_tear_erase, setup, teardown),
        cmocka_unit_test_setup_teardown(test_counters_and_wear, setup, teardown),
        cmocka_unit_test_setup_teardown(test_count_then_cut, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
