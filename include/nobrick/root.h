/* Root metadata and the root chain walk.
 *
 * A root is a signed envelope (payload type NB_PAYLOAD_ROOT) whose payload
 * names, for each role (root, release, director), its public keys and
 * threshold, plus the signed list of server endpoints and an expiry. A device
 * is provisioned with root v1 and moves only forward: v N+1 is accepted when
 * a threshold of v N's root keys AND a threshold of its own root keys sign it
 * and its version is exactly N+1. Payload (strict JSON, unknown fields
 * refused):
 *   {"type":"root","spec":1,"version":N,"expires":UNIX_SECONDS,
 *    "roles":{"root":{"threshold":T,"keys":[{"keyid":"..","ed25519":"<hex>"}]},
 *             "release":{...},"director":{...}},
 *    "endpoints":["https://ota.example.com", ...]}
 * Parsed roots are plain structs: no allocation, caller-owned. */
#ifndef NOBRICK_ROOT_H
#define NOBRICK_ROOT_H

#include <nobrick/envelope.h>
#include <nobrick/err.h>

#include <stdint.h>

enum nb_role_id { NB_ROLE_ROOT, NB_ROLE_RELEASE, NB_ROLE_DIRECTOR, NB_ROLE_COUNT };

#define NB_ROOT_PAYLOAD_MAX (64 * 1024)
#define NB_ROOT_MAX_ENDPOINTS 8
#define NB_ENDPOINT_MAX 255   /* characters */
#define NB_ROOT_MAX_STEPS 256 /* a chain walk stops after this many rotations */
#define NB_ROOT_SPEC 1

struct nb_root {
    uint32_t version; /* >= 1 */
    int64_t expires;  /* UNIX seconds */
    struct nb_role roles[NB_ROLE_COUNT];
    char endpoints[NB_ROOT_MAX_ENDPOINTS][NB_ENDPOINT_MAX + 1];
    size_t n_endpoints; /* >= 1 */
};

/* "root", "release", "director". */
const char *nb_role_name(enum nb_role_id role);

/* The release keys of old that next no longer lists (compared by public
 * key): their indexes in old->roles[NB_ROLE_RELEASE].keys, at most
 * NB_ROLE_MAX_KEYS. A device running a release signed only by such a key
 * refuses next (E_UNBOOTABLE, docs/trust.md), so tools warn before it
 * ships. Returns how many. */
size_t nb_root_dropped_release_keys(const struct nb_root *old, const struct nb_root *next,
                                    size_t out[NB_ROLE_MAX_KEYS]);

/* The warning for one dropped key (keyid) of next, as one sentence in out:
 * the same words wherever a tool says it. */
void nb_root_drop_warning(const struct nb_root *next, const char *keyid, char *out, size_t cap);

/* Parses a root payload (not an envelope) strictly: NB_EPARSE for unknown or
 * duplicate fields, threshold 0, threshold above the number of keys, bad hex,
 * a missing role, or an endpoint that is not an http(s) URL; NB_ELENGTH past
 * a cap. Writes *out only on success. */
NB_MUST_CHECK enum nb_err nb_root_parse(const uint8_t *payload, size_t len, struct nb_root *out,
                                        struct nb_diag *diag);

/* Serialises a root payload (compact JSON, fields in the order above). */
NB_MUST_CHECK enum nb_err nb_root_write(const struct nb_root *root, char *out, size_t out_cap,
                                        size_t *out_len);

/* Loads the root a device or operator trusts from the start (provisioned v1,
 * or any root taken on trust): envelope text, verified with its own root role
 * (a root that does not sign itself is refused), then parsed. scratch as for
 * nb_envelope_parse. Expiry is not checked here (see nb_root_check_expiry). */
NB_MUST_CHECK enum nb_err nb_root_load_trusted(const uint8_t *text, size_t len, uint8_t *scratch,
                                               size_t scratch_len, struct nb_root *out,
                                               struct nb_diag *diag);

/* One step of the chain: accepts next (envelope text) as the successor of
 * trusted. Order: envelope parse; verify with trusted's root role (NB_ESIG /
 * NB_ETHRESHOLD); parse payload; verify with next's own root role; version
 * must be trusted->version + 1 (NB_EROLLBACK otherwise, also for a replay of
 * the same or an older version and for a skipped version). *out is written
 * only on success; trusted is never changed. */
NB_MUST_CHECK enum nb_err nb_root_step(const struct nb_root *trusted, const uint8_t *next,
                                       size_t next_len, uint8_t *scratch, size_t scratch_len,
                                       struct nb_root *out, struct nb_diag *diag);

/* Walks texts[0..n-1] (envelope texts, in order) from trusted with
 * nb_root_step. Stops at the first failure, or with NB_ELENGTH once
 * NB_ROOT_MAX_STEPS steps were taken and more remain (a flood of published
 * roots costs bounded time: SECURITY.md 11). Always writes *out, the newest
 * root accepted (trusted itself when none was), and *n_steps, how many were
 * accepted: roots accepted before a failure stay accepted. out may alias
 * trusted. */
NB_MUST_CHECK enum nb_err nb_root_walk(const struct nb_root *trusted, const uint8_t *const *texts,
                                       const size_t *lens, size_t n, uint8_t *scratch,
                                       size_t scratch_len, struct nb_root *out, size_t *n_steps,
                                       struct nb_diag *diag);

#define NB_ROOT_DATE_LEN 32
/* Formats UNIX seconds as a UTC date "YYYY-MM-DD", for messages. */
void nb_root_date(int64_t t, char out[NB_ROOT_DATE_LEN]);

/* NB_EEXPIRED when now >= root->expires. Only the newest root of a walk must
 * be unexpired: a device offline for years walks expired intermediate roots
 * to a current one. */
NB_MUST_CHECK enum nb_err nb_root_check_expiry(const struct nb_root *root, int64_t now,
                                               struct nb_diag *diag);

#endif
