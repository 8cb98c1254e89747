/* The HTTP layer over libmicrohttpd (http.c): a thread pool on poll(),
 * optional TLS, a routing table, request bodies accumulated with a hard cap
 * (or streamed to a temporary artifact for uploads), bearer-token checks
 * by route before any body is read, load shedding, and JSON responses and
 * errors. Handlers (api_*.c) parse, call the store, render: they see only
 * struct http_req and the reply functions below. */
#ifndef NOBRICK_SERVER_HTTP_H
#define NOBRICK_SERVER_HTTP_H

#include "artifacts.h"
#include "auth.h"
#include "srv.h"

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#define HTTP_MAX_PARAMS 3

struct http_req;
struct MHD_Response;

enum http_body { HTTP_BODY_NONE, HTTP_BODY_JSON, HTTP_BODY_FILE };
enum http_access { HTTP_PUBLIC, HTTP_AUTH }; /* HTTP_AUTH: a token with route->need */

typedef void (*http_handler)(struct srv *srv, struct http_req *req);

/* One route: "{}" in the pattern matches one path segment, captured in
 * order into req->params. */
struct http_route {
    const char *method;
    const char *pattern;
    enum http_access access;
    enum store_role need;
    enum http_body body;
    http_handler fn;
};

struct http_routes {
    const struct http_route *routes;
    size_t n;
};

/* A request as the handler sees it. */
struct http_req {
    const char *method;
    const char *path;
    char params[HTTP_MAX_PARAMS][STORE_ID_MAX + 1];
    struct auth_principal who; /* for HTTP_AUTH routes */
    const uint8_t *body;       /* HTTP_BODY_JSON: the body, NUL-terminated */
    size_t body_len;
    struct artifact_upload *upload; /* HTTP_BODY_FILE: closed, hashed, not published */
    void *conn;                     /* the MHD connection (http.c only) */
    unsigned status;
    struct MHD_Response *resp;
};

/* Replies with a JSON body (steals body's reference). */
void http_reply_json(struct http_req *req, unsigned status, json_t *body);
/* Replies {"error":{"code":CODE,"field":FIELD|null,"message":...}}. */
void http_reply_error(struct http_req *req, unsigned status, const char *code, const char *field,
                      const char *fmt, ...) __attribute__((format(printf, 5, 6)));
/* Replies 500 E_IO / 404 E_NOENT / ... for a store error; logs 5xx. */
void http_reply_store_error(struct http_req *req, enum nb_err err, const char *what);
/* Replies with a prepared MHD response (ownership passes). */
void http_reply_raw(struct http_req *req, unsigned status, struct MHD_Response *resp);
/* A query-string argument or request header; NULL when absent. */
const char *http_query(const struct http_req *req, const char *key);
const char *http_header(const struct http_req *req, const char *name);

struct http_server;

/* Starts listening on cfg->listen with the routes of the api_*.c modules.
 * TLS when cfg->tls_cert and cfg->tls_key are set. */
NB_MUST_CHECK enum nb_err http_start(struct srv *srv, struct http_server **out,
                                     struct nb_diag *diag);
/* The port actually bound (for --listen 127.0.0.1:0). */
unsigned http_port(const struct http_server *h);
/* Stops accepting, lets requests in flight finish, and frees h. */
void http_stop(struct http_server *h);

#endif
