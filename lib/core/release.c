/* Release metadata: the strict parser and writer of the release payload, its
 * verification against the root's release role, and the hardware-class
 * check. The payload reaches the JSON parser only after a threshold of
 * release keys signed its exact bytes (verify before parse, SECURITY.md 29).
 * SemVer lives in semver.c, the content-key wrap in release_key.c. */
#include <nobrick/encoding.h>
#include <nobrick/release.h>

#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <string.h>

/* ---- strict JSON field access --------------------------------------------- */

/* The last component of a dotted field path ("image.size" -> "size"). */
static const char *leaf(const char *path)
{
    const char *dot = strrchr(path, '.');
    return dot != NULL ? dot + 1 : path;
}

/* obj must be an object holding only names[0..n-1] and every one of them
 * that is required (the first n_required): an unknown field may be a critical
 * one this reader does not understand (SECURITY.md 31). */
static enum nb_err check_fields(const json_t *obj, const char *what, const char *const *names,
                                size_t n, size_t n_required, struct nb_diag *diag)
{
    if (!json_is_object(obj))
        return nb_diag_set(diag, NB_EPARSE, "release: %s: not a JSON object", what);
    const char *key;
    json_t *val;
    json_object_foreach((json_t *)obj, key, val)
    {
        size_t i = 0;
        while (i < n && strcmp(key, names[i]) != 0)
            i++;
        if (i == n)
            return nb_diag_set(diag, NB_EPARSE, "release: %s: unknown field '%.40s'", what, key);
    }
    for (size_t i = 0; i < n_required; i++) {
        if (json_object_get(obj, names[i]) == NULL)
            return nb_diag_set(diag, NB_EPARSE, "release: %s: missing field '%s'", what, names[i]);
    }
    return NB_OK;
}

/* An integer in [min, max]: below is malformed, above is past a cap. JSON
 * reals (1.0) are refused, and jansson refuses integers past 2^63-1. */
static enum nb_err get_uint(const json_t *obj, const char *path, uint64_t min, uint64_t max,
                            uint64_t *out, struct nb_diag *diag)
{
    const json_t *v = json_object_get(obj, leaf(path));
    if (!json_is_integer(v))
        return nb_diag_set(diag, NB_EPARSE, "release: field '%s': not an integer", path);
    json_int_t x = json_integer_value(v);
    if (x < 0 || (uint64_t)x < min)
        return nb_diag_set(diag, NB_EPARSE, "release: field '%s': %lld is below %" PRIu64, path,
                           (long long)x, min);
    if ((uint64_t)x > max)
        return nb_diag_set(diag, NB_ELENGTH, "release: field '%s': %lld exceeds the cap %" PRIu64,
                           path, (long long)x, max);
    *out = (uint64_t)x;
    return NB_OK;
}

static enum nb_err get_string(const json_t *obj, const char *path, const char **s, size_t *len,
                              struct nb_diag *diag)
{
    const json_t *v = json_object_get(obj, leaf(path));
    if (!json_is_string(v))
        return nb_diag_set(diag, NB_EPARSE, "release: field '%s': not a string", path);
    *s = json_string_value(v);
    *len = json_string_length(v);
    return NB_OK;
}

/* Exactly 2*len lowercase hex characters: one encoding per value. */
static enum nb_err get_hex(const json_t *obj, const char *path, uint8_t *out, size_t len,
                           struct nb_diag *diag)
{
    const char *s = NULL;
    size_t n = 0;
    enum nb_err err = get_string(obj, path, &s, &n, diag);
    if (err != NB_OK)
        return err;
    if (nb_hex_decode(s, n, out, len) != NB_OK)
        return nb_diag_set(diag, NB_EPARSE, "release: field '%s': not %zu lowercase hex digits",
                           path, 2 * len);
    return NB_OK;
}

