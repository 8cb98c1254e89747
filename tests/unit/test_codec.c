/* Unit tests for the frame codec (lib/codec/codec_zstd.c): round trips, and
 * every frame shape the decoder must refuse (appended data, second frame,
 * size lies, missing size, oversized window, corruption, truncation). */
#define ZSTD_STATIC_LINKING_ONLY
#include <nobrick/alloc.h>
#include <nobrick/codec.h>

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <zstd.h>

#define TEXT_LEN 100000

struct fixture {
    struct nb_codec codec;
    uint8_t *text; /* compressible input, TEXT_LEN bytes */
    uint8_t *frame;
    size_t frame_len, frame_cap;
    uint8_t *out;
};

static int setup(void **state)
{
    struct fixture *f = nb_calloc(1, sizeof *f);
    assert_non_null(f);
    assert_int_equal(nb_codec_init(&f->codec), NB_OK);
    f->text = nb_malloc(TEXT_LEN);
    f->frame_cap = 2 * nb_codec_bound(TEXT_LEN) + 16;
    f->frame = nb_malloc(f->frame_cap);
    f->out = nb_malloc(TEXT_LEN + 16);
    assert_non_null(f->text);
    assert_non_null(f->frame);
    assert_non_null(f->out);
    for (size_t i = 0; i < TEXT_LEN; i++)
        f->text[i] = (uint8_t)((size_t) "nobrick frames "[i % 15] + (i / 1000) % 3);
    assert_int_equal(
        nb_codec_compress(&f->codec, f->text, TEXT_LEN, f->frame, f->frame_cap, &f->frame_len, 3),
        NB_OK);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    nb_codec_fini(&f->codec);
    nb_codec_fini(&f->codec); /* safe twice */
    nb_free(f->text);
    nb_free(f->frame);
    nb_free(f->out);
    nb_free(f);
    return 0;
}

static void test_roundtrip_levels(void **state)
{
    struct fixture *f = *state;
    static const int levels[] = {1, 3, 9, 19};
    static const size_t sizes[] = {0, 1, 15, 4096, TEXT_LEN};

    for (size_t l = 0; l < 4; l++) {
        for (size_t s = 0; s < 5; s++) {
            size_t n = 0;
            assert_int_equal(nb_codec_compress(&f->codec, f->text, sizes[s], f->frame, f->frame_cap,
                                               &n, levels[l]),
                             NB_OK);
            assert_true(n <= nb_codec_bound(sizes[s]));
            /* Content size recorded, no checksum (hashes are signed). */
            assert_true(ZSTD_getFrameContentSize(f->frame, n) == sizes[s]);
            assert_int_equal(f->frame[4] & 0x04, 0);
            memset(f->out, 0xee, sizes[s]);
            assert_int_equal(nb_codec_decompress(&f->codec, f->frame, n, f->out, sizes[s]), NB_OK);
            assert_memory_equal(f->out, f->text, sizes[s]);
        }
    }
}

static void test_roundtrip_incompressible(void **state)
{
    struct fixture *f = *state;
    uint32_t x = 12345;
    size_t n = 0;

    for (size_t i = 0; i < TEXT_LEN; i++) {
        x = x * 1103515245u + 12345u;
        f->out[i] = (uint8_t)(x >> 23);
    }
    memcpy(f->text, f->out, TEXT_LEN);
    assert_int_equal(
        nb_codec_compress(&f->codec, f->text, TEXT_LEN, f->frame, f->frame_cap, &n, 19), NB_OK);
    assert_true(n <= nb_codec_bound(TEXT_LEN));
    memset(f->out, 0, TEXT_LEN);
    assert_int_equal(nb_codec_decompress(&f->codec, f->frame, n, f->out, TEXT_LEN), NB_OK);
    assert_memory_equal(f->out, f->text, TEXT_LEN);
    /* Too small an output buffer for an incompressible input. */
    assert_int_equal(nb_codec_compress(&f->codec, f->text, TEXT_LEN, f->frame, 100, &n, 3),
                     NB_ENOSPC);
}

static void test_trailing_byte(void **state)
{
    struct fixture *f = *state;
    f->frame[f->frame_len] = 0;
    assert_int_equal(nb_codec_decompress(&f->codec, f->frame, f->frame_len + 1, f->out, TEXT_LEN),
                     NB_ETRUNCATED);
}

