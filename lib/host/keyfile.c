/* Operator key files: generation, saving as NAME.key (0600) + NAME.pub, and
 * strict loading. The secret file is refused when group or others can read
 * it, and every derived public key must match the stored keyid, so a file
 * edited by hand or mixed up between roles is caught before it signs. */
#include <nobrick/alloc.h>
#include <nobrick/encoding.h>
#include <nobrick/fileio.h>
#include <nobrick/keyfile.h>

#include <jansson.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#define KEYFILE_MAX 4096 /* bytes: a key file is ~300 */
#define TYPE_PUB "nobrick-public-key"
#define TYPE_KEY "nobrick-secret-key"

static const char *const role_names[] = {"root", "release", "director", "device"};

const char *nb_key_role_name(enum nb_key_role role)
{
    if ((unsigned)role < sizeof role_names / sizeof role_names[0])
        return role_names[role];
    return "?";
}

enum nb_err nb_key_role_parse(const char *name, enum nb_key_role *out)
{
    for (size_t i = 0; i < sizeof role_names / sizeof role_names[0]; i++) {
        if (strcmp(name, role_names[i]) == 0) {
            *out = (enum nb_key_role)i;
            return NB_OK;
        }
    }
    return NB_EINVAL;
}

void nb_keyfile_wipe(struct nb_keyfile *key)
{
    nb_wipe(key->ed_seed, sizeof key->ed_seed);
    nb_wipe(key->x_priv, sizeof key->x_priv);
    key->secret = false;
}

enum nb_err nb_keyfile_generate(enum nb_key_role role, struct nb_keyfile *out)
{
    struct nb_keyfile k;
    memset(&k, 0, sizeof k);
    k.role = role;
    k.secret = true;
    k.has_x25519 = role == NB_KEY_DEVICE;
    enum nb_err err = nb_ed25519_keygen(k.ed_seed, k.ed_pub);
    if (err == NB_OK && k.has_x25519)
        err = nb_x25519_keygen(k.x_priv, k.x_pub);
    if (err == NB_OK)
        err = nb_keyid(k.ed_pub, k.keyid);
    if (err == NB_OK)
        *out = k;
    nb_keyfile_wipe(&k);
    return err;
}

/* ---- saving --------------------------------------------------------------- */

/* The JSON is formatted here rather than by jansson so that the secret hex
 * lives only in buffers we wipe. Every value is hex or a fixed word. */
static int format_file(const struct nb_keyfile *k, bool secret, char *out, size_t cap)
{
    char ed[2 * NB_ED25519_PUB_LEN + 1], x[2 * NB_X25519_LEN + 1];
    const uint8_t *ed_bytes = secret ? k->ed_seed : k->ed_pub;
    const uint8_t *x_bytes = secret ? k->x_priv : k->x_pub;
    if (nb_hex_encode(ed_bytes, NB_ED25519_PUB_LEN, ed, sizeof ed) != NB_OK ||
        nb_hex_encode(x_bytes, NB_X25519_LEN, x, sizeof x) != NB_OK)
        return -1;
    int n;
    if (k->has_x25519)
        n = snprintf(out, cap,
                     "{\"type\":\"%s\",\"role\":\"%s\",\"keyid\":\"%s\",\"%s\":\"%s\","
                     "\"%s\":\"%s\"}\n",
                     secret ? TYPE_KEY : TYPE_PUB, nb_key_role_name(k->role), k->keyid,
                     secret ? "ed25519_seed" : "ed25519", ed, secret ? "x25519_private" : "x25519",
                     x);
    else
        n = snprintf(out, cap, "{\"type\":\"%s\",\"role\":\"%s\",\"keyid\":\"%s\",\"%s\":\"%s\"}\n",
                     secret ? TYPE_KEY : TYPE_PUB, nb_key_role_name(k->role), k->keyid,
                     secret ? "ed25519_seed" : "ed25519", ed);
    nb_wipe(ed, sizeof ed);
    nb_wipe(x, sizeof x);
    return (n < 0 || (size_t)n >= cap) ? -1 : n;
}

