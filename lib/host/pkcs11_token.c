/* Ed25519 signing on a PKCS#11 token (HSM, smart card, SoftHSM) through
 * p11-kit: the pkcs11: URI, module loading, token lookup by label, login,
 * key lookup, CKM_EDDSA signing. Every signature the token returns is checked
 * against the public key before anyone sees it. Compiled only with p11-kit
 * (NB_HAVE_P11KIT, set by CMakeLists.txt); signer_pkcs11.c says so otherwise. */
#include "pkcs11_token.h"

#ifdef NB_HAVE_P11KIT

#include <nobrick/alloc.h>
#include <nobrick/encoding.h>

#include <p11-kit/p11-kit.h>
#include <p11-kit/pkcs11.h>

#include <stdio.h>
#include <string.h>

/* PKCS#11 3.0 names; older pkcs11.h headers (p11-kit before 0.23.15) lack
 * them. The values are fixed by the standard. */
#ifndef CKK_EC_EDWARDS
#define CKK_EC_EDWARDS 0x40UL
#endif
#ifndef CKM_EC_EDWARDS_KEY_PAIR_GEN
#define CKM_EC_EDWARDS_KEY_PAIR_GEN 0x1055UL
#endif
#ifndef CKM_EDDSA
#define CKM_EDDSA 0x1057UL
#endif

#define MAX_SLOTS 256 /* slots asked of one module: bounds the allocation */

struct nb_pkcs11_key {
    CK_FUNCTION_LIST **modules; /* p11-kit's configured modules, or NULL */
    CK_FUNCTION_LIST *module;   /* the one module loaded by path, or NULL */
    CK_FUNCTION_LIST *fn;       /* the module holding the token */
    CK_SLOT_ID slot;
    CK_SESSION_HANDLE session;
    bool session_open;
    bool logged_in;
    bool always_auth; /* CKA_ALWAYS_AUTHENTICATE: log in again per signature */
    CK_OBJECT_HANDLE priv;
    uint8_t pub[NB_ED25519_PUB_LEN];
    char pin[NB_PKCS11_PIN_MAX + 1];
    bool has_pin;
    char token[NB_PKCS11_TOKEN_MAX + 1];
    char what[NB_PKCS11_OBJECT_MAX + 16]; /* "object 'x'" or "object id 01ab" */
};

/* ---- CK_RV names: messages say CKR_PIN_INCORRECT, not 0xa0 ---------------- */

#define CKR_NAMES(X)                                                                               \
    X(CKR_OK)                                                                                      \
    X(CKR_HOST_MEMORY)                                                                             \
    X(CKR_SLOT_ID_INVALID)                                                                         \
    X(CKR_GENERAL_ERROR)                                                                           \
    X(CKR_FUNCTION_FAILED)                                                                         \
    X(CKR_ARGUMENTS_BAD)                                                                           \
    X(CKR_ATTRIBUTE_TYPE_INVALID)                                                                  \
    X(CKR_DATA_LEN_RANGE)                                                                          \
    X(CKR_DEVICE_ERROR)                                                                            \
    X(CKR_DEVICE_MEMORY)                                                                           \
    X(CKR_DEVICE_REMOVED)                                                                          \
    X(CKR_FUNCTION_CANCELED)                                                                       \
    X(CKR_FUNCTION_NOT_SUPPORTED)                                                                  \
    X(CKR_KEY_HANDLE_INVALID)                                                                      \
    X(CKR_KEY_TYPE_INCONSISTENT)                                                                   \
    X(CKR_KEY_FUNCTION_NOT_PERMITTED)                                                              \
    X(CKR_MECHANISM_INVALID)                                                                       \
    X(CKR_MECHANISM_PARAM_INVALID)                                                                 \
    X(CKR_OPERATION_ACTIVE)                                                                        \
    X(CKR_PIN_INCORRECT)                                                                           \
    X(CKR_PIN_INVALID)                                                                             \
    X(CKR_PIN_LEN_RANGE)                                                                           \
    X(CKR_PIN_EXPIRED)                                                                             \
    X(CKR_PIN_LOCKED)                                                                              \
    X(CKR_SESSION_CLOSED)                                                                          \
    X(CKR_SESSION_HANDLE_INVALID)                                                                  \
    X(CKR_TOKEN_NOT_PRESENT)                                                                       \
    X(CKR_TOKEN_NOT_RECOGNIZED)                                                                    \
    X(CKR_USER_ALREADY_LOGGED_IN)                                                                  \
    X(CKR_USER_NOT_LOGGED_IN)                                                                      \
    X(CKR_USER_PIN_NOT_INITIALIZED)                                                                \
    X(CKR_USER_TYPE_INVALID)                                                                       \
    X(CKR_BUFFER_TOO_SMALL)                                                                        \
    X(CKR_CRYPTOKI_NOT_INITIALIZED)

