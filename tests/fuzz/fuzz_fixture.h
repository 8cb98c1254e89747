/* Shared by the fuzz targets: keys derived from fixed seeds (a target must be
 * deterministic, so no randomness), the fixed trusted root v1 they verify
 * against, and the oracle checks that turn a broken contract into an abort
 * libFuzzer reports as a crash. The seeds are those of make-corpus.sh, so
 * its signed inputs verify here. Test-only code: static inline, no state. */
#ifndef NOBRICK_FUZZ_FIXTURE_H
#define NOBRICK_FUZZ_FIXTURE_H

#include <nobrick/crypto.h>
#include <nobrick/envelope.h>
#include <nobrick/err.h>
#include <nobrick/root.h>

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Each seed is 32 copies of one byte (make-corpus.sh writes the same). */
#define FZ_SEED_ROOT1 0x11
#define FZ_SEED_ROOT2 0x12
#define FZ_SEED_RELEASE 0x22
#define FZ_SEED_DIRECTOR 0x33
#define FZ_SEED_DEVICE 0x44   /* the device's Ed25519 identity */
#define FZ_SEED_DEVICE_X 0x55 /* the device's X25519 private key */

/* 2100-01-01: the fixed root never expires during a run. */
#define FZ_EXPIRES ((int64_t)4102444800)
#define FZ_ENDPOINT "https://ota.example.com"
/* Bytes a failing call must leave as they were ("outputs are written only
 * on success", STYLE.md). */
#define FZ_POISON 0xA5

/* Fails the run: libFuzzer reports the abort with the input that caused it. */
static inline void fz_require(bool ok, const char *what)
{
    if (!ok) {
        fprintf(stderr, "fuzz oracle failed: %s\n", what);
        abort();
    }
}

static inline void fz_seed(uint8_t tag, uint8_t seed[NB_ED25519_SEED_LEN])
{
    memset(seed, tag, NB_ED25519_SEED_LEN);
}

/* The role key of the Ed25519 key with seed tag: its public key and keyid. */
static inline void fz_key(uint8_t tag, struct nb_key *out)
{
    uint8_t seed[NB_ED25519_SEED_LEN];
    fz_seed(tag, seed);
    memset(out, 0, sizeof *out);
    fz_require(nb_ed25519_public(seed, out->pub) == NB_OK, "derive a fixed public key");
    fz_require(nb_keyid(out->pub, out->keyid) == NB_OK, "keyid of a fixed key");
}

/* The device's X25519 pair (encrypted bundles are sealed to its public key). */
static inline void fz_device_x25519(uint8_t priv[NB_X25519_LEN], uint8_t pub[NB_X25519_LEN])
{
    memset(priv, FZ_SEED_DEVICE_X, NB_X25519_LEN);
    fz_require(nb_x25519_public(priv, pub) == NB_OK, "derive the device X25519 key");
}

/* The trusted root v1 of every target: root role {ROOT1, ROOT2} threshold 1,
 * release {RELEASE} and director {DIRECTOR} threshold 1, one endpoint. */
static inline void fz_root(struct nb_root *root)
{
    memset(root, 0, sizeof *root);
    root->version = 1;
    root->expires = FZ_EXPIRES;
    fz_key(FZ_SEED_ROOT1, &root->roles[NB_ROLE_ROOT].keys[0]);
    fz_key(FZ_SEED_ROOT2, &root->roles[NB_ROLE_ROOT].keys[1]);
    root->roles[NB_ROLE_ROOT].n_keys = 2;
    root->roles[NB_ROLE_ROOT].threshold = 1;
    fz_key(FZ_SEED_RELEASE, &root->roles[NB_ROLE_RELEASE].keys[0]);
    root->roles[NB_ROLE_RELEASE].n_keys = 1;
    root->roles[NB_ROLE_RELEASE].threshold = 1;
    fz_key(FZ_SEED_DIRECTOR, &root->roles[NB_ROLE_DIRECTOR].keys[0]);
    root->roles[NB_ROLE_DIRECTOR].n_keys = 1;
    root->roles[NB_ROLE_DIRECTOR].threshold = 1;
    memcpy(root->endpoints[0], FZ_ENDPOINT, sizeof FZ_ENDPOINT);
    root->n_endpoints = 1;
}

/* A diag message is always a terminated string, whatever the input. */
static inline void fz_check_diag(const struct nb_diag *diag)
{
    fz_require(memchr(diag->msg, '\0', sizeof diag->msg) != NULL, "diag message terminated");
}

/* True when p[0..len) still holds FZ_POISON everywhere. */
static inline bool fz_untouched(const void *p, size_t len)
{
    const uint8_t *b = p;
    for (size_t i = 0; i < len; i++) {
        if (b[i] != FZ_POISON)
            return false;
    }
    return true;
}

static inline bool fz_terminated(const char *s, size_t cap)
{
    return memchr(s, '\0', cap) != NULL;
}

#endif
