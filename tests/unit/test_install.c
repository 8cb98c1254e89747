/* Unit tests for the install engine (lib/core/install.c, install_frames.c)
 * on a simulated device: the happy path (plain and encrypted), every
 * preflight refusal with the whole flash compared before and after
 * (SECURITY.md 14, 23, 36), corrupt and misfed frames (1, 35), and the
 * install power-cut matrix (37): a cut at every flash operation, torn and
 * not, then a reboot, the invariants, and a resumed install that skips the
 * frames already in the slot. */
#include "bundle_fixture.h"

#include <nobrick/alloc.h>
#include <nobrick/caps.h>
#include <nobrick/flash_sim.h>
#include <nobrick/install.h>
#include <nobrick/slotmeta.h>
#include <nobrick/trust.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#define ERASE 4096u
#define WRITE 16u
#define FS 4096u
#define IMG_LEN (40u * 1024)
#define SLOT_LEN (64u * 1024)
#define META_LEN (16u * 1024)
#define FLASH_MAX (512u * 1024)
#define TABLE_CAP (16u + 80u * 64)

static struct bx_world W;
static struct bx_bundle B_v1, B_v2, B_enc;
static uint8_t image_v1[IMG_LEN], image_v2[IMG_LEN];
static uint8_t sha_v1[32], sha_v2[32];
static uint8_t scratch[NB_ENVELOPE_SCRATCH_LEN];
static uint8_t table_buf[TABLE_CAP], window[FS], stored[FS + 1024];
static uint8_t snap_a[FLASH_MAX], snap_b[FLASH_MAX];
static char path[128];

/* A simulated device and its stores. */
struct dev {
    struct nb_flash_sim *sim;
    struct nb_flash flash;
    struct nb_layout layout;
    struct nb_bootctl_flash bc;
    struct nb_dualrec journal, trust;
    struct nb_root root;
    const char *hw_class;
    const struct nb_keyfile *xkey;
};

static int group_setup(void **state)
{
    (void)state;
    struct bx_spec plain = {.frame_size = FS, .compression = NB_COMPRESSION_ZSTD};
    struct bx_spec enc = {.frame_size = FS, .compression = NB_COMPRESSION_ZSTD, .encrypt = true};
    bx_world_init(&W);
    bx_image(image_v1, IMG_LEN, 1, true);
    bx_image(image_v2, IMG_LEN, 2, true);
    assert_int_equal(nb_sha256(image_v1, IMG_LEN, sha_v1), NB_OK);
    assert_int_equal(nb_sha256(image_v2, IMG_LEN, sha_v2), NB_OK);
    bx_create(&W, image_v1, IMG_LEN, &plain, &B_v1);
    bx_create(&W, image_v2, IMG_LEN, &plain, &B_v2);
    bx_create(&W, image_v2, IMG_LEN, &enc, &B_enc);
    const char *base = getenv("TMPDIR");
    (void)snprintf(path, sizeof path, "%s/nb_install_%d.flash", base ? base : "/tmp",
                   (int)getpid());
    return 0;
}

static int group_teardown(void **state)
{
    (void)state;
    bx_free(&B_v1);
    bx_free(&B_v2);
    bx_free(&B_enc);
    unlink(path);
    return 0;
}

static void parts(const struct bx_bundle *b, const uint8_t **env, size_t *env_len,
                  const uint8_t **table, size_t *table_len, const uint8_t **frames)
{
    struct nb_bundle_header h;
    bx_header(b, &h);
    *env = b->data + h.envelope_off;
    *env_len = h.envelope_len;
    *table = b->data + h.table_off;
    *table_len = h.table_len;
    *frames = b->data + h.frames_off;
}