static const char *ckr_name(CK_RV rv, char buf[24])
{
    switch (rv) {
#define CKR_CASE(n)                                                                                \
    case n:                                                                                        \
        return #n;
        CKR_NAMES(CKR_CASE)
#undef CKR_CASE
    default:
        (void)snprintf(buf, 24, "CKR_0x%lx", (unsigned long)rv);
        return buf;
    }
}

/* A token failure as a nobrick error: PIN trouble is the operator's input. */
static enum nb_err ckr_err(CK_RV rv)
{
    switch (rv) {
    case CKR_PIN_INCORRECT:
    case CKR_PIN_INVALID:
    case CKR_PIN_LEN_RANGE:
    case CKR_PIN_EXPIRED:
    case CKR_PIN_LOCKED:
    case CKR_USER_PIN_NOT_INITIALIZED:
        return NB_EINVAL;
    case CKR_HOST_MEMORY:
        return NB_ENOMEM;
    case CKR_MECHANISM_INVALID:
    case CKR_FUNCTION_NOT_SUPPORTED:
    case CKR_KEY_TYPE_INCONSISTENT:
        return NB_EUNSUPPORTED;
    default:
        return NB_EIO;
    }
}

static enum nb_err ck_fail(struct nb_diag *diag, CK_RV rv, const char *what,
                           const struct nb_pkcs11_key *key)
{
    char buf[24];
    return nb_diag_set(diag, ckr_err(rv), "pkcs11: %s failed: %s (token '%s')", what,
                       ckr_name(rv, buf), key->token);
}

/* ---- modules and tokens --------------------------------------------------- */

static const char *p11kit_reason(void)
{
    const char *m = p11_kit_message();
    return m != NULL && m[0] != '\0' ? m : "no reason given";
}

/* One module by path (NOBRICK_PKCS11_MODULE or module-path), or every module
 * p11-kit is configured with (its .module files, see pkcs11.conf(5)). */
static enum nb_err modules_load(struct nb_pkcs11_key *k, const char *module_path,
                                struct nb_diag *diag)
{
    if (module_path == NULL || module_path[0] == '\0') {
        k->modules = p11_kit_modules_load_and_initialize(0);
        if (k->modules == NULL)
            return nb_diag_set(diag, NB_EIO, "pkcs11: cannot load p11-kit's modules: %s",
                               p11kit_reason());
        return NB_OK;
    }
    CK_FUNCTION_LIST *m = p11_kit_module_load(module_path, 0);
    if (m == NULL)
        return nb_diag_set(diag, NB_ENOENT, "pkcs11: cannot load module '%s': %s", module_path,
                           p11kit_reason());
    CK_RV rv = p11_kit_module_initialize(m);
    if (rv != CKR_OK) {
        p11_kit_module_release(m);
        char buf[24];
        return nb_diag_set(diag, NB_EIO, "pkcs11: module '%s' failed to initialize: %s",
                           module_path, ckr_name(rv, buf));
    }
    k->module = m;
    return NB_OK;
}

/* A token label without the blank padding of CK_TOKEN_INFO. */
static size_t label_len(const CK_UTF8CHAR label[32])
{
    size_t n = 32;
    while (n > 0 && (label[n - 1] == ' ' || label[n - 1] == '\0'))
        n--;
    return n;
}

/* Tokens seen while looking for one, for the message when it is missing. */
struct token_search {
    unsigned matches;
    char others[100];
};

