/* Unit tests for lib/core/bootctl.c: the slot state machine and its
 * invariants, the record codec (every single-bit flip is caught), the
 * two-copy store (corrupt copies, sequence wrap-around) and the power-cut
 * matrix: an install-like run of stores cut at every flash operation, with
 * and without tearing, must always reload as the state before or after the
 * interrupted store. */
#include <nobrick/bootctl.h>
#include <nobrick/crc.h>
#include <nobrick/encoding.h>
#include <nobrick/flash_sim.h>

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define SECTOR 4096u
#define SIZE (4u * SECTOR)
#define COPY0 ((struct nb_region){.off = 1 * SECTOR, .len = SECTOR})
#define COPY1 ((struct nb_region){.off = 2 * SECTOR, .len = SECTOR})

static char path[64];
static const uint8_t sha_x[32] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10};

static int setup(void **state)
{
    (void)state;
    memcpy(path, "/tmp/nb_bootctl_XXXXXX", sizeof "/tmp/nb_bootctl_XXXXXX");
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
        .size = SIZE, .erase_size = SECTOR, .write_size = 16, .create = create};
    struct nb_flash_sim *sim = NULL;
    assert_int_equal(nb_flash_sim_open(path, &cfg, &sim, NULL), NB_OK);
    return sim;
}

static void bind(struct nb_bootctl_flash *bf, struct nb_flash_sim *sim)
{
    struct nb_flash f = nb_flash_sim_flash(sim);
    assert_int_equal(nb_bootctl_flash_init(bf, &f, COPY0, COPY1), NB_OK);
}

/* Installs and commits a slot through the regular transitions. */
static void install(struct nb_bootctl *rec, enum nb_bootctl_slot_id id, const char *version,
                    uint64_t sc)
{
    assert_int_equal(nb_bootctl_mark_installing(rec, id), NB_OK);
    assert_int_equal(nb_bootctl_mark_ready(rec, id, version, sc, 1000 + sc, sha_x), NB_OK);
    assert_int_equal(nb_bootctl_mark_trial(rec, id, NB_BOOTCTL_DEFAULT_TRIES), NB_OK);
    assert_int_equal(nb_bootctl_mark_good(rec, id), NB_OK);
}

/* A factory device: A good (counter 1), gold good (counter 1). */
static void factory(struct nb_bootctl *rec)
{
    nb_bootctl_init(rec, true);
    install(rec, NB_BOOTCTL_A, "1.0.0", 1);
    install(rec, NB_BOOTCTL_GOLD, "1.0.0-gold", 1);
}

/* --- the state machine ------------------------------------------------------ */

static void test_install_flow(void **state)
{
    (void)state;
    struct nb_bootctl rec;
    factory(&rec);
    assert_int_equal(rec.primary, NB_BOOTCTL_A);
    assert_int_equal(rec.min_security_counter, 1);

    assert_int_equal(nb_bootctl_mark_installing(&rec, NB_BOOTCTL_B), NB_OK);
    assert_int_equal(nb_bootctl_mark_ready(&rec, NB_BOOTCTL_B, "1.1.0", 4, 5000, sha_x), NB_OK);
    assert_int_equal(nb_bootctl_mark_trial(&rec, NB_BOOTCTL_B, 2), NB_OK);
    assert_int_equal(nb_bootctl_consume_try(&rec, NB_BOOTCTL_B), NB_OK);
    assert_int_equal(nb_bootctl_consume_try(&rec, NB_BOOTCTL_B), NB_OK);
    assert_int_equal(nb_bootctl_consume_try(&rec, NB_BOOTCTL_B), NB_EINVAL);
    assert_int_equal(rec.min_security_counter, 1); /* not before the commit */
    assert_int_equal(nb_bootctl_mark_good(&rec, NB_BOOTCTL_B), NB_OK);
    assert_int_equal(rec.primary, NB_BOOTCTL_B);
    assert_int_equal(rec.min_security_counter, 4);
    assert_int_equal(rec.slot[NB_BOOTCTL_B].image_size, 5000);
    assert_string_equal(rec.slot[NB_BOOTCTL_B].version, "1.1.0");
    /* A repeated commit (after a power cut) is harmless. */
    struct nb_bootctl copy = rec;
    assert_int_equal(nb_bootctl_mark_good(&rec, NB_BOOTCTL_B), NB_OK);
    assert_true(nb_bootctl_equal(&rec, &copy));
    assert_int_equal(nb_bootctl_check(&rec, NULL), NB_OK);
}

