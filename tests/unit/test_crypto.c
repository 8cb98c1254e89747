/* Unit tests for the crypto adapter (lib/crypto/crypto_openssl.c): published
 * test vectors for every primitive, and every refusal SECURITY.md case 32
 * asks of Ed25519 (degenerate, malleable and small-order signatures). */
#include <nobrick/alloc.h>
#include <nobrick/crypto.h>
#include <nobrick/encoding.h>

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static void unhex(const char *s, uint8_t *out, size_t len)
{
    assert_int_equal(nb_hex_decode(s, strlen(s), out, len), NB_OK);
}

/* --- SHA-256 ------------------------------------------------------------- */

static void test_sha256_vectors(void **state)
{
    uint8_t got[NB_SHA256_LEN], want[NB_SHA256_LEN];
    (void)state;

    unhex("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad", want, 32);
    assert_int_equal(nb_sha256("abc", 3, got), NB_OK);
    assert_memory_equal(got, want, 32);
    unhex("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855", want, 32);
    assert_int_equal(nb_sha256(NULL, 0, got), NB_OK);
    assert_memory_equal(got, want, 32);
}

static void test_sha256_incremental(void **state)
{
    static const size_t pieces[] = {0, 1, 63, 64, 65, 1000, 1 << 20, 12345};
    size_t total = 3u << 20;
    uint8_t *data = nb_malloc(total);
    uint8_t one[NB_SHA256_LEN], inc[NB_SHA256_LEN];
    struct nb_sha256_ctx ctx = {NULL};
    (void)state;

    assert_non_null(data);
    for (size_t i = 0; i < total; i++)
        data[i] = (uint8_t)(i * 131 + (i >> 9));
    assert_int_equal(nb_sha256(data, total, one), NB_OK);
    /* Twice, to show a ctx is reusable after final. */
    for (int round = 0; round < 2; round++) {
        size_t off = 0, k = 0;
        assert_int_equal(nb_sha256_begin(&ctx), NB_OK);
        while (off < total) {
            size_t n = pieces[k++ % 8];
            n = n < total - off ? n : total - off;
            assert_int_equal(nb_sha256_update(&ctx, data + off, n), NB_OK);
            off += n;
        }
        assert_int_equal(nb_sha256_final(&ctx, inc), NB_OK);
        assert_null(ctx.impl);
        assert_memory_equal(one, inc, sizeof one);
    }
    nb_free(data);
}

static void test_sha256_abort_and_misuse(void **state)
{
    struct nb_sha256_ctx ctx = {NULL};
    uint8_t out[NB_SHA256_LEN];
    (void)state;

    nb_sha256_abort(&ctx); /* never begun: a no-op */
    assert_int_equal(nb_sha256_begin(&ctx), NB_OK);
    assert_int_equal(nb_sha256_update(&ctx, "x", 1), NB_OK);
    nb_sha256_abort(&ctx);
    assert_null(ctx.impl);
    memset(out, 0xaa, sizeof out);
    assert_int_equal(nb_sha256_final(&ctx, out), NB_EINVAL);
    assert_int_equal(nb_sha256_update(&ctx, "x", 1), NB_EINVAL);
    for (size_t i = 0; i < sizeof out; i++)
        assert_int_equal(out[i], 0xaa);
}

/* --- Ed25519 --------------------------------------------------------------- */

struct ed_vector {
    const char *seed, *pub, *msg, *sig;
};

/* RFC 8032 section 7.1, tests 1, 2 and 3. */
static const struct ed_vector rfc8032[] = {
    {"9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60",
     "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a", "",
     "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e06522490155"
     "5fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b"},
    {"4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb",
     "3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c", "72",
     "92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da"
     "085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00"},
    {"c5aa8df43f9f837bedb7442f31dcb7b166d38535076f094b85ce3a2e0b4458f7",
     "fc51cd8e6218a1a38da47ed00230f0580816ed13ba3303ac5deb911548908025", "af82",
     "6291d657deec24024827e69c3abe01a30ce548a284743a445e3680d7db5ac3ac"
     "18ff9b538d16f290ae67f760984dc6594a7c15e9716ed28dc027beceea1ec40a"},
};

