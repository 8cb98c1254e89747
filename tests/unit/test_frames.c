/* Unit tests of the frame table and the per-frame pipeline
 * (lib/core/frames.c): seal/open round trips in every mode, the table check
 * and each way a table can be wrong, and the order of checks when a frame is
 * opened (signed stored hash before decryption and decoding). */
#include "bundle_fixture.h"

#include <nobrick/encoding.h>
#include <nobrick/frames.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#define FS 4096u
#define IMAGE_LEN (3 * FS - 100)

static uint8_t image[IMAGE_LEN];
static uint8_t key[32];
static struct nb_codec codec;

/* A release, its table and the stored frames of image, in one mode. */
struct made {
    struct nb_release rel;
    uint8_t table[NB_FRAME_TABLE_HEADER_LEN + 3 * NB_FRAME_ENTRY_LEN];
    uint8_t frames[3 * (FS + 1024)];
    uint64_t frames_len;
};
static struct made m;

static int setup(void **state)
{
    (void)state;
    bx_image(image, sizeof image, 3, true);
    memset(key, 0x42, sizeof key);
    return nb_codec_init(&codec) == NB_OK ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    nb_codec_fini(&codec);
    return 0;
}

static void rehash_table(struct made *x)
{
    assert_int_equal(nb_sha256(x->table, sizeof x->table, x->rel.table_sha256), NB_OK);
}

static void make(enum nb_compression c, bool encrypted)
{
    memset(&m, 0, sizeof m);
    m.rel.frame_size = FS;
    m.rel.frame_count = 3;
    m.rel.image_size = IMAGE_LEN;
    m.rel.compression = c;
    m.rel.encrypted = encrypted;
    struct nb_frame_ctx fx;
    nb_frame_ctx_init(&fx, &m.rel, encrypted ? key : NULL, &codec);
    uint8_t stored[FS + 1024];
    for (uint32_t i = 0; i < 3; i++) {
        struct nb_frame_entry e;
        size_t n = i < 2 ? FS : IMAGE_LEN - 2 * FS;
        assert_int_equal(
            nb_frame_seal(&fx, i, m.frames_len, image + i * FS, n, stored, sizeof stored, &e, NULL),
            NB_OK);
        memcpy(m.frames + m.frames_len, stored, e.stored_len);
        m.frames_len += e.stored_len;
        nb_frame_entry_put(m.table, i, &e);
    }
    nb_frame_ctx_fini(&fx);
    nb_frame_table_put_header(m.table, 3, FS);
    rehash_table(&m);
}

static enum nb_err check(struct nb_diag *d)
{
    uint64_t len = 0;
    nb_diag_clear(d);
    return nb_frame_table_check(&m.rel, m.table, sizeof m.table, &len, d);
}

/* Opens every frame of m and compares with the image. */
static void open_all(bool with_key)
{
    struct nb_frame_ctx fx;
    nb_frame_ctx_init(&fx, &m.rel, with_key ? key : NULL, &codec);
    uint8_t stored[FS + 1024], out[FS];
    for (uint32_t i = 0; i < 3; i++) {
        struct nb_frame_entry e;
        nb_frame_entry_get(m.table, i, &e);
        memcpy(stored, m.frames + e.stored_off, e.stored_len);
        struct nb_diag d = {{0}};
        enum nb_err err = nb_frame_open(&fx, i, &e, stored, e.stored_len, out, sizeof out, &d);
        if (err != NB_OK)
            fail_msg("frame %u: %s", i, d.msg);
        assert_memory_equal(out, image + i * FS, e.out_len);
    }
    nb_frame_ctx_fini(&fx);
}

static void seal_then_open_in_every_mode(void **state)
{
    (void)state;
    for (int c = 0; c < 2; c++) {
        for (int enc = 0; enc < 2; enc++) {
            make(c ? NB_COMPRESSION_ZSTD : NB_COMPRESSION_NONE, enc);
            uint64_t len = 0;
            assert_int_equal(nb_frame_table_check(&m.rel, m.table, sizeof m.table, &len, NULL),
                             NB_OK);
            assert_int_equal(len, m.frames_len);
            open_all(enc);
            if (c == 0)
                assert_int_equal(len, IMAGE_LEN + (enc ? 3 * NB_GCM_TAG_LEN : 0));
            else
                assert_true(len < IMAGE_LEN / 2); /* the image compresses */
        }
    }
}

