/* The DSSE-style signed envelope: strict parsing of its three fields, PAE,
 * threshold verification over distinct public keys, and writing.
 * The payload is decoded but never interpreted here: callers parse it only
 * after nb_envelope_verify has accepted it (verify before parse). */
#include <nobrick/encoding.h>
#include <nobrick/envelope.h>

#include <jansson.h>
#include <stdio.h>
#include <string.h>

#define SIG_B64_MAX 96 /* base64 of 64 bytes is 88 characters */

/* Writes v in decimal into buf (room for 20 digits); returns the length. */
static size_t put_dec(char *buf, size_t v)
{
    char tmp[24];
    size_t n = 0;
    do {
        tmp[n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v != 0);
    for (size_t i = 0; i < n; i++)
        buf[i] = tmp[n - 1 - i];
    return n;
}

/* "DSSEv1 LEN(type) type LEN(payload) " into hdr (NB_PAE_HEADER_MAX). */
static size_t pae_header(const char *type, size_t type_len, size_t payload_len,
                         char hdr[NB_PAE_HEADER_MAX])
{
    size_t n = 0;
    memcpy(hdr, "DSSEv1 ", 7);
    n = 7;
    n += put_dec(hdr + n, type_len);
    hdr[n++] = ' ';
    memcpy(hdr + n, type, type_len);
    n += type_len;
    hdr[n++] = ' ';
    n += put_dec(hdr + n, payload_len);
    hdr[n++] = ' ';
    return n;
}

enum nb_err nb_pae(const char *type, const uint8_t *payload, size_t payload_len, uint8_t *out,
                   size_t out_cap, size_t *out_len)
{
    size_t type_len = strlen(type);
    if (type_len == 0 || type_len > NB_PAYLOAD_TYPE_MAX)
        return NB_EINVAL;
    char hdr[NB_PAE_HEADER_MAX];
    size_t hdr_len = pae_header(type, type_len, payload_len, hdr);
    if (out_cap < hdr_len || out_cap - hdr_len < payload_len)
        return NB_ENOSPC;
    memcpy(out, hdr, hdr_len);
    if (payload_len > 0)
        memcpy(out + hdr_len, payload, payload_len);
    *out_len = hdr_len + payload_len;
    return NB_OK;
}

enum nb_err nb_keyid(const uint8_t pub[NB_ED25519_PUB_LEN], char out[NB_KEYID_MAX + 1])
{
    uint8_t digest[NB_SHA256_LEN];
    enum nb_err err = nb_sha256(pub, NB_ED25519_PUB_LEN, digest);
    if (err != NB_OK)
        return err;
    return nb_hex_encode(digest, sizeof digest, out, NB_KEYID_MAX + 1);
}

/* ---- parsing -------------------------------------------------------------- */

/* Accepts exactly the fields in names[0..n-1], all present: an unknown field
 * could be a critical one a newer writer meant us to honour. */
static enum nb_err check_fields(const json_t *obj, const char *what, const char *const *names,
                                size_t n, struct nb_diag *diag)
{
    if (!json_is_object(obj))
        return nb_diag_set(diag, NB_EPARSE, "%s: not a JSON object", what);
    const char *key;
    json_t *val;
    json_object_foreach((json_t *)obj, key, val)
    {
        size_t i = 0;
        while (i < n && strcmp(key, names[i]) != 0)
            i++;
        if (i == n)
            return nb_diag_set(diag, NB_EPARSE, "%s: unknown field '%.40s'", what, key);
    }
    for (size_t i = 0; i < n; i++) {
        if (json_object_get(obj, names[i]) == NULL)
            return nb_diag_set(diag, NB_EPARSE, "%s: missing field '%s'", what, names[i]);
    }
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

/* payloadType: 1..63 printable ASCII characters, no spaces. */
static enum nb_err parse_type(const json_t *v, struct nb_envelope *env, struct nb_diag *diag)
{
    if (!json_is_string(v))
        return nb_diag_set(diag, NB_EPARSE, "envelope: field 'payloadType': not a string");
    const char *s = json_string_value(v);
    size_t len = json_string_length(v);
    if (len == 0 || len > NB_PAYLOAD_TYPE_MAX)
        return nb_diag_set(diag, NB_EPARSE, "envelope: field 'payloadType': %zu characters", len);
    for (size_t i = 0; i < len; i++) {
        if (s[i] <= ' ' || s[i] > '~')
            return nb_diag_set(diag, NB_EPARSE, "envelope: field 'payloadType': bad character");
    }
    memcpy(env->payload_type, s, len + 1);
    return NB_OK;
}

/* Decodes the payload right after NB_PAE_HEADER_MAX bytes of scratch, then
 * writes the PAE header just before it, so env->pae is one contiguous span. */
static enum nb_err parse_payload(const json_t *v, uint8_t *scratch, size_t scratch_len,
                                 struct nb_envelope *env, struct nb_diag *diag)
{
    if (!json_is_string(v))
        return nb_diag_set(diag, NB_EPARSE, "envelope: field 'payload': not a string");
    size_t b64_len = json_string_length(v);
    if (scratch_len <= NB_PAE_HEADER_MAX)
        return nb_diag_set(diag, NB_ELENGTH, "envelope: scratch buffer too small");
    size_t cap = scratch_len - NB_PAE_HEADER_MAX;
    if (cap > NB_PAYLOAD_MAX)
        cap = NB_PAYLOAD_MAX;
    /* Refuse by the encoded size first: no work on an oversized payload. */
    if (b64_len > nb_base64_len(cap))
        return nb_diag_set(diag, NB_ELENGTH, "envelope: field 'payload': over %zu bytes", cap);
    uint8_t *payload = scratch + NB_PAE_HEADER_MAX;
    size_t len = 0;
    enum nb_err err = nb_base64_decode(json_string_value(v), b64_len, payload, cap, &len);
    if (err == NB_ELENGTH)
        return nb_diag_set(diag, err, "envelope: field 'payload': over %zu bytes", cap);
    if (err != NB_OK)
        return nb_diag_set(diag, NB_EPARSE, "envelope: field 'payload': not strict base64");
    if (len == 0)
        return nb_diag_set(diag, NB_EPARSE, "envelope: field 'payload': empty");
    char hdr[NB_PAE_HEADER_MAX];
    size_t hdr_len = pae_header(env->payload_type, strlen(env->payload_type), len, hdr);
    memcpy(payload - hdr_len, hdr, hdr_len);
    env->payload = payload;
    env->payload_len = len;
    env->pae = payload - hdr_len;
    env->pae_len = hdr_len + len;
    return NB_OK;
}

/* One {"keyid":"<hex>","sig":"<base64>"} entry. A signature that decodes to
 * other than 64 bytes (an empty one above all) is E_SIG, never skipped:
 * SECURITY.md 3, "zero signatures" must not pass as a signed file. */
static enum nb_err parse_sig(const json_t *v, size_t idx, struct nb_signature *out,
                             struct nb_diag *diag)
{
    static const char *const names[] = {"keyid", "sig"};
    char what[32];
    (void)snprintf(what, sizeof what, "envelope: signature %zu", idx + 1);
    enum nb_err err = check_fields(v, what, names, 2, diag);
    if (err != NB_OK)
        return err;
    const json_t *kid = json_object_get(v, "keyid");
    const json_t *sig = json_object_get(v, "sig");
    if (!json_is_string(kid) || json_string_length(kid) == 0 ||
        json_string_length(kid) > NB_KEYID_MAX ||
        !is_lower_hex(json_string_value(kid), json_string_length(kid)))
        return nb_diag_set(diag, NB_EPARSE, "%s: field 'keyid': not 1-64 lowercase hex", what);
    if (!json_is_string(sig) || json_string_length(sig) > SIG_B64_MAX)
        return nb_diag_set(diag, NB_EPARSE, "%s: field 'sig': not a base64 signature", what);
    size_t len = 0;
    err = nb_base64_decode(json_string_value(sig), json_string_length(sig), out->sig,
                           sizeof out->sig, &len);
    if (err != NB_OK && err != NB_ELENGTH)
        return nb_diag_set(diag, NB_EPARSE, "%s: field 'sig': not strict base64", what);
    if (err == NB_ELENGTH || len != NB_ED25519_SIG_LEN)
        return nb_diag_set(diag, NB_ESIG, "%s: not a 64-byte Ed25519 signature", what);
    memcpy(out->keyid, json_string_value(kid), json_string_length(kid) + 1);
    return NB_OK;
}

static enum nb_err parse_sigs(const json_t *v, struct nb_envelope *env, struct nb_diag *diag)
{
    if (!json_is_array(v))
        return nb_diag_set(diag, NB_EPARSE, "envelope: field 'signatures': not an array");
    size_t n = json_array_size(v);
    if (n > NB_ENVELOPE_MAX_SIGS)
        return nb_diag_set(diag, NB_ELENGTH, "envelope: %zu signatures, at most %d", n,
                           NB_ENVELOPE_MAX_SIGS);
    for (size_t i = 0; i < n; i++) {
        enum nb_err err = parse_sig(json_array_get(v, i), i, &env->sigs[i], diag);
        if (err != NB_OK)
            return err;
    }
    env->n_sigs = n;
    return NB_OK;
}

static enum nb_err parse_doc(const json_t *doc, uint8_t *scratch, size_t scratch_len,
                             struct nb_envelope *env, struct nb_diag *diag)
{
    static const char *const names[] = {"payloadType", "payload", "signatures"};
    enum nb_err err = check_fields(doc, "envelope", names, 3, diag);
    if (err == NB_OK)
        err = parse_type(json_object_get(doc, "payloadType"), env, diag);
    if (err == NB_OK)
        err = parse_sigs(json_object_get(doc, "signatures"), env, diag);
    if (err == NB_OK)
        err = parse_payload(json_object_get(doc, "payload"), scratch, scratch_len, env, diag);
    return err;
}

enum nb_err nb_envelope_parse(const uint8_t *text, size_t len, uint8_t *scratch, size_t scratch_len,
                              struct nb_envelope *env, struct nb_diag *diag)
{
    /* Cap before the JSON parser sees a byte (SECURITY.md 20). */
    if (len > NB_ENVELOPE_MAX)
        return nb_diag_set(diag, NB_ELENGTH, "envelope: %zu bytes, at most %d", len,
                           NB_ENVELOPE_MAX);
    /* Duplicate keys refused; jansson refuses trailing bytes unless told. */
    json_error_t jerr;
    json_t *doc = json_loadb((const char *)text, len, JSON_REJECT_DUPLICATES, &jerr);
    if (doc == NULL)
        return nb_diag_set(diag, NB_EPARSE, "envelope: invalid JSON at byte %d: %.80s",
                           jerr.position, jerr.text);
    struct nb_envelope tmp;
    memset(&tmp, 0, sizeof tmp);
    enum nb_err err = parse_doc(doc, scratch, scratch_len, &tmp, diag);
    json_decref(doc);
    if (err == NB_OK)
        *env = tmp;
    return err;
}

/* ---- verification --------------------------------------------------------- */

/* "root", "release", "director" for messages; the type itself otherwise. */
static const char *type_label(const char *type)
{
    if (strcmp(type, NB_PAYLOAD_ROOT) == 0)
        return "root";
    if (strcmp(type, NB_PAYLOAD_RELEASE) == 0)
        return "release";
    if (strcmp(type, NB_PAYLOAD_DIRECTOR) == 0)
        return "director";
    return type;
}

/* Adds pub to seen[] unless already there: the threshold counts public keys,
 * so one key listed twice, under two keyids or signing twice counts once
 * (SECURITY.md 5 and 6). */
static void count_key(const uint8_t *pub, const uint8_t *seen[], size_t *n_seen)
{
    for (size_t i = 0; i < *n_seen; i++) {
        if (memcmp(seen[i], pub, NB_ED25519_PUB_LEN) == 0)
            return;
    }
    seen[(*n_seen)++] = pub;
}

/* Verifies one signature against every role key whose keyid it names. The
 * keyid only selects candidates; the signature decides (SECURITY.md 4). */
static bool verify_one(const struct nb_envelope *env, const struct nb_signature *sig,
                       const struct nb_role *role, const uint8_t *seen[], size_t *n_seen)
{
    bool ok = false;
    for (size_t k = 0; k < role->n_keys; k++) {
        const struct nb_key *key = &role->keys[k];
        if (strcmp(key->keyid, sig->keyid) != 0)
            continue;
        if (nb_ed25519_verify(key->pub, env->pae, env->pae_len, sig->sig) == NB_OK) {
            count_key(key->pub, seen, n_seen);
            ok = true;
        }
    }
    return ok;
}

enum nb_err nb_envelope_verify_counted(const struct nb_envelope *env, const char *expected_type,
                                       const struct nb_role *role, size_t *n_valid,
                                       struct nb_diag *diag)
{
    const char *label = type_label(expected_type);
    *n_valid = 0;
    /* Threshold 0 would make zero signatures enough (SECURITY.md 7). */
    if (role->threshold == 0 || role->n_keys > NB_ROLE_MAX_KEYS)
        return nb_diag_set(diag, NB_EPARSE, "%s role: threshold %u with %zu keys", label,
                           role->threshold, role->n_keys);
    /* The PAE binds the type too; this check names the confusion early. */
    if (strcmp(env->payload_type, expected_type) != 0)
        return nb_diag_set(diag, NB_EPARSE, "%s envelope: payload type '%s', expected '%s'", label,
                           env->payload_type, expected_type);
    const uint8_t *seen[NB_ROLE_MAX_KEYS];
    size_t n_seen = 0;
    for (size_t i = 0; i < env->n_sigs && i < NB_ENVELOPE_MAX_SIGS; i++)
        (void)verify_one(env, &env->sigs[i], role, seen, &n_seen);
    *n_valid = n_seen;
    if (n_seen >= role->threshold)
        return NB_OK;
    return nb_diag_set(diag, n_seen == 0 ? NB_ESIG : NB_ETHRESHOLD,
                       "%s envelope: %zu of %u required keys signed (%zu signatures)", label,
                       n_seen, role->threshold, env->n_sigs);
}

enum nb_err nb_envelope_verify(const struct nb_envelope *env, const char *expected_type,
                               const struct nb_role *role, struct nb_diag *diag)
{
    size_t n_valid = 0;
    return nb_envelope_verify_counted(env, expected_type, role, &n_valid, diag);
}

/* ---- writing -------------------------------------------------------------- */

static json_t *sigs_json(const struct nb_signature *sigs, size_t n_sigs)
{
    json_t *arr = json_array();
    for (size_t i = 0; arr != NULL && i < n_sigs; i++) {
        char b64[SIG_B64_MAX + 1];
        if (nb_base64_encode(sigs[i].sig, sizeof sigs[i].sig, b64, sizeof b64) != NB_OK ||
            json_array_append_new(
                arr, json_pack("{s:s, s:s}", "keyid", sigs[i].keyid, "sig", b64)) != 0) {
            json_decref(arr);
            return NULL;
        }
    }
    return arr;
}

enum nb_err nb_envelope_write(const char *type, const uint8_t *payload, size_t payload_len,
                              const struct nb_signature *sigs, size_t n_sigs, char *out,
                              size_t out_cap, size_t *out_len)
{
    if (payload_len > NB_PAYLOAD_MAX || n_sigs > NB_ENVELOPE_MAX_SIGS)
        return NB_ELENGTH;
    /* The base64 text goes through out first (the core has no heap of its
     * own); out must hold at least that much anyway. */
    size_t b64_len = nb_base64_len(payload_len);
    if (out_cap <= b64_len)
        return NB_ENOSPC;
    if (nb_base64_encode(payload, payload_len, out, out_cap) != NB_OK)
        return NB_ENOSPC;
    json_t *doc = json_object();
    enum nb_err err = NB_ENOMEM;
    if (doc == NULL || json_object_set_new(doc, "payloadType", json_string(type)) != 0 ||
        json_object_set_new(doc, "payload", json_stringn(out, b64_len)) != 0 ||
        json_object_set_new(doc, "signatures", sigs_json(sigs, n_sigs)) != 0)
        goto out;
    size_t need = json_dumpb(doc, NULL, 0, JSON_COMPACT);
    err = NB_ENOSPC;
    if (need == 0 || need >= out_cap)
        goto out;
    if (json_dumpb(doc, out, out_cap, JSON_COMPACT) != need)
        goto out;
    out[need] = '\0';
    *out_len = need;
    err = NB_OK;
out:
    json_decref(doc);
    return err;
}
