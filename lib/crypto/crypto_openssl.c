/* The crypto adapter over OpenSSL 3 libcrypto (see include/nobrick/crypto.h).
 *
 * Algorithms are fetched once and reused, so hashing a 256 MiB bundle in 1 MiB
 * pieces costs no per-call lookup. Ed25519 verification adds the checks the
 * library does not promise (canonical S, no small-order or non-canonical
 * point encodings), so acceptance does not depend on the OpenSSL version. */
#include <nobrick/crypto.h>

#include <openssl/crypto.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <openssl/params.h>
#include <openssl/rand.h>

#include <limits.h>
#include <string.h>

/* Algorithms fetched once per process; NULL when the fetch failed. */
static CRYPTO_ONCE fetch_once = CRYPTO_ONCE_STATIC_INIT;
static EVP_MD *sha256_md;
static EVP_CIPHER *gcm_cipher;
static EVP_KDF *hkdf_kdf;

static void fetch_algorithms(void)
{
    sha256_md = EVP_MD_fetch(NULL, "SHA256", NULL);
    gcm_cipher = EVP_CIPHER_fetch(NULL, "AES-256-GCM", NULL);
    hkdf_kdf = EVP_KDF_fetch(NULL, "HKDF", NULL);
}

static bool fetched(void)
{
    return CRYPTO_THREAD_run_once(&fetch_once, fetch_algorithms) == 1;
}

/* OpenSSL may reject a NULL buffer even with length 0. */
static const void *nonnull(const void *p)
{
    static const uint8_t empty[1];
    return p != NULL ? p : empty;
}

/* --- SHA-256 -------------------------------------------------------------- */

enum nb_err nb_sha256_begin(struct nb_sha256_ctx *ctx)
{
    if (!fetched() || sha256_md == NULL)
        return NB_ECRYPTO;
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    if (md == NULL)
        return NB_ENOMEM;
    if (EVP_DigestInit_ex2(md, sha256_md, NULL) != 1) {
        EVP_MD_CTX_free(md);
        return NB_ECRYPTO;
    }
    ctx->impl = md;
    return NB_OK;
}

enum nb_err nb_sha256_update(struct nb_sha256_ctx *ctx, const void *data, size_t len)
{
    if (ctx->impl == NULL)
        return NB_EINVAL;
    if (len == 0)
        return NB_OK;
    return EVP_DigestUpdate(ctx->impl, data, len) == 1 ? NB_OK : NB_ECRYPTO;
}

enum nb_err nb_sha256_final(struct nb_sha256_ctx *ctx, uint8_t out[NB_SHA256_LEN])
{
    uint8_t md[EVP_MAX_MD_SIZE];
    unsigned int md_len = 0;

    if (ctx->impl == NULL)
        return NB_EINVAL;
    int ok = EVP_DigestFinal_ex(ctx->impl, md, &md_len);
    nb_sha256_abort(ctx);
    if (ok != 1 || md_len != NB_SHA256_LEN)
        return NB_ECRYPTO;
    memcpy(out, md, NB_SHA256_LEN);
    return NB_OK;
}

void nb_sha256_abort(struct nb_sha256_ctx *ctx)
{
    if (ctx == NULL)
        return;
    /* EVP_MD_CTX_free cleanses the hash state before freeing it. */
    EVP_MD_CTX_free(ctx->impl);
    ctx->impl = NULL;
}

enum nb_err nb_sha256(const void *data, size_t len, uint8_t out[NB_SHA256_LEN])
{
    uint8_t md[EVP_MAX_MD_SIZE];
    unsigned int md_len = 0;

    if (!fetched() || sha256_md == NULL)
        return NB_ECRYPTO;
    if (EVP_Digest(nonnull(data), len, md, &md_len, sha256_md, NULL) != 1 ||
        md_len != NB_SHA256_LEN)
        return NB_ECRYPTO;
    memcpy(out, md, NB_SHA256_LEN);
    return NB_OK;
}

/* --- Ed25519 -------------------------------------------------------------- */

/* The group order L = 2^252 + 27742317777372353535851937790883648493,
 * little-endian. A signature's S must be below it (RFC 8032 5.1.7), or the
 * same signature has a second valid encoding (malleability). */