static void open_flash(struct dev *d, bool create)
{
    struct nb_flash_sim_config cfg = {
        .size = d->layout.end, .erase_size = ERASE, .write_size = WRITE, .create = create};
    assert_int_equal(nb_flash_sim_open(path, &cfg, &d->sim, NULL), NB_OK);
    d->flash = nb_flash_sim_flash(d->sim);
    const struct nb_layout *l = &d->layout;
    assert_int_equal(nb_bootctl_flash_init(&d->bc, &d->flash, l->bootctl[0], l->bootctl[1]), NB_OK);
    assert_int_equal(
        nb_dualrec_init(&d->journal, &d->flash, l->journal[0], l->journal[1], NB_JOURNAL_MAGIC),
        NB_OK);
    assert_int_equal(
        nb_dualrec_init(&d->trust, &d->flash, l->trust[0], l->trust[1], NB_TRUST_MAGIC), NB_OK);
}

/* "Reboot": close and reopen the flash, reload the trusted root. */
static void reboot(struct dev *d)
{
    static uint8_t text[NB_TRUST_ROOT_MAX];
    size_t len = 0;
    nb_flash_sim_close(d->sim);
    open_flash(d, false);
    assert_int_equal(
        nb_trust_load(&d->trust, text, sizeof text, &len, scratch, sizeof scratch, &d->root, NULL),
        NB_OK);
}

static void program_image(struct dev *d, struct nb_region slot, const uint8_t *img, size_t len)
{
    assert_int_equal(nb_flash_erase(&d->flash, slot.off, slot.len), NB_OK);
    assert_int_equal(nb_flash_program(&d->flash, slot.off, img, len), NB_OK);
}

/* A factory device: slot A GOOD primary with v1 (counter 4) and its
 * metadata, the trust store at root v1, the caps nobrick-boot writes. */
static void provision(struct dev *d, uint64_t slot_size, size_t v1_len)
{
    static char root_text[FX_ENVELOPE_CAP];
    const struct nb_keyfile *signers[] = {&W.root_key};
    struct nb_bootctl rec;
    uint8_t sha[32];
    memset(d, 0, sizeof *d);
    d->hw_class = "thermo-v3";
    d->xkey = &W.device;
    assert_int_equal(nb_layout_compute(ERASE, slot_size, META_LEN, false, &d->layout), NB_OK);
    assert_true(d->layout.end <= FLASH_MAX);
    open_flash(d, true);
    assert_int_equal(nb_sha256(image_v1, v1_len, sha), NB_OK);
    program_image(d, d->layout.slot[NB_BOOTCTL_A], image_v1, v1_len);
    const uint8_t *env, *table, *frames;
    size_t env_len, table_len;
    parts(&B_v1, &env, &env_len, &table, &table_len, &frames);
    assert_int_equal(nb_slotmeta_write(&d->flash, d->layout.meta[NB_BOOTCTL_A], env, env_len, table,
                                       table_len, NULL),
                     NB_OK);
    nb_bootctl_init(&rec, false);
    assert_int_equal(nb_bootctl_mark_installing(&rec, NB_BOOTCTL_A), NB_OK);
    assert_int_equal(nb_bootctl_mark_ready(&rec, NB_BOOTCTL_A, "1.0.0", 4, v1_len, sha), NB_OK);
    assert_int_equal(nb_bootctl_mark_trial(&rec, NB_BOOTCTL_A, 1), NB_OK);
    assert_int_equal(nb_bootctl_mark_good(&rec, NB_BOOTCTL_A), NB_OK);
    assert_int_equal(nb_bootctl_provision(&d->bc, &rec), NB_OK);
    size_t root_len = fx_root_envelope(&W.root, signers, 1, root_text, sizeof root_text);
    assert_int_equal(nb_trust_provision(&d->trust, (const uint8_t *)root_text, root_len, scratch,
                                        sizeof scratch, NULL),
                     NB_OK);
    struct nb_caps caps = {.boot_version = 0x000100,
                           .max_tries = NB_BOOTCTL_MAX_TRIES,
                           .anti_rollback = true,
                           .verifies_signature = true,
                           .slots = 2};
    assert_int_equal(nb_caps_write(&d->flash, d->layout.caps, &caps), NB_OK);
    reboot(d);
}