static void search_note(struct token_search *ts, const CK_UTF8CHAR label[32], size_t n)
{
    size_t used = strlen(ts->others);
    if (used + n + 4 < sizeof ts->others)
        (void)snprintf(ts->others + used, sizeof ts->others - used, "%s'%.*s'",
                       used > 0 ? ", " : "", (int)n, (const char *)label);
}

/* Looks through the present tokens of one module. A module that cannot list
 * its slots (a smart-card module without its daemon) is skipped: the token
 * may well be in another one. */
static enum nb_err search_module(struct nb_pkcs11_key *k, CK_FUNCTION_LIST *fn,
                                 struct token_search *ts)
{
    CK_ULONG n = 0;
    if (fn->C_GetSlotList(CK_TRUE, NULL, &n) != CKR_OK || n == 0)
        return NB_OK;
    if (n > MAX_SLOTS)
        n = MAX_SLOTS; /* the second call then fails with CKR_BUFFER_TOO_SMALL */
    CK_SLOT_ID *slots = nb_calloc(n, sizeof *slots);
    if (slots == NULL)
        return NB_ENOMEM;
    if (fn->C_GetSlotList(CK_TRUE, slots, &n) != CKR_OK)
        n = 0;
    size_t want = strlen(k->token);
    for (CK_ULONG i = 0; i < n; i++) {
        CK_TOKEN_INFO ti;
        if (fn->C_GetTokenInfo(slots[i], &ti) != CKR_OK || !(ti.flags & CKF_TOKEN_INITIALIZED))
            continue;
        size_t len = label_len(ti.label);
        if (len == want && memcmp(ti.label, k->token, len) == 0) {
            ts->matches++;
            k->fn = fn;
            k->slot = slots[i];
        } else {
            search_note(ts, ti.label, len);
        }
    }
    nb_free(slots);
    return NB_OK;
}

/* Exactly one token must carry the label: two would make the key ambiguous. */
static enum nb_err token_find(struct nb_pkcs11_key *k, struct nb_diag *diag)
{
    CK_FUNCTION_LIST *one[2] = {k->module, NULL};
    CK_FUNCTION_LIST **list = k->module != NULL ? one : k->modules;
    struct token_search ts = {0};
    for (size_t i = 0; list[i] != NULL; i++) {
        enum nb_err err = search_module(k, list[i], &ts);
        if (err != NB_OK)
            return nb_diag_set(diag, err, "pkcs11: listing tokens: %s", nb_strerror(err));
    }
    if (ts.matches == 0)
        return nb_diag_set(diag, NB_ENOENT, "pkcs11: no token labelled '%s' (tokens present: %s)",
                           k->token, ts.others[0] != '\0' ? ts.others : "none");
    if (ts.matches > 1)
        return nb_diag_set(diag, NB_EINVAL, "pkcs11: %u tokens labelled '%s': relabel one",
                           ts.matches, k->token);
    return NB_OK;
}

/* ---- session and login ---------------------------------------------------- */

static enum nb_err login_failed(struct nb_pkcs11_key *k, CK_RV rv, struct nb_diag *diag)
{
    CK_TOKEN_INFO ti;
    char buf[24];
    const char *hint = "";
    if (k->fn->C_GetTokenInfo(k->slot, &ti) == CKR_OK) {
        if (ti.flags & CKF_USER_PIN_LOCKED)
            hint = "; the user PIN is now locked";
        else if (ti.flags & CKF_USER_PIN_FINAL_TRY)
            hint = "; one more wrong PIN locks it";
    }
    return nb_diag_set(diag, ckr_err(rv), "pkcs11: login failed: %s (token '%s'%s)",
                       ckr_name(rv, buf), k->token, hint);
}

/* Logs in as the user. Without a PIN only a token that needs no login or has
 * its own PIN pad (protected authentication path) can go on. */
