/* The crypto needs of libnobrick, as one small adapter interface.
 *
 * lib/crypto/crypto_openssl.c implements it over OpenSSL 3 libcrypto (SHA-NI,
 * AES-NI/VAES where the CPU has them); an mbedTLS/PSA adapter for MCUs would
 * implement the same functions. The core reaches crypto only through here.
 * Every function returns NB_OK or a negative enum nb_err; outputs are written
 * only on success. */
#ifndef NOBRICK_CRYPTO_H
#define NOBRICK_CRYPTO_H

#include <nobrick/err.h>

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define NB_SHA256_LEN 32
#define NB_ED25519_SEED_LEN 32
#define NB_ED25519_PUB_LEN 32
#define NB_ED25519_SIG_LEN 64
#define NB_X25519_LEN 32
#define NB_AES256_KEY_LEN 32
#define NB_GCM_NONCE_LEN 12
#define NB_GCM_TAG_LEN 16

/* Incremental SHA-256. The caller owns the struct; the adapter may hold
 * library state behind impl, released by nb_sha256_final or nb_sha256_abort.
 * A ctx may be reused after final (begin again). */
struct nb_sha256_ctx {
    void *impl;
};
NB_MUST_CHECK enum nb_err nb_sha256_begin(struct nb_sha256_ctx *ctx);
NB_MUST_CHECK enum nb_err nb_sha256_update(struct nb_sha256_ctx *ctx, const void *data, size_t len);
/* Writes the digest and releases the state. */
NB_MUST_CHECK enum nb_err nb_sha256_final(struct nb_sha256_ctx *ctx, uint8_t out[NB_SHA256_LEN]);
/* Releases the state without a digest; safe on a ctx never begun (impl NULL). */
void nb_sha256_abort(struct nb_sha256_ctx *ctx);
/* One-shot digest. */
NB_MUST_CHECK enum nb_err nb_sha256(const void *data, size_t len, uint8_t out[NB_SHA256_LEN]);

/* Ed25519 (RFC 8032, pure). A secret key is its 32-byte seed. */
NB_MUST_CHECK enum nb_err nb_ed25519_keygen(uint8_t seed[NB_ED25519_SEED_LEN],
                                            uint8_t pub[NB_ED25519_PUB_LEN]);
NB_MUST_CHECK enum nb_err nb_ed25519_public(const uint8_t seed[NB_ED25519_SEED_LEN],
                                            uint8_t pub[NB_ED25519_PUB_LEN]);
NB_MUST_CHECK enum nb_err nb_ed25519_sign(const uint8_t seed[NB_ED25519_SEED_LEN], const void *msg,
                                          size_t len, uint8_t sig[NB_ED25519_SIG_LEN]);
/* NB_OK when sig is a valid signature of msg by pub, NB_ESIG otherwise.
 * Refuses, whatever the library says: an all-zero signature, a non-canonical
 * S (S >= L), a small-order or non-canonical public key or R (SECURITY.md 32). */
NB_MUST_CHECK enum nb_err nb_ed25519_verify(const uint8_t pub[NB_ED25519_PUB_LEN], const void *msg,
                                            size_t len, const uint8_t sig[NB_ED25519_SIG_LEN]);
/* true when pub is one of the small-order (or non-canonical) encodings. */
bool nb_ed25519_pub_is_weak(const uint8_t pub[NB_ED25519_PUB_LEN]);

/* X25519 (RFC 7748). */
NB_MUST_CHECK enum nb_err nb_x25519_keygen(uint8_t priv[NB_X25519_LEN], uint8_t pub[NB_X25519_LEN]);
NB_MUST_CHECK enum nb_err nb_x25519_public(const uint8_t priv[NB_X25519_LEN],
                                           uint8_t pub[NB_X25519_LEN]);
/* Shared secret; NB_EDECRYPT when it is all zero (a small-order peer key). */
NB_MUST_CHECK enum nb_err nb_x25519(const uint8_t priv[NB_X25519_LEN],
                                    const uint8_t peer_pub[NB_X25519_LEN],
                                    uint8_t shared[NB_X25519_LEN]);

/* HKDF-SHA256 (RFC 5869): extract with salt, expand with info to out_len. */
NB_MUST_CHECK enum nb_err nb_hkdf_sha256(const void *ikm, size_t ikm_len, const void *salt,
                                         size_t salt_len, const void *info, size_t info_len,
                                         uint8_t *out, size_t out_len);

/* AES-256-GCM with a 12-byte nonce and 16-byte tag. in and out may be the
 * same buffer (in place); otherwise they must not overlap. open returns
 * NB_EDECRYPT when the tag does not verify, and then out holds nothing
 * usable (it is wiped). */
NB_MUST_CHECK enum nb_err nb_aes256gcm_seal(const uint8_t key[NB_AES256_KEY_LEN],
                                            const uint8_t nonce[NB_GCM_NONCE_LEN], const void *aad,
                                            size_t aad_len, const void *in, size_t len, void *out,
                                            uint8_t tag[NB_GCM_TAG_LEN]);
NB_MUST_CHECK enum nb_err nb_aes256gcm_open(const uint8_t key[NB_AES256_KEY_LEN],
                                            const uint8_t nonce[NB_GCM_NONCE_LEN], const void *aad,
                                            size_t aad_len, const void *in, size_t len,
                                            const uint8_t tag[NB_GCM_TAG_LEN], void *out);

/* Cryptographically secure random bytes (host side: key generation, content
 * keys). Device code takes randomness from its HAL instead. */
NB_MUST_CHECK enum nb_err nb_random(void *buf, size_t len);

/* Wipes secrets so the compiler cannot elide it. */
void nb_wipe(void *p, size_t len);

/* Constant-time comparison: true when equal. */
bool nb_ct_equal(const void *a, const void *b, size_t len);

#endif