static const uint8_t ed25519_order[32] = {
    0xed, 0xd3, 0xf5, 0x5c, 0x1a, 0x63, 0x12, 0x58, 0xd6, 0x9c, 0xf7, 0xa2, 0xde, 0xf9, 0xde, 0x14,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x10,
};

/* The y coordinates (sign bit masked) of the 8 points of order dividing 8:
 * y = 1 (identity), y = p-1 (order 2), y = 0 (x = +-sqrt(-1), order 4) and
 * the two y values of the four points of order 8. y = p and y = p+1 are the
 * non-canonical encodings of 0 and 1; every other y >= p is caught by the
 * range check. Comparing with the sign bit masked also catches "-0" for the
 * x = 0 points. A small-order key verifies signatures for many messages. */
static const uint8_t ed25519_small_order_y[][32] = {
    {0x00}, /* 0: order 4 */
    {0x01}, /* 1: identity */
    {0x26, 0xe8, 0x95, 0x8f, 0xc2, 0xb2, 0x27, 0xb0, 0x45, 0xc3, 0xf4,
     0x89, 0xf2, 0xef, 0x98, 0xf0, 0xd5, 0xdf, 0xac, 0x05, 0xd3, 0xc6,
     0x33, 0x39, 0xb1, 0x38, 0x02, 0x88, 0x6d, 0x53, 0xfc, 0x05}, /* order 8 */
    {0xc7, 0x17, 0x6a, 0x70, 0x3d, 0x4d, 0xd8, 0x4f, 0xba, 0x3c, 0x0b,
     0x76, 0x0d, 0x10, 0x67, 0x0f, 0x2a, 0x20, 0x53, 0xfa, 0x2c, 0x39,
     0xcc, 0xc6, 0x4e, 0xc7, 0xfd, 0x77, 0x92, 0xac, 0x03, 0x7a}, /* order 8 */
    {0xec, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
     0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
     0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f}, /* p-1: order 2 */
};

/* Compares little-endian 256-bit numbers: <0, 0, >0 like memcmp. Not
 * constant time: only public values (keys, signatures) reach it. */
static int cmp_le256(const uint8_t a[32], const uint8_t b[32])
{
    for (int i = 31; i >= 0; i--) {
        if (a[i] != b[i])
            return a[i] < b[i] ? -1 : 1;
    }
    return 0;
}

/* y >= p = 2^255 - 19, with the sign bit ignored: y in [p, 2^255 - 1]. */
static bool y_not_canonical(const uint8_t enc[32])
{
    if ((enc[31] & 0x7f) != 0x7f || enc[0] < 0xed)
        return false;
    for (int i = 1; i < 31; i++) {
        if (enc[i] != 0xff)
            return false;
    }
    return true;
}

bool nb_ed25519_pub_is_weak(const uint8_t pub[NB_ED25519_PUB_LEN])
{
    uint8_t y[32];

    if (y_not_canonical(pub))
        return true;
    memcpy(y, pub, sizeof y);
    y[31] &= 0x7f;
    size_t n = sizeof ed25519_small_order_y / sizeof ed25519_small_order_y[0];
    for (size_t i = 0; i < n; i++) {
        if (memcmp(y, ed25519_small_order_y[i], sizeof y) == 0)
            return true;
    }
    return false;
}

/* The library-independent refusals of nb_ed25519_verify (SECURITY.md 32). */
static bool sig_is_degenerate(const uint8_t pub[NB_ED25519_PUB_LEN],
                              const uint8_t sig[NB_ED25519_SIG_LEN])
{
    static const uint8_t zero[NB_ED25519_SIG_LEN];

    if (memcmp(sig, zero, sizeof zero) == 0)
        return true;
    if (cmp_le256(sig + 32, ed25519_order) >= 0)
        return true;
    return nb_ed25519_pub_is_weak(pub) || nb_ed25519_pub_is_weak(sig);
}

enum nb_err nb_ed25519_public(const uint8_t seed[NB_ED25519_SEED_LEN],
                              uint8_t pub[NB_ED25519_PUB_LEN])
{
    uint8_t tmp[NB_ED25519_PUB_LEN];
    size_t tmp_len = sizeof tmp;

    EVP_PKEY *pk = EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, NULL, seed, NB_ED25519_SEED_LEN);
    if (pk == NULL)
        return NB_ECRYPTO;
    int ok = EVP_PKEY_get_raw_public_key(pk, tmp, &tmp_len);
    EVP_PKEY_free(pk);
    if (ok != 1 || tmp_len != sizeof tmp)
        return NB_ECRYPTO;
    memcpy(pub, tmp, sizeof tmp);
    return NB_OK;
}

