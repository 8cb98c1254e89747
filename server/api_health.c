/* Operations endpoints: GET /healthz (the store answers: 200, else 503) and
 * GET /metrics (Prometheus text format). Public: they reveal counts, never
 * fleet data; put them behind the load balancer's ACL when that matters. */
#include "api.h"
#include "metrics.h"

#include <nobrick/alloc.h>

#include <microhttpd.h>

static void healthz(struct srv *srv, struct http_req *req)
{
    int version = 0;
    enum nb_err err = srv->store.ops->ping(&srv->store);
    if (err == NB_OK)
        err = srv->store.ops->schema_version(&srv->store, &version);
    if (err != NB_OK) {
        http_reply_error(req, MHD_HTTP_SERVICE_UNAVAILABLE, nb_errname(err), NULL,
                         "store unavailable: %s", nb_strerror(err));
        return;
    }
    http_reply_json(req, MHD_HTTP_OK,
                    json_pack("{s:s, s:i}", "status", "ok", "schema_version", version));
}

static void metrics(struct srv *srv, struct http_req *req)
{
    (void)srv;
    size_t cap = 16 * 1024;
    char *text = nb_malloc(cap);
    size_t len = text != NULL ? srv_metrics_render(text, cap) : 0;
    struct MHD_Response *r =
        len > 0 ? MHD_create_response_from_buffer_with_free_callback(len, text, nb_free) : NULL;
    if (r == NULL) {
        nb_free(text);
        http_reply_error(req, MHD_HTTP_INTERNAL_SERVER_ERROR, "E_NOMEM", NULL, "out of memory");
        return;
    }
    (void)MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE,
                                  "text/plain; version=0.0.4; charset=utf-8");
    http_reply_raw(req, MHD_HTTP_OK, r);
}

static const struct http_route routes[] = {
    {"GET", "/healthz", HTTP_PUBLIC, STORE_ROLE_VIEWER, HTTP_BODY_NONE, healthz},
    {"GET", "/metrics", HTTP_PUBLIC, STORE_ROLE_VIEWER, HTTP_BODY_NONE, metrics},
};

const struct http_routes api_health_routes = {routes, sizeof routes / sizeof routes[0]};
