/* Key files of the operator tools (lib/host/keyfile.c).
 *
 * `nobrick key new ROLE NAME` writes NAME.key (secret, mode 0600) and
 * NAME.pub. Both are small JSON documents:
 *   NAME.pub: {"type":"nobrick-public-key","role":"device","keyid":"<hex>",
 *              "ed25519":"<hex 32>","x25519":"<hex 32>"}
 *   NAME.key: {"type":"nobrick-secret-key","role":"device","keyid":"<hex>",
 *              "ed25519_seed":"<hex 32>","x25519_private":"<hex 32>"}
 * Only device keys carry the X25519 pair (payload decryption), kept apart from
 * the Ed25519 identity. keyid is nb_keyid() of the Ed25519 public key. */
#ifndef NOBRICK_KEYFILE_H
#define NOBRICK_KEYFILE_H

#include <nobrick/crypto.h>
#include <nobrick/envelope.h>
#include <nobrick/err.h>

#include <stdbool.h>

enum nb_key_role { NB_KEY_ROOT, NB_KEY_RELEASE, NB_KEY_DIRECTOR, NB_KEY_DEVICE };

struct nb_keyfile {
    enum nb_key_role role;
    bool secret;     /* loaded from a .key: seed (and x25519_priv) valid */
    bool has_x25519; /* device keys */
    char keyid[NB_KEYID_MAX + 1];
    uint8_t ed_seed[NB_ED25519_SEED_LEN];
    uint8_t ed_pub[NB_ED25519_PUB_LEN];
    uint8_t x_priv[NB_X25519_LEN];
    uint8_t x_pub[NB_X25519_LEN];
};

/* "root", "release", "director", "device"; parse returns NB_EINVAL for others. */
const char *nb_key_role_name(enum nb_key_role role);
NB_MUST_CHECK enum nb_err nb_key_role_parse(const char *name, enum nb_key_role *out);

/* Generates a fresh key of the given role. */
NB_MUST_CHECK enum nb_err nb_keyfile_generate(enum nb_key_role role, struct nb_keyfile *out);

/* Writes NAME.key (0600) and NAME.pub for name (a path without extension).
 * Refuses to overwrite either file (NB_EEXIST): keys are never replaced by
 * accident. */
NB_MUST_CHECK enum nb_err nb_keyfile_save(const struct nb_keyfile *key, const char *name,
                                          struct nb_diag *diag);

/* Loads a .key or .pub file (the "type" field tells which). A secret key file
 * readable by group or others is refused (NB_EINVAL), as ssh does. Derived
 * public keys are checked against a stored keyid. Strict JSON. */
NB_MUST_CHECK enum nb_err nb_keyfile_load(const char *path, struct nb_keyfile *out,
                                          struct nb_diag *diag);

/* Wipes the secret parts. */
void nb_keyfile_wipe(struct nb_keyfile *key);

#endif