/* Each refused step returns an error and leaves the record as it was. */
static void test_refusals_leave_record_unchanged(void **state)
{
    (void)state;
    struct nb_bootctl rec, before;
    char long_version[NB_BOOTCTL_VERSION_MAX + 2];
    factory(&rec);
    memset(long_version, 'v', sizeof long_version - 1);
    long_version[sizeof long_version - 1] = '\0';
    before = rec;

    assert_int_equal(nb_bootctl_mark_installing(&rec, NB_BOOTCTL_A), NB_EINVAL);    /* primary */
    assert_int_equal(nb_bootctl_mark_installing(&rec, NB_BOOTCTL_GOLD), NB_EINVAL); /* read-only */
    assert_int_equal(nb_bootctl_mark_installing(&rec, (enum nb_bootctl_slot_id)7), NB_EINVAL);
    assert_int_equal(nb_bootctl_mark_ready(&rec, NB_BOOTCTL_B, "2", 5, 1, sha_x), NB_EINVAL);
    assert_int_equal(nb_bootctl_mark_trial(&rec, NB_BOOTCTL_B, 3), NB_EINVAL);
    assert_int_equal(nb_bootctl_mark_good(&rec, NB_BOOTCTL_B), NB_EINVAL);
    assert_int_equal(nb_bootctl_mark_bad(&rec, NB_BOOTCTL_B), NB_EINVAL); /* empty */
    assert_true(nb_bootctl_equal(&rec, &before));

    assert_int_equal(nb_bootctl_mark_installing(&rec, NB_BOOTCTL_B), NB_OK);
    before = rec;
    assert_int_equal(nb_bootctl_mark_ready(&rec, NB_BOOTCTL_B, long_version, 5, 1, sha_x),
                     NB_ELENGTH);
    assert_int_equal(nb_bootctl_mark_ready(&rec, NB_BOOTCTL_B, "1.\n", 5, 1, sha_x), NB_EINVAL);
    assert_int_equal(nb_bootctl_mark_ready(&rec, NB_BOOTCTL_B, "0.9", 0, 1, sha_x), NB_EROLLBACK);
    assert_true(nb_bootctl_equal(&rec, &before));

    long_version[NB_BOOTCTL_VERSION_MAX] = '\0'; /* exactly the maximum fits */
    assert_int_equal(nb_bootctl_mark_ready(&rec, NB_BOOTCTL_B, long_version, 5, 1, sha_x), NB_OK);
    before = rec;
    assert_int_equal(nb_bootctl_mark_trial(&rec, NB_BOOTCTL_B, 0), NB_EINVAL);
    assert_int_equal(nb_bootctl_mark_trial(&rec, NB_BOOTCTL_B, NB_BOOTCTL_MAX_TRIES + 1),
                     NB_EINVAL);
    assert_true(nb_bootctl_equal(&rec, &before));
}

static void test_security_counter_never_goes_down(void **state)
{
    (void)state;
    struct nb_bootctl rec;
    factory(&rec);
    install(&rec, NB_BOOTCTL_B, "2.0.0", 9);
    assert_int_equal(rec.min_security_counter, 9);
    /* An image below the minimum is refused at every step that could arm it. */
    assert_int_equal(nb_bootctl_mark_installing(&rec, NB_BOOTCTL_A), NB_OK);
    assert_int_equal(nb_bootctl_mark_ready(&rec, NB_BOOTCTL_A, "1.0.1", 8, 1, sha_x), NB_EROLLBACK);
    /* A record whose trial slot is below the minimum (counter raised by the
     * other slot's commit in between) cannot be committed. */
    struct nb_bootctl odd = rec;
    assert_int_equal(nb_bootctl_mark_ready(&odd, NB_BOOTCTL_A, "2.0.1", 9, 1, sha_x), NB_OK);
    assert_int_equal(nb_bootctl_mark_trial(&odd, NB_BOOTCTL_A, 1), NB_OK);
    odd.min_security_counter = 10;
    assert_int_equal(nb_bootctl_mark_good(&odd, NB_BOOTCTL_A), NB_EROLLBACK);
    /* Committing an equal counter keeps the minimum. */
    install(&rec, NB_BOOTCTL_A, "2.0.1", 9);
    assert_int_equal(rec.min_security_counter, 9);
}

