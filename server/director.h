/* The director role on the server (director.c): signs, for one device and
 * one check-in, the instruction "install release R", as a DSSE envelope of
 * type NB_PAYLOAD_DIRECTOR. The payload (compact JSON, fields in this
 * order) binds the device, its fresh nonce and the release's signed
 * envelope digest, so it cannot be replayed to another device, to a later
 * check-in, or with another release:
 *   {"type":"director","spec":1,"device_id":"<hex>","nonce":"<hex>",
 *    "deployment_id":N,"release":{"version":"1.2.3","security_counter":N,
 *    "envelope_sha256":"<hex>","bundle_sha256":"<hex>","bundle_size":N},
 *    "issued_at":UNIX_SECONDS,"expires":UNIX_SECONDS}
 * and spec 2, for a download-only maintenance window, adds
 *    "install_after":UNIX_SECONDS,"install_before":UNIX_SECONDS.
 * docs/api.md is the reference a device-side verifier follows. */
#ifndef NOBRICK_SERVER_DIRECTOR_H
#define NOBRICK_SERVER_DIRECTOR_H

#include "store.h"

#include <nobrick/signer.h>

#define DIRECTOR_SPEC 1
#define DIRECTOR_SPEC_WINDOW 2
#define DIRECTOR_NONCE_MIN 32  /* hex characters: 16 bytes */
#define DIRECTOR_NONCE_MAX 128 /* hex characters: 64 bytes */

struct director_instruction {
    const char *device_id;
    const char *nonce;
    int64_t deployment_id;
    const struct store_release *release;
    int64_t issued_at;
    int64_t expires;
    /* A rollout's maintenance window with download_only: install only in
     * [install_after, install_before). Both 0: spec 1 without them (what
     * older agents read); else spec 2, the two fields after "expires". */
    int64_t install_after, install_before;
};

/* Signs the instruction and returns the envelope text in a new buffer
 * (*out, NUL-terminated, *out_len without the NUL; free with nb_free). */
NB_MUST_CHECK enum nb_err director_sign(struct nb_signer *director,
                                        const struct director_instruction *in, char **out,
                                        size_t *out_len, struct nb_diag *diag);

#endif