/* Hardware classes and components: 1..max characters of [A-Za-z0-9._-]. */
static enum nb_err check_name(const char *s, size_t len, size_t max, const char *what,
                              struct nb_diag *diag)
{
    if (len == 0)
        return nb_diag_set(diag, NB_EPARSE, "release: %s: empty", what);
    if (len > max)
        return nb_diag_set(diag, NB_ELENGTH, "release: %s: longer than %zu characters", what, max);
    for (size_t i = 0; i < len; i++) {
        char c = s[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '.' || c == '_' || c == '-'))
            return nb_diag_set(diag, NB_EPARSE,
                               "release: %s: '%.63s' has a character other than letters, "
                               "digits, '.', '_' and '-'",
                               what, s);
    }
    return NB_OK;
}

/* ---- parsing -------------------------------------------------------------- */

static enum nb_err parse_version(const json_t *root, struct nb_release *rel, struct nb_diag *diag)
{
    const char *s = NULL;
    size_t len = 0;
    enum nb_err err = get_string(root, "version", &s, &len, diag);
    if (err != NB_OK)
        return err;
    struct nb_semver v;
    if (len > NB_VERSION_MAX)
        return nb_diag_set(diag, NB_ELENGTH,
                           "release: field 'version': longer than %d "
                           "characters",
                           NB_VERSION_MAX);
    if (strlen(s) != len || nb_semver_parse(s, &v) != NB_OK)
        return nb_diag_set(diag, NB_EPARSE, "release: field 'version': '%.63s' is not SemVer", s);
    memcpy(rel->version, s, len + 1);
    return NB_OK;
}

static enum nb_err parse_hw_classes(const json_t *root, struct nb_release *rel,
                                    struct nb_diag *diag)
{
    const json_t *arr = json_object_get(root, "hw_classes");
    if (!json_is_array(arr) || json_array_size(arr) == 0)
        return nb_diag_set(diag, NB_EPARSE,
                           "release: field 'hw_classes': not a non-empty "
                           "array");
    if (json_array_size(arr) > NB_RELEASE_MAX_HW_CLASSES)
        return nb_diag_set(diag, NB_ELENGTH, "release: field 'hw_classes': more than %d",
                           NB_RELEASE_MAX_HW_CLASSES);
    rel->n_hw_classes = json_array_size(arr);
    for (size_t i = 0; i < rel->n_hw_classes; i++) {
        const json_t *v = json_array_get(arr, i);
        char what[40];
        (void)snprintf(what, sizeof what, "hardware class %zu", i + 1);
        if (!json_is_string(v))
            return nb_diag_set(diag, NB_EPARSE, "release: %s: not a string", what);
        const char *s = json_string_value(v);
        size_t len = json_string_length(v);
        enum nb_err err = check_name(s, len, NB_HW_CLASS_MAX, what, diag);
        if (err != NB_OK)
            return err;
        for (size_t j = 0; j < i; j++) {
            if (strcmp(rel->hw_classes[j], s) == 0)
                return nb_diag_set(diag, NB_EPARSE, "release: %s: duplicate '%s'", what, s);
        }
        memcpy(rel->hw_classes[i], s, len + 1);
    }
    return NB_OK;
}

static enum nb_err parse_component(const json_t *root, struct nb_release *rel, struct nb_diag *diag)
{
    if (json_object_get(root, "component") == NULL) {
        memcpy(rel->component, NB_COMPONENT_DEFAULT, sizeof NB_COMPONENT_DEFAULT);
        return NB_OK;
    }
    const char *s = NULL;
    size_t len = 0;
    enum nb_err err = get_string(root, "component", &s, &len, diag);
    if (err == NB_OK)
        err = check_name(s, len, NB_COMPONENT_MAX, "field 'component'", diag);
    if (err == NB_OK)
        memcpy(rel->component, s, len + 1);
    return err;
}