static enum nb_err token_login(struct nb_pkcs11_key *k, CK_USER_TYPE who, struct nb_diag *diag)
{
    CK_TOKEN_INFO ti;
    CK_RV rv = k->fn->C_GetTokenInfo(k->slot, &ti);
    if (rv != CKR_OK)
        return ck_fail(diag, rv, "reading the token", k);
    if (ti.flags & CKF_USER_PIN_LOCKED)
        return nb_diag_set(
            diag, NB_EINVAL,
            "pkcs11: the user PIN of token '%s' is locked: unlock it with the SO PIN", k->token);
    if (!k->has_pin && who == CKU_USER && !(ti.flags & CKF_LOGIN_REQUIRED))
        return NB_OK;
    if (!k->has_pin && !(ti.flags & CKF_PROTECTED_AUTHENTICATION_PATH))
        return nb_diag_set(diag, NB_EINVAL,
                           "pkcs11: token '%s' needs a PIN: set NOBRICK_PKCS11_PIN or add "
                           "pin-value to the URI",
                           k->token);
    CK_UTF8CHAR *pin = k->has_pin ? (CK_UTF8CHAR *)k->pin : NULL;
    rv = k->fn->C_Login(k->session, who, pin, k->has_pin ? strlen(k->pin) : 0);
    if (rv == CKR_USER_ALREADY_LOGGED_IN && who == CKU_USER)
        return NB_OK;
    if (rv != CKR_OK)
        return login_failed(k, rv, diag);
    if (who == CKU_USER)
        k->logged_in = true;
    return NB_OK;
}

static enum nb_err session_open(struct nb_pkcs11_key *k, struct nb_diag *diag)
{
    CK_RV rv = k->fn->C_OpenSession(k->slot, CKF_SERIAL_SESSION, NULL, NULL, &k->session);
    if (rv != CKR_OK)
        return ck_fail(diag, rv, "opening a session", k);
    k->session_open = true;
    return token_login(k, CKU_USER, diag);
}

/* ---- the key pair --------------------------------------------------------- */

/* Finds up to two objects matching t: *count is 0, 1 or 2 (ambiguous). */
static enum nb_err find_objects(struct nb_pkcs11_key *k, CK_ATTRIBUTE *t, CK_ULONG n,
                                CK_OBJECT_HANDLE *h, CK_ULONG *count, struct nb_diag *diag)
{
    CK_OBJECT_HANDLE found[2];
    CK_RV rv = k->fn->C_FindObjectsInit(k->session, t, n);
    if (rv != CKR_OK)
        return ck_fail(diag, rv, "searching objects", k);
    rv = k->fn->C_FindObjects(k->session, found, 2, count);
    CK_RV rv_final = k->fn->C_FindObjectsFinal(k->session);
    if (rv == CKR_OK)
        rv = rv_final;
    if (rv != CKR_OK)
        return ck_fail(diag, rv, "searching objects", k);
    if (*count > 0)
        *h = found[0];
    return NB_OK;
}

/* Reads one attribute of at most cap bytes; *len receives its length. */
static CK_RV get_attr(struct nb_pkcs11_key *k, CK_OBJECT_HANDLE h, CK_ATTRIBUTE_TYPE type,
                      void *buf, CK_ULONG cap, CK_ULONG *len)
{
    CK_ATTRIBUTE a = {type, buf, cap};
    CK_RV rv = k->fn->C_GetAttributeValue(k->session, h, &a, 1);
    if (rv == CKR_OK && a.ulValueLen > cap) /* CK_UNAVAILABLE_INFORMATION */
        rv = CKR_ATTRIBUTE_TYPE_INVALID;
    *len = rv == CKR_OK ? a.ulValueLen : 0;
    return rv;
}

static enum nb_err find_private(struct nb_pkcs11_key *k, const struct nb_pkcs11_uri *u,
                                struct nb_diag *diag)
{
    CK_OBJECT_CLASS cls = CKO_PRIVATE_KEY;
    CK_KEY_TYPE kt = CKK_EC_EDWARDS;
    CK_ATTRIBUTE t[4] = {{CKA_CLASS, &cls, sizeof cls}};
    CK_ULONG n = 1, count = 0;
    if (u->object[0] != '\0')
        t[n++] = (CK_ATTRIBUTE){CKA_LABEL, (void *)u->object, strlen(u->object)};
    if (u->has_id)
        t[n++] = (CK_ATTRIBUTE){CKA_ID, (void *)u->id, u->id_len};
    t[n] = (CK_ATTRIBUTE){CKA_KEY_TYPE, &kt, sizeof kt};
    enum nb_err err = find_objects(k, t, n + 1, &k->priv, &count, diag);
    if (err == NB_OK && count == 0) {
        /* Say whether the object is missing or of another kind. */
        err = find_objects(k, t, n, &k->priv, &count, diag);
        if (err == NB_OK && count > 0)
            return nb_diag_set(diag, NB_EUNSUPPORTED,
                               "pkcs11: %s on token '%s' is not an Ed25519 key", k->what, k->token);
        if (err == NB_OK)
            return nb_diag_set(diag, NB_ENOENT, "pkcs11: %s not found on token '%s'", k->what,
                               k->token);
    }
    if (err == NB_OK && count > 1)
        return nb_diag_set(diag, NB_EINVAL, "pkcs11: several keys match %s on token '%s'", k->what,
                           k->token);
    return err;
}

