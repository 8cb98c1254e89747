/* Every bit of a bundle matters: a small bundle (3 frames of 4 KiB) is
 * verified once per bit with that one bit flipped, and every single flip
 * must be refused. Done for a plain zstd bundle and for an encrypted one
 * (verified with the device key, so the key wrap and decryption are in the
 * path). Verification runs from memory (nb_bundle_reader_from_mem), the same
 * code as from a file. A flip that verified would be a byte no signature or
 * signed hash covers. */
#include "bundle_fixture.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#define FS 4096u

static struct bx_world w;
static uint8_t image[3 * FS - 700];

static int setup(void **state)
{
    (void)state;
    bx_world_init(&w);
    bx_image(image, sizeof image, 11, true);
    return 0;
}

static void flip_every_bit(bool encrypt)
{
    struct bx_spec spec = {FS, NB_COMPRESSION_ZSTD, encrypt, NULL};
    struct bx_bundle b;
    bx_create(&w, image, sizeof image, &spec, &b);
    assert_int_equal(bx_verify(&w, b.data, b.len, encrypt, NULL), NB_OK);
    size_t codes[32] = {0};
    for (size_t bit = 0; bit < 8 * b.len; bit++) {
        b.data[bit / 8] ^= (uint8_t)(1u << (bit % 8));
        enum nb_err err = bx_verify(&w, b.data, b.len, encrypt, NULL);
        b.data[bit / 8] ^= (uint8_t)(1u << (bit % 8));
        if (err == NB_OK)
            fail_msg("flipping bit %zu (byte %zu) of a %zu-byte bundle went unnoticed", bit,
                     bit / 8, b.len);
        codes[(size_t)-err < 32 ? (size_t)-err : 31]++;
    }
    /* What caught the flips, for the log. */
    printf("# %s bundle, %zu bytes, %zu flips:", encrypt ? "encrypted" : "plain", b.len, 8 * b.len);
    for (int e = 1; e < 32; e++) {
        if (codes[e] != 0)
            printf(" %s=%zu", nb_errname((enum nb_err) - e), codes[e]);
    }
    printf("\n");
    assert_int_equal(bx_verify(&w, b.data, b.len, encrypt, NULL), NB_OK);
    bx_free(&b);
}

static void every_bit_of_a_plain_bundle(void **state)
{
    (void)state;
    flip_every_bit(false);
}

static void every_bit_of_an_encrypted_bundle(void **state)
{
    (void)state;
    flip_every_bit(true);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(every_bit_of_a_plain_bundle),
        cmocka_unit_test(every_bit_of_an_encrypted_bundle),
    };
    return cmocka_run_group_tests(tests, setup, NULL);
}