static enum nb_err parse_image(const json_t *root, struct nb_release *rel, struct nb_diag *diag)
{
    static const char *const names[] = {"size", "sha256"};
    const json_t *o = json_object_get(root, "image");
    enum nb_err err = check_fields(o, "field 'image'", names, 2, 2, diag);
    if (err == NB_OK)
        err = get_uint(o, "image.size", 1, NB_IMAGE_SIZE_MAX, &rel->image_size, diag);
    if (err == NB_OK)
        err = get_hex(o, "image.sha256", rel->image_sha256, NB_SHA256_LEN, diag);
    return err;
}

/* The frame geometry must describe the image exactly: a count that does not
 * match would let a table list frames the image does not have. */
static enum nb_err parse_frames(const json_t *root, struct nb_release *rel, struct nb_diag *diag)
{
    static const char *const names[] = {"size", "count", "table_sha256"};
    const json_t *o = json_object_get(root, "frames");
    uint64_t size, count;
    enum nb_err err = check_fields(o, "field 'frames'", names, 3, 3, diag);
    if (err == NB_OK)
        err = get_uint(o, "frames.size", NB_FRAME_SIZE_MIN, NB_FRAME_SIZE_MAX, &size, diag);
    if (err == NB_OK && (size & (size - 1)) != 0)
        err = nb_diag_set(diag, NB_EPARSE,
                          "release: field 'frames.size': %" PRIu64 " is not a power of two", size);
    if (err == NB_OK)
        err = get_uint(o, "frames.count", 1, NB_FRAMES_MAX_COUNT, &count, diag);
    if (err == NB_OK && count != (rel->image_size + size - 1) / size)
        err = nb_diag_set(diag, NB_EPARSE,
                          "release: field 'frames.count': %" PRIu64 " frames of %" PRIu64
                          " bytes do not cover an image of %" PRIu64 " bytes",
                          count, size, rel->image_size);
    if (err == NB_OK)
        err = get_hex(o, "frames.table_sha256", rel->table_sha256, NB_SHA256_LEN, diag);
    if (err == NB_OK) {
        rel->frame_size = (uint32_t)size;
        rel->frame_count = (uint32_t)count;
    }
    return err;
}

static enum nb_err parse_compression(const json_t *root, struct nb_release *rel,
                                     struct nb_diag *diag)
{
    const char *s = NULL;
    size_t len = 0;
    enum nb_err err = get_string(root, "compression", &s, &len, diag);
    if (err != NB_OK)
        return err;
    if (strcmp(s, "zstd") == 0 && len == 4)
        rel->compression = NB_COMPRESSION_ZSTD;
    else if (strcmp(s, "none") == 0 && len == 4)
        rel->compression = NB_COMPRESSION_NONE;
    else
        return nb_diag_set(diag, NB_EPARSE,
                           "release: field 'compression': '%.20s' is not "
                           "\"zstd\" or \"none\"",
                           s);
    return NB_OK;
}

/* One recipient: keyid, epk and wrapped, each in its exact hex form. */
static enum nb_err check_recipient(const json_t *r, size_t i, struct nb_diag *diag)
{
    static const char *const names[] = {"keyid", "epk", "wrapped"};
    char what[48];
    (void)snprintf(what, sizeof what, "recipient %zu", i + 1);
    uint8_t keyid[NB_SHA256_LEN], epk[NB_X25519_LEN], wrapped[NB_WRAPPED_KEY_LEN];
    enum nb_err err = check_fields(r, what, names, 3, 3, diag);
    if (err == NB_OK)
        err = get_hex(r, "encryption.recipients.keyid", keyid, sizeof keyid, diag);
    if (err == NB_OK)
        err = get_hex(r, "encryption.recipients.epk", epk, sizeof epk, diag);
    if (err == NB_OK)
        err = get_hex(r, "encryption.recipients.wrapped", wrapped, sizeof wrapped, diag);
    return err;
}

/* Two entries for one keyid would make "which one is mine" ambiguous. The
 * keyids were checked as exact hex, so comparing strings compares keys. */
