/* Root metadata: the strict payload parser and writer, and the chain walk
 * that moves a device from the root it trusts to the newest one, one version
 * at a time, each step signed by the old AND the new root keys.
 * Everything is bounded: caps on every list and string, NB_ROOT_MAX_STEPS
 * steps per walk, two roots on the stack. */
#include <nobrick/encoding.h>
#include <nobrick/root.h>

#include <jansson.h>
#include <stdio.h>
#include <string.h>

#define VERSION_MAX 2147483647LL /* 2^31-1: version + 1 never wraps */

const char *nb_role_name(enum nb_role_id role)
{
    switch (role) {
    case NB_ROLE_ROOT:
        return "root";
    case NB_ROLE_RELEASE:
        return "release";
    case NB_ROLE_DIRECTOR:
        return "director";
    case NB_ROLE_COUNT:
        break;
    }
    return "?";
}

size_t nb_root_dropped_release_keys(const struct nb_root *old, const struct nb_root *next,
                                    size_t out[NB_ROLE_MAX_KEYS])
{
    const struct nb_role *o = &old->roles[NB_ROLE_RELEASE], *n = &next->roles[NB_ROLE_RELEASE];
    size_t dropped = 0;
    for (size_t i = 0; i < o->n_keys && i < NB_ROLE_MAX_KEYS; i++) {
        bool kept = false;
        for (size_t j = 0; j < n->n_keys && !kept; j++)
            kept = memcmp(o->keys[i].pub, n->keys[j].pub, sizeof o->keys[i].pub) == 0;
        if (!kept)
            out[dropped++] = i;
    }
    return dropped;
}

void nb_root_drop_warning(const struct nb_root *next, const char *keyid, char *out, size_t cap)
{
    (void)snprintf(out, cap,
                   "root v%u drops release key %.16s: devices running a release signed only by "
                   "it refuse this root (E_UNBOOTABLE) until they run one signed by a key it "
                   "lists; keep it until the fleet has moved (docs/trust.md)",
                   (unsigned)next->version, keyid);
}

/* ---- parsing -------------------------------------------------------------- */

/* Exactly the fields names[0..n-1]: an unknown field may be a critical one
 * this version does not understand (SECURITY.md 31). */
static enum nb_err check_fields(const json_t *obj, const char *what, const char *const *names,
                                size_t n, struct nb_diag *diag)
{
    if (!json_is_object(obj))
        return nb_diag_set(diag, NB_EPARSE, "root: %s: not a JSON object", what);
    const char *key;
    json_t *val;
    json_object_foreach((json_t *)obj, key, val)
    {
        size_t i = 0;
        while (i < n && strcmp(key, names[i]) != 0)
            i++;
        if (i == n)
            return nb_diag_set(diag, NB_EPARSE, "root: %s: unknown field '%.40s'", what, key);
    }
    for (size_t i = 0; i < n; i++) {
        if (json_object_get(obj, names[i]) == NULL)
            return nb_diag_set(diag, NB_EPARSE, "root: %s: missing field '%s'", what, names[i]);
    }
    return NB_OK;
}

/* An integer field within [min, max] (JSON reals such as 1.0 are refused). */
static enum nb_err get_int(const json_t *obj, const char *name, long long min, long long max,
                           long long *out, struct nb_diag *diag)
{
    const json_t *v = json_object_get(obj, name);
    if (!json_is_integer(v))
        return nb_diag_set(diag, NB_EPARSE, "root: field '%s': not an integer", name);
    long long x = json_integer_value(v);
    if (x < min || x > max)
        return nb_diag_set(diag, NB_EPARSE, "root: field '%s': %lld not in %lld..%lld", name, x,
                           min, max);
    *out = x;
    return NB_OK;
}

static bool is_lower_hex(const char *s, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
            return false;
    }
    return true;
}

/* {"keyid":"<1-64 hex>","ed25519":"<64 hex>"}. A small-order or
 * non-canonical public key is refused here: with it, a forged signature can
 * verify (SECURITY.md 32). */
