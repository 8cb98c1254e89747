/* The PKCS#11 signer backend: nb_signer_open("pkcs11:...") lands here. It
 * takes the PIN from the URI or NOBRICK_PKCS11_PIN and the module from the
 * URI, NOBRICK_PKCS11_MODULE or p11-kit's configuration, opens the key pair
 * through pkcs11_token.c and serves it as a struct nb_signer. It also writes
 * a token key's public key as a nobrick .pub file (nobrick/pkcs11.h). */
#include "pkcs11_token.h"
#include "signer_internal.h"

#include <nobrick/encoding.h>
#include <nobrick/fileio.h>
#include <nobrick/keyfile.h>
#include <nobrick/pkcs11.h>

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifdef NB_HAVE_P11KIT

static enum nb_err p11_sign(struct nb_signer *s, const uint8_t *msg, size_t len,
                            uint8_t sig[NB_ED25519_SIG_LEN], struct nb_diag *diag)
{
    return nb__pkcs11_key_sign(s->ctx, msg, len, sig, diag);
}

static void p11_close(struct nb_signer *s)
{
    nb__pkcs11_key_close(s->ctx);
    s->ctx = NULL;
}

static const struct nb_signer_ops p11_ops = {p11_sign, p11_close};

/* An empty variable counts as unset: trying "" as a PIN would spend one of
 * the token's few tries before it locks. */
static const char *env(const char *name)
{
    const char *v = getenv(name);
    return v != NULL && v[0] != '\0' ? v : NULL;
}

/* The label names token and key for messages, never the PIN. */
static void set_label(struct nb_signer *s, const struct nb_pkcs11_uri *u)
{
    if (u->object[0] != '\0')
        (void)snprintf(s->label, sizeof s->label, "pkcs11:token=%.32s;object=%.70s", u->token,
                       u->object);
    else
        (void)snprintf(s->label, sizeof s->label, "pkcs11:token=%.32s (by id)", u->token);
}

enum nb_err nb__signer_open_pkcs11(const char *uri, struct nb_signer *out, struct nb_diag *diag)
{
    struct nb_pkcs11_uri u;
    struct nb_pkcs11_key *key = NULL;
    struct nb_signer s;
    memset(&s, 0, sizeof s);
    enum nb_err err = nb__pkcs11_uri_parse(uri, &u, diag);
    if (err != NB_OK)
        return err;
    const char *pin = u.has_pin ? u.pin : env("NOBRICK_PKCS11_PIN");
    const char *module = u.module_path[0] != '\0' ? u.module_path : env("NOBRICK_PKCS11_MODULE");
    err = nb__pkcs11_key_open(&u, module, pin, &key, diag);
    if (err == NB_OK) {
        nb__pkcs11_key_pub(key, s.pub);
        err = nb_keyid(s.pub, s.keyid);
    }
    if (err == NB_OK) {
        s.ops = &p11_ops;
        s.ctx = key;
        set_label(&s, &u);
        *out = s;
    } else {
        nb__pkcs11_key_close(key);
    }
    nb__pkcs11_uri_wipe(&u);
    return err;
}

/* ---- export --------------------------------------------------------------- */

/* The token signs a fixed message; nb__pkcs11_key_sign verifies it against
 * the public key it read, so success proves the pair belongs together. */
static enum nb_err prove_pair(struct nb_signer *s, struct nb_diag *diag)
{
    static const char msg[] = "nobrick pkcs11 export: proof of possession";
    uint8_t sig[NB_ED25519_SIG_LEN];
    return s->ops->sign(s, (const uint8_t *)msg, sizeof msg - 1, sig, diag);
}

/* Writes NAME.pub in the format of keyfile.h, then loads it back with the
 * key-file reader, so the file is known to be one nobrick accepts. */
static enum nb_err write_pub(const struct nb_signer *s, enum nb_key_role role, const char *name,
                             struct nb_diag *diag)
{
    char path[PATH_MAX], hex[2 * NB_ED25519_PUB_LEN + 1], text[512];
    int n = snprintf(path, sizeof path, "%s.pub", name);
    if (n < 0 || (size_t)n >= sizeof path)
        return nb_diag_set(diag, NB_EINVAL, "%.60s...: name too long", name);
    if (nb_hex_encode(s->pub, sizeof s->pub, hex, sizeof hex) != NB_OK)
        return nb_diag_set(diag, NB_EINVAL, "%s: cannot encode the key", path);
    n = snprintf(text, sizeof text,
                 "{\"type\":\"nobrick-public-key\",\"role\":\"%s\",\"keyid\":\"%s\","
                 "\"ed25519\":\"%s\"}\n",
                 nb_key_role_name(role), s->keyid, hex);
    if (n < 0 || (size_t)n >= sizeof text)
        return nb_diag_set(diag, NB_EINVAL, "%s: cannot format the key", path);
    enum nb_err err = nb_file_write_atomic(path, text, (size_t)n, 0644, true, diag);
    if (err != NB_OK)
        return err;
    struct nb_keyfile k;
    err = nb_keyfile_load(path, &k, diag);
    if (err == NB_OK && (k.secret || k.role != role || memcmp(k.ed_pub, s->pub, sizeof k.ed_pub)))
        err = nb_diag_set(diag, NB_EMISMATCH, "%s: written key reads back differently", path);
    if (err != NB_OK)
        (void)remove(path); /* ours: just created exclusively */
    return err;
}

enum nb_err nb_pkcs11_export_public(const char *uri, enum nb_key_role role, const char *name,
                                    char keyid[NB_KEYID_MAX + 1], struct nb_diag *diag)
{
    if (role == NB_KEY_DEVICE)
        return nb_diag_set(diag, NB_EINVAL,
                           "a device key also needs an X25519 key, which a token key lacks");
    if (strncmp(uri, "pkcs11:", 7) != 0)
        return nb_diag_set(diag, NB_EINVAL, "expected a pkcs11: URI");
    struct nb_signer s;
    memset(&s, 0, sizeof s);
    enum nb_err err = nb__signer_open_pkcs11(uri, &s, diag);
    if (err == NB_OK)
        err = prove_pair(&s, diag);
    if (err == NB_OK)
        err = write_pub(&s, role, name, diag);
    if (err == NB_OK && keyid != NULL)
        memcpy(keyid, s.keyid, sizeof s.keyid);
    nb_signer_close(&s);
    return err;
}

#else /* built without p11-kit */

enum nb_err nb__signer_open_pkcs11(const char *uri, struct nb_signer *out, struct nb_diag *diag)
{
    (void)uri;
    (void)out;
    return nb_diag_set(diag, NB_EUNSUPPORTED,
                       "pkcs11: this nobrick was built without p11-kit; use a key file");
}

enum nb_err nb_pkcs11_export_public(const char *uri, enum nb_key_role role, const char *name,
                                    char keyid[NB_KEYID_MAX + 1], struct nb_diag *diag)
{
    (void)uri;
    (void)role;
    (void)name;
    (void)keyid;
    return nb_diag_set(diag, NB_EUNSUPPORTED,
                       "pkcs11: this nobrick was built without p11-kit; use a key file");
}

#endif
