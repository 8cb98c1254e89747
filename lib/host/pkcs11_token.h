/* PKCS#11 tokens for the operator tools, internal to lib/host: the pkcs11:
 * URI (an RFC 7512 subset, pkcs11_uri.c) and an Ed25519 key pair on a token,
 * found and used through p11-kit with CKM_EDDSA (pkcs11_token.c). Programs
 * reach it only through nb_signer_open() and nobrick/pkcs11.h. */
#ifndef NOBRICK_HOST_PKCS11_TOKEN_H
#define NOBRICK_HOST_PKCS11_TOKEN_H

#include <nobrick/crypto.h>
#include <nobrick/err.h>

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define NB_PKCS11_TOKEN_MAX 32   /* bytes: CK_TOKEN_INFO.label is 32 bytes */
#define NB_PKCS11_OBJECT_MAX 127 /* bytes of an object label */
#define NB_PKCS11_ID_MAX 64      /* bytes of a CKA_ID */
#define NB_PKCS11_PIN_MAX 128    /* bytes of a PIN */
#define NB_PKCS11_PATH_MAX 1024  /* bytes of a module path */

/* A parsed pkcs11: URI. Strings are NUL-terminated; "" when absent. */
struct nb_pkcs11_uri {
    char token[NB_PKCS11_TOKEN_MAX + 1];
    char object[NB_PKCS11_OBJECT_MAX + 1];
    uint8_t id[NB_PKCS11_ID_MAX];
    size_t id_len;
    bool has_id;
    char pin[NB_PKCS11_PIN_MAX + 1];
    bool has_pin;
    char module_path[NB_PKCS11_PATH_MAX + 1];
};

/* Parses text: "pkcs11:" path attributes token, object, id (and type=private)
 * separated by ';', then optionally '?' and query attributes pin-value and
 * module-path separated by '&' (pin-value and module-path are also accepted
 * in the path, as nobrick's documentation writes them). Values are
 * percent-decoded. token and one of object or id are required. Unknown,
 * repeated, empty, over-long or badly encoded attributes are refused with
 * NB_EPARSE (NB_ELENGTH for over-long) and a diag naming the attribute; the
 * diag never repeats the PIN. The caller wipes out with nb__pkcs11_uri_wipe. */
NB_MUST_CHECK enum nb_err nb__pkcs11_uri_parse(const char *text, struct nb_pkcs11_uri *out,
                                               struct nb_diag *diag);

/* Wipes the PIN (and the rest) of a parsed URI. */
void nb__pkcs11_uri_wipe(struct nb_pkcs11_uri *uri);

/* An open session on a token, logged in, holding one Ed25519 key pair. */
struct nb_pkcs11_key;

/* Loads the module (module_path, or every module of p11-kit's configuration
 * when module_path is NULL or ""), finds the one token labelled uri->token,
 * logs in with pin (NULL: no PIN; allowed only when the token needs no login
 * or has a protected authentication path such as a PIN pad), finds the one
 * Ed25519 private key matching uri->object and/or uri->id and its public key
 * (CKA_EC_POINT: a DER OCTET STRING of exactly 32 bytes, not a weak key).
 * Returns NB_ENOENT (no token, no key), NB_EINVAL (PIN missing, wrong or
 * locked), NB_EPARSE (malformed public key), NB_EUNSUPPORTED, NB_EIO (module
 * or token failure), NB_ENOMEM; diag names the token and object. On success
 * the caller owns *out and releases it with nb__pkcs11_key_close. */
NB_MUST_CHECK enum nb_err nb__pkcs11_key_open(const struct nb_pkcs11_uri *uri,
                                              const char *module_path, const char *pin,
                                              struct nb_pkcs11_key **out, struct nb_diag *diag);

/* The key pair's Ed25519 public key. */
void nb__pkcs11_key_pub(const struct nb_pkcs11_key *key, uint8_t pub[NB_ED25519_PUB_LEN]);

/* Signs msg with CKM_EDDSA (pure Ed25519) on the token, then verifies the
 * signature against the public key before writing it to sig: a token that
 * returns a bad signature gets NB_ECRYPTO, never an envelope. */
NB_MUST_CHECK enum nb_err nb__pkcs11_key_sign(struct nb_pkcs11_key *key, const uint8_t *msg,
                                              size_t len, uint8_t sig[NB_ED25519_SIG_LEN],
                                              struct nb_diag *diag);

/* Logs out, closes the session, finalizes the module(s), wipes the PIN and
 * frees key. NULL is a no-op. */
void nb__pkcs11_key_close(struct nb_pkcs11_key *key);

#endif