static enum nb_err parse_key(const json_t *v, const char *role, size_t idx, struct nb_key *out,
                             struct nb_diag *diag)
{
    static const char *const names[] = {"keyid", "ed25519"};
    char what[48];
    (void)snprintf(what, sizeof what, "%s key %zu", role, idx + 1);
    enum nb_err err = check_fields(v, what, names, 2, diag);
    if (err != NB_OK)
        return err;
    const json_t *kid = json_object_get(v, "keyid");
    const json_t *pub = json_object_get(v, "ed25519");
    size_t kid_len = json_string_length(kid);
    if (!json_is_string(kid) || kid_len == 0 || kid_len > NB_KEYID_MAX ||
        !is_lower_hex(json_string_value(kid), kid_len))
        return nb_diag_set(diag, NB_EPARSE, "root: %s: keyid not 1-64 lowercase hex", what);
    if (!json_is_string(pub) || nb_hex_decode(json_string_value(pub), json_string_length(pub),
                                              out->pub, sizeof out->pub) != NB_OK)
        return nb_diag_set(diag, NB_EPARSE, "root: %s: ed25519 not 64 lowercase hex", what);
    if (nb_ed25519_pub_is_weak(out->pub))
        return nb_diag_set(diag, NB_EPARSE, "root: %s: weak (small-order) public key", what);
    memcpy(out->keyid, json_string_value(kid), kid_len + 1);
    return NB_OK;
}

/* Two entries with one keyid would make the hint ambiguous. (One public key
 * under two keyids is accepted: the verifier counts it once, SECURITY.md 6.) */
static enum nb_err check_unique_keyids(const struct nb_role *r, const char *role,
                                       struct nb_diag *diag)
{
    for (size_t i = 0; i < r->n_keys; i++) {
        for (size_t j = i + 1; j < r->n_keys; j++) {
            if (strcmp(r->keys[i].keyid, r->keys[j].keyid) == 0)
                return nb_diag_set(diag, NB_EPARSE, "root: %s key %zu: duplicate keyid", role,
                                   j + 1);
        }
    }
    return NB_OK;
}

static enum nb_err parse_role(const json_t *v, const char *role, struct nb_role *out,
                              struct nb_diag *diag)
{
    static const char *const names[] = {"threshold", "keys"};
    char what[32];
    (void)snprintf(what, sizeof what, "roles.%s", role);
    enum nb_err err = check_fields(v, what, names, 2, diag);
    if (err != NB_OK)
        return err;
    const json_t *keys = json_object_get(v, "keys");
    if (!json_is_array(keys) || json_array_size(keys) == 0)
        return nb_diag_set(diag, NB_EPARSE, "root: %s.keys: not a non-empty array", what);
    size_t n = json_array_size(keys);
    if (n > NB_ROLE_MAX_KEYS)
        return nb_diag_set(diag, NB_ELENGTH, "root: %s.keys: %zu keys, at most %d", what, n,
                           NB_ROLE_MAX_KEYS);
    for (size_t i = 0; i < n; i++) {
        err = parse_key(json_array_get(keys, i), role, i, &out->keys[i], diag);
        if (err != NB_OK)
            return err;
    }
    out->n_keys = n;
    /* Threshold 0 would accept zero signatures (SECURITY.md 7); one above
     * the key count could never be met. */
    const json_t *t = json_object_get(v, "threshold");
    if (!json_is_integer(t) || json_integer_value(t) < 1 || json_integer_value(t) > (long long)n)
        return nb_diag_set(diag, NB_EPARSE, "root: %s.threshold: must be 1..%zu", what, n);
    out->threshold = (uint32_t)json_integer_value(t);
    return check_unique_keyids(out, role, diag);
}

static enum nb_err parse_roles(const json_t *v, struct nb_root *out, struct nb_diag *diag)
{
    static const char *const names[] = {"root", "release", "director"};
    enum nb_err err = check_fields(v, "roles", names, 3, diag);
    for (int r = 0; err == NB_OK && r < NB_ROLE_COUNT; r++)
        err = parse_role(json_object_get(v, names[r]), names[r], &out->roles[r], diag);
    return err;
}

/* An endpoint is an http(s) URL of printable ASCII: a space, control or
 * non-ASCII character could split or disguise a URL in a request or log. */