static void table_layout_is_the_documented_one(void **state)
{
    (void)state;
    make(NB_COMPRESSION_ZSTD, false);
    assert_memory_equal(m.table, "NBFT\x01\x00\x00\x00\x03\x00\x00\x00\x00\x10\x00\x00", 16);
    struct nb_frame_entry e;
    nb_frame_entry_get(m.table, 1, &e);
    const uint8_t *p = m.table + 16 + 80;
    assert_int_equal(nb_le64(p), e.stored_off);
    assert_int_equal(nb_le32(p + 8), e.stored_len);
    assert_int_equal(nb_le32(p + 12), FS);
    assert_memory_equal(p + 16, e.stored_sha256, 32);
    assert_memory_equal(p + 48, e.out_sha256, 32);
    assert_int_equal(nb_frame_table_len(3), sizeof m.table);
    assert_int_equal(NB_FRAME_TABLE_MAX, 16 + 80ull * (1u << 20));
}

static void table_hash_is_checked_first(void **state)
{
    (void)state;
    struct nb_diag d;
    make(NB_COMPRESSION_ZSTD, false);
    m.table[0] = 'X'; /* bad magic, but the hash no longer matches */
    assert_int_equal(check(&d), NB_EHASH);
    assert_string_equal(d.msg, "frame table: hash does not match the signed release");
    rehash_table(&m);
    assert_int_equal(check(&d), NB_EPARSE);
    uint64_t len;
    assert_int_equal(nb_frame_table_check(&m.rel, m.table, 20, &len, NULL), NB_ELENGTH);
}

/* Edits field `off` of entry i (or the header, i < 0) to v, re-hashes the
 * table as a signer would, and returns the check's verdict. */
static enum nb_err edited(int i, size_t off, uint64_t v, size_t width, struct nb_diag *d)
{
    make(NB_COMPRESSION_ZSTD, false);
    uint8_t *p = m.table + (i < 0 ? 0 : 16 + 80 * (size_t)i) + off;
    if (width == 8)
        nb_put_le64(p, v);
    else if (width == 4)
        nb_put_le32(p, (uint32_t)v);
    else
        nb_put_le16(p, (uint16_t)v);
    rehash_table(&m);
    return check(d);
}

static void table_fields_are_checked(void **state)
{
    (void)state;
    struct nb_diag d;
    assert_int_equal(edited(-1, 4, 2, 2, &d), NB_EPARSE);        /* version */
    assert_int_equal(edited(-1, 6, 1, 2, &d), NB_EPARSE);        /* reserved */
    assert_int_equal(edited(-1, 8, 4, 4, &d), NB_EMISMATCH);     /* count */
    assert_int_equal(edited(-1, 12, 8192, 4, &d), NB_EMISMATCH); /* frame size */
    make(NB_COMPRESSION_ZSTD, false);
    struct nb_frame_entry e0, e1;
    nb_frame_entry_get(m.table, 0, &e0);
    nb_frame_entry_get(m.table, 1, &e1);
    /* Gap, overlap, a first frame not at 0. */
    assert_int_equal(edited(1, 0, e1.stored_off + 1, 8, &d), NB_EPARSE);
    assert_non_null(strstr(d.msg, "frame 1 at offset"));
    assert_int_equal(edited(1, 0, e1.stored_off - 1, 8, &d), NB_EPARSE);
    assert_int_equal(edited(0, 0, 1, 8, &d), NB_EPARSE);
    /* Lengths: zero, past the codec bound, output not a full window. */
    assert_int_equal(edited(0, 8, 0, 4, &d), NB_ELENGTH);
    assert_int_equal(edited(0, 8, nb_codec_bound(FS) + 1, 4, &d), NB_ELENGTH);
    assert_int_equal(edited(0, 12, FS - 1, 4, &d), NB_EPARSE);
    assert_int_equal(edited(2, 12, 0, 4, &d), NB_EPARSE);
    assert_int_equal(edited(2, 12, FS, 4, &d), NB_EPARSE); /* sum != image size */
    assert_non_null(strstr(d.msg, "the image is"));
}

/* SECURITY.md 33: huge values in every length field, with the table
 * re-hashed so they reach the field checks; none wraps a sum. */
