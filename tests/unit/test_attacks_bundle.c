/* SECURITY.md attack cases on the bundle: 1, 21, 28, 33, 34, 35, 36. Each
 * test takes a bundle made by the real writer, does what the attacker can
 * do to its bytes (the attacker holds no release key; where a test re-signs,
 * it says why), and checks the error code, the message, and with a reader
 * that records every read, that nothing past the signed data was read.
 * Verification on a host stands in for the device's install path: both
 * push frames through the same nb_frame_open. */
#include "bundle_fixture.h"

#include <nobrick/alloc.h>
#include <nobrick/encoding.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#define FS 4096u

static struct bx_world w;
static uint8_t image[3 * FS];
static struct bx_bundle plain;  /* zstd, not encrypted */
static struct bx_bundle sealed; /* no compression, encrypted: equal-length frames */
static char payload[NB_PAYLOAD_MAX + 1];

static int setup(void **state)
{
    (void)state;
    bx_world_init(&w);
    bx_image(image, sizeof image, 5, true);
    struct bx_spec zstd = {FS, NB_COMPRESSION_ZSTD, false, NULL};
    struct bx_spec none_enc = {FS, NB_COMPRESSION_NONE, true, NULL};
    bx_create(&w, image, sizeof image, &zstd, &plain);
    bx_create(&w, image, sizeof image, &none_enc, &sealed);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    bx_free(&plain);
    bx_free(&sealed);
    return 0;
}

/* ---- a reader that records how far it was asked to read ------------------- */

static uint64_t read_end;

static enum nb_err track_read(struct nb_bundle_reader *r, uint64_t off, void *buf, size_t len,
                              struct nb_diag *diag)
{
    (void)diag;
    if (off + len > read_end)
        read_end = off + len;
    if (off > r->len || len > r->len - off)
        return NB_ETRUNCATED;
    memcpy(buf, r->mem + off, len);
    return NB_OK;
}

static void track_close(struct nb_bundle_reader *r)
{
    (void)r;
}

static const struct nb_bundle_reader_ops track_ops = {track_read, track_close};

/* Verifies b through the recording reader; read_end tells how far it read. */
static enum nb_err verify_tracked(const struct bx_bundle *b, const struct nb_keyfile *dev,
                                  struct nb_diag *d)
{
    struct nb_bundle_reader r;
    nb_bundle_reader_from_mem(&r, b->data, b->len);
    r.ops = &track_ops;
    read_end = 0;
    nb_diag_clear(d);
    return nb_bundle_file_verify(&w.root, &r, dev ? dev->x_priv : NULL, dev ? dev->x_pub : NULL,
                                 NULL, d);
}

/* b grown by extra bytes (zero), optionally with the header's frames_len
 * raised to match. */
static void append(const struct bx_bundle *b, size_t extra, bool fix_header, struct bx_bundle *out)
{
    struct nb_bundle_header h;
    bx_header(b, &h);
    out->len = b->len + extra;
    out->data = nb_calloc(1, out->len);
    assert_non_null(out->data);
    memcpy(out->data, b->data, b->len);
    if (fix_header)
        nb_put_le64(out->data + 20, h.frames_len + extra);
}

/* ---- 1 ------------------------------------------------------------------- */

/* Valid metadata, payload bytes replaced at the same length: E_HASH at the
 * first replaced frame, found from the signed table before any decoding. */
static void case01_arbitrary_payload(void **state)
{
    (void)state;
    const struct bx_bundle *src[] = {&plain, &sealed};
    for (int k = 0; k < 2; k++) {
        struct bx_bundle b;
        struct nb_frame_entry e1;
        struct nb_diag d = {{0}};
        bx_copy(src[k], &b);
        struct nb_bundle_header h;
        bx_header(&b, &h);
        bx_entry(&b, 1, &e1);
        /* Frames 1 and 2 replaced by other bytes of the same length. */
        bx_image(b.data + h.frames_off + e1.stored_off, (size_t)(h.frames_len - e1.stored_off), 77,
                 false);
        assert_int_equal(verify_tracked(&b, k ? &w.device : NULL, &d), NB_EHASH);
        assert_string_equal(d.msg, "hash mismatch in frame 1 (stored bytes)");
        /* It stopped at frame 1: frame 2 was never read. */
        assert_int_equal(read_end, h.frames_off + e1.stored_off + e1.stored_len);
        /* The whole payload replaced: frame 0 is named. */
        bx_image(b.data + h.frames_off, (size_t)h.frames_len, 78, false);
        assert_int_equal(verify_tracked(&b, k ? &w.device : NULL, &d), NB_EHASH);
        assert_string_equal(d.msg, "hash mismatch in frame 0 (stored bytes)");
        bx_free(&b);
    }
}