static enum nb_err parse_endpoint(const json_t *v, size_t idx, char *out, struct nb_diag *diag)
{
    if (!json_is_string(v))
        return nb_diag_set(diag, NB_EPARSE, "root: endpoint %zu: not a string", idx + 1);
    const char *s = json_string_value(v);
    size_t len = json_string_length(v);
    if (len > NB_ENDPOINT_MAX)
        return nb_diag_set(diag, NB_ELENGTH, "root: endpoint %zu: over %d characters", idx + 1,
                           NB_ENDPOINT_MAX);
    size_t scheme = strncmp(s, "https://", 8) == 0 ? 8 : strncmp(s, "http://", 7) == 0 ? 7 : 0;
    if (scheme == 0 || len == scheme)
        return nb_diag_set(diag, NB_EPARSE, "root: endpoint %zu: not an http(s) URL", idx + 1);
    for (size_t i = 0; i < len; i++) {
        if ((unsigned char)s[i] <= ' ' || (unsigned char)s[i] >= 0x7f)
            return nb_diag_set(diag, NB_EPARSE, "root: endpoint %zu: bad character at %zu", idx + 1,
                               i);
    }
    memcpy(out, s, len + 1);
    return NB_OK;
}

static enum nb_err parse_endpoints(const json_t *v, struct nb_root *out, struct nb_diag *diag)
{
    if (!json_is_array(v) || json_array_size(v) == 0)
        return nb_diag_set(diag, NB_EPARSE, "root: field 'endpoints': not a non-empty array");
    size_t n = json_array_size(v);
    if (n > NB_ROOT_MAX_ENDPOINTS)
        return nb_diag_set(diag, NB_ELENGTH, "root: %zu endpoints, at most %d", n,
                           NB_ROOT_MAX_ENDPOINTS);
    for (size_t i = 0; i < n; i++) {
        enum nb_err err = parse_endpoint(json_array_get(v, i), i, out->endpoints[i], diag);
        if (err != NB_OK)
            return err;
    }
    out->n_endpoints = n;
    return NB_OK;
}

static enum nb_err parse_doc(const json_t *doc, struct nb_root *out, struct nb_diag *diag)
{
    static const char *const names[] = {"type", "spec", "version", "expires", "roles", "endpoints"};
    enum nb_err err = check_fields(doc, "payload", names, 6, diag);
    if (err != NB_OK)
        return err;
    const json_t *type = json_object_get(doc, "type");
    if (!json_is_string(type) || strcmp(json_string_value(type), "root") != 0)
        return nb_diag_set(diag, NB_EPARSE, "root: field 'type': not \"root\"");
    long long spec = 0, version = 0, expires = 0;
    if ((err = get_int(doc, "spec", NB_ROOT_SPEC, NB_ROOT_SPEC, &spec, diag)) != NB_OK ||
        (err = get_int(doc, "version", 1, VERSION_MAX, &version, diag)) != NB_OK ||
        (err = get_int(doc, "expires", 0, INT64_MAX, &expires, diag)) != NB_OK)
        return err;
    out->version = (uint32_t)version;
    out->expires = (int64_t)expires;
    err = parse_roles(json_object_get(doc, "roles"), out, diag);
    if (err == NB_OK)
        err = parse_endpoints(json_object_get(doc, "endpoints"), out, diag);
    return err;
}

enum nb_err nb_root_parse(const uint8_t *payload, size_t len, struct nb_root *out,
                          struct nb_diag *diag)
{
    if (len > NB_ROOT_PAYLOAD_MAX)
        return nb_diag_set(diag, NB_ELENGTH, "root: payload of %zu bytes, at most %d", len,
                           NB_ROOT_PAYLOAD_MAX);
    json_error_t jerr;
    json_t *doc = json_loadb((const char *)payload, len, JSON_REJECT_DUPLICATES, &jerr);
    if (doc == NULL)
        return nb_diag_set(diag, NB_EPARSE, "root: invalid JSON at byte %d: %.80s", jerr.position,
                           jerr.text);
    struct nb_root tmp;
    memset(&tmp, 0, sizeof tmp);
    enum nb_err err = parse_doc(doc, &tmp, diag);
    json_decref(doc);
    if (err == NB_OK)
        *out = tmp;
    return err;
}

/* ---- writing -------------------------------------------------------------- */

