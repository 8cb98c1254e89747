/* Director instructions, device side (director.h): verify the envelope
 * against the root's director role before parsing a byte of the payload,
 * parse strictly, then check that the instruction is for this device, this
 * check-in and this time (SECURITY.md 16-18, 26, 27, 29-31). */
#include <nobrick/director.h>
#include <nobrick/encoding.h>
#include <nobrick/envelope.h>

#include <jansson.h>
#include <string.h>

static const char *const top_fields[] = {
    "type", "spec", "device_id", "nonce", "deployment_id", "release", "issued_at", "expires", NULL};
static const char *const top_fields_window[] = {
    "type",    "spec",          "device_id",      "nonce", "deployment_id", "release", "issued_at",
    "expires", "install_after", "install_before", NULL};
static const char *const release_fields[] = {"version",       "security_counter", "envelope_sha256",
                                             "bundle_sha256", "bundle_size",      NULL};

/* Every field of obj is one of names, and every name is present. */
static enum nb_err check_fields(const json_t *obj, const char *what, const char *const *names,
                                struct nb_diag *diag)
{
    const char *key;
    json_t *val;
    if (!json_is_object(obj))
        return nb_diag_set(diag, NB_EPARSE, "director: %s: not an object", what);
    json_object_foreach((json_t *)obj, key, val)
    {
        size_t i = 0;
        while (names[i] != NULL && strcmp(names[i], key) != 0)
            i++;
        if (names[i] == NULL)
            return nb_diag_set(diag, NB_EPARSE, "director: %s: unknown field '%s'", what, key);
    }
    for (size_t i = 0; names[i] != NULL; i++)
        if (json_object_get(obj, names[i]) == NULL)
            return nb_diag_set(diag, NB_EPARSE, "director: %s: missing field '%s'", what, names[i]);
    return NB_OK;
}

static enum nb_err get_int(const json_t *obj, const char *name, int64_t min, int64_t *out,
                           struct nb_diag *diag)
{
    const json_t *v = json_object_get(obj, name);
    /* 2^53 - 1: exact in every JSON reader, and no sum of two overflows. */
    if (!json_is_integer(v) || json_integer_value(v) < min ||
        json_integer_value(v) > (INT64_C(1) << 53) - 1)
        return nb_diag_set(diag, NB_EPARSE, "director: field '%s': not an integer in range", name);
    *out = (int64_t)json_integer_value(v);
    return NB_OK;
}

/* A string of 1..max characters; hex_len > 0: exactly that many lowercase
 * hex characters (nb_hex_decode checks). */
static enum nb_err get_text(const json_t *obj, const char *name, size_t max, char *out,
                            struct nb_diag *diag)
{
    const json_t *v = json_object_get(obj, name);
    if (!json_is_string(v) || json_string_length(v) == 0 || json_string_length(v) > max)
        return nb_diag_set(diag, NB_EPARSE, "director: field '%s': not a string of 1..%zu", name,
                           max);
    const char *s = json_string_value(v);
    size_t n = json_string_length(v);
    for (size_t i = 0; i < n; i++)
        if (s[i] <= 0x20 || s[i] >= 0x7f)
            return nb_diag_set(diag, NB_EPARSE, "director: field '%s': not printable", name);
    memcpy(out, s, n + 1);
    return NB_OK;
}

static enum nb_err get_sha(const json_t *obj, const char *name, uint8_t out[NB_SHA256_LEN],
                           struct nb_diag *diag)
{
    const json_t *v = json_object_get(obj, name);
    if (!json_is_string(v) ||
        nb_hex_decode(json_string_value(v), json_string_length(v), out, NB_SHA256_LEN) != NB_OK)
        return nb_diag_set(diag, NB_EPARSE, "director: field '%s': not 64 lowercase hex", name);
    return NB_OK;
}