static void test_two_frames(void **state)
{
    struct fixture *f = *state;
    size_t n = 0;

    /* A second, valid frame appended: it would decode to more than signed. */
    assert_int_equal(nb_codec_compress(&f->codec, f->text, 10, f->frame + f->frame_len,
                                       f->frame_cap - f->frame_len, &n, 3),
                     NB_OK);
    assert_int_equal(
        nb_codec_decompress(&f->codec, f->frame, f->frame_len + n, f->out, TEXT_LEN + 10),
        NB_ETRUNCATED);
    assert_int_equal(nb_codec_decompress(&f->codec, f->frame, f->frame_len + n, f->out, TEXT_LEN),
                     NB_ETRUNCATED);
}

static void test_wrong_size(void **state)
{
    struct fixture *f = *state;
    assert_int_equal(nb_codec_decompress(&f->codec, f->frame, f->frame_len, f->out, TEXT_LEN - 1),
                     NB_EHASH);
    assert_int_equal(nb_codec_decompress(&f->codec, f->frame, f->frame_len, f->out, TEXT_LEN + 1),
                     NB_EHASH);
    assert_int_equal(nb_codec_decompress(&f->codec, f->frame, f->frame_len, f->out, 0), NB_EHASH);
}

static void test_truncated(void **state)
{
    struct fixture *f = *state;
    assert_int_equal(nb_codec_decompress(&f->codec, f->frame, f->frame_len - 1, f->out, TEXT_LEN),
                     NB_ETRUNCATED);
    assert_int_equal(nb_codec_decompress(&f->codec, f->frame, 5, f->out, TEXT_LEN), NB_ETRUNCATED);
    assert_int_equal(nb_codec_decompress(&f->codec, f->frame, 0, f->out, TEXT_LEN), NB_ETRUNCATED);
    assert_int_equal(nb_codec_decompress(&f->codec, NULL, 0, NULL, 0), NB_ETRUNCATED);
}

/* The offset of the first block header: magic, descriptor, window byte,
 * dictionary id and content size fields (RFC 8878 3.1.1.1). */
static size_t first_block(const uint8_t *frame)
{
    static const size_t fcs_len[4] = {0, 2, 4, 8};
    uint8_t fhd = frame[4];
    bool single = (fhd & 0x20) != 0;
    size_t fcs = fcs_len[fhd >> 6];
    static const size_t did_len[4] = {0, 1, 2, 4};
    if (fcs == 0 && single)
        fcs = 1;
    return (single ? 5u : 6u) + did_len[fhd & 3] + fcs;
}

static void test_corrupt(void **state)
{
    struct fixture *f = *state;
    size_t b = first_block(f->frame);

    /* Block type 3 is reserved: corrupt, whatever the payload. */
    f->frame[b] |= 0x06;
    memset(f->out, 0x11, TEXT_LEN);
    assert_int_equal(nb_codec_decompress(&f->codec, f->frame, f->frame_len, f->out, TEXT_LEN),
                     NB_EPARSE);
    for (size_t i = 0; i < TEXT_LEN; i += 997)
        assert_true(f->out[i] == 0x11 || f->out[i] == 0); /* nothing decoded left */
    /* Not a zstd frame at all. */
    f->frame[0] ^= 0xff;
    assert_int_equal(nb_codec_decompress(&f->codec, f->frame, f->frame_len, f->out, TEXT_LEN),
                     NB_EPARSE);
}

/* The header declares one byte less than the blocks hold: the shape checks
 * pass, decoding overruns the declared size and must leave nothing behind. */
static void test_content_size_lie(void **state)
{
    struct fixture *f = *state;
    uint8_t fhd = f->frame[4];

    assert_int_equal(fhd & 0xe3, 0xa0); /* single segment, 4-byte size, no dict id */
    f->frame[5] = (TEXT_LEN - 1) & 0xff;
    f->frame[6] = ((TEXT_LEN - 1) >> 8) & 0xff;
    f->frame[7] = ((TEXT_LEN - 1) >> 16) & 0xff;
    memset(f->out, 0x11, TEXT_LEN);
    assert_int_equal(nb_codec_decompress(&f->codec, f->frame, f->frame_len, f->out, TEXT_LEN - 1),
                     NB_EPARSE);
    for (size_t i = 0; i < TEXT_LEN - 1; i++)
        assert_int_equal(f->out[i], 0);
}