/* Decoded RFC 8032 test 2: a valid (pub, msg, sig) to mutate. */
struct ed_case {
    uint8_t seed[32], pub[32], msg[2], sig[64];
    size_t msg_len;
};

static void load_vector(const struct ed_vector *v, struct ed_case *c)
{
    c->msg_len = strlen(v->msg) / 2;
    unhex(v->seed, c->seed, 32);
    unhex(v->pub, c->pub, 32);
    unhex(v->msg, c->msg, c->msg_len);
    unhex(v->sig, c->sig, 64);
}

static void test_ed25519_rfc8032(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof rfc8032 / sizeof rfc8032[0]; i++) {
        struct ed_case c;
        uint8_t pub[32], sig[64];
        load_vector(&rfc8032[i], &c);
        assert_int_equal(nb_ed25519_public(c.seed, pub), NB_OK);
        assert_memory_equal(pub, c.pub, 32);
        assert_int_equal(nb_ed25519_sign(c.seed, c.msg, c.msg_len, sig), NB_OK);
        assert_memory_equal(sig, c.sig, 64);
        assert_false(nb_ed25519_pub_is_weak(c.pub));
        assert_int_equal(nb_ed25519_verify(c.pub, c.msg, c.msg_len, c.sig), NB_OK);
        /* Any flipped bit in the message or signature is a bad signature. */
        c.sig[10] ^= 1;
        assert_int_equal(nb_ed25519_verify(c.pub, c.msg, c.msg_len, c.sig), NB_ESIG);
        c.sig[10] ^= 1;
        c.sig[40] ^= 0x80;
        assert_int_equal(nb_ed25519_verify(c.pub, c.msg, c.msg_len, c.sig), NB_ESIG);
        c.sig[40] ^= 0x80;
        assert_int_equal(nb_ed25519_verify(c.pub, "x", 1, c.sig), NB_ESIG);
    }
}

static void test_ed25519_keygen_roundtrip(void **state)
{
    uint8_t seed[32], pub[32], seed2[32], pub2[32], again[32], sig[64];
    static const char msg[] = "nobrick release";
    (void)state;

    assert_int_equal(nb_ed25519_keygen(seed, pub), NB_OK);
    assert_int_equal(nb_ed25519_keygen(seed2, pub2), NB_OK);
    assert_memory_not_equal(seed, seed2, 32);
    assert_int_equal(nb_ed25519_public(seed, again), NB_OK);
    assert_memory_equal(pub, again, 32);
    assert_int_equal(nb_ed25519_sign(seed, msg, sizeof msg, sig), NB_OK);
    assert_int_equal(nb_ed25519_verify(pub, msg, sizeof msg, sig), NB_OK);
    /* A valid signature by another key (a copied keyid proves nothing). */
    assert_int_equal(nb_ed25519_verify(pub2, msg, sizeof msg, sig), NB_ESIG);
}

static void test_ed25519_zero_signature(void **state)
{
    struct ed_case c;
    uint8_t zero[64] = {0};
    (void)state;

    load_vector(&rfc8032[1], &c);
    assert_int_equal(nb_ed25519_verify(c.pub, c.msg, c.msg_len, zero), NB_ESIG);
}

/* L, the group order, little-endian. */
static const char order_hex[] = "edd3f55c1a631258d69cf7a2def9de1400000000000000000000000000000010";

/* s += v (256-bit little-endian); the caller ensures no overflow. */
static void add_le256(uint8_t s[32], const uint8_t v[32])
{
    unsigned carry = 0;
    for (int i = 0; i < 32; i++) {
        carry += (unsigned)s[i] + v[i];
        s[i] = (uint8_t)carry;
        carry >>= 8;
    }
}

