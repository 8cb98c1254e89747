/* The pkcs11: URI of a signing key on a token (RFC 7512, the subset nobrick
 * needs): which token, which key, and optionally the PIN and module. Parsed
 * strictly, so a typo is an error rather than a different key. Internal to
 * lib/host; the declarations are in pkcs11_token.h. */
#include "pkcs11_token.h"

#include <string.h>

enum { IN_PATH = 1, IN_QUERY = 2 };

enum uri_attr { A_TOKEN, A_OBJECT, A_ID, A_TYPE, A_PIN, A_MODULE, A_COUNT };

static const struct {
    const char *name;
    unsigned places;
} uri_attrs[A_COUNT] = {
    [A_TOKEN] = {"token", IN_PATH},
    [A_OBJECT] = {"object", IN_PATH},
    [A_ID] = {"id", IN_PATH},
    [A_TYPE] = {"type", IN_PATH},
    [A_PIN] = {"pin-value", IN_PATH | IN_QUERY},
    [A_MODULE] = {"module-path", IN_PATH | IN_QUERY},
};

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* Percent-decodes in[0..len) into out (cap bytes). Raw bytes must be visible
 * ASCII other than '%': a control character or a raw non-ASCII byte in a URI
 * is a copy-paste accident, never meant. NB_ELENGTH when it does not fit. */
static enum nb_err pct_decode(const char *in, size_t len, uint8_t *out, size_t cap, size_t *out_len)
{
    size_t n = 0;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)in[i];
        if (c == '%') {
            if (len - i < 3)
                return NB_EPARSE;
            int hi = hexval(in[i + 1]);
            int lo = hexval(in[i + 2]);
            if (hi < 0 || lo < 0)
                return NB_EPARSE;
            c = (unsigned char)(hi << 4 | lo);
            i += 2;
        } else if (c <= 0x20 || c >= 0x7f) {
            return NB_EPARSE;
        }
        if (n == cap)
            return NB_ELENGTH;
        out[n++] = c;
    }
    *out_len = n;
    return NB_OK;
}

/* Decodes a text attribute into a NUL-terminated buffer of cap bytes. */
static enum nb_err uri_text(const char *name, const char *val, size_t len, char *out, size_t cap,
                            struct nb_diag *diag)
{
    size_t n = 0;
    enum nb_err err = pct_decode(val, len, (uint8_t *)out, cap - 1, &n);
    if (err == NB_ELENGTH)
        return nb_diag_set(diag, err, "pkcs11 URI: '%s' longer than %zu bytes", name, cap - 1);
    if (err != NB_OK || memchr(out, '\0', n) != NULL)
        return nb_diag_set(diag, NB_EPARSE, "pkcs11 URI: bad percent-encoding in '%s'", name);
    out[n] = '\0';
    return NB_OK;
}

static enum nb_err uri_set(struct nb_pkcs11_uri *u, enum uri_attr a, const char *val, size_t len,
                           struct nb_diag *diag)
{
    const char *name = uri_attrs[a].name;
    char type[16];
    enum nb_err err;
    switch (a) {
    case A_TOKEN:
        return uri_text(name, val, len, u->token, sizeof u->token, diag);
    case A_OBJECT:
        return uri_text(name, val, len, u->object, sizeof u->object, diag);
    case A_PIN:
        u->has_pin = true;
        return uri_text(name, val, len, u->pin, sizeof u->pin, diag);
    case A_MODULE:
        return uri_text(name, val, len, u->module_path, sizeof u->module_path, diag);
    case A_TYPE:
        err = uri_text(name, val, len, type, sizeof type, diag);
        if (err == NB_OK && strcmp(type, "private") != 0)
            err = nb_diag_set(diag, NB_EPARSE,
                              "pkcs11 URI: type '%s' not supported: nobrick signs with a "
                              "private key (type=private)",
                              type);
        return err;
    case A_ID:
        u->has_id = true;
        err = pct_decode(val, len, u->id, sizeof u->id, &u->id_len);
        if (err != NB_OK)
            return nb_diag_set(diag, err, "pkcs11 URI: bad or over-long 'id'");
        return NB_OK;
    default:
        return NB_EINVAL;
    }
}

