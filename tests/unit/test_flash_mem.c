/* Unit tests for lib/hal/sim/flash_mem.c: the NOR rules (erase before
 * program, alignment, bounds), power cuts and torn programs and erases
 * (byte for byte what flash_sim does with the same seed: one model), copy
 * on write between clones, and the memory accounting of a fleet sharing
 * one factory image. */
#include <nobrick/flash_mem.h>
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

static struct nb_flash_mem_store *store;

static int setup(void **state)
{
    (void)state;
    return nb_flash_mem_store_new(SECTOR, &store) == NB_OK ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    struct nb_flash_mem_store_usage u;
    nb_flash_mem_store_usage(store, &u);
    nb_flash_mem_store_free(store);
    /* every test frees its flashes: nothing may stay referenced */
    return u.sectors == 0 && u.refs == 0 ? 0 : -1;
}

static struct nb_flash_mem *new_mem(uint64_t size)
{
    struct nb_flash_mem_config cfg = {size, SECTOR, WRITE};
    struct nb_flash_mem *m = NULL;
    assert_int_equal(nb_flash_mem_new(store, &cfg, &m), NB_OK);
    return m;
}

static void fill_pattern(uint8_t *buf, size_t len, unsigned salt)
{
    for (size_t i = 0; i < len; i++)
        buf[i] = (uint8_t)((i * 37 + salt) & 0x7F); /* never 0xFF */
}

static void assert_erased(const struct nb_flash *f, uint64_t off, size_t len)
{
    uint8_t buf[SECTOR];
    assert_true(len <= sizeof buf);
    assert_int_equal(nb_flash_read(f, off, buf, len), NB_OK);
    for (size_t i = 0; i < len; i++)
        assert_int_equal(buf[i], 0xFF);
}

static void test_fresh_and_rules(void **state)
{
    (void)state;
    struct nb_flash_mem *m = new_mem(SIZE);
    struct nb_flash f = nb_flash_mem_flash(m);
    struct nb_flash_geometry g;
    uint8_t buf[2 * SECTOR];
    nb_flash_geometry(&f, &g);
    assert_int_equal(g.size, SIZE);
    assert_int_equal(g.erase_size, SECTOR);
    assert_true(g.needs_erase);
    assert_erased(&f, 3 * SECTOR, SECTOR);
    fill_pattern(buf, sizeof buf, 1);
    /* misaligned, out of range */
    assert_int_equal(nb_flash_program(&f, 8, buf, WRITE), NB_EINVAL);
    assert_int_equal(nb_flash_program(&f, SIZE - WRITE, buf, 2 * WRITE), NB_EINVAL);
    assert_int_equal(nb_flash_erase(&f, 100, SECTOR), NB_EINVAL);
    /* across a sector boundary, then no program without an erase */
    assert_int_equal(nb_flash_program(&f, SECTOR / 2, buf, SECTOR), NB_OK);
    assert_int_equal(nb_flash_program(&f, SECTOR, buf, WRITE), NB_EIO);
    uint8_t back[SECTOR];
    assert_int_equal(nb_flash_read(&f, SECTOR / 2, back, SECTOR), NB_OK);
    assert_memory_equal(back, buf, SECTOR);
    assert_int_equal(nb_flash_erase(&f, SECTOR, SECTOR), NB_OK);
    assert_erased(&f, SECTOR, SECTOR);
    assert_int_equal(nb_flash_program(&f, SECTOR, buf, WRITE), NB_OK);
    struct nb_flash_sim_stats st;
    nb_flash_mem_stats(m, &st);
    assert_int_equal(st.programs, 2);
    assert_int_equal(st.erases, 1);
    assert_int_equal(st.violations, 1);
    nb_flash_mem_free(m);
}

static void test_cut_after_n(void **state)
{
    (void)state;
    struct nb_flash_mem *m = new_mem(SIZE);
    struct nb_flash f = nb_flash_mem_flash(m);
    uint8_t buf[WRITE], back[WRITE];
    fill_pattern(buf, sizeof buf, 2);
    nb_flash_mem_cut_after(m, 2, false, 0);
    assert_int_equal(nb_flash_program(&f, 0, buf, WRITE), NB_OK);
    assert_int_equal(nb_flash_erase(&f, SECTOR, SECTOR), NB_OK);
    assert_false(nb_flash_mem_power_lost(m));
    assert_int_equal(nb_flash_program(&f, WRITE, buf, WRITE), NB_EIO); /* the cut, untorn */
    assert_true(nb_flash_mem_power_lost(m));
    assert_int_equal(nb_flash_read(&f, 0, back, WRITE), NB_EIO);
    nb_flash_mem_restore_power(m);
    assert_int_equal(nb_flash_read(&f, 0, back, WRITE), NB_OK);
    assert_memory_equal(back, buf, WRITE);
    assert_erased(&f, WRITE, WRITE); /* nothing of the cut program */
    nb_flash_mem_free(m);
}