static void test_ed25519_noncanonical_s(void **state)
{
    struct ed_case c;
    uint8_t order[32], one[32] = {1};
    (void)state;

    unhex(order_hex, order, 32);
    load_vector(&rfc8032[1], &c);
    /* S + L is the same scalar mod L: a second encoding of a valid
     * signature (malleability). Must be refused even if the math checks. */
    add_le256(c.sig + 32, order);
    assert_int_equal(nb_ed25519_verify(c.pub, c.msg, c.msg_len, c.sig), NB_ESIG);
    /* S = L and S = L + 1, with a valid R. */
    memcpy(c.sig + 32, order, 32);
    assert_int_equal(nb_ed25519_verify(c.pub, c.msg, c.msg_len, c.sig), NB_ESIG);
    add_le256(c.sig + 32, one);
    assert_int_equal(nb_ed25519_verify(c.pub, c.msg, c.msg_len, c.sig), NB_ESIG);
    /* The top three bits of S set (the classic malleability bit games). */
    load_vector(&rfc8032[1], &c);
    c.sig[63] |= 0xe0;
    assert_int_equal(nb_ed25519_verify(c.pub, c.msg, c.msg_len, c.sig), NB_ESIG);
}

/* Every encoding of a point of order 1, 2, 4 or 8 (the 8 torsion points,
 * each with both sign bits), and the non-canonical encodings y >= p. The y
 * values were derived by solving the curve equation for the points whose
 * 8th multiple is the identity (checked independently in Python). */
static const char *const weak_points[] = {
    /* y = 1, the identity (x = 0); sign bit set is a non-canonical "-0". */
    "0100000000000000000000000000000000000000000000000000000000000000",
    "0100000000000000000000000000000000000000000000000000000000000080",
    /* y = p - 1, order 2 (x = 0), and its "-0". */
    "ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
    "ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff",
    /* y = 0, order 4 (x = +-sqrt(-1)). */
    "0000000000000000000000000000000000000000000000000000000000000000",
    "0000000000000000000000000000000000000000000000000000000000000080",
    /* The four points of order 8. */
    "26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05",
    "26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc85",
    "c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a",
    "c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac03fa",
    /* y = p (= 0) and y = p + 1 (= 1): non-canonical small-order points. */
    "edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
    "edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff",
    "eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
    "eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff",
    /* Other y >= p: never canonical. */
    "efffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
    "ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
    "ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff",
};
#define N_WEAK (sizeof weak_points / sizeof weak_points[0])

static void test_ed25519_weak_pub(void **state)
{
    struct ed_case c;
    (void)state;

    load_vector(&rfc8032[1], &c);
    for (size_t i = 0; i < N_WEAK; i++) {
        uint8_t pub[32];
        unhex(weak_points[i], pub, 32);
        assert_true(nb_ed25519_pub_is_weak(pub));
        assert_int_equal(nb_ed25519_verify(pub, c.msg, c.msg_len, c.sig), NB_ESIG);
    }
}

/* With the identity as public key and R = identity, S = 0, the verification
 * equation [S]B = R + [k]A holds for every message: a universal forgery that
 * only the small-order checks stop. */
static void test_ed25519_identity_forgery(void **state)
{
    uint8_t pub[32], sig[64] = {0};
    (void)state;

    unhex(weak_points[0], pub, 32);
    memcpy(sig, pub, 32); /* R = identity, S = 0 */
    assert_int_equal(nb_ed25519_verify(pub, "any message", 11, sig), NB_ESIG);
    assert_int_equal(nb_ed25519_verify(pub, NULL, 0, sig), NB_ESIG);
}

static void test_ed25519_weak_r(void **state)
{
    struct ed_case c;
    (void)state;

    for (size_t i = 0; i < N_WEAK; i++) {
        load_vector(&rfc8032[1], &c);
        unhex(weak_points[i], c.sig, 32);
        assert_int_equal(nb_ed25519_verify(c.pub, c.msg, c.msg_len, c.sig), NB_ESIG);
    }
}

