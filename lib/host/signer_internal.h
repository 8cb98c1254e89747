/* How lib/host/signer.c reaches its backends. The key-file backend lives in
 * signer.c; the PKCS#11 backend in signer_pkcs11.c, behind this one entry. */
#ifndef NOBRICK_SIGNER_INTERNAL_H
#define NOBRICK_SIGNER_INTERNAL_H

#include <nobrick/signer.h>

/* Opens a "pkcs11:" URI: fills out (ops, ctx, pub, keyid, label) on success.
 * NB_EUNSUPPORTED with a diag when this build has no PKCS#11 support. */
NB_MUST_CHECK enum nb_err nb__signer_open_pkcs11(const char *uri, struct nb_signer *out,
                                                 struct nb_diag *diag);

#endif
