/* Director instructions (director.h): the payload is formatted with a fixed
 * field order from values the server already validated (hex, SemVer,
 * integers), then signed over its PAE by the director's signer, which
 * checks its own signature before returning it. */
#include "director.h"

#include <nobrick/alloc.h>
#include <nobrick/envelope.h>

#include <stdio.h>
#include <string.h>

#define PAYLOAD_MAX 1024

static enum nb_err format_payload(const struct director_instruction *in, char *out, size_t cap,
                                  size_t *len)
{
    const struct store_release *r = in->release;
    int n = snprintf(out, cap,
                     "{\"type\":\"director\",\"spec\":%d,\"device_id\":\"%s\",\"nonce\":\"%s\","
                     "\"deployment_id\":%lld,\"release\":{\"version\":\"%s\","
                     "\"security_counter\":%llu,\"envelope_sha256\":\"%s\","
                     "\"bundle_sha256\":\"%s\",\"bundle_size\":%llu},"
                     "\"issued_at\":%lld,\"expires\":%lld}",
                     DIRECTOR_SPEC, in->device_id, in->nonce, (long long)in->deployment_id,
                     r->version, (unsigned long long)r->security_counter, r->envelope_sha256,
                     r->bundle_sha256, (unsigned long long)r->bundle_size, (long long)in->issued_at,
                     (long long)in->expires);
    if (n < 0 || (size_t)n >= cap)
        return NB_ENOSPC;
    if (in->install_after != 0 || in->install_before != 0) {
        /* spec 2: the spec digit, then the window before the closing brace. */
        char *spec = strstr(out, "\"spec\":1,");
        int m = snprintf(out + n - 1, cap - (size_t)n + 1,
                         ",\"install_after\":%lld,\"install_before\":%lld}",
                         (long long)in->install_after, (long long)in->install_before);
        if (spec == NULL || m < 0 || (size_t)m >= cap - (size_t)n + 1)
            return NB_ENOSPC;
        spec[7] = '0' + DIRECTOR_SPEC_WINDOW;
        n += m - 1;
    }
    *len = (size_t)n;
    return NB_OK;
}

enum nb_err director_sign(struct nb_signer *director, const struct director_instruction *in,
                          char **out, size_t *out_len, struct nb_diag *diag)
{
    char payload[PAYLOAD_MAX];
    uint8_t pae[NB_PAE_HEADER_MAX + PAYLOAD_MAX];
    size_t len = 0, pae_len = 0;
    struct nb_signature sig;
    enum nb_err err = format_payload(in, payload, sizeof payload, &len);
    if (err == NB_OK)
        err = nb_pae(NB_PAYLOAD_DIRECTOR, (const uint8_t *)payload, len, pae, sizeof pae, &pae_len);
    if (err == NB_OK)
        err = nb_signer_sign_envelope(director, pae, pae_len, &sig, diag);
    if (err != NB_OK)
        return err;
    size_t cap = len / 3 * 4 + 512;
    char *text = nb_malloc(cap);
    if (text == NULL)
        return NB_ENOMEM;
    err = nb_envelope_write(NB_PAYLOAD_DIRECTOR, (const uint8_t *)payload, len, &sig, 1, text, cap,
                            out_len);
    if (err != NB_OK) {
        nb_free(text);
        return err;
    }
    *out = text;
    return NB_OK;
}