static void test_ed25519_not_weak(void **state)
{
    uint8_t p[32];
    (void)state;

    /* Neighbours of the weak encodings are ordinary values. */
    unhex("ebffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f", p, 32);
    assert_false(nb_ed25519_pub_is_weak(p)); /* y = p - 2 */
    unhex("0200000000000000000000000000000000000000000000000000000000000000", p, 32);
    assert_false(nb_ed25519_pub_is_weak(p));
    unhex("1200000000000000000000000000000000000000000000000000000000000000", p, 32);
    assert_false(nb_ed25519_pub_is_weak(p)); /* canonical twin of p + 18 */
    unhex("27e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05", p, 32);
    assert_false(nb_ed25519_pub_is_weak(p));
}

/* --- X25519 ---------------------------------------------------------------- */

static void test_x25519_rfc7748(void **state)
{
    uint8_t a[32], b[32], apub[32], bpub[32], want[32], got[32];
    (void)state;

    unhex("77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a", a, 32);
    unhex("5dab087e624a8a4b79e17f8b83800ee66f3bb1292618b6fd1c2f8b27ff88e0eb", b, 32);
    assert_int_equal(nb_x25519_public(a, apub), NB_OK);
    assert_int_equal(nb_x25519_public(b, bpub), NB_OK);
    unhex("8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a", want, 32);
    assert_memory_equal(apub, want, 32);
    unhex("de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f", want, 32);
    assert_memory_equal(bpub, want, 32);
    unhex("4a5d9d5ba4ce2de1728e3bf480350f25e07e21c947d19e3376f09b3c1e161742", want, 32);
    assert_int_equal(nb_x25519(a, bpub, got), NB_OK);
    assert_memory_equal(got, want, 32);
    assert_int_equal(nb_x25519(b, apub, got), NB_OK);
    assert_memory_equal(got, want, 32);
}

static void test_x25519_keygen(void **state)
{
    uint8_t a[32], ap[32], b[32], bp[32], s1[32], s2[32];
    (void)state;

    assert_int_equal(nb_x25519_keygen(a, ap), NB_OK);
    assert_int_equal(nb_x25519_keygen(b, bp), NB_OK);
    assert_memory_not_equal(a, b, 32);
    assert_int_equal(nb_x25519(a, bp, s1), NB_OK);
    assert_int_equal(nb_x25519(b, ap, s2), NB_OK);
    assert_memory_equal(s1, s2, 32);
}

static void test_x25519_small_order_peer(void **state)
{
    static const char *const peers[] = {
        "0000000000000000000000000000000000000000000000000000000000000000", /* 0 */
        "0100000000000000000000000000000000000000000000000000000000000000", /* 1 */
        "e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800", /* order 8 */
        "5f9c95bca3508c24b1d0b1559c83ef5b04445cc4581c8e86d8224eddd09f1157", /* order 8 */
        "ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f", /* p - 1 */
        "edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f", /* p = 0 */
    };
    uint8_t priv[32], pub[32], peer[32], shared[32];
    (void)state;

    assert_int_equal(nb_x25519_keygen(priv, pub), NB_OK);
    for (size_t i = 0; i < sizeof peers / sizeof peers[0]; i++) {
        unhex(peers[i], peer, 32);
        memset(shared, 0x5a, sizeof shared);
        assert_int_equal(nb_x25519(priv, peer, shared), NB_EDECRYPT);
        for (size_t j = 0; j < sizeof shared; j++)
            assert_int_equal(shared[j], 0x5a); /* untouched on failure */
    }
}

/* --- HKDF -------------------------------------------------------------------- */

