/* Signers for the operator tools: nb_signer_open picks the backend once from
 * the spec (a key file path here, a "pkcs11:" URI in signer_pkcs11.c); then
 * callers use only the ops table. Each signature is checked against the
 * signer's public key before it is returned, so a faulty token or a
 * mismatched key never yields metadata that devices would refuse. */
#include "signer_internal.h"

#include <nobrick/alloc.h>
#include <nobrick/keyfile.h>

#include <stdio.h>
#include <string.h>

static enum nb_err file_sign(struct nb_signer *s, const uint8_t *msg, size_t len,
                             uint8_t sig[NB_ED25519_SIG_LEN], struct nb_diag *diag)
{
    const struct nb_keyfile *k = s->ctx;
    enum nb_err err = nb_ed25519_sign(k->ed_seed, msg, len, sig);
    if (err != NB_OK)
        return nb_diag_set(diag, err, "%s: signing failed", s->label);
    return NB_OK;
}

static void file_close(struct nb_signer *s)
{
    struct nb_keyfile *k = s->ctx;
    if (k != NULL) {
        nb_keyfile_wipe(k);
        nb_free(k);
    }
    s->ctx = NULL;
}

static const struct nb_signer_ops file_ops = {file_sign, file_close};

static enum nb_err open_file(const char *path, struct nb_signer *out, struct nb_diag *diag)
{
    struct nb_keyfile *k = nb_malloc(sizeof *k);
    if (k == NULL)
        return nb_diag_set(diag, NB_ENOMEM, "%s: out of memory", path);
    enum nb_err err = nb_keyfile_load(path, k, diag);
    if (err == NB_OK && !k->secret)
        err =
            nb_diag_set(diag, NB_EINVAL, "%s: a public key cannot sign; give the .key file", path);
    if (err != NB_OK) {
        nb_keyfile_wipe(k);
        nb_free(k);
        return err;
    }
    memset(out, 0, sizeof *out);
    out->ops = &file_ops;
    out->ctx = k;
    memcpy(out->pub, k->ed_pub, sizeof out->pub);
    memcpy(out->keyid, k->keyid, sizeof out->keyid);
    (void)snprintf(out->label, sizeof out->label, "%s", path);
    return NB_OK;
}

enum nb_err nb_signer_open(const char *spec, struct nb_signer *out, struct nb_diag *diag)
{
    if (strncmp(spec, "pkcs11:", 7) == 0)
        return nb__signer_open_pkcs11(spec, out, diag);
    return open_file(spec, out, diag);
}

enum nb_err nb_signer_sign_envelope(struct nb_signer *s, const uint8_t *pae, size_t pae_len,
                                    struct nb_signature *sig, struct nb_diag *diag)
{
    uint8_t raw[NB_ED25519_SIG_LEN];
    enum nb_err err = s->ops->sign(s, pae, pae_len, raw, diag);
    if (err != NB_OK)
        return err;
    if (nb_ed25519_verify(s->pub, pae, pae_len, raw) != NB_OK)
        return nb_diag_set(diag, NB_ESIG, "%s: the signature made does not verify", s->label);
    memcpy(sig->sig, raw, sizeof sig->sig);
    memcpy(sig->keyid, s->keyid, sizeof sig->keyid);
    return NB_OK;
}

void nb_signer_close(struct nb_signer *s)
{
    if (s->ops != NULL && s->ops->close != NULL)
        s->ops->close(s);
    memset(s, 0, sizeof *s);
}