static void table_size_fields_do_not_wrap(void **state)
{
    (void)state;
    static const uint64_t huge[] = {0xFFFFFFFFu, (1u << 31) + 1, 1ull << 63, UINT64_MAX};
    struct nb_diag d;
    for (size_t k = 0; k < 4; k++) {
        enum nb_err err = edited(1, 0, huge[k], 8, &d); /* stored_off */
        assert_int_equal(err, NB_EPARSE);
        if (huge[k] <= UINT32_MAX) {
            assert_int_equal(edited(1, 8, huge[k], 4, &d), NB_ELENGTH);    /* stored_len */
            assert_int_equal(edited(2, 12, huge[k], 4, &d), NB_EPARSE);    /* out_len */
            assert_int_equal(edited(-1, 8, huge[k], 4, &d), NB_EMISMATCH); /* count */
        }
    }
    /* A release claiming as many frames is refused by length, not by a
     * multiplication that wrapped. */
    make(NB_COMPRESSION_ZSTD, false);
    m.rel.frame_count = 0xFFFFFFFFu;
    nb_frame_table_put_header(m.table, 0xFFFFFFFFu, FS);
    rehash_table(&m);
    assert_int_equal(check(&d), NB_ELENGTH);
}

static void uncompressed_frames_have_exact_lengths(void **state)
{
    (void)state;
    struct nb_diag d;
    make(NB_COMPRESSION_NONE, true);
    struct nb_frame_entry e;
    nb_frame_entry_get(m.table, 0, &e);
    assert_int_equal(e.stored_len, FS + NB_GCM_TAG_LEN);
    e.stored_len -= 1;
    nb_frame_entry_put(m.table, 0, &e);
    rehash_table(&m);
    assert_int_equal(check(&d), NB_EPARSE);
}

static void stored_bytes_are_checked_before_anything(void **state)
{
    (void)state;
    make(NB_COMPRESSION_ZSTD, true);
    struct nb_frame_ctx fx;
    nb_frame_ctx_init(&fx, &m.rel, key, &codec);
    struct nb_frame_entry e;
    nb_frame_entry_get(m.table, 1, &e);
    uint8_t stored[FS + 1024], out[FS];
    struct nb_diag d = {{0}};
    memcpy(stored, m.frames + e.stored_off, e.stored_len);
    stored[3] ^= 0x10;
    assert_int_equal(nb_frame_open(&fx, 1, &e, stored, e.stored_len, out, sizeof out, &d),
                     NB_EHASH);
    assert_string_equal(d.msg, "hash mismatch in frame 1 (stored bytes)");
    /* Short and long inputs are named as such. */
    memcpy(stored, m.frames + e.stored_off, e.stored_len);
    nb_diag_clear(&d);
    assert_int_equal(nb_frame_check_stored(1, &e, stored, e.stored_len - 1, &d), NB_ETRUNCATED);
    assert_int_equal(nb_frame_check_stored(1, &e, stored, e.stored_len + 1, NULL), NB_ELENGTH);
    assert_int_equal(nb_frame_check_stored(1, &e, stored, e.stored_len, NULL), NB_OK);
    /* Output buffer too small; no key for an encrypted frame. */
    assert_int_equal(nb_frame_open(&fx, 1, &e, stored, e.stored_len, out, 100, NULL), NB_ENOSPC);
    struct nb_frame_ctx nokey;
    nb_frame_ctx_init(&nokey, &m.rel, NULL, &codec);
    assert_int_equal(nb_frame_open(&nokey, 1, &e, stored, e.stored_len, out, sizeof out, NULL),
                     NB_EINVAL);
    nb_frame_ctx_fini(&fx);
}

/* With the stored hash made to match (as if the signer had signed them),
 * the later stages still refuse what they must. */
