/* libmicrohttpd glue (http.h). Each request gets a state on its first
 * callback, where the route, the load, the credentials and the announced
 * length are checked before a byte of body is read; bodies are accumulated
 * up to the route's cap (413 past it) or streamed to a temporary artifact;
 * the handler runs once the body is complete. Responses carry no-store and
 * nosniff headers; errors are JSON naming the field. */
#include "api.h"
#include "log.h"
#include "metrics.h"

#include <nobrick/alloc.h>
#include <nobrick/fileio.h>

#include <arpa/inet.h>
#include <microhttpd.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct http_server {
    struct MHD_Daemon *d;
    struct srv *srv;
    atomic_uint inflight;
    char *tls_cert, *tls_key; /* PEM text, NUL-terminated */
};

struct conn_state {
    struct http_req req;
    const struct http_route *route;
    uint8_t *buf;
    size_t len, cap;
    uint64_t drained; /* body bytes dropped after a refusal */
    struct artifact_upload up;
    bool up_open, started;
    struct http_server *h;
};

static const struct http_routes *const tables[] = {
    &api_health_routes,     &api_device_routes,          &api_release_routes, &api_fleet_routes,
    &api_deployment_routes, &api_rollout_control_routes, &api_rollout_routes, &api_token_routes,
    &api_root_routes,       &api_safety_routes,
};

/* ---- routing ------------------------------------------------------------------ */

/* Matches path against pattern segment by segment; "{}" captures one
 * non-empty segment of at most STORE_ID_MAX characters. */
static bool match(const char *pattern, const char *path, struct http_req *req)
{
    size_t n = 0;
    while (*pattern != '\0' && *path != '\0') {
        if (strncmp(pattern, "{}", 2) == 0) {
            size_t len = strcspn(path, "/");
            if (len == 0 || len > STORE_ID_MAX || n == HTTP_MAX_PARAMS)
                return false;
            memcpy(req->params[n], path, len);
            req->params[n++][len] = '\0';
            pattern += 2;
            path += len;
        } else if (*pattern++ != *path++) {
            return false;
        }
    }
    return *pattern == '\0' && *path == '\0';
}

static bool method_matches(const char *route_method, const char *method)
{
    /* HEAD is GET without the body (libmicrohttpd drops it). */
    return strcmp(route_method, method) == 0 ||
           (strcmp(method, "HEAD") == 0 && strcmp(route_method, "GET") == 0);
}

/* The route for method and path. When the path is known under other
 * methods only, allow lists them (for 405 and its Allow header); it stays
 * empty for an unknown path (404). */
static const struct http_route *find_route(const char *method, const char *path,
                                           struct http_req *req, char *allow, size_t allow_cap)
{
    allow[0] = '\0';
    for (size_t t = 0; t < sizeof tables / sizeof tables[0]; t++) {
        for (size_t i = 0; i < tables[t]->n; i++) {
            const struct http_route *r = &tables[t]->routes[i];
            if (!match(r->pattern, path, req))
                continue;
            if (method_matches(r->method, method))
                return r;
            size_t n = strlen(allow);
            (void)snprintf(allow + n, allow_cap - n, "%s%s", n > 0 ? ", " : "", r->method);
        }
    }
    return NULL;
}

/* ---- replies ------------------------------------------------------------------ */

static void add_common_headers(struct MHD_Response *r, bool json)
{
    if (json)
        (void)MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, "application/json");
    (void)MHD_add_response_header(r, "X-Content-Type-Options", "nosniff");
}

void http_reply_raw(struct http_req *req, unsigned status, struct MHD_Response *resp)
{
    if (req->resp != NULL)
        MHD_destroy_response(req->resp);
    req->status = status;
    req->resp = resp;
}