enum nb_err nb_ed25519_keygen(uint8_t seed[NB_ED25519_SEED_LEN], uint8_t pub[NB_ED25519_PUB_LEN])
{
    uint8_t s[NB_ED25519_SEED_LEN];
    uint8_t p[NB_ED25519_PUB_LEN];

    enum nb_err err = nb_random(s, sizeof s);
    if (err == NB_OK)
        err = nb_ed25519_public(s, p);
    if (err == NB_OK) {
        memcpy(seed, s, sizeof s);
        memcpy(pub, p, sizeof p);
    }
    nb_wipe(s, sizeof s);
    return err;
}

enum nb_err nb_ed25519_sign(const uint8_t seed[NB_ED25519_SEED_LEN], const void *msg, size_t len,
                            uint8_t sig[NB_ED25519_SIG_LEN])
{
    uint8_t tmp[NB_ED25519_SIG_LEN];
    size_t tmp_len = sizeof tmp;
    enum nb_err err = NB_ECRYPTO;

    EVP_PKEY *pk = EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, NULL, seed, NB_ED25519_SEED_LEN);
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    if (pk == NULL || md == NULL)
        goto out;
    if (EVP_DigestSignInit(md, NULL, NULL, NULL, pk) != 1 ||
        EVP_DigestSign(md, tmp, &tmp_len, nonnull(msg), len) != 1 || tmp_len != sizeof tmp)
        goto out;
    memcpy(sig, tmp, sizeof tmp);
    err = NB_OK;
out:
    EVP_MD_CTX_free(md);
    EVP_PKEY_free(pk);
    return err;
}

enum nb_err nb_ed25519_verify(const uint8_t pub[NB_ED25519_PUB_LEN], const void *msg, size_t len,
                              const uint8_t sig[NB_ED25519_SIG_LEN])
{
    if (sig_is_degenerate(pub, sig))
        return NB_ESIG;
    EVP_PKEY *pk = EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, NULL, pub, NB_ED25519_PUB_LEN);
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    enum nb_err err = NB_ESIG;
    if (pk == NULL || md == NULL) {
        /* A key OpenSSL cannot decode is a bad key, not a library fault. */
        err = md == NULL ? NB_ENOMEM : NB_ESIG;
        goto out;
    }
    if (EVP_DigestVerifyInit(md, NULL, NULL, NULL, pk) == 1 &&
        EVP_DigestVerify(md, sig, NB_ED25519_SIG_LEN, nonnull(msg), len) == 1)
        err = NB_OK;
out:
    EVP_MD_CTX_free(md);
    EVP_PKEY_free(pk);
    return err;
}

/* --- X25519 --------------------------------------------------------------- */

enum nb_err nb_x25519_public(const uint8_t priv[NB_X25519_LEN], uint8_t pub[NB_X25519_LEN])
{
    uint8_t tmp[NB_X25519_LEN];
    size_t tmp_len = sizeof tmp;

    EVP_PKEY *pk = EVP_PKEY_new_raw_private_key(EVP_PKEY_X25519, NULL, priv, NB_X25519_LEN);
    if (pk == NULL)
        return NB_ECRYPTO;
    int ok = EVP_PKEY_get_raw_public_key(pk, tmp, &tmp_len);
    EVP_PKEY_free(pk);
    if (ok != 1 || tmp_len != sizeof tmp)
        return NB_ECRYPTO;
    memcpy(pub, tmp, sizeof tmp);
    return NB_OK;
}

enum nb_err nb_x25519_keygen(uint8_t priv[NB_X25519_LEN], uint8_t pub[NB_X25519_LEN])
{
    uint8_t s[NB_X25519_LEN];
    uint8_t p[NB_X25519_LEN];

    enum nb_err err = nb_random(s, sizeof s);
    if (err == NB_OK)
        err = nb_x25519_public(s, p);
    if (err == NB_OK) {
        memcpy(priv, s, sizeof s);
        memcpy(pub, p, sizeof p);
    }
    nb_wipe(s, sizeof s);
    return err;
}