struct run {
    uint32_t asked, skipped, total;
    enum nb_err err;
    struct nb_diag diag;
    uint64_t ops_at_frame[64]; /* flash ops done when frame i was written */
};

static uint64_t ops(const struct dev *d)
{
    struct nb_flash_sim_stats st;
    nb_flash_sim_stats(d->sim, &st);
    return st.programs + st.erases;
}

/* One install of b from begin to finish; r->err is the first failure. */
static void run_install(struct dev *d, const struct bx_bundle *b, struct run *r)
{
    const uint8_t *env, *table, *frames;
    size_t env_len, table_len;
    struct nb_codec codec = {0};
    struct nb_install in;
    uint32_t i;
    memset(r, 0, sizeof *r);
    parts(b, &env, &env_len, &table, &table_len, &frames);
    assert_int_equal(nb_codec_init(&codec), NB_OK);
    struct nb_install_device dev = {.flash = &d->flash,
                                    .layout = &d->layout,
                                    .bootctl = nb_bootctl_flash_control(&d->bc),
                                    .journal = &d->journal,
                                    .root = &d->root,
                                    .hw_class = d->hw_class,
                                    .x25519_priv = d->xkey ? d->xkey->x_priv : NULL,
                                    .x25519_pub = d->xkey ? d->xkey->x_pub : NULL,
                                    .tries = 0};
    struct nb_install_bufs bufs = {scratch, sizeof scratch, table_buf, sizeof table_buf,
                                   window,  sizeof window,  &codec};
    nb_install_init(&in, &dev, &bufs);
    r->err = nb_install_begin(&in, env, env_len, &r->diag);
    if (r->err == NB_OK)
        r->err = nb_install_table(&in, env, env_len, table, table_len, &r->diag);
    while (r->err == NB_OK && nb_install_want(&in, &i)) {
        struct nb_frame_entry e;
        bx_entry(b, i, &e);
        memcpy(stored, frames + e.stored_off, e.stored_len);
        r->asked++;
        r->err = nb_install_frame(&in, i, stored, e.stored_len, &r->diag);
        if (r->err == NB_OK && i < 64)
            r->ops_at_frame[i] = ops(d);
    }
    if (r->err == NB_OK)
        r->err = nb_install_finish(&in, &r->diag);
    r->skipped = in.frames_skipped;
    r->total = in.rel.frame_count;
    nb_install_fini(&in);
    nb_codec_fini(&codec);
}

static void slot_sha(struct dev *d, enum nb_bootctl_slot_id id, uint64_t len, uint8_t out[32])
{
    static uint8_t buf[SLOT_LEN];
    assert_true(len <= sizeof buf);
    assert_int_equal(nb_flash_read(&d->flash, d->layout.slot[id].off, buf, (size_t)len), NB_OK);
    assert_int_equal(nb_sha256(buf, (size_t)len, out), NB_OK);
}

static void snapshot(struct dev *d, uint8_t *out)
{
    assert_int_equal(nb_flash_read(&d->flash, 0, out, (size_t)d->layout.end), NB_OK);
}

/* A primary GOOD with v1 untouched; minimum counter 4. */
static void assert_old_intact(struct dev *d, const struct nb_bootctl *rec)
{
    uint8_t sha[32];
    assert_int_equal(rec->primary, NB_BOOTCTL_A);
    assert_int_equal(rec->slot[NB_BOOTCTL_A].state, NB_BOOTCTL_GOOD);
    assert_memory_equal(rec->slot[NB_BOOTCTL_A].sha256, sha_v1, 32);
    assert_int_equal(rec->min_security_counter, 4);
    slot_sha(d, NB_BOOTCTL_A, IMG_LEN, sha);
    assert_memory_equal(sha, sha_v1, 32);
}