static void test_only_one_trial(void **state)
{
    (void)state;
    struct nb_bootctl rec;
    nb_bootctl_init(&rec, false);
    assert_int_equal(nb_bootctl_mark_installing(&rec, NB_BOOTCTL_GOLD), NB_EINVAL); /* no gold */
    for (int id = NB_BOOTCTL_A; id <= NB_BOOTCTL_B; id++) {
        assert_int_equal(nb_bootctl_mark_installing(&rec, id), NB_OK);
        assert_int_equal(nb_bootctl_mark_ready(&rec, id, "1", 0, 1, sha_x), NB_OK);
    }
    assert_int_equal(nb_bootctl_mark_trial(&rec, NB_BOOTCTL_A, 1), NB_OK);
    assert_int_equal(nb_bootctl_mark_trial(&rec, NB_BOOTCTL_B, 1), NB_EINVAL);
}

static void test_bad_primary_falls_back(void **state)
{
    (void)state;
    struct nb_bootctl rec;
    factory(&rec);
    install(&rec, NB_BOOTCTL_B, "1.1.0", 2);
    assert_int_equal(rec.primary, NB_BOOTCTL_B);
    assert_int_equal(nb_bootctl_mark_bad(&rec, NB_BOOTCTL_B), NB_OK);
    assert_int_equal(rec.primary, NB_BOOTCTL_A);
    assert_int_equal(nb_bootctl_mark_bad(&rec, NB_BOOTCTL_A), NB_OK);
    assert_int_equal(rec.primary, NB_BOOTCTL_GOLD);
    assert_int_equal(nb_bootctl_mark_bad(&rec, NB_BOOTCTL_GOLD), NB_OK);
    assert_int_equal(rec.primary, NB_BOOTCTL_NONE);
    assert_int_equal(nb_bootctl_mark_bad(&rec, NB_BOOTCTL_GOLD), NB_OK); /* idempotent */
    assert_int_equal(nb_bootctl_check(&rec, NULL), NB_OK);
    /* The bad slot still says what was in it, for the device's report. */
    assert_string_equal(rec.slot[NB_BOOTCTL_B].version, "1.1.0");
}

static void test_check_rejects_broken_invariants(void **state)
{
    (void)state;
    struct nb_bootctl rec, bad;
    factory(&rec);
    bad = rec;
    bad.primary = NB_BOOTCTL_B; /* empty slot */
    assert_int_equal(nb_bootctl_check(&bad, NULL), NB_EPARSE);
    bad = rec;
    bad.slot[NB_BOOTCTL_A].tries_left = 1; /* tries outside trial */
    assert_int_equal(nb_bootctl_check(&bad, NULL), NB_EPARSE);
    bad = rec;
    bad.slot[NB_BOOTCTL_B].image_size = 1; /* empty with fields */
    assert_int_equal(nb_bootctl_check(&bad, NULL), NB_EPARSE);
    bad = rec;
    bad.has_gold = false;
    assert_int_equal(nb_bootctl_check(&bad, NULL), NB_EPARSE);
    bad = rec;
    bad.slot[NB_BOOTCTL_A].version[10] = 'x'; /* garbage after the NUL */
    assert_int_equal(nb_bootctl_check(&bad, NULL), NB_EPARSE);
    uint8_t buf[NB_BOOTCTL_RECORD_LEN];
    assert_int_equal(nb_bootctl_encode(&bad, 1, buf), NB_EINVAL);
}

/* --- the codec ---------------------------------------------------------------- */

static void test_crc32_vector(void **state)
{
    (void)state;
    assert_int_equal(nb_crc32(0, "123456789", 9), 0xCBF43926u);
    assert_int_equal(nb_crc32(nb_crc32(0, "1234", 4), "56789", 5), 0xCBF43926u);
    assert_int_equal(nb_crc32(0, "", 0), 0);
}

static void test_codec_round_trip_and_layout(void **state)
{
    (void)state;
    struct nb_bootctl rec, back;
    uint8_t buf[NB_BOOTCTL_RECORD_LEN];
    uint32_t seq = 0;
    factory(&rec);
    assert_int_equal(nb_bootctl_encode(&rec, 0x01020304u, buf), NB_OK);
    assert_memory_equal(buf, "NBBC", 4);
    assert_int_equal(nb_le16(buf + 4), 1);
    assert_int_equal(nb_le32(buf + 8), 0x01020304u);
    assert_int_equal(nb_le32(buf + 508), nb_crc32(0, buf, 508));
    assert_int_equal(nb_bootctl_decode(buf, &back, &seq, NULL), NB_OK);
    assert_int_equal(seq, 0x01020304u);
    assert_true(nb_bootctl_equal(&rec, &back));
}