static json_t *role_json(const struct nb_role *r)
{
    json_t *keys = json_array();
    for (size_t i = 0; keys != NULL && i < r->n_keys && i < NB_ROLE_MAX_KEYS; i++) {
        char hex[2 * NB_ED25519_PUB_LEN + 1];
        if (nb_hex_encode(r->keys[i].pub, sizeof r->keys[i].pub, hex, sizeof hex) != NB_OK ||
            json_array_append_new(
                keys, json_pack("{s:s, s:s}", "keyid", r->keys[i].keyid, "ed25519", hex)) != 0) {
            json_decref(keys);
            return NULL;
        }
    }
    return json_pack("{s:I, s:o}", "threshold", (json_int_t)r->threshold, "keys", keys);
}

/* The writer is a plain serialiser (tests write broken roots on purpose);
 * the parser is where rules are enforced. */
static json_t *root_json(const struct nb_root *root)
{
    json_t *eps = json_array();
    for (size_t i = 0; eps != NULL && i < root->n_endpoints && i < NB_ROOT_MAX_ENDPOINTS; i++) {
        if (json_array_append_new(eps, json_string(root->endpoints[i])) != 0) {
            json_decref(eps);
            return NULL;
        }
    }
    json_t *roles = json_pack("{s:o, s:o, s:o}", "root", role_json(&root->roles[NB_ROLE_ROOT]),
                              "release", role_json(&root->roles[NB_ROLE_RELEASE]), "director",
                              role_json(&root->roles[NB_ROLE_DIRECTOR]));
    return json_pack("{s:s, s:i, s:I, s:I, s:o, s:o}", "type", "root", "spec", NB_ROOT_SPEC,
                     "version", (json_int_t)root->version, "expires", (json_int_t)root->expires,
                     "roles", roles, "endpoints", eps);
}

enum nb_err nb_root_write(const struct nb_root *root, char *out, size_t out_cap, size_t *out_len)
{
    json_t *doc = root_json(root);
    if (doc == NULL)
        return NB_ENOMEM;
    enum nb_err err = NB_ENOSPC;
    size_t need = json_dumpb(doc, NULL, 0, JSON_COMPACT);
    if (need != 0 && need < out_cap && json_dumpb(doc, out, out_cap, JSON_COMPACT) == need) {
        out[need] = '\0';
        *out_len = need;
        err = NB_OK;
    }
    json_decref(doc);
    return err;
}

/* ---- trust and the chain -------------------------------------------------- */

enum nb_err nb_root_load_trusted(const uint8_t *text, size_t len, uint8_t *scratch,
                                 size_t scratch_len, struct nb_root *out, struct nb_diag *diag)
{
    struct nb_envelope env;
    enum nb_err err = nb_envelope_parse(text, len, scratch, scratch_len, &env, diag);
    if (err != NB_OK)
        return err;
    if (strcmp(env.payload_type, NB_PAYLOAD_ROOT) != 0)
        return nb_diag_set(diag, NB_EPARSE, "root: payload type '%s', expected '%s'",
                           env.payload_type, NB_PAYLOAD_ROOT);
    /* The one parse before verify: the root taken on trust is where the keys
     * come from. It is the operator's own provisioned file, not network data. */
    struct nb_root tmp;
    err = nb_root_parse(env.payload, env.payload_len, &tmp, diag);
    if (err != NB_OK)
        return err;
    size_t n_valid = 0;
    err =
        nb_envelope_verify_counted(&env, NB_PAYLOAD_ROOT, &tmp.roles[NB_ROLE_ROOT], &n_valid, NULL);
    if (err != NB_OK)
        return nb_diag_set(diag, err, "signed by %zu of %u required v%u root keys (its own)",
                           n_valid, tmp.roles[NB_ROLE_ROOT].threshold, tmp.version);
    *out = tmp;
    return NB_OK;
}

/* Verifies env with the root role of root, wording failures as
 * "signed by 1 of 2 required v3 root keys". */