/* The same operations with the same cut on flash_sim (a file) and
 * flash_mem: the results must be identical, tears included. */
static void run_both(uint64_t cut, bool tear, uint64_t seed, bool erase_last)
{
    char path[] = "/tmp/nb_flash_mem_XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    close(fd);
    struct nb_flash_sim_config sc = {SIZE, SECTOR, WRITE, true};
    struct nb_flash_sim *sim = NULL;
    assert_int_equal(nb_flash_sim_open(path, &sc, &sim, NULL), NB_OK);
    struct nb_flash_mem *m = new_mem(SIZE);
    struct nb_flash fl[2] = {nb_flash_sim_flash(sim), nb_flash_mem_flash(m)};
    static uint8_t img[2][SIZE], buf[3 * SECTOR];
    fill_pattern(buf, sizeof buf, 7);
    nb_flash_sim_cut_after(sim, cut, tear, seed);
    nb_flash_mem_cut_after(m, cut, tear, seed);
    for (int k = 0; k < 2; k++) {
        enum nb_err e1 = nb_flash_program(&fl[k], 0, buf, sizeof buf);
        enum nb_err e2 = erase_last ? nb_flash_erase(&fl[k], SECTOR, 2 * SECTOR)
                                    : nb_flash_program(&fl[k], 4 * SECTOR, buf, sizeof buf);
        assert_int_equal(e1, cut == 0 ? NB_EIO : NB_OK);
        assert_int_equal(e2, NB_EIO);
    }
    nb_flash_sim_restore_power(sim);
    nb_flash_mem_restore_power(m);
    for (int k = 0; k < 2; k++)
        assert_int_equal(nb_flash_read(&fl[k], 0, img[k], SIZE), NB_OK);
    assert_memory_equal(img[0], img[1], SIZE);
    struct nb_flash_sim_stats s0, s1;
    nb_flash_sim_stats(sim, &s0);
    nb_flash_mem_stats(m, &s1);
    assert_int_equal(s0.torn, 1);
    assert_int_equal(s1.torn, 1);
    assert_int_equal(s0.last_torn_len, s1.last_torn_len);
    if (tear && s1.last_torn_len > 0 && cut == 1 && !erase_last) {
        /* the torn prefix is there, the byte after it only half-programmed */
        uint64_t t = s1.last_torn_len;
        assert_memory_equal(img[1] + 4 * SECTOR, buf, t);
        assert_int_equal(img[1][4 * SECTOR + t] & buf[t], buf[t]);
        assert_int_equal(img[1][4 * SECTOR + t + 1], 0xFF);
    }
    nb_flash_sim_close(sim);
    nb_flash_mem_free(m);
    unlink(path);
}

static void test_tears_match_flash_sim(void **state)
{
    (void)state;
    for (uint64_t seed = 1; seed < 40; seed++) {
        run_both(1, true, seed, false);
        run_both(1, true, seed, true);
    }
    run_both(0, true, 5, false);
    run_both(1, false, 5, true);
}

static void test_clone_copy_on_write(void **state)
{
    (void)state;
    struct nb_flash_mem *a = new_mem(SIZE), *b = NULL;
    struct nb_flash fa = nb_flash_mem_flash(a);
    uint8_t buf[SECTOR], back[SECTOR];
    fill_pattern(buf, sizeof buf, 3);
    assert_int_equal(nb_flash_program(&fa, 0, buf, SECTOR / 2), NB_OK);
    assert_int_equal(nb_flash_mem_clone(a, &b), NB_OK);
    struct nb_flash fb = nb_flash_mem_flash(b);
    /* b programs the erased half of the shared sector: a keeps its own */
    assert_int_equal(nb_flash_program(&fb, SECTOR / 2, buf, SECTOR / 2), NB_OK);
    assert_erased(&fa, SECTOR / 2, SECTOR / 2);
    assert_int_equal(nb_flash_read(&fb, 0, back, SECTOR), NB_OK);
    assert_memory_equal(back, buf, SECTOR / 2);
    assert_memory_equal(back + SECTOR / 2, buf, SECTOR / 2);
    /* an erase in a drops a's reference only */
    assert_int_equal(nb_flash_erase(&fa, 0, SECTOR), NB_OK);
    assert_erased(&fa, 0, SECTOR);
    assert_int_equal(nb_flash_read(&fb, 0, back, SECTOR), NB_OK);
    assert_memory_equal(back, buf, SECTOR / 2);
    nb_flash_mem_free(a);
    nb_flash_mem_free(b);
}