/* CRC-32 detects every single-bit error: no flipped bit decodes. */
static void test_codec_every_bit_flip_rejected(void **state)
{
    (void)state;
    struct nb_bootctl rec, back;
    uint8_t buf[NB_BOOTCTL_RECORD_LEN];
    uint32_t seq;
    struct nb_diag d;
    factory(&rec);
    assert_int_equal(nb_bootctl_encode(&rec, 7, buf), NB_OK);
    for (size_t bit = 0; bit < 8 * sizeof buf; bit++) {
        buf[bit / 8] ^= (uint8_t)(1u << (bit % 8));
        nb_diag_clear(&d);
        assert_int_equal(nb_bootctl_decode(buf, &back, &seq, &d), NB_EPARSE);
        assert_true(d.msg[0] != '\0');
        buf[bit / 8] ^= (uint8_t)(1u << (bit % 8));
    }
}

/* Fields the CRC cannot judge: valid CRC, invalid content. */
static void test_codec_rejects_bad_fields(void **state)
{
    (void)state;
    struct nb_bootctl rec, back;
    uint8_t good[NB_BOOTCTL_RECORD_LEN], buf[NB_BOOTCTL_RECORD_LEN];
    uint32_t seq;
    static const size_t offs[] = {4, 6, 12, 24, 32 + 2, 32 + 120 * 1, 500};
    static const uint8_t vals[] = {2, 0x02, 0x01, 1, 1, 9, 1};
    factory(&rec);
    assert_int_equal(nb_bootctl_encode(&rec, 7, good), NB_OK);
    for (size_t i = 0; i < sizeof offs / sizeof offs[0]; i++) {
        memcpy(buf, good, sizeof buf);
        buf[offs[i]] ^= vals[i];
        nb_put_le32(buf + 508, nb_crc32(0, buf, 508));
        assert_int_equal(nb_bootctl_decode(buf, &back, &seq, NULL), NB_EPARSE);
    }
    memset(buf, 0xFF, sizeof buf); /* erased flash */
    assert_int_equal(nb_bootctl_decode(buf, &back, &seq, NULL), NB_EPARSE);
}

static void test_seq_newer(void **state)
{
    (void)state;
    assert_true(nb_bootctl_seq_newer(1, 0));
    assert_false(nb_bootctl_seq_newer(0, 1));
    assert_false(nb_bootctl_seq_newer(5, 5));
    assert_true(nb_bootctl_seq_newer(0, UINT32_MAX));
    assert_true(nb_bootctl_seq_newer(3, UINT32_MAX - 3));
    assert_false(nb_bootctl_seq_newer(UINT32_MAX, 0));
}

/* --- the store ------------------------------------------------------------------ */

static void test_store_alternates_copies(void **state)
{
    (void)state;
    struct nb_flash_sim *sim = open_sim(true);
    struct nb_bootctl_flash bf;
    struct nb_bootctl rec, back;
    bind(&bf, sim);

    nb_bootctl_init(&rec, false);
    assert_int_equal(nb_bootctl_store(&bf, &rec), NB_EINVAL);       /* load first */
    assert_int_equal(nb_bootctl_load(&bf, &back, NULL), NB_EPARSE); /* fresh device */
    assert_int_equal(nb_bootctl_provision(&bf, &rec), NB_OK);
    for (int i = 0; i < 6; i++) {
        int was = bf.current;
        assert_int_equal(nb_bootctl_mark_installing(&rec, i % 2 ? NB_BOOTCTL_A : NB_BOOTCTL_B),
                         NB_OK);
        assert_int_equal(nb_bootctl_store(&bf, &rec), NB_OK);
        assert_int_equal(bf.current, 1 - was);
        assert_int_equal(bf.seq, (uint32_t)i + 2);
    }
    struct nb_bootctl_flash again;
    bind(&again, sim);
    assert_int_equal(nb_bootctl_load(&again, &back, NULL), NB_OK);
    assert_true(nb_bootctl_equal(&rec, &back));
    assert_int_equal(again.seq, 7);
    /* 1 provision wipe + 7 writes, spread over both copies. */
    assert_int_equal(nb_flash_sim_erase_count(sim, 1), 4);
    assert_int_equal(nb_flash_sim_erase_count(sim, 2), 4);
    nb_flash_sim_close(sim);
}