/* CKA_EC_POINT of an Ed25519 key: a DER OCTET STRING (tag 4, length 32) of
 * the RFC 8032 encoding. A raw 32-byte value (some older tokens), Ed448 or a
 * long-form length is refused rather than guessed at: a wrong guess would
 * put a key the token does not hold into the root of trust. */
static enum nb_err ec_point_parse(const uint8_t *p, CK_ULONG len, uint8_t pub[NB_ED25519_PUB_LEN])
{
    if (len != 2 + NB_ED25519_PUB_LEN || p[0] != 0x04 || p[1] != NB_ED25519_PUB_LEN)
        return NB_EPARSE;
    memcpy(pub, p + 2, NB_ED25519_PUB_LEN);
    return nb_ed25519_pub_is_weak(pub) ? NB_EPARSE : NB_OK;
}

/* The public key of the pair: same CKA_ID as the private key (the usual
 * pairing), or the same label when the private key has no id. */
static enum nb_err find_public(struct nb_pkcs11_key *k, const struct nb_pkcs11_uri *u,
                               struct nb_diag *diag)
{
    CK_OBJECT_CLASS cls = CKO_PUBLIC_KEY;
    CK_KEY_TYPE kt = CKK_EC_EDWARDS;
    uint8_t id[NB_PKCS11_ID_MAX], point[2 * NB_ED25519_PUB_LEN];
    CK_ULONG id_len = 0, point_len = 0, count = 0;
    CK_OBJECT_HANDLE h = CK_INVALID_HANDLE;
    (void)get_attr(k, k->priv, CKA_ID, id, sizeof id, &id_len);
    CK_ATTRIBUTE t[3] = {{CKA_CLASS, &cls, sizeof cls}, {CKA_KEY_TYPE, &kt, sizeof kt}};
    if (id_len > 0)
        t[2] = (CK_ATTRIBUTE){CKA_ID, id, id_len};
    else
        t[2] = (CK_ATTRIBUTE){CKA_LABEL, (void *)u->object, strlen(u->object)};
    enum nb_err err = find_objects(k, t, 3, &h, &count, diag);
    if (err != NB_OK)
        return err;
    if (count != 1)
        return nb_diag_set(diag, count == 0 ? NB_ENOENT : NB_EINVAL,
                           "pkcs11: %s public key for %s on token '%s'",
                           count == 0 ? "no" : "more than one", k->what, k->token);
    CK_RV rv = get_attr(k, h, CKA_EC_POINT, point, sizeof point, &point_len);
    if (rv != CKR_OK)
        return ck_fail(diag, rv, "reading the public key", k);
    if (ec_point_parse(point, point_len, k->pub) != NB_OK)
        return nb_diag_set(diag, NB_EPARSE,
                           "pkcs11: public key of %s on token '%s' is not a valid Ed25519 key "
                           "(CKA_EC_POINT must be a DER OCTET STRING of 32 bytes)",
                           k->what, k->token);
    CK_BBOOL always = CK_FALSE;
    if (get_attr(k, k->priv, CKA_ALWAYS_AUTHENTICATE, &always, sizeof always, &id_len) == CKR_OK)
        k->always_auth = always == CK_TRUE;
    return NB_OK;
}

/* "object 'release1'" or "object id 01ab..", for messages. */
static void describe(struct nb_pkcs11_key *k, const struct nb_pkcs11_uri *u)
{
    char hex[2 * 16 + 1] = "";
    if (u->object[0] != '\0') {
        (void)snprintf(k->what, sizeof k->what, "object '%s'", u->object);
        return;
    }
    size_t n = u->id_len < 16 ? u->id_len : 16;
    if (nb_hex_encode(u->id, n, hex, sizeof hex) != NB_OK)
        hex[0] = '\0';
    (void)snprintf(k->what, sizeof k->what, "object id %s%s", hex, n < u->id_len ? ".." : "");
}