static void assert_installed(struct dev *d)
{
    struct nb_bootctl rec;
    uint8_t sha[32];
    assert_int_equal(nb_bootctl_load(&d->bc, &rec, NULL), NB_OK);
    assert_old_intact(d, &rec);
    assert_int_equal(rec.slot[NB_BOOTCTL_B].state, NB_BOOTCTL_TRIAL);
    assert_int_equal(rec.slot[NB_BOOTCTL_B].tries_left, 3);
    assert_string_equal(rec.slot[NB_BOOTCTL_B].version, "1.2.3");
    slot_sha(d, NB_BOOTCTL_B, IMG_LEN, sha);
    assert_memory_equal(sha, sha_v2, 32);
    struct nb_journal j;
    assert_int_equal(nb_journal_load(&d->journal, &j, NULL), NB_OK);
    assert_int_equal(j.op, NB_JOURNAL_IDLE);
}

static void test_happy_path(void **state)
{
    (void)state;
    struct dev d;
    struct run r;
    provision(&d, SLOT_LEN, IMG_LEN);
    run_install(&d, &B_v2, &r);
    assert_int_equal(r.err, NB_OK);
    assert_int_equal(r.total, IMG_LEN / FS);
    assert_int_equal(r.asked, r.total);
    assert_int_equal(r.skipped, 0);
    reboot(&d);
    assert_installed(&d);
    /* The same install again is done already (a cut of its last write, the
     * journal going idle, can leave exactly this state): it succeeds,
     * fetches no frame and writes nothing. */
    snapshot(&d, snap_a);
    run_install(&d, &B_v2, &r);
    assert_int_equal(r.err, NB_OK);
    assert_int_equal(r.asked, 0);
    assert_int_equal(r.skipped, r.total);
    snapshot(&d, snap_b);
    assert_memory_equal(snap_a, snap_b, d.layout.end);
    /* Another release while B is on trial is refused, and writes nothing. */
    run_install(&d, &B_v1, &r);
    assert_int_equal(r.err, NB_EINVAL);
    assert_non_null(strstr(r.diag.msg, "commit or reject the running trial first"));
    snapshot(&d, snap_b);
    assert_memory_equal(snap_a, snap_b, d.layout.end);
    nb_flash_sim_close(d.sim);
}

/* The cut that used to be refused: the last write of the install (the
 * journal going idle) torn after its record was complete. Whatever the
 * tear length, the same install run again succeeds. */
static void test_cut_in_last_write(void **state)
{
    (void)state;
    struct dev d;
    struct run r;
    provision(&d, SLOT_LEN, IMG_LEN);
    nb_flash_sim_reset_stats(d.sim);
    run_install(&d, &B_v2, &r);
    assert_int_equal(r.err, NB_OK);
    uint64_t total = ops(&d);
    nb_flash_sim_close(d.sim);
    for (uint64_t seed = 1; seed <= 32; seed++) {
        provision(&d, SLOT_LEN, IMG_LEN);
        nb_flash_sim_cut_after(d.sim, total - 1, true, seed);
        run_install(&d, &B_v2, &r);
        assert_true(nb_flash_sim_power_lost(d.sim));
        reboot(&d);
        run_install(&d, &B_v2, &r);
        if (r.err != NB_OK)
            fail_msg("tear seed %llu: resume failed: %s", (unsigned long long)seed, r.diag.msg);
        reboot(&d);
        assert_installed(&d);
        nb_flash_sim_close(d.sim);
    }
}

static void test_encrypted(void **state)
{
    (void)state;
    struct dev d;
    struct run r;
    provision(&d, SLOT_LEN, IMG_LEN);
    run_install(&d, &B_enc, &r);
    assert_int_equal(r.err, NB_OK);
    reboot(&d);
    assert_installed(&d);
    nb_flash_sim_close(d.sim);
}