static void later_stages_refuse_bad_frames(void **state)
{
    (void)state;
    make(NB_COMPRESSION_ZSTD, true);
    struct nb_frame_entry e;
    nb_frame_entry_get(m.table, 0, &e);
    uint8_t stored[FS + 1024], out[FS];
    struct nb_diag d = {{0}};
    /* Wrong key: E_DECRYPT, and the output is wiped. */
    uint8_t wrong[32];
    memset(wrong, 0x43, sizeof wrong);
    struct nb_frame_ctx fx;
    nb_frame_ctx_init(&fx, &m.rel, wrong, &codec);
    memcpy(stored, m.frames, e.stored_len);
    memset(out, 0x77, sizeof out);
    assert_int_equal(nb_frame_open(&fx, 0, &e, stored, e.stored_len, out, sizeof out, &d),
                     NB_EDECRYPT);
    assert_string_equal(d.msg, "frame 0 does not decrypt");
    assert_int_equal(out[0], 0);
    nb_frame_ctx_fini(&fx);
    /* Frame 0 presented as frame 1 (its hashes copied): the nonce differs. */
    nb_frame_ctx_init(&fx, &m.rel, key, &codec);
    memcpy(stored, m.frames, e.stored_len);
    assert_int_equal(nb_frame_open(&fx, 1, &e, stored, e.stored_len, out, sizeof out, NULL),
                     NB_EDECRYPT);
    /* Output hash wrong in the table. */
    memcpy(stored, m.frames, e.stored_len);
    e.out_sha256[0] ^= 1;
    nb_diag_clear(&d);
    assert_int_equal(nb_frame_open(&fx, 0, &e, stored, e.stored_len, out, sizeof out, &d),
                     NB_EHASH);
    assert_string_equal(d.msg, "hash mismatch in frame 0 (output)");
    nb_frame_ctx_fini(&fx);
}

static void zstd_errors_surface(void **state)
{
    (void)state;
    make(NB_COMPRESSION_ZSTD, false);
    struct nb_frame_ctx fx;
    nb_frame_ctx_init(&fx, &m.rel, NULL, &codec);
    struct nb_frame_entry e;
    nb_frame_entry_get(m.table, 0, &e);
    uint8_t stored[FS + 1024], out[FS];
    /* Signed garbage (hash matches) does not decode. */
    memset(stored, 0xee, e.stored_len);
    assert_int_equal(nb_sha256(stored, e.stored_len, e.stored_sha256), NB_OK);
    assert_int_not_equal(nb_frame_open(&fx, 0, &e, stored, e.stored_len, out, sizeof out, NULL),
                         NB_OK);
    /* A frame that declares another size than out_len. */
    nb_frame_entry_get(m.table, 0, &e);
    memcpy(stored, m.frames, e.stored_len);
    e.out_len = FS / 2;
    assert_int_not_equal(nb_frame_open(&fx, 0, &e, stored, e.stored_len, out, sizeof out, NULL),
                         NB_OK);
    /* Delta frames are not implemented: refused, not misread. */
    fx.delta = true;
    nb_frame_entry_get(m.table, 0, &e);
    assert_int_equal(nb_frame_open(&fx, 0, &e, stored, e.stored_len, out, sizeof out, NULL),
                     NB_EUNSUPPORTED);
}

static void seal_refuses_bad_input(void **state)
{
    (void)state;
    make(NB_COMPRESSION_ZSTD, true);
    struct nb_frame_ctx fx;
    struct nb_frame_entry e;
    uint8_t out[FS + 1024];
    nb_frame_ctx_init(&fx, &m.rel, NULL, &codec);
    assert_int_equal(nb_frame_seal(&fx, 0, 0, image, FS, out, sizeof out, &e, NULL), NB_EINVAL);
    nb_frame_ctx_init(&fx, &m.rel, key, &codec);
    assert_int_equal(nb_frame_seal(&fx, 0, 0, image, FS + 1, out, sizeof out, &e, NULL), NB_EINVAL);
    assert_int_equal(nb_frame_seal(&fx, 0, 0, image, 0, out, sizeof out, &e, NULL), NB_EINVAL);
    assert_int_equal(nb_frame_seal(&fx, 0, 0, image, FS, out, FS, &e, NULL), NB_ENOSPC);
    assert_int_equal(nb_frame_stored_max(&m.rel), nb_codec_bound(FS) + NB_GCM_TAG_LEN);
    nb_frame_ctx_fini(&fx);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(seal_then_open_in_every_mode),
        cmocka_unit_test(table_layout_is_the_documented_one),
        cmocka_unit_test(table_hash_is_checked_first),
        cmocka_unit_test(table_fields_are_checked),
        cmocka_unit_test(table_size_fields_do_not_wrap),
        cmocka_unit_test(uncompressed_frames_have_exact_lengths),
        cmocka_unit_test(stored_bytes_are_checked_before_anything),
        cmocka_unit_test(later_stages_refuse_bad_frames),
        cmocka_unit_test(zstd_errors_surface),
        cmocka_unit_test(seal_refuses_bad_input),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