static bool exists(const char *path)
{
    struct stat st;
    return lstat(path, &st) == 0;
}

static enum nb_err write_one(const struct nb_keyfile *k, bool secret, const char *path,
                             struct nb_diag *diag)
{
    char text[512];
    int n = format_file(k, secret, text, sizeof text);
    enum nb_err err = NB_EINVAL;
    if (n > 0)
        err = nb_file_write_atomic(path, text, (size_t)n, secret ? 0600 : 0644, true, diag);
    nb_wipe(text, sizeof text);
    return n > 0 ? err : nb_diag_set(diag, err, "%s: cannot format key", path);
}

enum nb_err nb_keyfile_save(const struct nb_keyfile *key, const char *name, struct nb_diag *diag)
{
    if (!key->secret)
        return nb_diag_set(diag, NB_EINVAL, "%s: no secret key to save", name);
    char key_path[PATH_MAX], pub_path[PATH_MAX];
    int a = snprintf(key_path, sizeof key_path, "%s.key", name);
    int b = snprintf(pub_path, sizeof pub_path, "%s.pub", name);
    if (a < 0 || b < 0 || (size_t)b >= sizeof pub_path)
        return nb_diag_set(diag, NB_EINVAL, "%.60s...: name too long", name);
    /* Check both first so a half-written pair is rare; each write is still
     * exclusive, so nothing is ever overwritten. */
    if (exists(key_path) || exists(pub_path))
        return nb_diag_set(diag, NB_EEXIST, "%s: %s already exists", name,
                           exists(key_path) ? key_path : pub_path);
    enum nb_err err = write_one(key, true, key_path, diag);
    if (err != NB_OK)
        return err;
    err = write_one(key, false, pub_path, diag);
    if (err != NB_OK)
        (void)remove(key_path); /* ours: just created exclusively */
    return err;
}

/* ---- loading -------------------------------------------------------------- */

static enum nb_err get_hex(const json_t *doc, const char *field, uint8_t *out, size_t len,
                           const char *path, struct nb_diag *diag)
{
    const json_t *v = json_object_get(doc, field);
    if (!json_is_string(v) ||
        nb_hex_decode(json_string_value(v), json_string_length(v), out, len) != NB_OK)
        return nb_diag_set(diag, NB_EPARSE, "%s: field '%s': not %zu-byte lowercase hex", path,
                           field, len);
    return NB_OK;
}

/* Exactly the expected fields: type, role, keyid, the Ed25519 part, and the
 * X25519 part for device keys only. */
static enum nb_err check_fields(const json_t *doc, bool secret, bool device, const char *path,
                                struct nb_diag *diag)
{
    const char *ed = secret ? "ed25519_seed" : "ed25519";
    const char *x = secret ? "x25519_private" : "x25519";
    size_t want = device ? 5 : 4;
    const char *key;
    json_t *val;
    json_object_foreach((json_t *)doc, key, val)
    {
        if (strcmp(key, "type") != 0 && strcmp(key, "role") != 0 && strcmp(key, "keyid") != 0 &&
            strcmp(key, ed) != 0 && !(device && strcmp(key, x) == 0))
            return nb_diag_set(diag, NB_EPARSE, "%s: unknown field '%.40s'", path, key);
    }
    if (json_object_size(doc) != want)
        return nb_diag_set(diag, NB_EPARSE, "%s: missing field (a %s key has %zu)", path,
                           device ? "device" : "signing", want);
    return NB_OK;
}