static void test_skippable_frame(void **state)
{
    struct fixture *f = *state;
    uint8_t skip[12] = {0x50, 0x2a, 0x4d, 0x18, 4, 0, 0, 0, 1, 2, 3, 4};
    assert_int_equal(nb_codec_decompress(&f->codec, skip, sizeof skip, f->out, 0), NB_EPARSE);
}

static void test_no_content_size(void **state)
{
    struct fixture *f = *state;
    ZSTD_CCtx *cc = ZSTD_createCCtx();
    assert_non_null(cc);
    assert_false(ZSTD_isError(ZSTD_CCtx_setParameter(cc, ZSTD_c_contentSizeFlag, 0)));
    size_t n = ZSTD_compress2(cc, f->frame, f->frame_cap, f->text, TEXT_LEN);
    ZSTD_freeCCtx(cc);
    assert_false(ZSTD_isError(n));
    assert_true(ZSTD_getFrameContentSize(f->frame, n) == ZSTD_CONTENTSIZE_UNKNOWN);
    assert_int_equal(nb_codec_decompress(&f->codec, f->frame, n, f->out, TEXT_LEN), NB_EHASH);
}

/* Rebuilds a frame of 1000 bytes with a multi-segment header declaring a
 * window of 2^window_log bytes; the blocks are unchanged. */
static size_t with_window(struct fixture *f, unsigned window_log, uint8_t *dst)
{
    size_t n = 0;
    assert_int_equal(nb_codec_compress(&f->codec, f->text, 1000, f->frame, f->frame_cap, &n, 3),
                     NB_OK);
    size_t b = first_block(f->frame);
    memcpy(dst, f->frame, 4);
    dst[4] = 2 << 6; /* 4-byte content size, not single segment */
    dst[5] = (uint8_t)((window_log - 10) << 3);
    dst[6] = 1000 & 0xff;
    dst[7] = 1000 >> 8;
    dst[8] = dst[9] = 0;
    memcpy(dst + 10, f->frame + b, n - b);
    return 10 + n - b;
}

static void test_window_limit(void **state)
{
    struct fixture *f = *state;
    uint8_t *frame = nb_malloc(f->frame_cap);
    assert_non_null(frame);

    size_t n = with_window(f, 10, frame); /* 1 KiB: what 1000 bytes need */
    assert_int_equal(nb_codec_decompress(&f->codec, frame, n, f->out, 1000), NB_OK);
    assert_memory_equal(f->out, f->text, 1000);
    n = with_window(f, 20, frame);
    assert_int_equal(nb_codec_decompress(&f->codec, frame, n, f->out, 1000), NB_ELENGTH);
    n = with_window(f, 31, frame);
    assert_int_equal(nb_codec_decompress(&f->codec, frame, n, f->out, 1000), NB_ELENGTH);
    nb_free(frame);
}

static void test_bad_arguments(void **state)
{
    struct fixture *f = *state;
    struct nb_codec never = {0};
    size_t n = 0;

    nb_codec_fini(&never); /* zeroed, never initialised: a no-op */
    assert_int_equal(nb_codec_decompress(&never, f->frame, f->frame_len, f->out, TEXT_LEN),
                     NB_EINVAL);
    assert_int_equal(nb_codec_compress(&f->codec, f->text, 10, f->frame, f->frame_cap, &n, 0),
                     NB_EINVAL);
    assert_int_equal(nb_codec_compress(&f->codec, f->text, 10, f->frame, f->frame_cap, &n, 20),
                     NB_EINVAL);
    assert_true(nb_codec_bound(1000) >= 1000);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_roundtrip_levels, setup, teardown),
        cmocka_unit_test_setup_teardown(test_roundtrip_incompressible, setup, teardown),
        cmocka_unit_test_setup_teardown(test_trailing_byte, setup, teardown),
        cmocka_unit_test_setup_teardown(test_two_frames, setup, teardown),
        cmocka_unit_test_setup_teardown(test_wrong_size, setup, teardown),
        cmocka_unit_test_setup_teardown(test_truncated, setup, teardown),
        cmocka_unit_test_setup_teardown(test_corrupt, setup, teardown),
        cmocka_unit_test_setup_teardown(test_content_size_lie, setup, teardown),
        cmocka_unit_test_setup_teardown(test_skippable_frame, setup, teardown),
        cmocka_unit_test_setup_teardown(test_no_content_size, setup, teardown),
        cmocka_unit_test_setup_teardown(test_window_limit, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bad_arguments, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