/* ---- 21 ------------------------------------------------------------------ */

/* The payload is one byte longer than signed. Trailing bytes are refused
 * from the header alone; a header edited to claim them is refused against
 * the signed table; neither way is the extra byte ever read. */
static void case21_endless_payload(void **state)
{
    (void)state;
    struct bx_bundle b;
    struct nb_diag d = {{0}};
    struct nb_bundle_header h;
    bx_header(&plain, &h);
    append(&plain, 1, false, &b);
    assert_int_equal(verify_tracked(&b, NULL, &d), NB_ETRUNCATED);
    assert_non_null(strstr(d.msg, "1 bytes after the end of the bundle"));
    assert_int_equal(read_end, NB_BUNDLE_HEADER_LEN);
    bx_free(&b);
    append(&plain, 1, true, &b);
    assert_int_equal(verify_tracked(&b, NULL, &d), NB_ETRUNCATED);
    assert_string_equal(d.msg, "1 bytes after the last frame the signed frame table lists");
    assert_true(read_end <= h.frames_off);
    bx_free(&b);
    /* A device fed one stored byte more than a frame's signed length. */
    struct nb_frame_entry e;
    bx_entry(&plain, 0, &e);
    uint8_t stored[FS + 1024];
    memcpy(stored, plain.data + h.frames_off, e.stored_len + 1);
    assert_int_equal(nb_frame_check_stored(0, &e, stored, e.stored_len + 1, &d), NB_ELENGTH);
}

/* ---- 28 ------------------------------------------------------------------ */

/* A file not in the signed manifest. A bundle has no file list: the only
 * place for extra content is past the signed frames, or as an extra table
 * entry. Past the frames it is E_TRUNCATED, "data continued past its end"
 * (SECURITY.md says E_PARSE; we keep one code for every byte beyond the
 * signed end, cases 21, 28 and 34 alike); an extra table entry breaks the
 * signed table (E_HASH). Either way the extra bytes are never read. */
static void case28_extraneous_file(void **state)
{
    (void)state;
    struct bx_bundle b;
    struct nb_diag d = {{0}};
    struct nb_bundle_header h;
    struct nb_frame_entry e0;
    bx_header(&plain, &h);
    bx_entry(&plain, 0, &e0);
    /* An extra frame (a copy of frame 0) appended, the header made to match. */
    append(&plain, e0.stored_len, true, &b);
    memcpy(b.data + plain.len, plain.data + h.frames_off, e0.stored_len);
    assert_int_equal(verify_tracked(&b, NULL, &d), NB_ETRUNCATED);
    assert_non_null(strstr(d.msg, "after the last frame the signed frame table lists"));
    assert_true(read_end <= h.frames_off);
    bx_free(&b);
    /* An extra table entry for it, too. */
    b.len = plain.len + NB_FRAME_ENTRY_LEN + e0.stored_len;
    b.data = nb_calloc(1, b.len);
    assert_non_null(b.data);
    size_t table_end = (size_t)h.frames_off;
    memcpy(b.data, plain.data, table_end);
    memcpy(b.data + table_end, plain.data + h.table_off + NB_FRAME_TABLE_HEADER_LEN,
           NB_FRAME_ENTRY_LEN);
    memcpy(b.data + table_end + NB_FRAME_ENTRY_LEN, plain.data + table_end, plain.len - table_end);
    memcpy(b.data + b.len - e0.stored_len, plain.data + h.frames_off, e0.stored_len);
    nb_put_le32(b.data + 16, h.table_len + NB_FRAME_ENTRY_LEN);
    nb_put_le64(b.data + 20, h.frames_len + e0.stored_len);
    assert_int_equal(verify_tracked(&b, NULL, &d), NB_EHASH);
    assert_non_null(strstr(d.msg, "frame table is"));
    assert_true(read_end <= h.table_off); /* the table was not even read */
    bx_free(&b);
}

