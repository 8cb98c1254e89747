/* Unit tests of the .nbb header (lib/core/bundle.c): the layout, each fixed
 * field, the caps on each length (no sum wraps) and the exact file length. */
#include <nobrick/bundle.h>
#include <nobrick/encoding.h>
#include <nobrick/envelope.h>
#include <nobrick/frames.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#define ENV 1000u
#define TABLE (16u + 3 * 80u)
#define FRAMES 5000u
#define TOTAL (32u + ENV + TABLE + FRAMES)

static uint8_t hdr[NB_BUNDLE_HEADER_LEN];

static enum nb_err parse(uint64_t file_len, struct nb_diag *d)
{
    struct nb_bundle_header h;
    nb_diag_clear(d);
    return nb_bundle_header_parse(hdr, file_len, &h, d);
}

static void layout_round_trips(void **state)
{
    (void)state;
    nb_bundle_header_write(ENV, TABLE, FRAMES, hdr);
    /* magic, version 1, flags 0, envelope 1000, table 256, frames 5000, reserved 0 */
    static const uint8_t want[32] = "NBBUNDLE\x01\x00\x00\x00\xe8\x03\x00\x00\x00\x01\x00\x00"
                                    "\x88\x13\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00";
    assert_memory_equal(hdr, want, 32);
    struct nb_bundle_header h;
    assert_int_equal(nb_bundle_header_parse(hdr, TOTAL, &h, NULL), NB_OK);
    assert_int_equal(h.version, 1);
    assert_int_equal(h.envelope_len, ENV);
    assert_int_equal(h.table_len, TABLE);
    assert_int_equal(h.frames_len, FRAMES);
    assert_int_equal(h.envelope_off, 32);
    assert_int_equal(h.table_off, 32 + ENV);
    assert_int_equal(h.frames_off, 32 + ENV + TABLE);
    assert_int_equal(h.total_len, TOTAL);
}

static void fixed_fields_are_checked(void **state)
{
    (void)state;
    struct nb_diag d = {{0}};
    nb_bundle_header_write(ENV, TABLE, FRAMES, hdr);
    hdr[0] = 'M';
    assert_int_equal(parse(TOTAL, &d), NB_EPARSE);
    assert_string_equal(d.msg, "not a nobrick bundle (bad magic)");
    nb_bundle_header_write(ENV, TABLE, FRAMES, hdr);
    nb_put_le16(hdr + 8, 2);
    assert_int_equal(parse(TOTAL, &d), NB_EPARSE);
    assert_non_null(strstr(d.msg, "version 2"));
    nb_bundle_header_write(ENV, TABLE, FRAMES, hdr);
    nb_put_le16(hdr + 10, 0x8000);
    assert_int_equal(parse(TOTAL, &d), NB_EPARSE);
    assert_non_null(strstr(d.msg, "flags"));
    nb_bundle_header_write(ENV, TABLE, FRAMES, hdr);
    hdr[31] = 1;
    assert_int_equal(parse(TOTAL, &d), NB_EPARSE);
    assert_non_null(strstr(d.msg, "reserved"));
}

static void zero_and_odd_lengths(void **state)
{
    (void)state;
    struct nb_diag d = {{0}};
    nb_bundle_header_write(0, TABLE, FRAMES, hdr);
    assert_int_equal(parse(TOTAL - ENV, &d), NB_EPARSE);
    nb_bundle_header_write(ENV, TABLE, 0, hdr);
    assert_int_equal(parse(TOTAL - FRAMES, &d), NB_EPARSE);
    nb_bundle_header_write(ENV, 16, FRAMES, hdr); /* a table without frames */
    assert_int_equal(parse(TOTAL - TABLE + 16, &d), NB_ELENGTH);
    nb_bundle_header_write(ENV, TABLE + 1, FRAMES, hdr);
    assert_int_equal(parse(TOTAL + 1, &d), NB_EPARSE);
    assert_non_null(strstr(d.msg, "whole number of entries"));
}

/* SECURITY.md 33: 0xFFFFFFFF, 2^31+1 and 2^63 in each length field are
 * refused by their caps before any addition, or (within a cap) by the file
 * length with the exact arithmetic: never accepted through a wrap. */
static void size_fields_do_not_wrap(void **state)
{
    (void)state;
    struct nb_diag d = {{0}};
    static const uint32_t huge32[] = {0xFFFFFFFFu, (1u << 31) + 1};
    for (size_t i = 0; i < 2; i++) {
        nb_bundle_header_write(huge32[i], TABLE, FRAMES, hdr);
        assert_int_equal(parse(TOTAL, &d), NB_ELENGTH);
        assert_non_null(strstr(d.msg, "envelope length"));
        nb_bundle_header_write(ENV, huge32[i], FRAMES, hdr);
        assert_int_equal(parse(TOTAL, &d), NB_ELENGTH);
        assert_non_null(strstr(d.msg, "frame table length"));
        /* Within the frames cap: the file is simply not that long. */
        nb_bundle_header_write(ENV, TABLE, huge32[i], hdr);
        assert_int_equal(parse(TOTAL, &d), NB_ETRUNCATED);
    }
    static const uint64_t huge64[] = {1ull << 63, UINT64_MAX, UINT64_MAX - 31,
                                      NB_BUNDLE_FRAMES_MAX + 1};
    for (size_t i = 0; i < 4; i++) {
        nb_bundle_header_write(ENV, TABLE, huge64[i], hdr);
        assert_int_equal(parse(UINT64_MAX, &d), NB_ELENGTH);
        assert_non_null(strstr(d.msg, "frames length"));
    }
    /* All three at their caps still add up without wrapping. */
    nb_bundle_header_write(NB_ENVELOPE_MAX, (uint32_t)NB_FRAME_TABLE_MAX, NB_BUNDLE_FRAMES_MAX,
                           hdr);
    uint64_t max_total = 32 + NB_ENVELOPE_MAX + NB_FRAME_TABLE_MAX + NB_BUNDLE_FRAMES_MAX;
    assert_int_equal(parse(max_total, &d), NB_OK);
    assert_int_equal(parse(max_total - 1, &d), NB_ETRUNCATED);
}

static void file_length_must_be_exact(void **state)
{
    (void)state;
    struct nb_diag d = {{0}};
    nb_bundle_header_write(ENV, TABLE, FRAMES, hdr);
    assert_int_equal(parse(TOTAL - 1, &d), NB_ETRUNCATED);
    assert_non_null(strstr(d.msg, "ends early"));
    assert_int_equal(parse(TOTAL + 1, &d), NB_ETRUNCATED);
    assert_string_equal(d.msg, "1 bytes after the end of the bundle (the header says 6288 "
                               "bytes); no signature covers them");
    assert_int_equal(parse(0, &d), NB_ETRUNCATED);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(layout_round_trips),        cmocka_unit_test(fixed_fields_are_checked),
        cmocka_unit_test(zero_and_odd_lengths),      cmocka_unit_test(size_fields_do_not_wrap),
        cmocka_unit_test(file_length_must_be_exact),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