void http_reply_json(struct http_req *req, unsigned status, json_t *body)
{
    size_t len = body != NULL ? json_dumpb(body, NULL, 0, JSON_COMPACT) : 0;
    char *buf = nb_malloc(len + 1);
    struct MHD_Response *r = NULL;
    if (buf != NULL && json_dumpb(body, buf, len, JSON_COMPACT) == len) {
        buf[len++] = '\n';
        r = MHD_create_response_from_buffer_with_free_callback(len, buf, nb_free);
    }
    json_decref(body);
    if (r == NULL) {
        nb_free(buf);
        srv_log(SRV_LOG_ERROR, "cannot render a response (out of memory)");
        r = MHD_create_response_from_buffer(0, (void *)"", MHD_RESPMEM_PERSISTENT);
        status = MHD_HTTP_INTERNAL_SERVER_ERROR;
    }
    add_common_headers(r, true);
    (void)MHD_add_response_header(r, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
    http_reply_raw(req, status, r);
}

void http_reply_error(struct http_req *req, unsigned status, const char *code, const char *field,
                      const char *fmt, ...)
{
    char msg[300];
    va_list ap;
    va_start(ap, fmt);
    (void)vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    json_t *err = json_pack("{s:s, s:o, s:s}", "code", code, "field",
                            field != NULL ? json_string(field) : json_null(), "message", msg);
    http_reply_json(req, status, json_pack("{s:o}", "error", err));
}

void http_reply_store_error(struct http_req *req, enum nb_err err, const char *what)
{
    if (err == NB_ENOENT) {
        http_reply_error(req, MHD_HTTP_NOT_FOUND, "E_NOENT", NULL, "%s not found", what);
        return;
    }
    if (err == NB_EEXIST) {
        http_reply_error(req, MHD_HTTP_CONFLICT, "E_EXIST", NULL, "%s already exists", what);
        return;
    }
    srv_log(SRV_LOG_ERROR, "%s %s: %s: %s", req->method, req->path, what, nb_strerror(err));
    http_reply_error(req, MHD_HTTP_INTERNAL_SERVER_ERROR, nb_errname(err), NULL,
                     "%s: internal error (%s)", what, nb_strerror(err));
}

const char *http_query(const struct http_req *req, const char *key)
{
    return MHD_lookup_connection_value(req->conn, MHD_GET_ARGUMENT_KIND, key);
}

const char *http_header(const struct http_req *req, const char *name)
{
    return MHD_lookup_connection_value(req->conn, MHD_HEADER_KIND, name);
}

static enum MHD_Result send_reply(struct conn_state *cs)
{
    struct http_req *req = &cs->req;
    if (req->resp == NULL)
        http_reply_error(req, MHD_HTTP_INTERNAL_SERVER_ERROR, "E_IO", NULL, "no response");
    unsigned cls = req->status / 100;
    srv_metric_add(cls == 2   ? SRV_M_REQ_2XX
                   : cls == 3 ? SRV_M_REQ_3XX
                   : cls == 4 ? SRV_M_REQ_4XX
                              : SRV_M_REQ_5XX,
                   1);
    srv_log(SRV_LOG_DEBUG, "%s %s -> %u", req->method, req->path, req->status);
    enum MHD_Result rc = MHD_queue_response(req->conn, req->status, req->resp);
    MHD_destroy_response(req->resp);
    req->resp = NULL;
    return rc;
}

/* ---- the request's first callback: checks before any body ----------------------- */

static void reply_retry(struct http_req *req, unsigned status, uint32_t after_s)
{
    char v[16];
    (void)snprintf(v, sizeof v, "%u", after_s);
    http_reply_error(req, status, "E_BUSY", NULL, "server busy; retry after %u s", after_s);
    (void)MHD_add_response_header(req->resp, MHD_HTTP_HEADER_RETRY_AFTER, v);
}

static bool check_auth(struct conn_state *cs)
{
    struct http_req *req = &cs->req;
    const char *h = http_header(req, MHD_HTTP_HEADER_AUTHORIZATION);
    if (h == NULL || strncmp(h, "Bearer ", 7) != 0) {
        srv_metric_add(SRV_M_AUTH_FAIL, 1);
        http_reply_error(req, MHD_HTTP_UNAUTHORIZED, "E_UNAUTHORIZED", "Authorization",
                         "a bearer token is required");
        return false;
    }
    enum nb_err err = auth_check(&cs->h->srv->store, h + 7, srv_now(), &req->who);
    if (err != NB_OK) {
        if (err != NB_EUNAUTHORIZED)
            http_reply_store_error(req, err, "token lookup");
        else
            http_reply_error(req, MHD_HTTP_UNAUTHORIZED, "E_UNAUTHORIZED", "Authorization",
                             "unknown, revoked or expired token");
        srv_metric_add(SRV_M_AUTH_FAIL, 1);
        return false;
    }
    if (!auth_allows(req->who.role, cs->route->need)) {
        http_reply_error(req, MHD_HTTP_FORBIDDEN, "E_FORBIDDEN", NULL,
                         "this needs the %s role; the token has %s",
                         store_role_name(cs->route->need), store_role_name(req->who.role));
        return false;
    }
    return true;
}

static uint64_t body_cap(const struct conn_state *cs)
{
    const struct srv_config *c = &cs->h->srv->cfg;
    return cs->route->body == HTTP_BODY_FILE   ? c->max_upload
           : cs->route->body == HTTP_BODY_JSON ? c->max_json_body
                                               : 0;
}

static void reply_too_large(struct http_req *req, uint64_t cap)
{
    http_reply_error(req, MHD_HTTP_CONTENT_TOO_LARGE, "E_LENGTH", NULL,
                     "request body larger than %llu bytes", (unsigned long long)cap);
}

/* Refuses an announced body over the cap before reading it. */
static bool check_length(struct conn_state *cs)
{
    const char *cl = http_header(&cs->req, MHD_HTTP_HEADER_CONTENT_LENGTH);
    if (cl == NULL)
        return true;
    char *end = NULL;
    unsigned long long n = strtoull(cl, &end, 10);
    if (end == cl || *end != '\0' || n > body_cap(cs)) {
        reply_too_large(&cs->req, body_cap(cs));
        return false;
    }
    return true;
}

/* Returns true when the request may go on to its body and handler. */
static bool admit(struct conn_state *cs)
{
    struct http_req *req = &cs->req;
    char allow[64];
    cs->route = find_route(req->method, req->path, req, allow, sizeof allow);
    if (cs->route == NULL) {
        bool known = allow[0] != '\0';
        http_reply_error(req, known ? MHD_HTTP_METHOD_NOT_ALLOWED : MHD_HTTP_NOT_FOUND,
                         known ? "E_METHOD" : "E_NOENT", NULL, "%s %s: %s", req->method, req->path,
                         known ? "method not allowed" : "no such resource");
        if (known)
            (void)MHD_add_response_header(req->resp, MHD_HTTP_HEADER_ALLOW, allow);
        return false;
    }
    const struct srv_config *c = &cs->h->srv->cfg;
    if (atomic_load(&cs->h->inflight) > c->max_inflight) {
        srv_metric_add(SRV_M_SHED, 1);
        reply_retry(req, MHD_HTTP_SERVICE_UNAVAILABLE, c->retry_after_s);
        return false;
    }
    if (cs->route->access == HTTP_AUTH && !check_auth(cs))
        return false;
    if (!check_length(cs))
        return false;
    if (cs->route->body == HTTP_BODY_FILE) {
        if (artifact_upload_begin(&cs->h->srv->arts, &cs->up) != NB_OK) {
            http_reply_error(req, MHD_HTTP_INTERNAL_SERVER_ERROR, "E_IO", NULL,
                             "cannot create a temporary file");
            return false;
        }
        cs->up_open = true;
    }
    return true;
}

/* ---- body and completion ------------------------------------------------------------ */

static bool take_body(struct conn_state *cs, const char *data, size_t len)
{
    uint64_t cap = body_cap(cs);
    uint64_t have = cs->route->body == HTTP_BODY_FILE ? cs->up.len : cs->len;
    if (len > cap || have > cap - len) {
        reply_too_large(&cs->req, cap);
        return false;
    }
    if (cs->route->body == HTTP_BODY_FILE) {
        if (artifact_upload_write(&cs->up, data, len) == NB_OK)
            return true;
        http_reply_error(&cs->req, MHD_HTTP_INSUFFICIENT_STORAGE, "E_NOSPC", NULL,
                         "cannot store the upload");
        return false;
    }
    if (cs->len + len + 1 > cs->cap) {
        size_t want = cs->len + len + 1 > 2 * cs->cap ? cs->len + len + 1 : 2 * cs->cap;
        uint8_t *p = nb_realloc(cs->buf, want);
        if (p == NULL) {
            http_reply_error(&cs->req, MHD_HTTP_SERVICE_UNAVAILABLE, "E_NOMEM", NULL,
                             "out of memory");
            return false;
        }
        cs->buf = p;
        cs->cap = want;
    }
    memcpy(cs->buf + cs->len, data, len);
    cs->len += len;
    return true;
}

static void run_handler(struct conn_state *cs)
{
    struct http_req *req = &cs->req;
    if (cs->route->body == HTTP_BODY_JSON) {
        req->body = cs->buf != NULL ? cs->buf : (const uint8_t *)"";
        req->body_len = cs->len;
        if (cs->buf != NULL)
            cs->buf[cs->len] = '\0';
    }
    if (cs->route->body == HTTP_BODY_FILE) {
        if (artifact_upload_close(&cs->up) != NB_OK) {
            http_reply_error(req, MHD_HTTP_INTERNAL_SERVER_ERROR, "E_IO", NULL,
                             "cannot store the upload");
            return;
        }
        req->upload = &cs->up;
    }
    cs->route->fn(cs->h->srv, req);
}

/* MHD can queue a response only before the body or after all of it, so a
 * refused body (too large, or none expected) is read and dropped, up to
 * DRAIN_MAX more bytes, and the error goes out at the end; a client that
 * sends more is cut off. */
#define DRAIN_MAX (1024 * 1024)

static enum MHD_Result on_body(struct conn_state *cs, const char *data, size_t *size)
{
    size_t n = *size;
    *size = 0;
    if (cs->req.resp != NULL) {
        cs->drained += n;
        return cs->drained > DRAIN_MAX ? MHD_NO : MHD_YES;
    }
    if (cs->route->body == HTTP_BODY_NONE)
        http_reply_error(&cs->req, MHD_HTTP_BAD_REQUEST, "E_PARSE", NULL,
                         "this request takes no body");
    else if (!take_body(cs, data, n))
        cs->drained = n;
    return MHD_YES;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
                                  const char *method, const char *version, const char *upload_data,
                                  size_t *upload_data_size, void **con_cls)
{
    (void)version;
    struct conn_state *cs = *con_cls;
    if (cs == NULL) {
        cs = nb_calloc(1, sizeof *cs);
        if (cs == NULL)
            return MHD_NO;
        cs->h = cls;
        cs->up.fd = -1;
        cs->req.conn = conn;
        cs->req.method = method;
        cs->req.path = url;
        *con_cls = cs;
        atomic_fetch_add(&cs->h->inflight, 1);
        srv_metric_add(SRV_M_INFLIGHT, 1);
        if (!admit(cs))
            return send_reply(cs);
        return MHD_YES;
    }
    if (*upload_data_size > 0)
        return on_body(cs, upload_data, upload_data_size);
    if (cs->req.resp == NULL)
        run_handler(cs);
    return send_reply(cs);
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
    (void)cls;
    (void)conn;
    (void)toe;
    struct conn_state *cs = *con_cls;
    if (cs == NULL)
        return;
    if (cs->up_open)
        artifact_upload_abort(&cs->up);
    if (cs->req.resp != NULL)
        MHD_destroy_response(cs->req.resp);
    atomic_fetch_sub(&cs->h->inflight, 1);
    srv_metric_add(SRV_M_INFLIGHT, -1);
    nb_free(cs->buf);
    nb_free(cs);
    *con_cls = NULL;
}

/* ---- start and stop ------------------------------------------------------------------ */

/* "ADDR:PORT" with a dotted IPv4 address (IPv6 later). */
static enum nb_err parse_listen(const char *s, struct sockaddr_in *sa, struct nb_diag *diag)
{
    const char *colon = strrchr(s, ':');
    char host[64];
    if (colon == NULL || (size_t)(colon - s) >= sizeof host)
        return nb_diag_set(diag, NB_EINVAL, "--listen %s: expected ADDR:PORT", s);
    memcpy(host, s, (size_t)(colon - s));
    host[colon - s] = '\0';
    char *end = NULL;
    unsigned long port = strtoul(colon + 1, &end, 10);
    memset(sa, 0, sizeof *sa);
    sa->sin_family = AF_INET;
    if (colon[1] == '\0' || *end != '\0' || port > 65535 ||
        inet_pton(AF_INET, host, &sa->sin_addr) != 1)
        return nb_diag_set(diag, NB_EINVAL, "--listen %s: expected IPV4ADDR:PORT", s);
    sa->sin_port = htons((uint16_t)port);
    return NB_OK;
}

static void log_mhd(void *cls, const char *fmt, va_list ap)
{
    (void)cls;
    char msg[300];
    (void)vsnprintf(msg, sizeof msg, fmt, ap);
    msg[strcspn(msg, "\n")] = '\0';
    srv_log(SRV_LOG_WARN, "http: %s", msg);
}

static enum nb_err load_tls(struct http_server *h, const struct srv_config *c, struct nb_diag *diag)
{
    uint8_t *cert = NULL, *key = NULL;
    size_t len = 0;
    enum nb_err err = nb_file_read(c->tls_cert, 1 << 20, &cert, &len, diag);
    if (err == NB_OK)
        err = nb_file_read(c->tls_key, 1 << 20, &key, &len, diag);
    if (err != NB_OK) {
        nb_free(cert);
        return err;
    }
    h->tls_cert = (char *)cert;
    h->tls_key = (char *)key;
    return NB_OK;
}

/* poll(), not epoll. libmicrohttpd 0.9.75 (Debian 12) registers connection
 * sockets edge-triggered and reads its epoll set 128 events (MAX_EVENTS) at
 * a time: when a call returns exactly 128, MHD_epoll() calls epoll_wait()
 * again, with the same blocking timeout, before handling any of them. If
 * 128 (or 256, ...) connections of one thread have a request waiting at
 * once, as under a steady load of 128 clients, that second wait sleeps
 * until a new event or the connection timeout, and the requests stay
 * unread in the sockets (bench/RESULTS.md, "Server check-ins";
 * tests/integration/test_server_burst.sh provokes it). MHD_USE_AUTO picks
 * epoll on Linux. poll() is level-triggered and waits once per pass; its
 * cost per pass grows with the thread's connections, which the connection
 * limit bounds. */
static struct MHD_Daemon *start_daemon(struct http_server *h, const struct sockaddr_in *sa)
{
    const struct srv_config *c = &h->srv->cfg;
    unsigned flags = MHD_USE_POLL_INTERNAL_THREAD | MHD_USE_ERROR_LOG | MHD_USE_ITC;
    if (h->tls_cert != NULL)
        flags |= MHD_USE_TLS;
    struct MHD_OptionItem tls[] = {
        {MHD_OPTION_HTTPS_MEM_CERT, 0, h->tls_cert},
        {MHD_OPTION_HTTPS_MEM_KEY, 0, h->tls_key},
        {MHD_OPTION_END, 0, NULL},
    };
    return MHD_start_daemon(flags, 0, NULL, NULL, on_request, h, MHD_OPTION_EXTERNAL_LOGGER,
                            log_mhd, NULL, MHD_OPTION_SOCK_ADDR, sa, MHD_OPTION_THREAD_POOL_SIZE,
                            (unsigned)c->threads, MHD_OPTION_NOTIFY_COMPLETED, on_completed, h,
                            MHD_OPTION_CONNECTION_TIMEOUT, 60u, MHD_OPTION_CONNECTION_LIMIT,
                            (unsigned)c->max_inflight * 4, MHD_OPTION_ARRAY,
                            h->tls_cert != NULL ? tls : tls + 2, MHD_OPTION_END);
}

static void free_server(struct http_server *h)
{
    if (h->tls_key != NULL)
        nb_wipe(h->tls_key, strlen(h->tls_key));
    nb_free(h->tls_key);
    nb_free(h->tls_cert);
    nb_free(h);
}

enum nb_err http_start(struct srv *srv, struct http_server **out, struct nb_diag *diag)
{
    const struct srv_config *c = &srv->cfg;
    struct sockaddr_in sa;
    enum nb_err err = parse_listen(c->listen, &sa, diag);
    if (err != NB_OK)
        return err;
    struct http_server *h = nb_calloc(1, sizeof *h);
    if (h == NULL)
        return nb_diag_set(diag, NB_ENOMEM, "out of memory");
    h->srv = srv;
    if ((c->tls_cert != NULL) != (c->tls_key != NULL))
        err = nb_diag_set(diag, NB_EINVAL, "--tls-cert and --tls-key go together");
    else if (c->tls_cert != NULL)
        err = load_tls(h, c, diag);
    if (err == NB_OK) {
        h->d = start_daemon(h, &sa);
        if (h->d == NULL)
            err = nb_diag_set(diag, NB_EIO, "cannot listen on %s", c->listen);
    }
    if (err != NB_OK) {
        free_server(h);
        return err;
    }
    *out = h;
    return NB_OK;
}

unsigned http_port(const struct http_server *h)
{
    const union MHD_DaemonInfo *i = MHD_get_daemon_info(h->d, MHD_DAEMON_INFO_BIND_PORT);
    return i != NULL ? i->port : 0;
}

void http_stop(struct http_server *h)
{
    if (h == NULL)
        return;
    /* Stop accepting first; MHD_stop_daemon then waits for the requests
     * already being handled. */
    (void)MHD_quiesce_daemon(h->d);
    MHD_stop_daemon(h->d);
    free_server(h);
}
