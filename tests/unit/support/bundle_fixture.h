/* Test helpers for bundles: a world of keys and a trusted root, bundles made
 * by the real writer (nb_bundle_file_create) and held in memory, and the
 * edits attack tests make to them (re-signing a release, reading parts).
 * Every helper fails the running cmocka test on an internal error.
 * Test-only code: never linked into shipped programs. */
#ifndef NOBRICK_TEST_BUNDLE_FIXTURE_H
#define NOBRICK_TEST_BUNDLE_FIXTURE_H

#include "trust_fixture.h"

#include <nobrick/bundle.h>
#include <nobrick/bundle_file.h>
#include <nobrick/frames.h>
#include <nobrick/release.h>

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Keys and the root v1 that trusts them (release role: `release`). */
struct bx_world {
    struct nb_keyfile root_key, release, director, device, other_device;
    struct nb_root root;
};
void bx_world_init(struct bx_world *w);

/* A signer over a key file in memory (no file, no token). */
void bx_signer(struct nb_signer *s, const struct nb_keyfile *k);

/* Deterministic image bytes; compressible when `compressible`. */
void bx_image(uint8_t *buf, size_t len, unsigned seed, bool compressible);

struct bx_spec {
    uint32_t frame_size;
    enum nb_compression compression;
    bool encrypt;          /* to w->device */
    const char *component; /* NULL: the default, "system" */
};

/* A bundle in memory (owned, nb_free'd by bx_free). */
struct bx_bundle {
    uint8_t *data;
    size_t len;
};

/* Creates a bundle of image[0..len) through nb_bundle_file_create in a temp
 * directory and reads it back. */
void bx_create(const struct bx_world *w, const uint8_t *image, size_t len,
               const struct bx_spec *spec, struct bx_bundle *out);
void bx_free(struct bx_bundle *b);

/* A private copy of b, nb_free'd by bx_free. */
void bx_copy(const struct bx_bundle *b, struct bx_bundle *out);

/* Verifies data[0..len) against w->root, with w->device's X25519 key when
 * with_key. diag may be NULL. */
enum nb_err bx_verify(const struct bx_world *w, const uint8_t *data, size_t len, bool with_key,
                      struct nb_diag *diag);

/* The header of a bundle known to be well formed. */
void bx_header(const struct bx_bundle *b, struct nb_bundle_header *h);

/* Entry i of b's frame table. */
void bx_entry(const struct bx_bundle *b, uint32_t i, struct nb_frame_entry *e);

/* The verified release payload of b (copied into out, NUL-terminated);
 * returns its length. */
size_t bx_payload(const struct bx_world *w, const struct bx_bundle *b, char *out, size_t cap);

/* b with its envelope replaced by payload[0..len) signed by w->release:
 * what the holder of the release key could publish. */
void bx_resign(const struct bx_world *w, const struct bx_bundle *b, const char *payload, size_t len,
               struct bx_bundle *out);

/* A temp directory for files (removed with its files by bx_tmpdir_remove). */
void bx_tmpdir(char *out, size_t cap);
void bx_tmpdir_remove(const char *dir);

#endif