static void flip_file_byte(uint64_t off)
{
    int fd = open(path, O_RDWR);
    uint8_t b;
    assert_true(fd >= 0);
    assert_int_equal(pread(fd, &b, 1, (off_t)off), 1);
    b ^= 0x10;
    assert_int_equal(pwrite(fd, &b, 1, (off_t)off), 1);
    close(fd);
}

static void test_corrupt_copies(void **state)
{
    (void)state;
    struct nb_flash_sim *sim = open_sim(true);
    struct nb_bootctl_flash bf;
    struct nb_bootctl old, new, back;
    struct nb_diag d;
    bind(&bf, sim);
    factory(&old);
    new = old;
    install(&new, NB_BOOTCTL_B, "1.1", 3);
    assert_int_equal(nb_bootctl_provision(&bf, &old), NB_OK);
    assert_int_equal(nb_bootctl_store(&bf, &new), NB_OK); /* copy 1 holds the newer */
    nb_flash_sim_close(sim);

    flip_file_byte(COPY1.off + 200); /* bit rot in the newer copy */
    sim = open_sim(false);
    bind(&bf, sim);
    assert_int_equal(nb_bootctl_load(&bf, &back, NULL), NB_OK);
    assert_true(nb_bootctl_equal(&back, &old));
    assert_int_equal(bf.current, 0);
    /* The next store goes to the damaged copy and repairs it. */
    assert_int_equal(nb_bootctl_store(&bf, &new), NB_OK);
    assert_int_equal(bf.current, 1);
    nb_flash_sim_close(sim);

    flip_file_byte(COPY0.off + 3);
    flip_file_byte(COPY1.off + 511);
    sim = open_sim(false);
    bind(&bf, sim);
    nb_diag_clear(&d);
    assert_int_equal(nb_bootctl_load(&bf, &back, &d), NB_EPARSE);
    assert_non_null(strstr(d.msg, "no valid copy"));
    nb_flash_sim_close(sim);
}

static void test_seq_wrap_around(void **state)
{
    (void)state;
    struct nb_flash_sim *sim = open_sim(true);
    struct nb_bootctl_flash bf;
    struct nb_bootctl rec, back;
    bind(&bf, sim);
    factory(&rec);
    assert_int_equal(nb_bootctl_provision(&bf, &rec), NB_OK);
    /* Copy 0 at the last sequence number before the wrap: a store made as
     * if copy 1 held UINT32_MAX - 1. */
    bf.dr.current = 1;
    bf.dr.seq = UINT32_MAX - 1;
    assert_int_equal(nb_bootctl_store(&bf, &rec), NB_OK);
    bind(&bf, sim);
    assert_int_equal(nb_bootctl_load(&bf, &back, NULL), NB_OK);
    assert_int_equal(bf.seq, UINT32_MAX);
    assert_int_equal(bf.current, 0);

    install(&rec, NB_BOOTCTL_B, "1.1", 2);
    assert_int_equal(nb_bootctl_store(&bf, &rec), NB_OK);
    assert_int_equal(bf.seq, 0);
    assert_int_equal(bf.current, 1);
    bind(&bf, sim);
    assert_int_equal(nb_bootctl_load(&bf, &back, NULL), NB_OK);
    assert_int_equal(bf.seq, 0); /* 0 is newer than UINT32_MAX */
    assert_true(nb_bootctl_equal(&back, &rec));
    nb_flash_sim_close(sim);
}

static void test_boot_control_hal(void **state)
{
    (void)state;
    struct nb_flash_sim *sim = open_sim(true);
    struct nb_bootctl_flash bf;
    struct nb_bootctl rec, back;
    bind(&bf, sim);
    factory(&rec);
    assert_int_equal(nb_bootctl_provision(&bf, &rec), NB_OK);
    struct nb_boot_control bc = nb_bootctl_flash_control(&bf);
    assert_int_equal(bc.ops->load(bc.ctx, &back, NULL), NB_OK);
    assert_int_equal(nb_bootctl_mark_installing(&back, NB_BOOTCTL_B), NB_OK);
    assert_int_equal(bc.ops->store(bc.ctx, &back), NB_OK);
    assert_int_equal(bc.ops->load(bc.ctx, &rec, NULL), NB_OK);
    assert_true(nb_bootctl_equal(&back, &rec));
    nb_flash_sim_close(sim);
}

