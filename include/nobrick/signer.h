/* Signers for the operator tools (lib/host/signer*.c): an Ed25519 key that
 * signs, held in a key file or on a PKCS#11 token (HSM, smart card, SoftHSM).
 * Chosen once when opened, then used through its ops table. */
#ifndef NOBRICK_SIGNER_H
#define NOBRICK_SIGNER_H

#include <nobrick/crypto.h>
#include <nobrick/envelope.h>
#include <nobrick/err.h>

struct nb_signer;

struct nb_signer_ops {
    NB_MUST_CHECK enum nb_err (*sign)(struct nb_signer *s, const uint8_t *msg, size_t len,
                                      uint8_t sig[NB_ED25519_SIG_LEN], struct nb_diag *diag);
    void (*close)(struct nb_signer *s);
};

struct nb_signer {
    const struct nb_signer_ops *ops;
    void *ctx;
    uint8_t pub[NB_ED25519_PUB_LEN];
    char keyid[NB_KEYID_MAX + 1];
    char label[128]; /* for messages: the file path or the token object */
};

/* Opens spec: a path to a secret key file (NAME.key), or a PKCS#11 URI
 * ("pkcs11:token=...;object=...[;pin-value=...]" — the PIN may instead come
 * from the NOBRICK_PKCS11_PIN environment variable; the module from
 * NOBRICK_PKCS11_MODULE or p11-kit's configuration). The signer's public key
 * and keyid are filled in. */
NB_MUST_CHECK enum nb_err nb_signer_open(const char *spec, struct nb_signer *out,
                                         struct nb_diag *diag);

/* Signs PAE(type, payload) and fills sig->keyid and sig->sig. */
NB_MUST_CHECK enum nb_err nb_signer_sign_envelope(struct nb_signer *s, const uint8_t *pae,
                                                  size_t pae_len, struct nb_signature *sig,
                                                  struct nb_diag *diag);

/* Releases the signer (wipes key material); safe on a zeroed struct. */
void nb_signer_close(struct nb_signer *s);

#endif