enum nb_err nb_x25519(const uint8_t priv[NB_X25519_LEN], const uint8_t peer_pub[NB_X25519_LEN],
                      uint8_t shared[NB_X25519_LEN])
{
    static const uint8_t zero[NB_X25519_LEN];
    uint8_t tmp[NB_X25519_LEN];
    size_t tmp_len = sizeof tmp;
    enum nb_err err = NB_ECRYPTO;

    EVP_PKEY *mine = EVP_PKEY_new_raw_private_key(EVP_PKEY_X25519, NULL, priv, NB_X25519_LEN);
    EVP_PKEY *peer = EVP_PKEY_new_raw_public_key(EVP_PKEY_X25519, NULL, peer_pub, NB_X25519_LEN);
    EVP_PKEY_CTX *pc = mine != NULL ? EVP_PKEY_CTX_new_from_pkey(NULL, mine, NULL) : NULL;
    if (peer == NULL || pc == NULL || EVP_PKEY_derive_init(pc) != 1 ||
        EVP_PKEY_derive_set_peer(pc, peer) != 1)
        goto out;
    /* OpenSSL refuses to derive an all-zero secret; with well-formed keys
     * that is the only way derivation fails, so it means a small-order peer. */
    err = NB_EDECRYPT;
    if (EVP_PKEY_derive(pc, tmp, &tmp_len) != 1 || tmp_len != sizeof tmp ||
        CRYPTO_memcmp(tmp, zero, sizeof tmp) == 0)
        goto out;
    memcpy(shared, tmp, sizeof tmp);
    err = NB_OK;
out:
    nb_wipe(tmp, sizeof tmp);
    EVP_PKEY_CTX_free(pc);
    EVP_PKEY_free(peer);
    EVP_PKEY_free(mine);
    return err;
}

/* --- HKDF-SHA256 ---------------------------------------------------------- */

#define HKDF_MAX_OUT (255 * NB_SHA256_LEN) /* RFC 5869 2.3 */

enum nb_err nb_hkdf_sha256(const void *ikm, size_t ikm_len, const void *salt, size_t salt_len,
                           const void *info, size_t info_len, uint8_t *out, size_t out_len)
{
    uint8_t tmp[HKDF_MAX_OUT];
    OSSL_PARAM params[5];
    size_t n = 0;

    if (out_len == 0 || out_len > HKDF_MAX_OUT)
        return NB_EINVAL;
    if (!fetched() || hkdf_kdf == NULL)
        return NB_ECRYPTO;
    EVP_KDF_CTX *kc = EVP_KDF_CTX_new(hkdf_kdf);
    if (kc == NULL)
        return NB_ENOMEM;
    params[n++] = OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, (char *)"SHA256", 0);
    params[n++] =
        OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY, (void *)nonnull(ikm), ikm_len);
    /* An absent salt is HashLen zero bytes (RFC 5869 2.2), OpenSSL's default. */
    if (salt_len > 0)
        params[n++] =
            OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SALT, (void *)salt, salt_len);
    if (info_len > 0)
        params[n++] =
            OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO, (void *)info, info_len);
    params[n] = OSSL_PARAM_construct_end();
    int ok = EVP_KDF_derive(kc, tmp, out_len, params);
    EVP_KDF_CTX_free(kc);
    if (ok == 1)
        memcpy(out, tmp, out_len);
    nb_wipe(tmp, out_len);
    return ok == 1 ? NB_OK : NB_ECRYPTO;
}

/* --- AES-256-GCM ---------------------------------------------------------- */

/* NIST SP 800-38D: at most 2^39 - 256 bits of plaintext per invocation. */
#define GCM_MAX_LEN ((UINT64_C(1) << 36) - 32)
/* EVP_*Update takes an int length; larger buffers go through in pieces. */
#define GCM_PIECE ((size_t)1 << 30)

/* Runs the AAD and the data through an initialised GCM context. */
static bool gcm_process(EVP_CIPHER_CTX *cc, const void *aad, size_t aad_len, const uint8_t *in,
                        size_t len, uint8_t *out)
{
    int outl = 0;

    if (aad_len > INT_MAX)
        return false;
    if (aad_len > 0 && EVP_CipherUpdate(cc, NULL, &outl, aad, (int)aad_len) != 1)
        return false;
    for (size_t off = 0; off < len; off += GCM_PIECE) {
        size_t n = len - off < GCM_PIECE ? len - off : GCM_PIECE;
        if (EVP_CipherUpdate(cc, out + off, &outl, in + off, (int)n) != 1 || (size_t)outl != n)
            return false;
    }
    return true;
}