static void test_hkdf_rfc5869(void **state)
{
    uint8_t ikm[22], salt[13], info[10], okm[42], want[42];
    (void)state;

    memset(ikm, 0x0b, sizeof ikm);
    unhex("000102030405060708090a0b0c", salt, sizeof salt);
    unhex("f0f1f2f3f4f5f6f7f8f9", info, sizeof info);
    /* Test case 1. */
    unhex("3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf"
          "34007208d5b887185865",
          want, sizeof want);
    assert_int_equal(
        nb_hkdf_sha256(ikm, sizeof ikm, salt, sizeof salt, info, sizeof info, okm, sizeof okm),
        NB_OK);
    assert_memory_equal(okm, want, sizeof want);
    /* Test case 3: no salt, no info. */
    unhex("8da4e775a563c18f715f802a063c5a31b8a11f5c5ee1879ec3454e5f3c738d2d"
          "9d201395faa4b61a96c8",
          want, sizeof want);
    assert_int_equal(nb_hkdf_sha256(ikm, sizeof ikm, NULL, 0, NULL, 0, okm, sizeof okm), NB_OK);
    assert_memory_equal(okm, want, sizeof want);
}

static void test_hkdf_lengths(void **state)
{
    static uint8_t big[255 * 32 + 1];
    uint8_t ikm[32] = {1};
    (void)state;

    assert_int_equal(nb_hkdf_sha256(ikm, sizeof ikm, NULL, 0, NULL, 0, big, 0), NB_EINVAL);
    assert_int_equal(nb_hkdf_sha256(ikm, sizeof ikm, NULL, 0, NULL, 0, big, sizeof big), NB_EINVAL);
    assert_int_equal(nb_hkdf_sha256(ikm, sizeof ikm, NULL, 0, NULL, 0, big, sizeof big - 1), NB_OK);
}

/* --- AES-256-GCM ------------------------------------------------------------- */

/* McGrew & Viega, "The Galois/Counter Mode of Operation", test case 16. */
struct gcm_case {
    uint8_t key[32], nonce[12], aad[20], pt[60], ct[60], tag[16];
};

static void load_gcm(struct gcm_case *g)
{
    unhex("feffe9928665731c6d6a8f9467308308feffe9928665731c6d6a8f9467308308", g->key, 32);
    unhex("cafebabefacedbaddecaf888", g->nonce, 12);
    unhex("feedfacedeadbeeffeedfacedeadbeefabaddad2", g->aad, 20);
    unhex("d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a72"
          "1c3c0c95956809532fcf0e2449a6b525b16aedf5aa0de657ba637b39",
          g->pt, 60);
    unhex("522dc1f099567d07f47f37a32a84427d643a8cdcbfe5c0c97598a2bd2555d1aa"
          "8cb08e48590dbb3da7b08b1056828838c5f61e6393ba7a0abcc9f662",
          g->ct, 60);
    unhex("76fc6ece0f4e1768cddf8853bb2d551b", g->tag, 16);
}

static void test_gcm_vector(void **state)
{
    struct gcm_case g;
    uint8_t out[60], tag[16], buf[60];
    (void)state;

    load_gcm(&g);
    assert_int_equal(nb_aes256gcm_seal(g.key, g.nonce, g.aad, 20, g.pt, 60, out, tag), NB_OK);
    assert_memory_equal(out, g.ct, 60);
    assert_memory_equal(tag, g.tag, 16);
    assert_int_equal(nb_aes256gcm_open(g.key, g.nonce, g.aad, 20, g.ct, 60, g.tag, out), NB_OK);
    assert_memory_equal(out, g.pt, 60);
    /* In place, both ways. */
    memcpy(buf, g.pt, 60);
    assert_int_equal(nb_aes256gcm_seal(g.key, g.nonce, g.aad, 20, buf, 60, buf, tag), NB_OK);
    assert_memory_equal(buf, g.ct, 60);
    assert_int_equal(nb_aes256gcm_open(g.key, g.nonce, g.aad, 20, buf, 60, tag, buf), NB_OK);
    assert_memory_equal(buf, g.pt, 60);
}