/* A refused install leaves every byte of the flash as it was, and the
 * next install with good data succeeds. */
static void expect_refused(struct dev *d, const struct bx_bundle *b, enum nb_err want,
                           const char *words)
{
    struct run r;
    snapshot(d, snap_a);
    nb_flash_sim_reset_stats(d->sim);
    run_install(d, b, &r);
    assert_int_equal(r.err, want);
    if (words != NULL && strstr(r.diag.msg, words) == NULL)
        fail_msg("diag \"%s\" lacks \"%s\"", r.diag.msg, words);
    assert_int_equal(ops(d), 0);
    snapshot(d, snap_b);
    assert_memory_equal(snap_a, snap_b, d->layout.end);
}

static void test_wrong_hw_class(void **state)
{
    (void)state;
    struct dev d;
    struct run r;
    provision(&d, SLOT_LEN, IMG_LEN);
    d.hw_class = "thermo-v2";
    expect_refused(&d, &B_v2, NB_EINCOMPAT, "thermo-v3");
    d.hw_class = "thermo-v3";
    run_install(&d, &B_v2, &r);
    assert_int_equal(r.err, NB_OK);
    nb_flash_sim_close(d.sim);
}

/* SECURITY.md 24: a legitimately signed image of another component (here a
 * bootloader) is not written to the system slots. */
static void test_wrong_component(void **state)
{
    (void)state;
    struct bx_spec spec = {
        .frame_size = FS, .compression = NB_COMPRESSION_ZSTD, .component = "bootloader"};
    struct bx_bundle boot;
    struct dev d;
    struct run r;
    bx_create(&W, image_v2, IMG_LEN, &spec, &boot);
    provision(&d, SLOT_LEN, IMG_LEN);
    expect_refused(&d, &boot, NB_EINCOMPAT, "component 'bootloader'");
    run_install(&d, &B_v2, &r);
    assert_int_equal(r.err, NB_OK);
    bx_free(&boot);
    nb_flash_sim_close(d.sim);
}

static void test_rollback(void **state)
{
    (void)state;
    static char payload[NB_PAYLOAD_MAX + 1];
    struct dev d;
    struct bx_bundle old;
    provision(&d, SLOT_LEN, IMG_LEN);
    size_t len = bx_payload(&W, &B_v2, payload, sizeof payload);
    char *p = strstr(payload, "\"security_counter\":4");
    assert_non_null(p);
    p[strlen("\"security_counter\":")] = '3';
    bx_resign(&W, &B_v2, payload, len, &old);
    expect_refused(&d, &old, NB_EROLLBACK, "security counter 3 is below this device's minimum 4");
    bx_free(&old);
    nb_flash_sim_close(d.sim);
}

static void test_image_too_large(void **state)
{
    (void)state;
    struct dev d;
    provision(&d, 32u * 1024, 16u * 1024);
    expect_refused(&d, &B_v2, NB_ENOSPC, "does not fit");
    nb_flash_sim_close(d.sim);
}

static void test_not_a_recipient(void **state)
{
    (void)state;
    struct dev d;
    provision(&d, SLOT_LEN, IMG_LEN);
    d.xkey = &W.other_device;
    expect_refused(&d, &B_enc, NB_EDECRYPT, "install refused");
    d.xkey = NULL;
    expect_refused(&d, &B_enc, NB_EDECRYPT, "no decryption key");
    nb_flash_sim_close(d.sim);
}