/* ---- 33 ------------------------------------------------------------------ */

static enum nb_err with_header_field(size_t off, uint64_t v, size_t width, struct nb_diag *d)
{
    struct bx_bundle b;
    bx_copy(&plain, &b);
    if (width == 8)
        nb_put_le64(b.data + off, v);
    else
        nb_put_le32(b.data + off, (uint32_t)v);
    enum nb_err err = verify_tracked(&b, NULL, d);
    bx_free(&b);
    return err;
}

/* b with its table edited (entry i's field at off set to v) and a release
 * re-signed over the new table hash. Only the release key holder can do
 * this; it shows the field checks behind the hash do not wrap either. */
static enum nb_err with_signed_table_field(uint32_t i, size_t off, uint64_t v, size_t width,
                                           struct nb_diag *d)
{
    struct bx_bundle b, resigned;
    struct nb_bundle_header h;
    struct nb_release rel;
    bx_copy(&plain, &b);
    bx_header(&b, &h);
    size_t len = bx_payload(&w, &b, payload, sizeof payload);
    assert_int_equal(nb_release_parse((const uint8_t *)payload, len, &rel, NULL), NB_OK);
    char old_hex[65], new_hex[65];
    uint8_t digest[32];
    assert_int_equal(nb_hex_encode(rel.table_sha256, 32, old_hex, sizeof old_hex), NB_OK);
    uint8_t *p = b.data + h.table_off + nb_frame_table_len(i) + off;
    if (width == 8)
        nb_put_le64(p, v);
    else
        nb_put_le32(p, (uint32_t)v);
    assert_int_equal(nb_sha256(b.data + h.table_off, h.table_len, digest), NB_OK);
    assert_int_equal(nb_hex_encode(digest, 32, new_hex, sizeof new_hex), NB_OK);
    char *at = strstr(payload, old_hex);
    assert_non_null(at);
    memcpy(at, new_hex, 64);
    bx_resign(&w, &b, payload, len, &resigned);
    enum nb_err err = verify_tracked(&resigned, NULL, d);
    bx_free(&resigned);
    bx_free(&b);
    return err;
}

/* Lengths of 0xFFFFFFFF, 2^31+1 and 2^63 in the header and the frame
 * table: refused by a cap (E_LENGTH) or a structure check (E_PARSE) before
 * any sum uses them. Within every cap, a frames length the file does not
 * hold is E_TRUNCATED (it ends early) with exact, unwrapped arithmetic. */
static void case33_size_field_overflow(void **state)
{
    (void)state;
    static const uint64_t huge[] = {0xFFFFFFFFu, (1ull << 31) + 1, 1ull << 63};
    struct nb_diag d = {{0}};
    for (size_t k = 0; k < 3; k++) {
        uint64_t v = huge[k];
        if (v <= UINT32_MAX) {
            assert_int_equal(with_header_field(12, v, 4, &d), NB_ELENGTH); /* envelope_len */
            assert_int_equal(with_header_field(16, v, 4, &d), NB_ELENGTH); /* table_len */
            assert_int_equal(with_header_field(20, v, 8, &d), NB_ETRUNCATED);
            assert_int_equal(read_end, NB_BUNDLE_HEADER_LEN);
            /* stored_len and out_len of a frame, behind a re-signed table. */
            assert_int_equal(with_signed_table_field(1, 8, v, 4, &d), NB_ELENGTH);
            assert_non_null(strstr(d.msg, "stored_len"));
            assert_int_equal(with_signed_table_field(2, 12, v, 4, &d), NB_EPARSE);
            assert_non_null(strstr(d.msg, "out_len"));
        } else {
            assert_int_equal(with_header_field(20, v, 8, &d), NB_ELENGTH); /* frames_len */
            assert_int_equal(read_end, NB_BUNDLE_HEADER_LEN);
        }
        /* stored_off: any value but the running offset is refused. */
        assert_int_equal(with_signed_table_field(1, 0, v, 8, &d), NB_EPARSE);
        /* Without re-signing, any table edit is E_HASH first. */
        struct bx_bundle b;
        struct nb_bundle_header h;
        bx_copy(&plain, &b);
        bx_header(&b, &h);
        nb_put_le32(b.data + h.table_off + nb_frame_table_len(1) + 8, (uint32_t)v);
        assert_int_equal(verify_tracked(&b, NULL, &d), NB_EHASH);
        assert_true(read_end <= h.frames_off);
        bx_free(&b);
    }
}