static enum nb_err check_unique_recipients(const json_t *arr, struct nb_diag *diag)
{
    size_t n = json_array_size(arr);
    for (size_t i = 1; i < n; i++) {
        const char *a = json_string_value(json_object_get(json_array_get(arr, i), "keyid"));
        for (size_t j = 0; j < i; j++) {
            const char *b = json_string_value(json_object_get(json_array_get(arr, j), "keyid"));
            if (strcmp(a, b) == 0)
                return nb_diag_set(diag, NB_EPARSE, "release: recipient %zu: duplicate keyid",
                                   i + 1);
        }
    }
    return NB_OK;
}

static enum nb_err parse_encryption(const json_t *root, struct nb_release *rel,
                                    struct nb_diag *diag)
{
    static const char *const names[] = {"alg", "recipients"};
    const json_t *o = json_object_get(root, "encryption");
    const char *alg = NULL;
    size_t len = 0;
    enum nb_err err = check_fields(o, "field 'encryption'", names, 2, 2, diag);
    if (err == NB_OK)
        err = get_string(o, "encryption.alg", &alg, &len, diag);
    if (err == NB_OK && (len != 11 || strcmp(alg, "aes-256-gcm") != 0))
        err = nb_diag_set(diag, NB_EPARSE,
                          "release: field 'encryption.alg': '%.20s' is not "
                          "\"aes-256-gcm\"",
                          alg);
    if (err != NB_OK)
        return err;
    const json_t *arr = json_object_get(o, "recipients");
    if (!json_is_array(arr) || json_array_size(arr) == 0)
        return nb_diag_set(diag, NB_EPARSE,
                           "release: field 'encryption.recipients': not a "
                           "non-empty array");
    if (json_array_size(arr) > NB_RELEASE_MAX_RECIPIENTS)
        return nb_diag_set(diag, NB_ELENGTH,
                           "release: field 'encryption.recipients': more "
                           "than %d",
                           NB_RELEASE_MAX_RECIPIENTS);
    for (size_t i = 0; i < json_array_size(arr) && err == NB_OK; i++)
        err = check_recipient(json_array_get(arr, i), i, diag);
    if (err == NB_OK)
        err = check_unique_recipients(arr, diag);
    rel->encrypted = true;
    rel->n_recipients = json_array_size(arr);
    return err;
}

static enum nb_err parse_delta_base(const json_t *root, struct nb_release *rel,
                                    struct nb_diag *diag)
{
    static const char *const names[] = {"size", "sha256"};
    const json_t *o = json_object_get(root, "delta_base");
    enum nb_err err = check_fields(o, "field 'delta_base'", names, 2, 2, diag);
    if (err == NB_OK)
        err = get_uint(o, "delta_base.size", 1, NB_IMAGE_SIZE_MAX, &rel->delta_base_size, diag);
    if (err == NB_OK)
        err = get_hex(o, "delta_base.sha256", rel->delta_base_sha256, NB_SHA256_LEN, diag);
    /* A delta is the base used as a zstd prefix: it has no meaning uncompressed. */
    if (err == NB_OK && rel->compression != NB_COMPRESSION_ZSTD)
        err = nb_diag_set(diag, NB_EPARSE,
                          "release: field 'delta_base': needs \"zstd\" "
                          "compression");
    rel->has_delta_base = true;
    return err;
}

/* "type" and "spec" first: a document of another type or a future spec is
 * refused as a whole, not half-understood (SECURITY.md 30). */