static void test_caps_unknown(void **state)
{
    (void)state;
    struct dev d;
    struct run r;
    provision(&d, SLOT_LEN, IMG_LEN);
    assert_int_equal(nb_flash_erase(&d.flash, d.layout.caps.off, d.layout.caps.len), NB_OK);
    expect_refused(&d, &B_v2, NB_EINCOMPAT, "boot the device once with nobrick-boot first");
    struct nb_caps weak = {.boot_version = 0x000100,
                           .max_tries = 1,
                           .anti_rollback = true,
                           .verifies_signature = true,
                           .slots = 2};
    assert_int_equal(nb_caps_write(&d.flash, d.layout.caps, &weak), NB_OK);
    expect_refused(&d, &B_v2, NB_EINCOMPAT, "supports 1 boot try, this update needs 3");
    weak.max_tries = 3;
    assert_int_equal(nb_caps_write(&d.flash, d.layout.caps, &weak), NB_OK);
    run_install(&d, &B_v2, &r);
    assert_int_equal(r.err, NB_OK);
    nb_flash_sim_close(d.sim);
}

/* Corrupt frame, wrong index, frame fed twice: refused, nothing written,
 * and the install carries on with the right frame. */
static void test_bad_frames(void **state)
{
    (void)state;
    const uint8_t *env, *table, *frames;
    size_t env_len, table_len;
    struct nb_codec codec = {0};
    struct nb_install in;
    struct nb_frame_entry e;
    struct nb_diag diag;
    struct dev d;
    uint8_t before[FS], after[FS];
    uint32_t i;
    provision(&d, SLOT_LEN, IMG_LEN);
    parts(&B_v2, &env, &env_len, &table, &table_len, &frames);
    assert_int_equal(nb_codec_init(&codec), NB_OK);
    struct nb_install_device dev = {.flash = &d.flash,
                                    .layout = &d.layout,
                                    .bootctl = nb_bootctl_flash_control(&d.bc),
                                    .journal = &d.journal,
                                    .root = &d.root,
                                    .hw_class = "thermo-v3"};
    struct nb_install_bufs bufs = {scratch, sizeof scratch, table_buf, sizeof table_buf,
                                   window,  sizeof window,  &codec};
    nb_install_init(&in, &dev, &bufs);
    assert_int_equal(nb_install_begin(&in, env, env_len, NULL), NB_OK);
    assert_int_equal(nb_install_table(&in, env, env_len, table, table_len, NULL), NB_OK);
    assert_true(nb_install_want(&in, &i));
    assert_int_equal(i, 0);
    bx_entry(&B_v2, 0, &e);
    memcpy(stored, frames + e.stored_off, e.stored_len);
    assert_int_equal(nb_install_frame(&in, 1, stored, e.stored_len, NULL), NB_EINVAL);
    assert_int_equal(nb_install_frame(&in, 0, stored, e.stored_len, NULL), NB_OK);
    assert_int_equal(nb_install_frame(&in, 0, stored, e.stored_len, NULL), NB_EINVAL); /* twice */

    uint64_t off = d.layout.slot[NB_BOOTCTL_B].off + FS;
    assert_int_equal(nb_flash_read(&d.flash, off, before, FS), NB_OK);
    bx_entry(&B_v2, 1, &e);
    memcpy(stored, frames + e.stored_off, e.stored_len);
    stored[e.stored_len / 2] ^= 0x01; /* a forged frame at the same length */
    nb_diag_clear(&diag);
    assert_int_equal(nb_install_frame(&in, 1, stored, e.stored_len, &diag), NB_EHASH);
    assert_non_null(strstr(diag.msg, "frame 1"));
    assert_int_equal(nb_flash_read(&d.flash, off, after, FS), NB_OK);
    assert_memory_equal(before, after, FS);
    assert_int_equal(nb_install_frame(&in, 1, stored, e.stored_len - 1, NULL), NB_ETRUNCATED);

    memcpy(stored, frames + e.stored_off, e.stored_len); /* re-fetched */
    assert_int_equal(nb_install_frame(&in, 1, stored, e.stored_len, NULL), NB_OK);
    while (nb_install_want(&in, &i)) {
        bx_entry(&B_v2, i, &e);
        memcpy(stored, frames + e.stored_off, e.stored_len);
        assert_int_equal(nb_install_frame(&in, i, stored, e.stored_len, NULL), NB_OK);
    }
    assert_int_equal(nb_install_finish(&in, NULL), NB_OK);
    nb_install_fini(&in);
    nb_codec_fini(&codec);
    reboot(&d);
    assert_installed(&d);
    nb_flash_sim_close(d.sim);
}