static enum nb_err parse_release(const json_t *o, struct nb_director *d, struct nb_diag *diag)
{
    struct nb_semver sv;
    int64_t counter = 0, size = 0;
    enum nb_err err = check_fields(o, "release", release_fields, diag);
    if (err == NB_OK)
        err = get_text(o, "version", NB_VERSION_MAX, d->version, diag);
    if (err == NB_OK && nb_semver_parse(d->version, &sv) != NB_OK)
        err = nb_diag_set(diag, NB_EPARSE, "director: release version '%s' is not SemVer",
                          d->version);
    if (err == NB_OK)
        err = get_int(o, "security_counter", 0, &counter, diag);
    if (err == NB_OK)
        err = get_int(o, "bundle_size", 1, &size, diag);
    if (err == NB_OK)
        err = get_sha(o, "envelope_sha256", d->envelope_sha256, diag);
    if (err == NB_OK)
        err = get_sha(o, "bundle_sha256", d->bundle_sha256, diag);
    d->security_counter = (uint64_t)counter;
    d->bundle_size = (uint64_t)size;
    return err;
}

static enum nb_err get_window(const json_t *doc, struct nb_director *d, struct nb_diag *diag)
{
    enum nb_err err = get_int(doc, "install_after", 0, &d->install_after, diag);
    if (err == NB_OK)
        err = get_int(doc, "install_before", 0, &d->install_before, diag);
    if (err == NB_OK && d->install_before <= d->install_after)
        err = nb_diag_set(diag, NB_EPARSE, "director: install_before is not after install_after");
    return err;
}

static enum nb_err parse_doc(const json_t *doc, struct nb_director *d, struct nb_diag *diag)
{
    int64_t spec = 0;
    uint8_t id[NB_SHA256_LEN];
    enum nb_err err = get_int(doc, "spec", 0, &spec, diag);
    if (err == NB_OK && spec != NB_DIRECTOR_SPEC && spec != NB_DIRECTOR_SPEC_WINDOW)
        err = nb_diag_set(diag, NB_EPARSE, "director: spec %lld, this device knows %d and %d",
                          (long long)spec, NB_DIRECTOR_SPEC, NB_DIRECTOR_SPEC_WINDOW);
    if (err == NB_OK)
        err = check_fields(doc, "payload",
                           spec == NB_DIRECTOR_SPEC_WINDOW ? top_fields_window : top_fields, diag);
    const json_t *type = json_object_get(doc, "type");
    if (err == NB_OK && (!json_is_string(type) || strcmp(json_string_value(type), "director")))
        err = nb_diag_set(diag, NB_EPARSE, "director: field 'type': not \"director\"");
    d->spec = (int)spec;
    if (err == NB_OK && spec == NB_DIRECTOR_SPEC_WINDOW)
        err = get_window(doc, d, diag);
    if (err == NB_OK)
        err = get_text(doc, "device_id", NB_KEYID_MAX, d->device_id, diag);
    if (err == NB_OK && nb_hex_decode(d->device_id, strlen(d->device_id), id, sizeof id) != NB_OK)
        err = nb_diag_set(diag, NB_EPARSE, "director: field 'device_id': not a key id");
    if (err == NB_OK)
        err = get_text(doc, "nonce", NB_DIRECTOR_NONCE_MAX, d->nonce, diag);
    if (err == NB_OK)
        err = get_int(doc, "deployment_id", 1, &d->deployment_id, diag);
    if (err == NB_OK)
        err = get_int(doc, "issued_at", 0, &d->issued_at, diag);
    if (err == NB_OK)
        err = get_int(doc, "expires", 0, &d->expires, diag);
    if (err == NB_OK && d->expires <= d->issued_at)
        err = nb_diag_set(diag, NB_EPARSE, "director: expires is not after issued_at");
    if (err == NB_OK)
        err = parse_release(json_object_get(doc, "release"), d, diag);
    return err;
}