static void test_gcm_empty(void **state)
{
    uint8_t key[32] = {0}, nonce[12] = {0}, tag[16], want[16];
    (void)state;

    /* Test case 13: no plaintext, no AAD: the tag alone. */
    unhex("530f8afbc74536b9a963b4f1c4cb738b", want, 16);
    assert_int_equal(nb_aes256gcm_seal(key, nonce, NULL, 0, NULL, 0, NULL, tag), NB_OK);
    assert_memory_equal(tag, want, 16);
    assert_int_equal(nb_aes256gcm_open(key, nonce, NULL, 0, NULL, 0, tag, NULL), NB_OK);
    tag[0] ^= 1;
    assert_int_equal(nb_aes256gcm_open(key, nonce, NULL, 0, NULL, 0, tag, NULL), NB_EDECRYPT);
}

/* Opens a tampered copy of test case 16; asserts refusal and a wiped out. */
static void expect_open_fails(const struct gcm_case *g, size_t aad_len)
{
    uint8_t out[60];
    memset(out, 0x77, sizeof out);
    assert_int_equal(nb_aes256gcm_open(g->key, g->nonce, g->aad, aad_len, g->ct, 60, g->tag, out),
                     NB_EDECRYPT);
    for (size_t i = 0; i < sizeof out; i++)
        assert_int_equal(out[i], 0);
}

static void test_gcm_tamper(void **state)
{
    struct gcm_case g;
    (void)state;

    load_gcm(&g);
    g.ct[59] ^= 1;
    expect_open_fails(&g, 20);
    load_gcm(&g);
    g.tag[15] ^= 0x80;
    expect_open_fails(&g, 20);
    load_gcm(&g);
    g.aad[0] ^= 1;
    expect_open_fails(&g, 20);
    load_gcm(&g);
    expect_open_fails(&g, 19); /* truncated AAD */
    load_gcm(&g);
    g.nonce[11] ^= 1;
    expect_open_fails(&g, 20);
    load_gcm(&g);
    g.key[0] ^= 1;
    expect_open_fails(&g, 20);
}

/* --- random, wipe, compare --------------------------------------------------- */

static void test_random_wipe_compare(void **state)
{
    uint8_t a[32], b[32];
    (void)state;

    assert_int_equal(nb_random(a, sizeof a), NB_OK);
    assert_int_equal(nb_random(b, sizeof b), NB_OK);
    assert_memory_not_equal(a, b, sizeof a);
    assert_int_equal(nb_random(a, 0), NB_OK);
    assert_false(nb_ct_equal(a, b, sizeof a));
    memcpy(b, a, sizeof a);
    assert_true(nb_ct_equal(a, b, sizeof a));
    b[31] ^= 1;
    assert_false(nb_ct_equal(a, b, sizeof a));
    assert_true(nb_ct_equal(a, b, 0));
    nb_wipe(a, sizeof a);
    memset(b, 0, sizeof b);
    assert_memory_equal(a, b, sizeof a);
    nb_wipe(NULL, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sha256_vectors),
        cmocka_unit_test(test_sha256_incremental),
        cmocka_unit_test(test_sha256_abort_and_misuse),
        cmocka_unit_test(test_ed25519_rfc8032),
        cmocka_unit_test(test_ed25519_keygen_roundtrip),
        cmocka_unit_test(test_ed25519_zero_signature),
        cmocka_unit_test(test_ed25519_noncanonical_s),
        cmocka_unit_test(test_ed25519_weak_pub),
        cmocka_unit_test(test_ed25519_identity_forgery),
        cmocka_unit_test(test_ed25519_weak_r),
        cmocka_unit_test(test_ed25519_not_weak),
        cmocka_unit_test(test_x25519_rfc7748),
        cmocka_unit_test(test_x25519_keygen),
        cmocka_unit_test(test_x25519_small_order_peer),
        cmocka_unit_test(test_hkdf_rfc5869),
        cmocka_unit_test(test_hkdf_lengths),
        cmocka_unit_test(test_gcm_vector),
        cmocka_unit_test(test_gcm_empty),
        cmocka_unit_test(test_gcm_tamper),
        cmocka_unit_test(test_random_wipe_compare),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