static void test_init_rejects_bad_layout(void **state)
{
    (void)state;
    struct nb_flash_sim *sim = open_sim(true);
    struct nb_flash f = nb_flash_sim_flash(sim);
    struct nb_bootctl_flash bf;
    struct nb_region half = {.off = SECTOR, .len = SECTOR / 2};
    struct nb_region past = {.off = SIZE, .len = SECTOR};
    assert_int_equal(nb_bootctl_flash_init(&bf, &f, COPY0, COPY0), NB_EINVAL); /* same */
    assert_int_equal(nb_bootctl_flash_init(&bf, &f, half, COPY1), NB_EINVAL);
    assert_int_equal(nb_bootctl_flash_init(&bf, &f, COPY0, past), NB_EINVAL);
    nb_flash_sim_close(sim);
}

/* --- the power-cut matrix ------------------------------------------------------ */

#define STEPS 15
#define TEAR_SEEDS 4

/* recs[0] is the factory state; recs[i] follows from recs[i-1] by one
 * transition of an update, a failed trial, and a second update. */
static void build_scenario(struct nb_bootctl recs[STEPS + 1])
{
    factory(&recs[0]);
    for (int i = 1; i <= STEPS; i++) {
        struct nb_bootctl *r = &recs[i];
        *r = recs[i - 1];
        enum nb_err err = NB_EINVAL;
        switch (i) {
        case 1:
            err = nb_bootctl_mark_installing(r, NB_BOOTCTL_B);
            break;
        case 2:
            err = nb_bootctl_mark_ready(r, NB_BOOTCTL_B, "1.1.0", 2, 4096, sha_x);
            break;
        case 3:
            err = nb_bootctl_mark_trial(r, NB_BOOTCTL_B, 3);
            break;
        case 4:
            err = nb_bootctl_consume_try(r, NB_BOOTCTL_B);
            break;
        case 5:
            err = nb_bootctl_mark_good(r, NB_BOOTCTL_B);
            break;
        case 6:
            err = nb_bootctl_mark_installing(r, NB_BOOTCTL_A);
            break;
        case 7:
            err = nb_bootctl_mark_ready(r, NB_BOOTCTL_A, "1.2.0", 3, 8192, sha_x);
            break;
        case 8:
            err = nb_bootctl_mark_trial(r, NB_BOOTCTL_A, 2);
            break;
        case 9:
            err = nb_bootctl_consume_try(r, NB_BOOTCTL_A);
            break;
        case 10:
            err = nb_bootctl_consume_try(r, NB_BOOTCTL_A);
            break;
        case 11:
            err = nb_bootctl_mark_bad(r, NB_BOOTCTL_A);
            break;
        case 12:
            err = nb_bootctl_mark_installing(r, NB_BOOTCTL_A);
            break;
        case 13:
            err = nb_bootctl_mark_ready(r, NB_BOOTCTL_A, "1.2.1", 3, 8192, sha_x);
            break;
        case 14:
            err = nb_bootctl_mark_trial(r, NB_BOOTCTL_A, 1);
            break;
        case 15:
            err = nb_bootctl_mark_good(r, NB_BOOTCTL_A);
            break;
        }
        assert_int_equal(err, NB_OK);
    }
}

/* Stores recs[from..STEPS]; returns the index of the first store that
 * failed, or STEPS + 1 when all succeeded. */
static int run_from(struct nb_bootctl_flash *bf, const struct nb_bootctl recs[STEPS + 1], int from)
{
    for (int i = from; i <= STEPS; i++)
        if (nb_bootctl_store(bf, &recs[i]) != NB_OK)
            return i;
    return STEPS + 1;
}

static uint64_t count_scenario_ops(const struct nb_bootctl recs[STEPS + 1])
{
    struct nb_flash_sim *sim = open_sim(true);
    struct nb_bootctl_flash bf;
    struct nb_flash_sim_stats st;
    bind(&bf, sim);
    assert_int_equal(nb_bootctl_provision(&bf, &recs[0]), NB_OK);
    nb_flash_sim_reset_stats(sim);
    assert_int_equal(run_from(&bf, recs, 1), STEPS + 1);
    nb_flash_sim_stats(sim, &st);
    nb_flash_sim_close(sim);
    return st.programs + st.erases;
}