/* ---- 34 ------------------------------------------------------------------ */

/* Encrypted stream truncation. Dropping the final frame or appending bytes
 * is E_TRUNCATED. Reordering or duplicating frames: SECURITY.md expects
 * E_DECRYPT (the nonce is the frame index), but nobrick checks each frame's
 * stored bytes against the signed table before it decrypts, so the attack is
 * caught one step earlier, as E_HASH. That is the stronger design:
 * authenticity comes from the signed table, never from the AEAD tag (which
 * anyone holding the content key can make). */
static void case34_encrypted_truncation(void **state)
{
    (void)state;
    struct bx_bundle b;
    struct nb_diag d = {{0}};
    struct nb_bundle_header h;
    struct nb_frame_entry e0, e2;
    bx_header(&sealed, &h);
    bx_entry(&sealed, 0, &e0);
    bx_entry(&sealed, 2, &e2);
    assert_int_equal(e0.stored_len, e2.stored_len); /* so frames can be swapped */
    /* Final frame dropped, header as it was. */
    bx_copy(&sealed, &b);
    b.len -= e2.stored_len;
    assert_int_equal(verify_tracked(&b, &w.device, &d), NB_ETRUNCATED);
    assert_non_null(strstr(d.msg, "ends early"));
    /* Final frame dropped, header made to match. */
    nb_put_le64(b.data + 20, h.frames_len - e2.stored_len);
    assert_int_equal(verify_tracked(&b, &w.device, &d), NB_ETRUNCATED);
    assert_non_null(strstr(d.msg, "before the signed end"));
    bx_free(&b);
    /* Bytes appended after the final frame. */
    append(&sealed, 16, false, &b);
    assert_int_equal(verify_tracked(&b, &w.device, &d), NB_ETRUNCATED);
    bx_free(&b);
    /* Frames 0 and 1 swapped. */
    bx_copy(&sealed, &b);
    uint8_t *f = b.data + h.frames_off;
    memcpy(f, sealed.data + h.frames_off + e0.stored_len, e0.stored_len);
    memcpy(f + e0.stored_len, sealed.data + h.frames_off, e0.stored_len);
    assert_int_equal(verify_tracked(&b, &w.device, &d), NB_EHASH);
    assert_string_equal(d.msg, "hash mismatch in frame 0 (stored bytes)");
    bx_free(&b);
    /* Frame 0 duplicated over frame 1. */
    bx_copy(&sealed, &b);
    memcpy(b.data + h.frames_off + e0.stored_len, b.data + h.frames_off, e0.stored_len);
    assert_int_equal(verify_tracked(&b, &w.device, &d), NB_EHASH);
    assert_string_equal(d.msg, "hash mismatch in frame 1 (stored bytes)");
    bx_free(&b);
}

/* ---- 35 ------------------------------------------------------------------ */

/* An insider who knows the content key (from another device of the group)
 * re-encrypts modified plaintext: the AEAD tag is valid, and still the
 * frame is refused by the signed table, before it is decrypted, so no
 * forged byte reaches the output. */
