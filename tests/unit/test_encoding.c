/* Unit tests for lib/core/encoding.c: RFC 4648 vectors, and the proof that
 * each byte string has exactly one accepted hex and base64 spelling. */
#include <nobrick/encoding.h>

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdint.h>
#include <string.h>

static const char b64_chars[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/* RFC 4648 section 10. */
static const char *const rfc_plain[] = {"", "f", "fo", "foo", "foob", "fooba", "foobar"};
static const char *const rfc_b64[] = {"",         "Zg==",     "Zm8=",    "Zm9v",
                                      "Zm9vYg==", "Zm9vYmE=", "Zm9vYmFy"};
static const char *const rfc_hex[] = {"",         "66",         "666f",        "666f6f",
                                      "666f6f62", "666f6f6261", "666f6f626172"};

static void test_hex_vectors(void **state)
{
    (void)state;
    for (size_t i = 0; i < 7; i++) {
        size_t n = strlen(rfc_plain[i]);
        char text[16];
        uint8_t bytes[8];
        assert_int_equal(nb_hex_encode((const uint8_t *)rfc_plain[i], n, text, sizeof text), NB_OK);
        assert_string_equal(text, rfc_hex[i]);
        assert_int_equal(nb_hex_decode(rfc_hex[i], 2 * n, bytes, n), NB_OK);
        assert_memory_equal(bytes, rfc_plain[i], n);
    }
}

static void test_hex_all_bytes(void **state)
{
    uint8_t all[256], back[256];
    char text[513];
    (void)state;

    for (size_t i = 0; i < 256; i++)
        all[i] = (uint8_t)i;
    assert_int_equal(nb_hex_encode(all, 256, text, sizeof text), NB_OK);
    assert_int_equal(strlen(text), 512);
    assert_int_equal(nb_hex_decode(text, 512, back, 256), NB_OK);
    assert_memory_equal(all, back, 256);
}

static void test_hex_refusals(void **state)
{
    uint8_t out[2] = {0xaa, 0xaa};
    char small[4];
    (void)state;

    assert_int_equal(nb_hex_decode("AB", 2, out, 1), NB_EPARSE); /* uppercase */
    assert_int_equal(nb_hex_decode("aB", 2, out, 1), NB_EPARSE);
    assert_int_equal(nb_hex_decode("abc", 3, out, 1), NB_EPARSE); /* odd length */
    assert_int_equal(nb_hex_decode("abc", 3, out, 2), NB_EPARSE);
    assert_int_equal(nb_hex_decode("ab", 2, out, 2), NB_EPARSE);     /* short */
    assert_int_equal(nb_hex_decode("abcdef", 6, out, 2), NB_EPARSE); /* long */
    assert_int_equal(nb_hex_decode("0g", 2, out, 1), NB_EPARSE);
    assert_int_equal(nb_hex_decode(" a", 2, out, 1), NB_EPARSE);
    assert_int_equal(nb_hex_decode("a\0", 2, out, 1), NB_EPARSE);
    assert_int_equal(nb_hex_decode("0x", 2, out, 1), NB_EPARSE);
    assert_int_equal(nb_hex_decode("ab\xff"
                                   "f",
                                   4, out, 2),
                     NB_EPARSE);
    /* Outputs are written only on success. */
    assert_int_equal(out[0], 0xaa);
    assert_int_equal(out[1], 0xaa);
    assert_int_equal(nb_hex_decode("", 0, out, 0), NB_OK);
    /* Encoding needs room for the NUL. */
    assert_int_equal(nb_hex_encode(out, 2, small, sizeof small), NB_ENOSPC);
    assert_int_equal(nb_hex_encode(out, 1, small, 3), NB_OK);
    assert_string_equal(small, "aa");
}

static void test_base64_vectors(void **state)
{
    (void)state;
    for (size_t i = 0; i < 7; i++) {
        size_t n = strlen(rfc_plain[i]), m = strlen(rfc_b64[i]), got = 99;
        char text[16];
        uint8_t bytes[8];
        assert_int_equal(nb_base64_len(n), m);
        assert_int_equal(nb_base64_encode((const uint8_t *)rfc_plain[i], n, text, sizeof text),
                         NB_OK);
        assert_string_equal(text, rfc_b64[i]);
        assert_int_equal(nb_base64_decode(rfc_b64[i], m, bytes, sizeof bytes, &got), NB_OK);
        assert_int_equal(got, n);
        assert_memory_equal(bytes, rfc_plain[i], n);
    }
}

static void test_base64_all_bytes(void **state)
{
    uint8_t all[256], back[256];
    char text[345];
    size_t got = 0;
    (void)state;

    for (size_t i = 0; i < 256; i++)
        all[i] = (uint8_t)(255 - i);
    for (size_t n = 250; n <= 256; n++) {
        assert_int_equal(nb_base64_encode(all, n, text, sizeof text), NB_OK);
        assert_int_equal(strlen(text), nb_base64_len(n));
        assert_int_equal(nb_base64_decode(text, strlen(text), back, sizeof back, &got), NB_OK);
        assert_int_equal(got, n);
        assert_memory_equal(all, back, n);
    }
}

/* Exhaustively: a final quantum decodes iff it is the encoding of what it
 * decodes to. pattern has '?' where every alphabet character is tried;
 * want_ok is how many must be accepted (2^(6 - unused bits)). */
static void exhaust_last_char(const char *pattern, int want_ok)
{
    int ok = 0;
    for (size_t c = 0; c < 64; c++) {
        char q[5], again[5];
        uint8_t out[3];
        size_t n = 0;
        memcpy(q, pattern, 5);
        *strchr(q, '?') = b64_chars[c];
        if (nb_base64_decode(q, 4, out, sizeof out, &n) != NB_OK)
            continue;
        ok++;
        assert_int_equal(nb_base64_encode(out, n, again, sizeof again), NB_OK);
        assert_string_equal(again, q);
    }
    assert_int_equal(ok, want_ok);
}

static void test_base64_canonical_bits(void **state)
{
    (void)state;
    exhaust_last_char("Q?==", 4);  /* 1 byte: 4 unused bits */
    exhaust_last_char("QU?=", 16); /* 2 bytes: 2 unused bits */
    exhaust_last_char("QUJ?", 64); /* 3 bytes: none unused */
}

static void test_base64_refusals(void **state)
{
    static const char *const bad[] = {
        "Zh==",      /* unused bits set */
        "Zm9=",      /* unused bits set */
        "Zg=",       /* length not a multiple of 4 */
        "Zg",        /* missing padding */
        "Zg===",     /* too much padding */
        "Z===",      /* 6 bits cannot be a byte */
        "====",      /* padding only */
        "Zg=a",      /* data after padding */
        "Z=g=",      /* padding inside the quantum */
        "Zg==Zm9v",  /* padding before the end */
        "Zm9v\n",    /* whitespace */
        " Zm9",      /* whitespace */
        "Zm9v Zg==", /* whitespace */
        "Zm-v",      /* URL-safe alphabet */
        "Zm_v",      /* URL-safe alphabet */
        "Zm9v====",  /* an all-padding quantum */
        "Zm9\xc3",   /* non-ASCII */
    };
    uint8_t out[8] = {0};
    size_t n = 12345;
    (void)state;

    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        assert_int_equal(nb_base64_decode(bad[i], strlen(bad[i]), out, sizeof out, &n), NB_EPARSE);
    assert_int_equal(nb_base64_decode("Zm\0v", 4, out, sizeof out, &n), NB_EPARSE);
    assert_int_equal(n, 12345); /* untouched on failure */
    for (size_t i = 0; i < sizeof out; i++)
        assert_int_equal(out[i], 0);
}

static void test_base64_capacity(void **state)
{
    uint8_t out[6];
    char text[9];
    size_t n = 0;
    (void)state;

    assert_int_equal(nb_base64_decode("Zm9vYmFy", 8, out, 5, &n), NB_ELENGTH);
    assert_int_equal(nb_base64_decode("Zm9vYmE=", 8, out, 5, &n), NB_OK);
    assert_int_equal(n, 5);
    assert_int_equal(nb_base64_decode("", 0, NULL, 0, &n), NB_OK);
    assert_int_equal(n, 0);
    assert_int_equal(nb_base64_encode((const uint8_t *)"foobar", 6, text, 8), NB_ENOSPC);
    assert_int_equal(nb_base64_encode((const uint8_t *)"foobar", 6, text, 9), NB_OK);
    assert_int_equal(nb_base64_encode((const uint8_t *)"", 0, text, 0), NB_ENOSPC);
    assert_int_equal(nb_base64_encode((const uint8_t *)"", 0, text, 1), NB_OK);
    assert_string_equal(text, "");
}

static void test_little_endian(void **state)
{
    uint8_t b[8];
    (void)state;

    nb_put_le16(b, 0xbeef);
    assert_int_equal(b[0], 0xef);
    assert_int_equal(nb_le16(b), 0xbeef);
    nb_put_le32(b, 0xffffffffu);
    assert_int_equal(nb_le32(b), 0xffffffffu);
    nb_put_le32(b, 0x80000001u);
    assert_int_equal(b[3], 0x80);
    assert_int_equal(nb_le32(b), 0x80000001u);
    nb_put_le64(b, UINT64_C(1) << 63);
    assert_int_equal(b[7], 0x80);
    assert_true(nb_le64(b) == UINT64_C(1) << 63);
    nb_put_le64(b, UINT64_C(0x0102030405060708));
    assert_int_equal(b[0], 8);
    assert_true(nb_le64(b) == UINT64_C(0x0102030405060708));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_hex_vectors),      cmocka_unit_test(test_hex_all_bytes),
        cmocka_unit_test(test_hex_refusals),     cmocka_unit_test(test_base64_vectors),
        cmocka_unit_test(test_base64_all_bytes), cmocka_unit_test(test_base64_canonical_bits),
        cmocka_unit_test(test_base64_refusals),  cmocka_unit_test(test_base64_capacity),
        cmocka_unit_test(test_little_endian),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