static enum nb_err parse_head(const json_t *root, struct nb_diag *diag)
{
    static const char *const names[] = {
        "type",  "spec",   "version",     "security_counter", "hw_classes", "created",
        "image", "frames", "compression", "component",        "encryption", "delta_base"};
    enum nb_err err = check_fields(root, "payload", names, 12, 9, diag);
    const char *type = NULL;
    size_t len = 0;
    uint64_t spec;
    if (err == NB_OK)
        err = get_string(root, "type", &type, &len, diag);
    if (err == NB_OK && (len != 7 || strcmp(type, "release") != 0))
        err =
            nb_diag_set(diag, NB_EPARSE, "release: field 'type': '%.20s' is not \"release\"", type);
    if (err == NB_OK)
        err = get_uint(root, "spec", 1, UINT64_MAX, &spec, diag);
    if (err == NB_OK && spec != NB_RELEASE_SPEC)
        err = nb_diag_set(diag, NB_EPARSE,
                          "release: field 'spec': %" PRIu64
                          " is not supported (this reader knows %d)",
                          spec, NB_RELEASE_SPEC);
    return err;
}

static enum nb_err parse_doc(const json_t *root, struct nb_release *rel, struct nb_diag *diag)
{
    uint64_t created;
    enum nb_err err = parse_head(root, diag);
    if (err == NB_OK)
        err = parse_version(root, rel, diag);
    if (err == NB_OK)
        err = get_uint(root, "security_counter", 0, NB_SECURITY_COUNTER_MAX, &rel->security_counter,
                       diag);
    if (err == NB_OK)
        err = parse_hw_classes(root, rel, diag);
    if (err == NB_OK)
        err = parse_component(root, rel, diag);
    if (err == NB_OK)
        err = get_uint(root, "created", 0, (uint64_t)NB_CREATED_MAX, &created, diag);
    if (err == NB_OK) {
        rel->created = (int64_t)created;
        err = parse_image(root, rel, diag);
    }
    if (err == NB_OK)
        err = parse_frames(root, rel, diag);
    if (err == NB_OK)
        err = parse_compression(root, rel, diag);
    if (err == NB_OK && json_object_get(root, "encryption") != NULL)
        err = parse_encryption(root, rel, diag);
    if (err == NB_OK && json_object_get(root, "delta_base") != NULL)
        err = parse_delta_base(root, rel, diag);
    return err;
}

enum nb_err nb_release_parse(const uint8_t *payload, size_t len, struct nb_release *out,
                             struct nb_diag *diag)
{
    if (len > NB_PAYLOAD_MAX)
        return nb_diag_set(diag, NB_ELENGTH,
                           "release: payload of %zu bytes exceeds the cap "
                           "of %d",
                           len, NB_PAYLOAD_MAX);
    json_error_t jerr;
    /* Duplicate keys refused (SECURITY.md 31); trailing bytes refused by
     * json_loadb's end-of-input check; "\u0000" refused (no JSON_ALLOW_NUL). */
    json_t *root = json_loadb((const char *)payload, len, JSON_REJECT_DUPLICATES, &jerr);
    if (root == NULL)
        return nb_diag_set(diag, NB_EPARSE, "release: JSON at byte %d: %.100s", jerr.position,
                           jerr.text);
    struct nb_release rel;
    memset(&rel, 0, sizeof rel);
    enum nb_err err = parse_doc(root, &rel, diag);
    json_decref(root);
    if (err == NB_OK)
        *out = rel;
    return err;
}

/* ---- writing -------------------------------------------------------------- */

/* A string field must end inside its array before jansson's strlen sees it. */
static bool terminated(const char *s, size_t cap)
{
    return memchr(s, '\0', cap) != NULL;
}

static enum nb_err check_writable(const struct nb_release *rel, const struct nb_recipient *rcp,
                                  size_t n_rcp, struct nb_diag *diag)
{
    if (rel->n_hw_classes > NB_RELEASE_MAX_HW_CLASSES)
        return nb_diag_set(diag, NB_EINVAL, "release: more than %d hardware classes",
                           NB_RELEASE_MAX_HW_CLASSES);
    if (rel->encrypted ? (n_rcp == 0 || rcp == NULL) : n_rcp != 0)
        return nb_diag_set(diag, NB_EINVAL, "release: recipients given %s encryption",
                           rel->encrypted ? "without" : "to a release without");
    bool ok = terminated(rel->version, sizeof rel->version) &&
              terminated(rel->component, sizeof rel->component);
    for (size_t i = 0; ok && i < rel->n_hw_classes; i++)
        ok = terminated(rel->hw_classes[i], sizeof rel->hw_classes[i]);
    for (size_t i = 0; ok && i < n_rcp; i++)
        ok = terminated(rcp[i].keyid, sizeof rcp[i].keyid);
    if (!ok)
        return nb_diag_set(diag, NB_EINVAL, "release: a string field is not terminated");
    return NB_OK;
}