static void case35_insider_forgery(void **state)
{
    (void)state;
    struct bx_bundle b;
    struct nb_bundle_header h;
    struct nb_release rel;
    struct nb_frame_entry e1, forged;
    struct nb_diag d = {{0}};
    uint8_t key[32], plaintext[FS], stored[FS + 64], out[FS];
    bx_copy(&sealed, &b);
    bx_header(&b, &h);
    bx_entry(&b, 1, &e1);
    size_t len = bx_payload(&w, &b, payload, sizeof payload);
    assert_int_equal(nb_release_parse((const uint8_t *)payload, len, &rel, NULL), NB_OK);
    assert_int_equal(nb_release_unwrap_key((const uint8_t *)payload, len, w.device.x_priv,
                                           w.device.x_pub, key, NULL),
                     NB_OK);
    /* The forgery: frame 1's window with a backdoor, sealed with K at index 1. */
    memcpy(plaintext, image + FS, FS);
    memcpy(plaintext + 100, "BACKDOOR", 8);
    struct nb_codec codec = {0};
    assert_int_equal(nb_codec_init(&codec), NB_OK);
    struct nb_frame_ctx fx;
    nb_frame_ctx_init(&fx, &rel, key, &codec);
    assert_int_equal(
        nb_frame_seal(&fx, 1, e1.stored_off, plaintext, FS, stored, sizeof stored, &forged, NULL),
        NB_OK);
    assert_int_equal(forged.stored_len, e1.stored_len);
    memcpy(b.data + h.frames_off + e1.stored_off, stored, forged.stored_len);
    /* The tag alone would accept it. */
    uint8_t nonce[12] = {0}, aad[8], copy[FS];
    nb_put_le64(nonce + 4, 1);
    nb_put_le64(aad, 1);
    assert_int_equal(nb_aes256gcm_open(key, nonce, aad, 8, stored, FS, stored + FS, copy), NB_OK);
    assert_memory_equal(copy, plaintext, FS);
    /* The bundle is refused at frame 1, on its stored bytes. */
    assert_int_equal(verify_tracked(&b, &w.device, &d), NB_EHASH);
    assert_string_equal(d.msg, "hash mismatch in frame 1 (stored bytes)");
    /* The install path (nb_frame_open) leaves no forged byte in its output. */
    memset(out, 0x5a, sizeof out);
    nb_diag_clear(&d);
    assert_int_equal(nb_frame_open(&fx, 1, &e1, stored, forged.stored_len, out, sizeof out, &d),
                     NB_EHASH);
    assert_string_equal(d.msg, "hash mismatch in frame 1 (stored bytes)");
    for (size_t i = 0; i + 8 <= sizeof out; i++)
        assert_memory_not_equal(out + i, "BACKDOOR", 8);
    nb_frame_ctx_fini(&fx);
    nb_codec_fini(&codec);
    nb_wipe(key, sizeof key);
    bx_free(&b);
}

/* ---- 36 ------------------------------------------------------------------ */

/* The key is sealed to another device, or the sealed key is corrupted:
 * E_DECRYPT, and not one frame byte is read. */
static void case36_wrong_recipient(void **state)
{
    (void)state;
    struct nb_diag d = {{0}};
    struct nb_bundle_header h;
    bx_header(&sealed, &h);
    assert_int_equal(verify_tracked(&sealed, &w.other_device, &d), NB_EDECRYPT);
    assert_non_null(strstr(d.msg, "not a recipient"));
    assert_true(read_end <= h.frames_off);
    /* A corrupted wrapped key under a valid signature (a faulty signing
     * host; in transit, any edit breaks the signature): the unwrap fails. */
    size_t len = bx_payload(&w, &sealed, payload, sizeof payload);
    char *wrapped = strstr(payload, "\"wrapped\":\"");
    assert_non_null(wrapped);
    wrapped[11] = wrapped[11] == '0' ? '1' : '0';
    struct bx_bundle b;
    bx_resign(&w, &sealed, payload, len, &b);
    bx_header(&b, &h);
    assert_int_equal(verify_tracked(&b, &w.device, &d), NB_EDECRYPT);
    assert_non_null(strstr(d.msg, "does not unwrap"));
    assert_true(read_end <= h.frames_off);
    bx_free(&b);
    /* Any edit of the signed payload without the release key is E_SIG. */
    bx_copy(&sealed, &b);
    bx_header(&b, &h);
    char *env = (char *)b.data + h.envelope_off;
    char *b64 = strstr(env, "\"payload\":\"");
    assert_non_null(b64);
    b64[11 + 40] = b64[11 + 40] == 'A' ? 'B' : 'A';
    assert_int_equal(verify_tracked(&b, &w.device, &d), NB_ESIG);
    assert_true(read_end <= h.table_off);
    bx_free(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(case01_arbitrary_payload),    cmocka_unit_test(case21_endless_payload),
        cmocka_unit_test(case28_extraneous_file),      cmocka_unit_test(case33_size_field_overflow),
        cmocka_unit_test(case34_encrypted_truncation), cmocka_unit_test(case35_insider_forgery),
        cmocka_unit_test(case36_wrong_recipient),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