/* Reboots and checks that the device holds recs[j-1] or recs[j], never a
 * mix, and never a lower minimum security counter. Returns 0 for "before",
 * 1 for "after". */
static int reboot_and_check(struct nb_flash_sim **sim, struct nb_bootctl_flash *bf,
                            const struct nb_bootctl recs[STEPS + 1], int j)
{
    struct nb_bootctl back;
    nb_flash_sim_close(*sim);
    *sim = open_sim(false);
    bind(bf, *sim);
    assert_int_equal(nb_bootctl_load(bf, &back, NULL), NB_OK);
    assert_true(back.min_security_counter >= recs[j - 1].min_security_counter);
    if (nb_bootctl_equal(&back, &recs[j - 1]))
        return 0;
    assert_true(nb_bootctl_equal(&back, &recs[j]));
    return 1;
}

/* One cell: cut at op k (torn or not), reboot, check; cut the repeated
 * store once more (torn), reboot, check; then finish the scenario. */
static int run_cell(const struct nb_bootctl recs[STEPS + 1], uint64_t k, bool tear, uint64_t seed)
{
    struct nb_flash_sim *sim = open_sim(true);
    struct nb_bootctl_flash bf;
    struct nb_bootctl back;
    bind(&bf, sim);
    assert_int_equal(nb_bootctl_provision(&bf, &recs[0]), NB_OK);
    nb_flash_sim_cut_after(sim, k, tear, seed);
    int j = run_from(&bf, recs, 1);
    assert_true(j <= STEPS);
    assert_true(nb_flash_sim_power_lost(sim));
    int after = reboot_and_check(&sim, &bf, recs, j);

    /* A second cut while repeating the interrupted store, at its erase or
     * its program: the invariant must hold across stacked failures. */
    nb_flash_sim_cut_after(sim, seed % 2, true, seed * 31 + 7);
    if (nb_bootctl_store(&bf, &recs[j]) != NB_OK)
        (void)reboot_and_check(&sim, &bf, recs, j);
    nb_flash_sim_disarm(sim);

    assert_int_equal(nb_bootctl_store(&bf, &recs[j]), NB_OK);
    assert_int_equal(run_from(&bf, recs, j + 1), STEPS + 1);
    bind(&bf, sim);
    assert_int_equal(nb_bootctl_load(&bf, &back, NULL), NB_OK);
    assert_true(nb_bootctl_equal(&back, &recs[STEPS]));
    nb_flash_sim_close(sim);
    return after;
}

static void test_power_cut_matrix(void **state)
{
    (void)state;
    static struct nb_bootctl recs[STEPS + 1];
    int cells = 0, afters = 0;
    build_scenario(recs);
    uint64_t total = count_scenario_ops(recs);
    assert_int_equal(total, 2 * STEPS); /* one erase and one program per store */

    for (uint64_t k = 0; k < total; k++) {
        afters += run_cell(recs, k, false, k);
        cells++;
        for (uint64_t s = 0; s < TEAR_SEEDS; s++) {
            afters += run_cell(recs, k, true, k * TEAR_SEEDS + s);
            cells++;
        }
    }
    assert_int_equal(cells, (int)total * (1 + TEAR_SEEDS));
    print_message("power-cut matrix: %d cells, %d reloaded the new state\n", cells, afters);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_install_flow),
        cmocka_unit_test(test_refusals_leave_record_unchanged),
        cmocka_unit_test(test_security_counter_never_goes_down),
        cmocka_unit_test(test_only_one_trial),
        cmocka_unit_test(test_bad_primary_falls_back),
        cmocka_unit_test(test_check_rejects_broken_invariants),
        cmocka_unit_test(test_crc32_vector),
        cmocka_unit_test(test_codec_round_trip_and_layout),
        cmocka_unit_test(test_codec_every_bit_flip_rejected),
        cmocka_unit_test(test_codec_rejects_bad_fields),
        cmocka_unit_test(test_seq_newer),
        cmocka_unit_test_setup_teardown(test_store_alternates_copies, setup, teardown),
        cmocka_unit_test_setup_teardown(test_corrupt_copies, setup, teardown),
        cmocka_unit_test_setup_teardown(test_seq_wrap_around, setup, teardown),
        cmocka_unit_test_setup_teardown(test_boot_control_hal, setup, teardown),
        cmocka_unit_test_setup_teardown(test_init_rejects_bad_layout, setup, teardown),
        cmocka_unit_test_setup_teardown(test_power_cut_matrix, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
