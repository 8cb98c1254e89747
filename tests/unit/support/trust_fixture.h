/* Test helpers for signed metadata: fresh keys, roles, roots and envelopes
 * signed by any set of keys (including the wrong ones, on purpose).
 * Every helper fails the running cmocka test on an internal error, so tests
 * read as scenarios. Test-only code: never linked into shipped programs. */
#ifndef NOBRICK_TEST_TRUST_FIXTURE_H
#define NOBRICK_TEST_TRUST_FIXTURE_H

#include <nobrick/envelope.h>
#include <nobrick/keyfile.h>
#include <nobrick/root.h>

#include <stddef.h>
#include <stdint.h>

/* A fixed "now" for tests (2023-11-14T22:13:20Z) and a day in seconds. */
#define FX_NOW ((int64_t)1700000000)
#define FX_DAY ((int64_t)86400)

/* Room for any envelope text the fixture writes (NUL included). */
#define FX_ENVELOPE_CAP (NB_ENVELOPE_MAX + 1)

/* A fresh key of the given role (secret part included). */
void fx_key(struct nb_keyfile *k, enum nb_key_role role);

/* The public part of k as a role key (keyid and pub). */
void fx_role_key(struct nb_key *out, const struct nb_keyfile *k);

/* Fills role with the public keys of keys[0..n-1] and threshold. */
void fx_role(struct nb_role *role, const struct nb_keyfile *keys, size_t n, uint32_t threshold);

/* A root: version, expires, root role from root_keys[0..n_root-1] with
 * root_threshold, release and director roles with threshold 1, and one
 * endpoint "https://ota.example.com". Tests adjust fields afterwards. */
void fx_root(struct nb_root *root, uint32_t version, int64_t expires,
             const struct nb_keyfile *root_keys, size_t n_root, uint32_t root_threshold,
             const struct nb_keyfile *release_key, const struct nb_keyfile *director_key);

/* Envelope text (NUL-terminated) for payload of type, signed by each of
 * signers[0..n-1] (secret keys) in order. Returns the text length. */
size_t fx_envelope(const char *type, const void *payload, size_t len,
                   const struct nb_keyfile *const *signers, size_t n, char *out, size_t cap);

/* Envelope text of root's payload (nb_root_write) signed by signers. */
size_t fx_root_envelope(const struct nb_root *root, const struct nb_keyfile *const *signers,
                        size_t n, char *out, size_t cap);

/* Scratch for nb_envelope_parse / nb_root_step in tests (static, not
 * reentrant: one per test process is enough). */
uint8_t *fx_scratch(void);

#endif