enum nb_err nb__pkcs11_key_open(const struct nb_pkcs11_uri *uri, const char *module_path,
                                const char *pin, struct nb_pkcs11_key **out, struct nb_diag *diag)
{
    if (pin != NULL && strlen(pin) > NB_PKCS11_PIN_MAX)
        return nb_diag_set(diag, NB_ELENGTH, "pkcs11: PIN longer than %d bytes", NB_PKCS11_PIN_MAX);
    struct nb_pkcs11_key *k = nb_calloc(1, sizeof *k);
    if (k == NULL)
        return nb_diag_set(diag, NB_ENOMEM, "pkcs11: out of memory");
    memcpy(k->token, uri->token, sizeof k->token);
    describe(k, uri);
    if (pin != NULL) {
        k->has_pin = true;
        memcpy(k->pin, pin, strlen(pin) + 1);
    }
    enum nb_err err = modules_load(k, module_path, diag);
    if (err == NB_OK)
        err = token_find(k, diag);
    if (err == NB_OK)
        err = session_open(k, diag);
    if (err == NB_OK)
        err = find_private(k, uri, diag);
    if (err == NB_OK)
        err = find_public(k, uri, diag);
    if (err != NB_OK) {
        nb__pkcs11_key_close(k);
        return err;
    }
    *out = k;
    return NB_OK;
}

void nb__pkcs11_key_pub(const struct nb_pkcs11_key *key, uint8_t pub[NB_ED25519_PUB_LEN])
{
    memcpy(pub, key->pub, NB_ED25519_PUB_LEN);
}

/* ---- signing -------------------------------------------------------------- */

enum nb_err nb__pkcs11_key_sign(struct nb_pkcs11_key *k, const uint8_t *msg, size_t len,
                                uint8_t sig[NB_ED25519_SIG_LEN], struct nb_diag *diag)
{
    CK_MECHANISM mech = {CKM_EDDSA, NULL, 0}; /* no params: pure Ed25519 */
    uint8_t buf[128]; /* room for a wrong-sized answer, so C_Sign ends the operation */
    CK_ULONG sig_len = sizeof buf;
    CK_RV rv = k->fn->C_SignInit(k->session, &mech, k->priv);
    if (rv != CKR_OK)
        return ck_fail(diag, rv, "starting an EdDSA signature", k);
    if (k->always_auth) {
        enum nb_err err = token_login(k, CKU_CONTEXT_SPECIFIC, diag);
        if (err != NB_OK)
            return err;
    }
    rv = k->fn->C_Sign(k->session, (CK_BYTE *)msg, len, buf, &sig_len);
    if (rv != CKR_OK)
        return ck_fail(diag, rv, "signing", k);
    if (sig_len != NB_ED25519_SIG_LEN || nb_ed25519_verify(k->pub, msg, len, buf) != NB_OK)
        return nb_diag_set(diag, NB_ECRYPTO,
                           "pkcs11: token '%s' returned a signature that does not verify under "
                           "the public key of %s: refused",
                           k->token, k->what);
    memcpy(sig, buf, NB_ED25519_SIG_LEN);
    return NB_OK;
}

void nb__pkcs11_key_close(struct nb_pkcs11_key *k)
{
    if (k == NULL)
        return;
    if (k->logged_in)
        (void)k->fn->C_Logout(k->session);
    if (k->session_open)
        (void)k->fn->C_CloseSession(k->session);
    if (k->module != NULL) {
        (void)p11_kit_module_finalize(k->module);
        p11_kit_module_release(k->module);
    }
    if (k->modules != NULL)
        p11_kit_modules_finalize_and_release(k->modules);
    nb_wipe(k, sizeof *k);
    nb_free(k);
}

#else /* !NB_HAVE_P11KIT: signer_pkcs11.c refuses pkcs11: URIs */

typedef int nb_pkcs11_token_unused; /* ISO C wants a non-empty translation unit */

#endif