#define FLEET 1000u
#define FLEET_SIZE (256u * SECTOR) /* 1 MiB each: 1 GiB if stored flat */

/* 1,000 devices from one factory image cost their sector tables and what
 * each wrote; the same release installed everywhere is stored once. */
static void test_fleet_memory(void **state)
{
    (void)state;
    static struct nb_flash_mem *dev[FLEET];
    static uint8_t buf[64 * SECTOR], rel[8 * SECTOR];
    struct nb_flash_mem *factory = new_mem(FLEET_SIZE);
    struct nb_flash ff = nb_flash_mem_flash(factory);
    fill_pattern(buf, sizeof buf, 9);
    for (unsigned s = 0; s < 64; s++)
        buf[s * SECTOR] = (uint8_t)s; /* 64 distinct sectors */
    fill_pattern(rel, sizeof rel, 11);
    for (unsigned s = 0; s < 8; s++)
        rel[s * SECTOR] = (uint8_t)s; /* 8 more */
    assert_int_equal(nb_flash_program(&ff, 0, buf, sizeof buf), NB_OK);
    for (unsigned i = 0; i < FLEET; i++) {
        assert_int_equal(nb_flash_mem_clone(factory, &dev[i]), NB_OK);
        struct nb_flash f = nb_flash_mem_flash(dev[i]);
        uint8_t own[WRITE];
        memset(own, (int)(i & 0x7F), sizeof own);
        own[0] = (uint8_t)(i >> 7);
        assert_int_equal(nb_flash_program(&f, 128 * SECTOR, own, WRITE), NB_OK); /* a journal */
        assert_int_equal(nb_flash_program(&f, 160 * SECTOR, rel, sizeof rel),
                         NB_OK); /* a release */
    }
    uint64_t total = 0;
    for (unsigned i = 0; i < FLEET; i++) {
        struct nb_flash_mem_usage u;
        nb_flash_mem_usage(dev[i], &u);
        assert_int_equal(u.private_sectors, 9);
        assert_int_equal(u.shared_sectors, 64);
        total += u.bytes;
    }
    /* table (256 pointers, 32 bytes of bits), state, 9 overlay sectors each: not 1 MiB */
    assert_true(total < FLEET * (256u * 8 + 32 + 512 + 9u * SECTOR));
    struct nb_flash_mem_store_usage su;
    nb_flash_mem_store_usage(store, &su);
    assert_int_equal(su.sectors, 64);
    assert_int_equal(su.refs, 64u * (FLEET + 1));
    /* shared: the release's 8 sectors once, each journal once */
    for (unsigned i = 0; i < FLEET; i++)
        assert_int_equal(nb_flash_mem_share(dev[i]), NB_OK);
    nb_flash_mem_store_usage(store, &su);
    assert_int_equal(su.sectors, 64u + 8u + FLEET);
    total = 0;
    for (unsigned i = 0; i < FLEET; i++) {
        struct nb_flash_mem_usage u;
        nb_flash_mem_usage(dev[i], &u);
        assert_int_equal(u.private_sectors, 0);
        total += u.bytes;
    }
    assert_true(total < FLEET * (256u * 8 + 32 + 512));
    struct nb_flash f0 = nb_flash_mem_flash(dev[0]);
    uint8_t back[SECTOR];
    assert_int_equal(nb_flash_read(&f0, 163 * SECTOR, back, SECTOR), NB_OK);
    assert_memory_equal(back, rel + 3 * SECTOR, SECTOR);
    for (unsigned i = 0; i < FLEET; i++)
        nb_flash_mem_free(dev[i]);
    nb_flash_mem_free(factory);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_fresh_and_rules, setup, teardown),
        cmocka_unit_test_setup_teardown(test_cut_after_n, setup, teardown),
        cmocka_unit_test_setup_teardown(test_tears_match_flash_sim, setup, teardown),
        cmocka_unit_test_setup_teardown(test_clone_copy_on_write, setup, teardown),
        cmocka_unit_test_setup_teardown(test_fleet_memory, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