/* Fills k from doc; derives public keys from secret ones. */
static enum nb_err load_keys(const json_t *doc, struct nb_keyfile *k, const char *path,
                             struct nb_diag *diag)
{
    enum nb_err err;
    if (k->secret) {
        err = get_hex(doc, "ed25519_seed", k->ed_seed, sizeof k->ed_seed, path, diag);
        if (err == NB_OK)
            err = nb_ed25519_public(k->ed_seed, k->ed_pub);
        if (err == NB_OK && k->has_x25519)
            err = get_hex(doc, "x25519_private", k->x_priv, sizeof k->x_priv, path, diag);
        if (err == NB_OK && k->has_x25519)
            err = nb_x25519_public(k->x_priv, k->x_pub);
    } else {
        err = get_hex(doc, "ed25519", k->ed_pub, sizeof k->ed_pub, path, diag);
        if (err == NB_OK && k->has_x25519)
            err = get_hex(doc, "x25519", k->x_pub, sizeof k->x_pub, path, diag);
    }
    if (err == NB_OK && nb_ed25519_pub_is_weak(k->ed_pub))
        err = nb_diag_set(diag, NB_EPARSE, "%s: weak (small-order) Ed25519 public key", path);
    return err;
}

static enum nb_err parse_keyfile(const json_t *doc, struct nb_keyfile *k, const char *path,
                                 struct nb_diag *diag)
{
    const json_t *type = json_object_get(doc, "type");
    const json_t *role = json_object_get(doc, "role");
    const json_t *kid = json_object_get(doc, "keyid");
    if (!json_is_string(type) || (strcmp(json_string_value(type), TYPE_KEY) != 0 &&
                                  strcmp(json_string_value(type), TYPE_PUB) != 0))
        return nb_diag_set(diag, NB_EPARSE, "%s: not a nobrick key file", path);
    if (!json_is_string(role) || nb_key_role_parse(json_string_value(role), &k->role) != NB_OK)
        return nb_diag_set(diag, NB_EPARSE, "%s: field 'role': unknown role", path);
    k->secret = strcmp(json_string_value(type), TYPE_KEY) == 0;
    k->has_x25519 = k->role == NB_KEY_DEVICE;
    enum nb_err err = check_fields(doc, k->secret, k->has_x25519, path, diag);
    if (err == NB_OK)
        err = load_keys(doc, k, path, diag);
    if (err == NB_OK)
        err = nb_keyid(k->ed_pub, k->keyid);
    if (err != NB_OK)
        return err;
    /* A keyid that is not the key's own means an edited or mixed-up file. */
    if (!json_is_string(kid) || strcmp(json_string_value(kid), k->keyid) != 0)
        return nb_diag_set(diag, NB_EPARSE, "%s: keyid does not match the key", path);
    return NB_OK;
}

/* Like ssh: a secret key others can read is no longer secret. */
static enum nb_err check_private(const char *path, struct nb_diag *diag)
{
    struct stat st;
    if (stat(path, &st) != 0)
        return nb_diag_set(diag, NB_ENOENT, "%s: cannot stat", path);
    if ((st.st_mode & 077) != 0)
        return nb_diag_set(diag, NB_EINVAL,
                           "%s: secret key readable by others (mode %03o); chmod 600 it", path,
                           (unsigned)(st.st_mode & 0777));
    return NB_OK;
}

enum nb_err nb_keyfile_load(const char *path, struct nb_keyfile *out, struct nb_diag *diag)
{
    uint8_t *buf = NULL;
    size_t len = 0;
    enum nb_err err = nb_file_read(path, KEYFILE_MAX, &buf, &len, diag);
    if (err != NB_OK)
        return err;
    json_error_t jerr;
    json_t *doc = json_loadb((const char *)buf, len, JSON_REJECT_DUPLICATES, &jerr);
    nb_wipe(buf, len);
    nb_free(buf);
    if (!json_is_object(doc)) {
        json_decref(doc);
        return nb_diag_set(diag, NB_EPARSE, "%s: not a JSON object (%.80s)", path, jerr.text);
    }
    struct nb_keyfile k;
    memset(&k, 0, sizeof k);
    err = parse_keyfile(doc, &k, path, diag);
    json_decref(doc);
    if (err == NB_OK && k.secret)
        err = check_private(path, diag);
    if (err == NB_OK)
        *out = k;
    nb_keyfile_wipe(&k);
    return err;
}