static EVP_CIPHER_CTX *gcm_start(const uint8_t *key, const uint8_t *nonce, int enc)
{
    if (!fetched() || gcm_cipher == NULL)
        return NULL;
    EVP_CIPHER_CTX *cc = EVP_CIPHER_CTX_new();
    if (cc != NULL && EVP_CipherInit_ex2(cc, gcm_cipher, key, nonce, enc, NULL) != 1) {
        EVP_CIPHER_CTX_free(cc);
        cc = NULL;
    }
    return cc;
}

enum nb_err nb_aes256gcm_seal(const uint8_t key[NB_AES256_KEY_LEN],
                              const uint8_t nonce[NB_GCM_NONCE_LEN], const void *aad,
                              size_t aad_len, const void *in, size_t len, void *out,
                              uint8_t tag[NB_GCM_TAG_LEN])
{
    uint8_t t[NB_GCM_TAG_LEN];
    int outl = 0;

    if ((uint64_t)len > GCM_MAX_LEN)
        return NB_ELENGTH;
    EVP_CIPHER_CTX *cc = gcm_start(key, nonce, 1);
    if (cc == NULL)
        return NB_ECRYPTO;
    bool ok = gcm_process(cc, aad, aad_len, in, len, out) &&
              EVP_EncryptFinal_ex(cc, t, &outl) == 1 &&
              EVP_CIPHER_CTX_ctrl(cc, EVP_CTRL_GCM_GET_TAG, NB_GCM_TAG_LEN, t) == 1;
    EVP_CIPHER_CTX_free(cc);
    if (!ok) {
        if (len > 0)
            nb_wipe(out, len);
        return NB_ECRYPTO;
    }
    memcpy(tag, t, sizeof t);
    return NB_OK;
}

enum nb_err nb_aes256gcm_open(const uint8_t key[NB_AES256_KEY_LEN],
                              const uint8_t nonce[NB_GCM_NONCE_LEN], const void *aad,
                              size_t aad_len, const void *in, size_t len,
                              const uint8_t tag[NB_GCM_TAG_LEN], void *out)
{
    uint8_t t[NB_GCM_TAG_LEN];
    uint8_t fin[16];
    int outl = 0;

    if ((uint64_t)len > GCM_MAX_LEN)
        return NB_ELENGTH;
    EVP_CIPHER_CTX *cc = gcm_start(key, nonce, 0);
    if (cc == NULL)
        return NB_ECRYPTO;
    memcpy(t, tag, sizeof t); /* the ctrl takes a non-const pointer */
    bool ok = EVP_CIPHER_CTX_ctrl(cc, EVP_CTRL_GCM_SET_TAG, NB_GCM_TAG_LEN, t) == 1 &&
              gcm_process(cc, aad, aad_len, in, len, out) &&
              EVP_DecryptFinal_ex(cc, fin, &outl) == 1;
    EVP_CIPHER_CTX_free(cc);
    if (!ok) {
        /* Unauthenticated plaintext must not be used: leave nothing of it. */
        if (len > 0)
            nb_wipe(out, len);
        return NB_EDECRYPT;
    }
    return NB_OK;
}

/* --- random, wipe, compare ------------------------------------------------ */

enum nb_err nb_random(void *buf, size_t len)
{
    uint8_t *p = buf;

    for (size_t off = 0; off < len;) {
        size_t n = len - off < (size_t)INT_MAX ? len - off : (size_t)INT_MAX;
        if (RAND_bytes(p + off, (int)n) != 1) {
            nb_wipe(buf, len); /* no partly random key material */
            return NB_ECRYPTO;
        }
        off += n;
    }
    return NB_OK;
}

void nb_wipe(void *p, size_t len)
{
    if (p != NULL && len > 0)
        OPENSSL_cleanse(p, len);
}

bool nb_ct_equal(const void *a, const void *b, size_t len)
{
    if (len == 0)
        return true;
    return CRYPTO_memcmp(a, b, len) == 0;
}
