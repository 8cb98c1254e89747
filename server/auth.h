/* Credentials of the server's two APIs. Bearer tokens are 32 random bytes
 * in hex behind a prefix ("nbt_" for API tokens with a role, "nbd_" for
 * short-lived device tokens); only their SHA-256 is stored, so a copy of the
 * database grants nothing. Devices get a token by signing a one-time
 * challenge with their Ed25519 identity key. */
#ifndef NOBRICK_SERVER_AUTH_H
#define NOBRICK_SERVER_AUTH_H

#include "store.h"

#include <nobrick/crypto.h>

#define AUTH_TOKEN_LEN (4 + 2 * 32) /* prefix + hex */
#define AUTH_CHALLENGE_HEX (2 * 32)
/* What a device signs to log in: PAE(AUTH_PAYLOAD_TYPE, "<device id>:<challenge hex>"). */
#define AUTH_PAYLOAD_TYPE "application/vnd.nobrick.device-auth"
/* What a device signs to enrol: PAE(AUTH_ENROL_TYPE, "<public key hex>:<hw class>"). */
#define AUTH_ENROL_TYPE "application/vnd.nobrick.device-enrol"

/* Who is calling, once a token was accepted. */
struct auth_principal {
    enum store_role role;
    int64_t token_id;
    char device_id[STORE_ID_MAX + 1]; /* device tokens */
    char actor[STORE_NAME_MAX + 1];   /* for the audit log: "token:3 (ci)", "device:ab12.." */
};

/* The hex SHA-256 of a token, as stored. */
NB_MUST_CHECK enum nb_err auth_hash(const char *token, char out[STORE_HASH_HEX + 1]);

/* Looks up a bearer token: NB_EUNAUTHORIZED for an unknown, revoked or
 * expired (at now) token or a malformed one, NB_EIO from the store. */
NB_MUST_CHECK enum nb_err auth_check(struct store *st, const char *token, int64_t now,
                                     struct auth_principal *out);

/* true when a principal of role `have` may use something that needs `need`:
 * viewer < operator < admin; device tokens only for device routes. */
bool auth_allows(enum store_role have, enum store_role need);

/* Creates and stores an API token (role viewer, operator or admin) and
 * writes its secret into token_out, shown once. au is the audit entry. */
NB_MUST_CHECK enum nb_err auth_create_api_token(struct store *st, enum store_role role,
                                                const char *name, int64_t now,
                                                const struct store_audit *au,
                                                char token_out[AUTH_TOKEN_LEN + 1],
                                                int64_t *id_out);

/* Creates a device token valid for ttl_s seconds. */
NB_MUST_CHECK enum nb_err auth_create_device_token(struct store *st, const char *device_id,
                                                   int64_t now, uint32_t ttl_s,
                                                   char token_out[AUTH_TOKEN_LEN + 1]);

/* An audit entry by who, at now: action ("release.upload"), object
 * ("release:4"); the caller may add a detail (JSON object text). */
struct store_audit auth_audit(const struct auth_principal *who, int64_t now, const char *action,
                              const char *object);

/* A fresh random challenge, hex. */
NB_MUST_CHECK enum nb_err auth_new_challenge(char out[AUTH_CHALLENGE_HEX + 1]);

/* Verifies a device's signature (hex) over the challenge with its public
 * key (hex): NB_OK or NB_ESIG. */
NB_MUST_CHECK enum nb_err auth_verify_device(const char *pubkey_hex, const char *device_id,
                                             const char *challenge, const char *sig_hex);

/* Verifies an enrolment's signature (hex) by the key it enrols, so only the
 * holder of a key can enrol it (and choose its hardware class). */
NB_MUST_CHECK enum nb_err auth_verify_enrol(const char *pubkey_hex, const char *hw_class,
                                            const char *sig_hex);

#endif