static enum nb_err verify_by(const struct nb_envelope *env, const struct nb_root *root,
                             const char *whose, struct nb_diag *diag)
{
    struct nb_diag inner;
    nb_diag_clear(&inner);
    size_t n_valid = 0;
    const struct nb_role *role = &root->roles[NB_ROLE_ROOT];
    enum nb_err err = nb_envelope_verify_counted(env, NB_PAYLOAD_ROOT, role, &n_valid, &inner);
    if (err == NB_ESIG || err == NB_ETHRESHOLD)
        return nb_diag_set(diag, err, "signed by %zu of %u required v%u root keys%s", n_valid,
                           role->threshold, root->version, whose);
    if (err != NB_OK)
        return nb_diag_set(diag, err, "%s", inner.msg);
    return NB_OK;
}

enum nb_err nb_root_step(const struct nb_root *trusted, const uint8_t *next, size_t next_len,
                         uint8_t *scratch, size_t scratch_len, struct nb_root *out,
                         struct nb_diag *diag)
{
    struct nb_envelope env;
    enum nb_err err = nb_envelope_parse(next, next_len, scratch, scratch_len, &env, diag);
    if (err != NB_OK)
        return err;
    /* Verify before parse: the payload is untrusted until the keys we
     * already trust have signed it (SECURITY.md 29). */
    err = verify_by(&env, trusted, "", diag);
    if (err != NB_OK)
        return err;
    struct nb_root cand;
    err = nb_root_parse(env.payload, env.payload_len, &cand, diag);
    if (err != NB_OK)
        return err;
    /* The new keys must sign too: they prove they are held (SECURITY.md 9). */
    err = verify_by(&env, &cand, " (its own)", diag);
    if (err != NB_OK)
        return err;
    /* Exactly N+1: a replay or an older root is a rollback, and a skipped
     * version would bypass the keys of the one in between (SECURITY.md 10). */
    if (cand.version != trusted->version + 1)
        return nb_diag_set(diag, NB_EROLLBACK, "version %u offered after v%u, expected v%u",
                           cand.version, trusted->version, trusted->version + 1);
    *out = cand;
    return NB_OK;
}

enum nb_err nb_root_walk(const struct nb_root *trusted, const uint8_t *const *texts,
                         const size_t *lens, size_t n, uint8_t *scratch, size_t scratch_len,
                         struct nb_root *out, size_t *n_steps, struct nb_diag *diag)
{
    struct nb_root cur = *trusted;
    struct nb_root next;
    enum nb_err err = NB_OK;
    size_t i = 0;
    for (; i < n; i++) {
        /* A flood of published roots costs at most this many steps
         * (SECURITY.md 11); the walk resumes from here next time. */
        if (i == NB_ROOT_MAX_STEPS) {
            err = nb_diag_set(diag, NB_ELENGTH, "root chain: more than %d rotations at once",
                              NB_ROOT_MAX_STEPS);
            break;
        }
        err = nb_root_step(&cur, texts[i], lens[i], scratch, scratch_len, &next, diag);
        if (err != NB_OK)
            break;
        cur = next;
    }
    *out = cur;
    *n_steps = i;
    return err;
}

/* Days since 1970-01-01 to a civil date (Howard Hinnant's algorithm). */
static void civil_from_days(int64_t z, int64_t *y, unsigned *m, unsigned *d)
{
    z += 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    unsigned doe = (unsigned)(z - era * 146097);
    unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    unsigned mp = (5 * doy + 2) / 153;
    *d = doy - (153 * mp + 2) / 5 + 1;
    *m = mp < 10 ? mp + 3 : mp - 9;
    *y = (int64_t)yoe + era * 400 + (*m <= 2);
}

void nb_root_date(int64_t t, char out[NB_ROOT_DATE_LEN])
{
    int64_t days = t / 86400 - (t % 86400 < 0);
    int64_t y = 0;
    unsigned m = 0, d = 0;
    civil_from_days(days, &y, &m, &d);
    (void)snprintf(out, NB_ROOT_DATE_LEN, "%04lld-%02u-%02u", (long long)y, m, d);
}

enum nb_err nb_root_check_expiry(const struct nb_root *root, int64_t now, struct nb_diag *diag)
{
    if (now < root->expires)
        return NB_OK;
    char date[NB_ROOT_DATE_LEN];
    nb_root_date(root->expires, date);
    return nb_diag_set(diag, NB_EEXPIRED, "root v%u expired on %s", root->version, date);
}