/* --- the power-cut matrix ------------------------------------------------------ */

/* After a cut and a reboot: boot control loads, A is untouched, B is
 * bootable only if it holds exactly the new image. */
static void check_after_cut(struct dev *d)
{
    struct nb_bootctl rec;
    uint8_t sha[32];
    assert_int_equal(nb_bootctl_load(&d->bc, &rec, NULL), NB_OK);
    assert_old_intact(d, &rec);
    enum nb_bootctl_state s = rec.slot[NB_BOOTCTL_B].state;
    assert_true(s != NB_BOOTCTL_GOOD && s != NB_BOOTCTL_BAD);
    if (s == NB_BOOTCTL_TRIAL || s == NB_BOOTCTL_READY) {
        slot_sha(d, NB_BOOTCTL_B, IMG_LEN, sha);
        assert_memory_equal(sha, sha_v2, 32);
    }
}

static int run_cell(const struct run *ref, uint64_t k, bool tear, uint64_t seed)
{
    struct dev d;
    struct run r;
    provision(&d, SLOT_LEN, IMG_LEN);
    nb_flash_sim_reset_stats(d.sim);
    nb_flash_sim_cut_after(d.sim, k, tear, seed);
    run_install(&d, &B_v2, &r);
    assert_int_not_equal(r.err, NB_OK);
    assert_true(nb_flash_sim_power_lost(d.sim));
    reboot(&d);
    check_after_cut(&d);

    uint32_t done = 0; /* frames fully written before the cut */
    for (uint32_t i = 0; i < ref->total; i++)
        done += ref->ops_at_frame[i] <= k;
    run_install(&d, &B_v2, &r);
    if (r.err != NB_OK)
        fail_msg("cut %llu%s: resume failed: %s (%s)", (unsigned long long)k, tear ? " torn" : "",
                 r.diag.msg, nb_errname(r.err));
    assert_int_equal(r.asked, r.total - r.skipped);
    assert_int_equal(r.skipped, done);
    reboot(&d);
    assert_installed(&d);
    nb_flash_sim_close(d.sim);
    return (int)r.skipped;
}

static void test_power_cut_matrix(void **state)
{
    (void)state;
    struct dev d;
    struct run ref;
    provision(&d, SLOT_LEN, IMG_LEN);
    nb_flash_sim_reset_stats(d.sim);
    run_install(&d, &B_v2, &ref);
    assert_int_equal(ref.err, NB_OK);
    uint64_t total = ops(&d);
    nb_flash_sim_close(d.sim);

    int cells = 0, resumed = 0;
    for (uint64_t k = 0; k < total; k++) {
        for (int tear = 0; tear < 2; tear++) {
            int skipped = run_cell(&ref, k, tear != 0, k * 7 + 1);
            resumed += skipped > 0;
            cells++;
            if (k >= ref.ops_at_frame[2])
                assert_true(skipped > 0);
        }
    }
    assert_true(resumed > cells / 2);
    print_message("install power-cut matrix: %llu ops, %d cells, %d resumed with frames skipped\n",
                  (unsigned long long)total, cells, resumed);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_happy_path),        cmocka_unit_test(test_encrypted),
        cmocka_unit_test(test_wrong_hw_class),    cmocka_unit_test(test_wrong_component),
        cmocka_unit_test(test_rollback),          cmocka_unit_test(test_image_too_large),
        cmocka_unit_test(test_not_a_recipient),   cmocka_unit_test(test_caps_unknown),
        cmocka_unit_test(test_bad_frames),        cmocka_unit_test(test_power_cut_matrix),
        cmocka_unit_test(test_cut_in_last_write),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