static json_t *hex_string(const uint8_t *b, size_t len)
{
    char hex[2 * NB_WRAPPED_KEY_LEN + 1];
    if (len > NB_WRAPPED_KEY_LEN || nb_hex_encode(b, len, hex, sizeof hex) != NB_OK)
        return NULL;
    return json_string(hex);
}

/* Values past what JSON carries exactly become negative here, and the
 * parse-back in nb_release_write refuses them. */
static json_t *uint_value(uint64_t v)
{
    return json_integer((json_int_t)v);
}

/* {k1: v1, k2: v2}; takes the references of v1 and v2 even on failure. */
static json_t *pair(const char *k1, json_t *v1, const char *k2, json_t *v2)
{
    json_t *o = json_object();
    int bad = o == NULL;
    bad |= json_object_set_new(o, k1, v1);
    bad |= json_object_set_new(o, k2, v2);
    if (bad) {
        json_decref(o);
        return NULL;
    }
    return o;
}

static json_t *recipients_json(const struct nb_recipient *rcp, size_t n)
{
    json_t *arr = json_array();
    int bad = arr == NULL;
    for (size_t i = 0; i < n && !bad; i++) {
        json_t *r = json_object();
        bad |= r == NULL;
        bad |= json_object_set_new(r, "keyid", json_string_nocheck(rcp[i].keyid));
        bad |= json_object_set_new(r, "epk", hex_string(rcp[i].epk, NB_X25519_LEN));
        bad |= json_object_set_new(r, "wrapped", hex_string(rcp[i].wrapped, NB_WRAPPED_KEY_LEN));
        bad |= json_array_append_new(arr, r);
    }
    if (bad) {
        json_decref(arr);
        return NULL;
    }
    return pair("alg", json_string("aes-256-gcm"), "recipients", arr);
}

static json_t *hw_classes_json(const struct nb_release *rel)
{
    json_t *arr = json_array();
    int bad = arr == NULL;
    for (size_t i = 0; i < rel->n_hw_classes && !bad; i++)
        bad |= json_array_append_new(arr, json_string_nocheck(rel->hw_classes[i]));
    if (bad) {
        json_decref(arr);
        return NULL;
    }
    return arr;
}

/* Fields in the documented order (jansson keeps insertion order). Strings go
 * in unchecked: the parse-back refuses anything that is not valid. */
static json_t *build_doc(const struct nb_release *rel, const struct nb_recipient *rcp, size_t n_rcp)
{
    json_t *o = json_object();
    if (o == NULL)
        return NULL;
    json_t *frames =
        pair("size", uint_value(rel->frame_size), "count", uint_value(rel->frame_count));
    int bad = frames == NULL;
    bad |=
        json_object_set_new(frames, "table_sha256", hex_string(rel->table_sha256, NB_SHA256_LEN));
    bad |= json_object_set_new(o, "type", json_string("release"));
    bad |= json_object_set_new(o, "spec", json_integer(NB_RELEASE_SPEC));
    bad |= json_object_set_new(o, "version", json_string_nocheck(rel->version));
    bad |= json_object_set_new(o, "security_counter", uint_value(rel->security_counter));
    bad |= json_object_set_new(o, "hw_classes", hw_classes_json(rel));
    bad |= json_object_set_new(o, "component", json_string_nocheck(rel->component));
    bad |= json_object_set_new(o, "created", json_integer((json_int_t)rel->created));
    bad |= json_object_set_new(o, "image",
                               pair("size", uint_value(rel->image_size), "sha256",
                                    hex_string(rel->image_sha256, NB_SHA256_LEN)));
    bad |= json_object_set_new(o, "frames", frames);
    bad |= json_object_set_new(
        o, "compression", json_string(rel->compression == NB_COMPRESSION_ZSTD ? "zstd" : "none"));
    if (rel->encrypted)
        bad |= json_object_set_new(o, "encryption", recipients_json(rcp, n_rcp));
    if (rel->has_delta_base)
        bad |= json_object_set_new(o, "delta_base",
                                   pair("size", uint_value(rel->delta_base_size), "sha256",
                                        hex_string(rel->delta_base_sha256, NB_SHA256_LEN)));
    if (bad) {
        json_decref(o);
        return NULL;
    }
    return o;
}