/* One "name=value" of the path (place IN_PATH) or the query (IN_QUERY). */
static enum nb_err uri_attr(struct nb_pkcs11_uri *u, const char *s, size_t len, unsigned place,
                            unsigned *seen, struct nb_diag *diag)
{
    const char *eq = memchr(s, '=', len);
    /* Echo the bad part, unless it may be a mistyped PIN ("pin-value:1234"). */
    bool secret = len >= 3 && memcmp(s, "pin", 3) == 0;
    if (len == 0 || eq == NULL || eq == s)
        return nb_diag_set(diag, NB_EPARSE, "pkcs11 URI: expected name=value, found '%.*s'",
                           secret ? 3 : (int)(len > 40 ? 40 : len), s);
    size_t name_len = (size_t)(eq - s);
    for (int a = 0; a < A_COUNT; a++) {
        const char *name = uri_attrs[a].name;
        if (strlen(name) != name_len || memcmp(name, s, name_len) != 0)
            continue;
        if ((uri_attrs[a].places & place) == 0)
            return nb_diag_set(diag, NB_EPARSE, "pkcs11 URI: '%s' belongs in the %s", name,
                               place == IN_PATH ? "query (after '?')" : "path (before '?')");
        if (*seen & (1u << a))
            return nb_diag_set(diag, NB_EPARSE, "pkcs11 URI: '%s' given twice", name);
        if (name_len + 1 == len)
            return nb_diag_set(diag, NB_EPARSE, "pkcs11 URI: '%s' is empty", name);
        *seen |= 1u << a;
        return uri_set(u, (enum uri_attr)a, eq + 1, len - name_len - 1, diag);
    }
    return nb_diag_set(diag, NB_EPARSE,
                       "pkcs11 URI: unknown attribute '%.*s' (nobrick knows token, object, id, "
                       "type, pin-value, module-path)",
                       (int)(name_len > 32 ? 32 : name_len), s);
}

/* Splits s[0..len) at sep and parses each attribute. */
static enum nb_err uri_attrs_parse(struct nb_pkcs11_uri *u, const char *s, size_t len, char sep,
                                   unsigned place, unsigned *seen, struct nb_diag *diag)
{
    while (len > 0 || place == IN_QUERY) {
        const char *end = memchr(s, sep, len);
        size_t n = end != NULL ? (size_t)(end - s) : len;
        enum nb_err err = uri_attr(u, s, n, place, seen, diag);
        if (err != NB_OK)
            return err;
        if (end == NULL)
            return NB_OK;
        s += n + 1;
        len -= n + 1;
        if (len == 0) /* a trailing separator: RFC 7512 has no empty attribute */
            return nb_diag_set(diag, NB_EPARSE, "pkcs11 URI: empty attribute after '%c'", sep);
    }
    return NB_OK;
}

enum nb_err nb__pkcs11_uri_parse(const char *text, struct nb_pkcs11_uri *out, struct nb_diag *diag)
{
    static const char scheme[] = "pkcs11:";
    struct nb_pkcs11_uri u;
    unsigned seen = 0;
    memset(&u, 0, sizeof u);
    if (strncmp(text, scheme, sizeof scheme - 1) != 0)
        return nb_diag_set(diag, NB_EPARSE, "pkcs11 URI: does not start with 'pkcs11:'");
    const char *path = text + sizeof scheme - 1;
    const char *q = strchr(path, '?');
    size_t path_len = q != NULL ? (size_t)(q - path) : strlen(path);
    enum nb_err err = uri_attrs_parse(&u, path, path_len, ';', IN_PATH, &seen, diag);
    if (err == NB_OK && q != NULL)
        err = uri_attrs_parse(&u, q + 1, strlen(q + 1), '&', IN_QUERY, &seen, diag);
    if (err == NB_OK && u.token[0] == '\0')
        err = nb_diag_set(diag, NB_EPARSE, "pkcs11 URI: missing 'token' (the token's label)");
    if (err == NB_OK && u.object[0] == '\0' && !u.has_id)
        err = nb_diag_set(diag, NB_EPARSE, "pkcs11 URI: missing 'object' (the key's label)");
    if (err == NB_OK)
        *out = u;
    nb_wipe(&u, sizeof u);
    return err;
}

void nb__pkcs11_uri_wipe(struct nb_pkcs11_uri *uri)
{
    nb_wipe(uri, sizeof *uri);
}
