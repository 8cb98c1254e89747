/* The root chain, /api/v1/roots (roots.h): operators publish the next
 * signed root (admin; checked as a device would check it, audited) and
 * read where the chain stands; devices fetch one version at a time from
 * /api/v1/device/roots/N, public like the signed data it is: a device
 * trusts it only after its own chain walk. */
#include "api.h"
#include "body.h"
#include "log.h"
#include "roots.h"

#include <nobrick/alloc.h>
#include <nobrick/trust.h>

#include <microhttpd.h>
#include <stdio.h>
#include <string.h>

static json_t *root_json(struct srv_roots *roots, const struct nb_root *r)
{
    json_t *eps = json_array();
    for (size_t i = 0; i < r->n_endpoints; i++)
        json_array_append_new(eps, json_string(r->endpoints[i]));
    return json_pack("{s:I, s:I, s:I, s:o}", "version", (json_int_t)r->version, "first",
                     (json_int_t)srv_roots_first(roots), "expires", (json_int_t)r->expires,
                     "endpoints", eps);
}

/* What the operator should know of a root just published over prev:
 * the release keys it drops (a device running a release signed only by
 * one refuses the root, E_UNBOOTABLE; docs/trust.md). Added to the answer
 * as "warnings", an array of sentences (empty when there is nothing to
 * say). */
static void add_warnings(json_t *answer, const struct nb_root *prev, const struct nb_root *next)
{
    json_t *w = json_array();
    size_t idx[NB_ROLE_MAX_KEYS], n = nb_root_dropped_release_keys(prev, next, idx);
    for (size_t i = 0; i < n; i++) {
        char msg[512];
        nb_root_drop_warning(next, prev->roles[NB_ROLE_RELEASE].keys[idx[i]].keyid, msg,
                             sizeof msg);
        srv_log(SRV_LOG_WARN, "%s", msg);
        json_array_append_new(w, json_string(msg));
    }
    json_object_set_new(answer, "warnings", w);
}

/* 409 for a version that is not the next one, 400 for the rest. */
static unsigned refusal_status(enum nb_err err)
{
    return err == NB_EROLLBACK ? MHD_HTTP_CONFLICT : MHD_HTTP_BAD_REQUEST;
}

static void publish(struct srv *srv, struct http_req *req)
{
    static const char *const fields[] = {"root", NULL};
    struct nb_root *accepted = nb_malloc(2 * sizeof *accepted), *prev = accepted + 1;
    struct nb_diag diag = {{0}};
    json_t *o = accepted != NULL ? body_object(req, fields) : NULL;
    const json_t *t = json_object_get(o, "root");
    if (accepted == NULL) {
        http_reply_store_error(req, NB_ENOMEM, "root");
    } else if (o != NULL && !json_is_string(t)) {
        http_reply_error(req, MHD_HTTP_BAD_REQUEST, "E_PARSE", "root",
                         "field 'root': the signed root file's text, as a string");
    } else if (o != NULL) {
        const uint8_t *text = (const uint8_t *)json_string_value(t);
        enum nb_err err = srv_roots_publish(srv->roots, text, json_string_length(t), srv_now(),
                                            prev, accepted, &diag);
        struct store_audit au = auth_audit(&req->who, srv_now(), "root.publish", "root");
        if (err == NB_OK) {
            (void)snprintf(au.object, sizeof au.object, "root:%u", (unsigned)accepted->version);
            (void)snprintf(au.detail, sizeof au.detail, "{\"version\":%u,\"endpoints\":%zu}",
                           (unsigned)accepted->version, accepted->n_endpoints);
            err = srv->store.ops->audit_append(&srv->store, &au);
            if (err != NB_OK)
                srv_log(SRV_LOG_ERROR, "audit of root v%u: %s", (unsigned)accepted->version,
                        nb_strerror(err));
            srv_log(SRV_LOG_INFO, "published root v%u", (unsigned)accepted->version);
            json_t *answer = root_json(srv->roots, accepted);
            add_warnings(answer, prev, accepted);
            http_reply_json(req, MHD_HTTP_CREATED, answer);
        } else {
            http_reply_error(req, refusal_status(err), nb_errname(err), "root",
                             "root refused: %s (the chain stays at v%u)",
                             diag.msg[0] ? diag.msg : nb_strerror(err),
                             (unsigned)srv_roots_version(srv->roots));
        }
    }
    json_decref(o);
    nb_free(accepted);
}

static void show(struct srv *srv, struct http_req *req)
{
    struct nb_root *r = nb_malloc(sizeof *r);
    if (r == NULL) {
        http_reply_store_error(req, NB_ENOMEM, "root");
        return;
    }
    srv_roots_newest(srv->roots, r);
    http_reply_json(req, MHD_HTTP_OK, root_json(srv->roots, r));
    nb_free(r);
}

/* One version's envelope text, as published (the device stores these
 * exact bytes in its trust store). */
static void device_root(struct srv *srv, struct http_req *req)
{
    int64_t v = 0;
    uint8_t *text = NULL;
    size_t len = 0;
    if (!body_parse_id(req->params[0], &v) || v > INT32_MAX) {
        http_reply_error(req, MHD_HTTP_BAD_REQUEST, "E_PARSE", "version",
                         "not a root version (1..2147483647)");
        return;
    }
    enum nb_err err = srv_roots_get(srv->roots, (uint32_t)v, &text, &len);
    if (err == NB_ENOENT) {
        http_reply_error(req, MHD_HTTP_NOT_FOUND, "E_NOENT", "version",
                         "root v%lld is not served here (versions %u..%u)", (long long)v,
                         (unsigned)srv_roots_first(srv->roots),
                         (unsigned)srv_roots_version(srv->roots));
        return;
    }
    struct MHD_Response *r =
        err == NB_OK ? MHD_create_response_from_buffer_with_free_callback(len, text, nb_free)
                     : NULL;
    if (r == NULL) {
        nb_free(text);
        http_reply_store_error(req, NB_ENOMEM, "root");
        return;
    }
    (void)MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, "application/json");
    (void)MHD_add_response_header(r, "X-Content-Type-Options", "nosniff");
    http_reply_raw(req, MHD_HTTP_OK, r);
}

static const struct http_route routes[] = {
    {"POST", "/api/v1/roots", HTTP_AUTH, STORE_ROLE_ADMIN, HTTP_BODY_JSON, publish},
    {"GET", "/api/v1/roots", HTTP_AUTH, STORE_ROLE_VIEWER, HTTP_BODY_NONE, show},
    {"GET", "/api/v1/device/roots/{}", HTTP_PUBLIC, STORE_ROLE_DEVICE, HTTP_BODY_NONE, device_root},
};

const struct http_routes api_root_routes = {routes, sizeof routes / sizeof routes[0]};
