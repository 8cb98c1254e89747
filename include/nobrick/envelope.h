/* The signed envelope: DSSE-style, Ed25519, several signatures.
 *
 * Text form (JSON, strict):
 *   {"payloadType":"application/vnd.nobrick.root+json",
 *    "payload":"<base64 of the exact payload bytes>",
 *    "signatures":[{"keyid":"<hex>","sig":"<base64 of 64 bytes>"}, ...]}
 * Each signature is over PAE(payloadType, payload) =
 *   "DSSEv1" SP LEN(type) SP type SP LEN(payload) SP payload
 * with LEN as ASCII decimal. The payload is never parsed before a threshold
 * of its role's keys has verified it (verify before parse). Key ids are hints
 * to find the key; the decision is always the signature over the exact bytes,
 * and a threshold counts distinct public keys, never key ids or entries. */
#ifndef NOBRICK_ENVELOPE_H
#define NOBRICK_ENVELOPE_H

#include <nobrick/crypto.h>
#include <nobrick/err.h>

#include <stddef.h>
#include <stdint.h>

#define NB_PAYLOAD_ROOT "application/vnd.nobrick.root+json"
#define NB_PAYLOAD_RELEASE "application/vnd.nobrick.release+json"
#define NB_PAYLOAD_DIRECTOR "application/vnd.nobrick.director+json"

#define NB_PAYLOAD_TYPE_MAX 63      /* characters */
#define NB_KEYID_MAX 64             /* characters: hex of a SHA-256 */
#define NB_ENVELOPE_MAX_SIGS 32     /* signatures in one envelope */
#define NB_PAYLOAD_MAX (256 * 1024) /* decoded payload bytes, any role */
/* Envelope text: the base64 payload plus signatures and framing. */
#define NB_ENVELOPE_MAX (NB_PAYLOAD_MAX / 3 * 4 + 16 * 1024)
/* Room for the PAE prefix: "DSSEv1 " + len + " " + type + " " + len + " ". */
#define NB_PAE_HEADER_MAX 128
/* Scratch a caller gives nb_envelope_parse: PAE prefix plus payload. */
#define NB_ENVELOPE_SCRATCH_LEN (NB_PAE_HEADER_MAX + NB_PAYLOAD_MAX)

/* One public key of a role. */
struct nb_key {
    char keyid[NB_KEYID_MAX + 1];
    uint8_t pub[NB_ED25519_PUB_LEN];
};

#define NB_ROLE_MAX_KEYS 16

/* The keys of one role and how many distinct ones must sign (>= 1). */
struct nb_role {
    struct nb_key keys[NB_ROLE_MAX_KEYS];
    size_t n_keys;
    uint32_t threshold;
};

struct nb_signature {
    char keyid[NB_KEYID_MAX + 1];
    uint8_t sig[NB_ED25519_SIG_LEN];
};

/* A parsed envelope. payload and pae point into the caller's scratch. */
struct nb_envelope {
    char payload_type[NB_PAYLOAD_TYPE_MAX + 1];
    const uint8_t *payload;
    size_t payload_len;
    const uint8_t *pae; /* PAE(payload_type, payload), what was signed */
    size_t pae_len;
    struct nb_signature sigs[NB_ENVELOPE_MAX_SIGS];
    size_t n_sigs;
};

/* Parses envelope text (strict JSON: exactly the three fields, no duplicate
 * keys, no trailing bytes, strict base64, at most NB_ENVELOPE_MAX_SIGS)
 * and decodes the payload into scratch (at least
 * NB_ENVELOPE_SCRATCH_LEN bytes, or less for smaller payload caps; NB_ELENGTH
 * when it does not fit). Parses only the envelope, never the payload.
 * NB_ELENGTH for text over NB_ENVELOPE_MAX, NB_ESIG for a signature that is
 * not 64 bytes (an empty one: SECURITY.md 3), NB_EPARSE for anything else
 * malformed. */
NB_MUST_CHECK enum nb_err nb_envelope_parse(const uint8_t *text, size_t len, uint8_t *scratch,
                                            size_t scratch_len, struct nb_envelope *env,
                                            struct nb_diag *diag);

/* Checks env against role: payload_type must equal expected_type (NB_EPARSE
 * otherwise: type confusion). Each signature whose keyid names a key of the
 * role is verified over the PAE; valid ones are counted once per distinct
 * public key. NB_OK when the count reaches role->threshold; NB_ESIG when no
 * signature is valid (none, empty, garbage, foreign key); NB_ETHRESHOLD when
 * some are valid but too few distinct keys; NB_EPARSE for a role with
 * threshold 0. diag says which. */
NB_MUST_CHECK enum nb_err nb_envelope_verify(const struct nb_envelope *env,
                                             const char *expected_type, const struct nb_role *role,
                                             struct nb_diag *diag);

/* nb_envelope_verify that also reports, in *n_valid (written whatever the
 * result), how many distinct role keys signed validly, so a caller can word
 * its own message ("signed by 1 of 2 required v3 root keys"). */
NB_MUST_CHECK enum nb_err nb_envelope_verify_counted(const struct nb_envelope *env,
                                                     const char *expected_type,
                                                     const struct nb_role *role, size_t *n_valid,
                                                     struct nb_diag *diag);

/* Writes PAE(type, payload) into out; *out_len receives its length. */
NB_MUST_CHECK enum nb_err nb_pae(const char *type, const uint8_t *payload, size_t payload_len,
                                 uint8_t *out, size_t out_cap, size_t *out_len);

/* Writes envelope text (compact JSON, no trailing newline, NUL-terminated;
 * *out_len excludes the NUL) for a payload and its signatures into out, fields
 * in the order payloadType, payload, signatures. NB_ENOSPC when out_cap is
 * short. */
NB_MUST_CHECK enum nb_err nb_envelope_write(const char *type, const uint8_t *payload,
                                            size_t payload_len, const struct nb_signature *sigs,
                                            size_t n_sigs, char *out, size_t out_cap,
                                            size_t *out_len);

/* The key id nobrick gives a public key: lowercase hex of SHA-256(pub). */
NB_MUST_CHECK enum nb_err nb_keyid(const uint8_t pub[NB_ED25519_PUB_LEN],
                                   char out[NB_KEYID_MAX + 1]);

#endif