enum nb_err nb_director_parse(const uint8_t *payload, size_t len, struct nb_director *out,
                              struct nb_diag *diag)
{
    struct nb_director d;
    json_error_t jerr;
    if (len > NB_DIRECTOR_PAYLOAD_MAX)
        return nb_diag_set(diag, NB_ELENGTH, "director: payload is %zu bytes, at most %d", len,
                           NB_DIRECTOR_PAYLOAD_MAX);
    memset(&d, 0, sizeof d);
    /* Duplicate keys refused (SECURITY.md 31); trailing bytes are refused by
     * json_loadb's end-of-input check. */
    json_t *doc = json_loadb((const char *)payload, len, JSON_REJECT_DUPLICATES, &jerr);
    if (doc == NULL)
        return nb_diag_set(diag, NB_EPARSE, "director: payload: %s", jerr.text);
    enum nb_err err = parse_doc(doc, &d, diag);
    json_decref(doc);
    if (err == NB_OK)
        *out = d;
    return err;
}

/* Binding to this device, this check-in and this time, in the order of
 * docs/api.md. */
static enum nb_err check_binding(const struct nb_director *d, const struct nb_director_expect *e,
                                 struct nb_diag *diag)
{
    if (strcmp(d->device_id, e->device_id) != 0)
        return nb_diag_set(diag, NB_ENOT_FOR_DEVICE,
                           "director instruction is for device %.16s..., this is %.16s...",
                           d->device_id, e->device_id);
    if (e->nonce == NULL || strcmp(d->nonce, e->nonce) != 0)
        return nb_diag_set(diag, NB_EFRESHNESS,
                           "director instruction carries another nonce than this check-in's "
                           "(a replayed answer)");
    if (d->issued_at < e->time_floor)
        return nb_diag_set(diag, NB_EROLLBACK,
                           "director instruction was issued at %lld, before this device's time "
                           "floor %lld",
                           (long long)d->issued_at, (long long)e->time_floor);
    int64_t now = e->now_known && e->now > e->time_floor ? e->now : e->time_floor;
    if (d->expires <= now)
        return nb_diag_set(diag, NB_EEXPIRED,
                           "director instruction expired at %lld (now %lld): check the "
                           "device's clock, or the server is replaying old answers",
                           (long long)d->expires, (long long)now);
    return NB_OK;
}

enum nb_err nb_director_verify(const struct nb_root *root, const uint8_t *text, size_t len,
                               uint8_t *scratch, size_t scratch_len,
                               const struct nb_director_expect *expect, struct nb_director *out,
                               struct nb_diag *diag)
{
    struct nb_envelope env;
    struct nb_director d;
    if (len > NB_DIRECTOR_TEXT_MAX)
        return nb_diag_set(diag, NB_ELENGTH, "director instruction is %zu bytes, at most %d", len,
                           NB_DIRECTOR_TEXT_MAX);
    enum nb_err err = nb_envelope_parse(text, len, scratch, scratch_len, &env, diag);
    if (err == NB_OK)
        err = nb_envelope_verify(&env, NB_PAYLOAD_DIRECTOR, &root->roles[NB_ROLE_DIRECTOR], diag);
    if (err == NB_OK)
        err = nb_director_parse(env.payload, env.payload_len, &d, diag);
    if (err == NB_OK)
        err = check_binding(&d, expect, diag);
    if (err == NB_OK)
        *out = d;
    return err;
}

enum nb_err nb_director_check_release(const struct nb_director *d, const uint8_t *envelope,
                                      size_t envelope_len, const struct nb_release *rel,
                                      struct nb_diag *diag)
{
    uint8_t digest[NB_SHA256_LEN];
    enum nb_err err = nb_sha256(envelope, envelope_len, digest);
    if (err != NB_OK)
        return err;
    if (memcmp(digest, d->envelope_sha256, NB_SHA256_LEN) != 0)
        return nb_diag_set(diag, NB_EMISMATCH,
                           "the release envelope fetched is not the one the director instruction "
                           "names (envelope_sha256 differs)");
    if (rel == NULL)
        return NB_OK;
    if (strcmp(rel->version, d->version) != 0 || rel->security_counter != d->security_counter)
        return nb_diag_set(diag, NB_EMISMATCH,
                           "director instruction names release %s (counter %llu), the signed "
                           "release is %s (counter %llu)",
                           d->version, (unsigned long long)d->security_counter, rel->version,
                           (unsigned long long)rel->security_counter);
    return NB_OK;
}
