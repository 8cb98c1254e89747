/* Strict request-body parsing (body.h). jansson parses with
 * JSON_REJECT_DUPLICATES and without JSON_DISABLE_EOF_CHECK, so duplicate
 * keys and trailing bytes are refused; the caps on the body itself are
 * enforced by http.c before parsing. */
#include "body.h"

#include <microhttpd.h>
#include <string.h>

static bool fail(struct http_req *req, const char *field, const char *what)
{
    http_reply_error(req, MHD_HTTP_BAD_REQUEST, "E_PARSE", field, "field '%s': %s", field, what);
    return false;
}

json_t *body_object(struct http_req *req, const char *const *allowed)
{
    json_error_t jerr;
    json_t *obj = json_loadb((const char *)req->body, req->body_len, JSON_REJECT_DUPLICATES, &jerr);
    if (!json_is_object(obj)) {
        json_decref(obj);
        http_reply_error(req, MHD_HTTP_BAD_REQUEST, "E_PARSE", NULL,
                         "body is not a JSON object: %.150s", obj == NULL ? jerr.text : "");
        return NULL;
    }
    const char *key;
    json_t *val;
    json_object_foreach(obj, key, val)
    {
        bool ok = false;
        for (size_t i = 0; allowed[i] != NULL && !ok; i++)
            ok = strcmp(key, allowed[i]) == 0;
        if (!ok) {
            char name[64];
            size_t n = strnlen(key, sizeof name - 1);
            memcpy(name, key, n);
            name[n] = '\0';
            (void)fail(req, name, "unknown field");
            json_decref(obj);
            return NULL;
        }
    }
    return obj;
}

static bool printable(const char *s, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        if (s[i] < 0x20 || s[i] > 0x7e)
            return false;
    }
    return true;
}

bool body_string(struct http_req *req, const json_t *obj, const char *field, size_t max,
                 bool required, char *out)
{
    const json_t *v = json_object_get(obj, field);
    out[0] = '\0';
    if (v == NULL)
        return required ? fail(req, field, "missing") : true;
    if (!json_is_string(v))
        return fail(req, field, "not a string");
    size_t len = json_string_length(v);
    if (len == 0 || len > max) {
        char what[64];
        (void)snprintf(what, sizeof what, "length must be 1..%zu", max);
        return fail(req, field, what);
    }
    if (!printable(json_string_value(v), len))
        return fail(req, field, "not printable ASCII");
    memcpy(out, json_string_value(v), len);
    out[len] = '\0';
    return true;
}

bool body_is_name(const char *s)
{
    size_t len = strlen(s);
    if (len == 0 || len > STORE_NAME_MAX)
        return false;
    for (size_t i = 0; i < len; i++) {
        char c = s[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '.' || c == '_' || c == '-'))
            return false;
    }
    return true;
}

bool body_name(struct http_req *req, const json_t *obj, const char *field, bool required, char *out)
{
    if (!body_string(req, obj, field, STORE_NAME_MAX, required, out))
        return false;
    if (out[0] != '\0' && !body_is_name(out))
        return fail(req, field, "only letters, digits, '.', '_' and '-' are allowed");
    return true;
}

bool body_hex(struct http_req *req, const json_t *obj, const char *field, size_t n, char *out)
{
    if (!body_string(req, obj, field, 2 * n, true, out))
        return false;
    size_t len = strlen(out);
    for (size_t i = 0; i < len; i++) {
        if (!((out[i] >= '0' && out[i] <= '9') || (out[i] >= 'a' && out[i] <= 'f')))
            return fail(req, field, "not lowercase hex");
    }
    if (len != 2 * n) {
        char what[64];
        (void)snprintf(what, sizeof what, "must be %zu hex characters", 2 * n);
        return fail(req, field, what);
    }
    return true;
}

bool body_uint(struct http_req *req, const json_t *obj, const char *field, uint64_t max,
               bool required, uint64_t *out)
{
    const json_t *v = json_object_get(obj, field);
    if (v == NULL)
        return required ? fail(req, field, "missing") : true;
    if (!json_is_integer(v) || json_integer_value(v) < 0 || (uint64_t)json_integer_value(v) > max) {
        char what[64];
        (void)snprintf(what, sizeof what, "must be an integer 0..%llu", (unsigned long long)max);
        return fail(req, field, what);
    }
    *out = (uint64_t)json_integer_value(v);
    return true;
}

bool body_parse_id(const char *s, int64_t *out)
{
    int64_t v = 0;
    if (s[0] == '\0' || s[0] == '0' || strlen(s) > 18)
        return false;
    for (; *s != '\0'; s++) {
        if (*s < '0' || *s > '9')
            return false;
        v = v * 10 + (*s - '0');
    }
    *out = v;
    return true;
}
