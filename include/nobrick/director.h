/* The director instruction, device side (lib/core/director.c): the server's
 * online, per-check-in "device D should install release R", signed by the
 * root's director role and bound to the check-in's nonce (docs/api.md "The
 * director instruction"). Payload (strict JSON, fields exactly these):
 *   {"type":"director","spec":1,"device_id":"<hex>","nonce":"<hex>",
 *    "deployment_id":N,
 *    "release":{"version":"1.2.0","security_counter":N,"envelope_sha256":"<hex>",
 *               "bundle_sha256":"<hex>","bundle_size":N},
 *    "issued_at":UNIX_SECONDS,"expires":UNIX_SECONDS}
 * The director only chooses among releases the release role signed: the
 * release envelope the device then fetches must hash to envelope_sha256 and
 * agree on version and counter (nb_director_check_release; SECURITY.md 26). */
#ifndef NOBRICK_DIRECTOR_H
#define NOBRICK_DIRECTOR_H

#include <nobrick/crypto.h>
#include <nobrick/err.h>
#include <nobrick/release.h>
#include <nobrick/root.h>

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define NB_DIRECTOR_SPEC 1
/* Spec 2: spec 1 and, last, "install_after" and "install_before" (UNIX
 * seconds): a maintenance window the install must fall in (download
 * before it is fine). */
#define NB_DIRECTOR_SPEC_WINDOW 2
#define NB_DIRECTOR_NONCE_MAX 128 /* hex characters */
#define NB_DIRECTOR_PAYLOAD_MAX 4096
/* Envelope text of one instruction: a small payload and a few signatures. */
#define NB_DIRECTOR_TEXT_MAX (16 * 1024)

struct nb_director {
    char device_id[NB_KEYID_MAX + 1];
    char nonce[NB_DIRECTOR_NONCE_MAX + 1];
    int64_t deployment_id; /* >= 1 */
    char version[NB_VERSION_MAX + 1];
    uint64_t security_counter;
    uint8_t envelope_sha256[NB_SHA256_LEN];
    uint8_t bundle_sha256[NB_SHA256_LEN];
    uint64_t bundle_size;
    int64_t issued_at, expires;
    int spec;                              /* 1, or 2 with the window */
    int64_t install_after, install_before; /* spec 2: the install window; else 0, 0 */
};

/* What the device expects of this check-in's instruction. */
struct nb_director_expect {
    const char *device_id; /* this device's id (hex keyid of its identity key) */
    const char *nonce;     /* the nonce sent in this check-in */
    int64_t time_floor;    /* newest issued_at accepted before (0: none) */
    int64_t now;           /* wall clock, UNIX seconds */
    bool now_known;        /* false: no trusted clock; the time floor stands in for now */
};

/* Parses a director payload strictly (not an envelope): NB_EPARSE for
 * malformed JSON, duplicate, missing or unknown fields, wrong types, type
 * other than "director", spec other than 1 and 2, bad hex, a version that is not
 * SemVer, expires not after issued_at; NB_ELENGTH past a cap. *out is written
 * only on success. Only call it on verified bytes (nb_director_verify). */
NB_MUST_CHECK enum nb_err nb_director_parse(const uint8_t *payload, size_t len,
                                            struct nb_director *out, struct nb_diag *diag);

/* Verifies an instruction, in this order: envelope parse (NB_EPARSE,
 * NB_ELENGTH); a threshold of root's director role over payload type
 * NB_PAYLOAD_DIRECTOR (NB_ESIG, NB_ETHRESHOLD; a release or root envelope
 * fails here: the type is signed); strict parse; device_id
 * (NB_ENOT_FOR_DEVICE); nonce (NB_EFRESHNESS); issued_at not below the time
 * floor (NB_EROLLBACK); expires after now, or after the floor without a
 * clock (NB_EEXPIRED). scratch: NB_ENVELOPE_SCRATCH_LEN bytes, used only
 * during the call. *out is written only on success. */
NB_MUST_CHECK enum nb_err nb_director_verify(const struct nb_root *root, const uint8_t *text,
                                             size_t len, uint8_t *scratch, size_t scratch_len,
                                             const struct nb_director_expect *expect,
                                             struct nb_director *out, struct nb_diag *diag);

/* The fetched release envelope against a verified instruction: its SHA-256
 * is envelope_sha256 (NB_EMISMATCH), and rel (verified by the release role)
 * has the instruction's version and security counter (NB_EMISMATCH: the
 * director named something the release role did not sign). rel may be NULL:
 * then only the digest is checked (before the envelope is verified). */
NB_MUST_CHECK enum nb_err nb_director_check_release(const struct nb_director *d,
                                                    const uint8_t *envelope, size_t envelope_len,
                                                    const struct nb_release *rel,
                                                    struct nb_diag *diag);

#endif