enum nb_err nb_release_write(const struct nb_release *rel, const struct nb_recipient *recipients,
                             size_t n_recipients, char *out, size_t out_cap, size_t *out_len,
                             struct nb_diag *diag)
{
    enum nb_err err = check_writable(rel, recipients, n_recipients, diag);
    if (err != NB_OK)
        return err;
    json_t *doc = build_doc(rel, recipients, n_recipients);
    if (doc == NULL)
        return nb_diag_set(diag, NB_ENOMEM, "release: out of memory");
    size_t n = json_dumpb(doc, out, out_cap, JSON_COMPACT);
    json_decref(doc);
    if (n == 0)
        return nb_diag_set(diag, NB_EINVAL, "release: a string field is not valid UTF-8");
    if (n >= out_cap)
        return nb_diag_set(diag, NB_ENOSPC, "release: %zu bytes do not fit %zu", n, out_cap);
    out[n] = '\0';
    /* Never write what a device would refuse. */
    struct nb_release check;
    struct nb_diag why = {{0}};
    err = nb_release_parse((const uint8_t *)out, n, &check, &why);
    if (err != NB_OK)
        return nb_diag_set(diag, NB_EINVAL, "%s", why.msg);
    *out_len = n;
    return NB_OK;
}

/* ---- verification --------------------------------------------------------- */

enum nb_err nb_release_verify(const struct nb_root *root, const uint8_t *envelope_text, size_t len,
                              uint8_t *scratch, size_t scratch_len, struct nb_release *out,
                              const uint8_t **payload, size_t *payload_len, struct nb_diag *diag)
{
    struct nb_envelope env;
    enum nb_err err = nb_envelope_parse(envelope_text, len, scratch, scratch_len, &env, diag);
    if (err == NB_OK)
        err = nb_envelope_verify(&env, NB_PAYLOAD_RELEASE, &root->roles[NB_ROLE_RELEASE], diag);
    /* Only bytes a threshold of release keys signed reach the JSON parser. */
    if (err == NB_OK)
        err = nb_release_parse(env.payload, env.payload_len, out, diag);
    if (err == NB_OK && payload != NULL) {
        *payload = env.payload;
        *payload_len = env.payload_len;
    }
    return err;
}

enum nb_err nb_release_check_hw(const struct nb_release *rel, const char *hw_class,
                                struct nb_diag *diag)
{
    for (size_t i = 0; i < rel->n_hw_classes; i++) {
        if (strcmp(rel->hw_classes[i], hw_class) == 0)
            return NB_OK;
    }
    char list[120] = "";
    size_t used = 0;
    for (size_t i = 0; i < rel->n_hw_classes; i++) {
        int n = snprintf(list + used, sizeof list - used, "%s%s", i > 0 ? ", " : "",
                         rel->hw_classes[i]);
        if (n < 0 || (size_t)n >= sizeof list - used)
            break;
        used += (size_t)n;
    }
    return nb_diag_set(diag, NB_EINCOMPAT,
                       "bundle is for hardware class%s %s, this device is %.63s",
                       rel->n_hw_classes > 1 ? "es" : "", list, hw_class);
}
