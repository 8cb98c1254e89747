/* Request bodies as strict JSON (body.c): one object, duplicate keys and
 * trailing bytes refused, unknown fields refused, and every field checked
 * for type, size and characters. Each function replies 400 with a JSON error
 * naming the field and returns false (NULL) on bad input, so a handler
 * stops before it changes anything. */
#ifndef NOBRICK_SERVER_BODY_H
#define NOBRICK_SERVER_BODY_H

#include "http.h"

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The body as an object with only the allowed fields (NULL-terminated
 * list); the caller json_decref()s it. */
json_t *body_object(struct http_req *req, const char *const *allowed);

/* A string of 1..max printable ASCII characters into out (max + 1 bytes).
 * When absent: "" if !required, else an error. */
bool body_string(struct http_req *req, const json_t *obj, const char *field, size_t max,
                 bool required, char *out);
/* Like body_string, restricted to a name: [A-Za-z0-9._-], 1..63. */
bool body_name(struct http_req *req, const json_t *obj, const char *field, bool required,
               char *out);
/* Exactly 2*n lowercase hex characters into out (2n + 1 bytes). */
bool body_hex(struct http_req *req, const json_t *obj, const char *field, size_t n, char *out);
/* A JSON integer 0..max; *out untouched when absent and !required. */
bool body_uint(struct http_req *req, const json_t *obj, const char *field, uint64_t max,
               bool required, uint64_t *out);

/* The same check as body_name, for names from paths and query strings. */
bool body_is_name(const char *s);

/* A positive decimal id from a path (no sign, no leading zero, < 10^18). */
bool body_parse_id(const char *s, int64_t *out);

#endif
