/* PKCS#11 tokens in the operator tools (lib/host/signer_pkcs11.c). Signing
 * with a key held on a token goes through nb_signer_open() (signer.h); this
 * header adds what only a token key needs: its public key as a nobrick .pub
 * file, so that a root can name it as a role key. See docs/pkcs11.md. */
#ifndef NOBRICK_PKCS11_H
#define NOBRICK_PKCS11_H

#include <nobrick/envelope.h>
#include <nobrick/err.h>
#include <nobrick/keyfile.h>

/* Opens the token key named by uri (as nb_signer_open does: PIN from the URI
 * or NOBRICK_PKCS11_PIN, module from the URI, NOBRICK_PKCS11_MODULE or
 * p11-kit's configuration), makes the token sign a test message and checks
 * it against the public key (proof that the token holds the matching
 * private key), then writes NAME.pub for role (root, release or director;
 * device keys also need an X25519 key and are refused with NB_EINVAL).
 * Never overwrites (NB_EEXIST). keyid, when not NULL, receives the key id.
 * Other errors as nb_signer_open; NB_EUNSUPPORTED in a build without
 * p11-kit. */
NB_MUST_CHECK enum nb_err nb_pkcs11_export_public(const char *uri, enum nb_key_role role,
                                                  const char *name, char keyid[NB_KEYID_MAX + 1],
                                                  struct nb_diag *diag);

#endif
