/* Releases, /api/v1/releases: upload a bundle (verified against the newest
 * published root before it is accepted: release signatures, frame table, every
 * frame), list, show, withdraw. Bundles are stored content-addressed; the
 * database keeps the signed facts a check-in needs. */
#include "api.h"
#include "body.h"
#include "metrics.h"

#include <nobrick/bundle_file.h>
#include <nobrick/alloc.h>
#include <nobrick/encoding.h>

#include <microhttpd.h>
#include <stdio.h>
#include <string.h>

static json_t *span(uint64_t off, uint64_t len)
{
    return json_pack("{s:I, s:I}", "offset", (json_int_t)off, "length", (json_int_t)len);
}

static json_t *release_json(const struct store_release *r)
{
    json_t *hw = json_loads(r->hw_classes, 0, NULL);
    return json_pack(
        "{s:I, s:s, s:s, s:I, s:o, s:s, s:s, s:I, s:o, s:o, s:o, s:b, s:I, s:b}", "id",
        (json_int_t)r->id, "version", r->version, "component", r->component, "security_counter",
        (json_int_t)r->security_counter, "hw_classes", hw != NULL ? hw : json_array(),
        "envelope_sha256", r->envelope_sha256, "bundle_sha256", r->bundle_sha256, "bundle_size",
        (json_int_t)r->bundle_size, "envelope", span(r->envelope_off, r->envelope_len), "table",
        span(r->table_off, r->table_len), "frames", span(r->frames_off, r->frames_len), "encrypted",
        r->encrypted, "created_at", (json_int_t)r->created_at, "withdrawn", r->withdrawn);
}

static enum nb_err hw_classes_json(const struct nb_release *rel, char *out, size_t cap)
{
    json_t *a = json_array();
    for (size_t i = 0; i < rel->n_hw_classes; i++)
        json_array_append_new(a, json_string(rel->hw_classes[i]));
    size_t n = json_dumpb(a, out, cap - 1, JSON_COMPACT);
    json_decref(a);
    if (n == 0 || n >= cap)
        return NB_ELENGTH;
    out[n] = '\0';
    return NB_OK;
}

/* Where the parts are and the digest of the signed envelope, read back from
 * the verified file. */
static enum nb_err locate(struct nb_bundle_reader *rd, struct store_release *r)
{
    uint8_t hdr[NB_BUNDLE_HEADER_LEN], digest[NB_SHA256_LEN];
    struct nb_bundle_header h;
    enum nb_err err = rd->ops->read_at(rd, 0, hdr, sizeof hdr, NULL);
    if (err == NB_OK)
        err = nb_bundle_header_parse(hdr, rd->len, &h, NULL);
    uint8_t *env = err == NB_OK ? nb_malloc(h.envelope_len) : NULL;
    if (err == NB_OK && env == NULL)
        err = NB_ENOMEM;
    if (err == NB_OK)
        err = rd->ops->read_at(rd, h.envelope_off, env, h.envelope_len, NULL);
    if (err == NB_OK)
        err = nb_sha256(env, h.envelope_len, digest);
    if (err == NB_OK)
        err = nb_hex_encode(digest, sizeof digest, r->envelope_sha256, sizeof r->envelope_sha256);
    nb_free(env);
    if (err == NB_OK) {
        r->envelope_off = h.envelope_off;
        r->envelope_len = h.envelope_len;
        r->table_off = h.table_off;
        r->table_len = h.table_len;
        r->frames_off = h.frames_off;
        r->frames_len = h.frames_len;
        r->bundle_size = h.total_len;
    }
    return err;
}

static enum nb_err verify_upload(struct srv *srv, const char *path, struct store_release *r,
                                 struct nb_diag *diag)
{
    struct nb_bundle_reader rd;
    struct nb_bundle_verified v;
    struct nb_root *root = nb_malloc(sizeof *root); /* the newest published root */
    if (root == NULL)
        return NB_ENOMEM;
    srv_roots_newest(srv->roots, root);
    enum nb_err err = nb_bundle_reader_open_file(&rd, path, diag);
    if (err == NB_OK)
        err = nb_bundle_file_verify(root, &rd, NULL, NULL, &v, diag);
    nb_free(root);
    if (err == NB_OK)
        err = locate(&rd, r);
    nb_bundle_reader_close(&rd);
    if (err != NB_OK)
        return err;
    (void)snprintf(r->version, sizeof r->version, "%s", v.rel.version);
    (void)snprintf(r->component, sizeof r->component, "%s", v.rel.component);
    r->security_counter = v.rel.security_counter;
    r->encrypted = v.rel.encrypted;
    return hw_classes_json(&v.rel, r->hw_classes, sizeof r->hw_classes);
}

static void upload(struct srv *srv, struct http_req *req)
{
    struct store_release r;
    struct nb_diag diag = {{0}};
    memset(&r, 0, sizeof r);
    enum nb_err err = verify_upload(srv, req->upload->path, &r, &diag);
    if (err != NB_OK) {
        http_reply_error(req, MHD_HTTP_BAD_REQUEST, nb_errname(err), "bundle", "bundle refused: %s",
                         diag.msg[0] ? diag.msg : nb_strerror(err));
        return;
    }
    memcpy(r.bundle_sha256, req->upload->hex, sizeof r.bundle_sha256);
    r.created_at = srv_now();
    /* The file is published before the row that names it exists. */
    err = artifact_upload_publish(&srv->arts, req->upload);
    struct store_audit au = auth_audit(&req->who, r.created_at, "release.upload", "release");
    (void)snprintf(au.detail, sizeof au.detail, "{\"version\":\"%s\",\"bundle_sha256\":\"%s\"}",
                   r.version, r.bundle_sha256);
    if (err == NB_OK)
        err = srv->store.ops->release_add(&srv->store, &r, &au);
    if (err != NB_OK) {
        http_reply_store_error(req, err, "release with this signed envelope");
        return;
    }
    srv_metric_add(SRV_M_UPLOADS, 1);
    http_reply_json(req, MHD_HTTP_CREATED, release_json(&r));
}

static bool collect(void *arg, const struct store_release *r)
{
    json_array_append_new(arg, release_json(r));
    return true;
}

static void list(struct srv *srv, struct http_req *req)
{
    json_t *a = json_array();
    enum nb_err err = srv->store.ops->release_list(&srv->store, STORE_LIST_MAX, 0, collect, a);
    if (err != NB_OK) {
        json_decref(a);
        http_reply_store_error(req, err, "releases");
        return;
    }
    http_reply_json(req, MHD_HTTP_OK, json_pack("{s:o}", "releases", a));
}

static bool get_release(struct srv *srv, struct http_req *req, struct store_release *r)
{
    int64_t id = 0;
    if (!body_parse_id(req->params[0], &id)) {
        http_reply_error(req, MHD_HTTP_BAD_REQUEST, "E_PARSE", "id", "not a release id");
        return false;
    }
    enum nb_err err = srv->store.ops->release_get(&srv->store, id, r);
    if (err != NB_OK)
        http_reply_store_error(req, err, "release");
    return err == NB_OK;
}

static void show(struct srv *srv, struct http_req *req)
{
    struct store_release r;
    if (get_release(srv, req, &r))
        http_reply_json(req, MHD_HTTP_OK, release_json(&r));
}

static void withdraw(struct srv *srv, struct http_req *req)
{
    struct store_release r;
    if (!get_release(srv, req, &r))
        return;
    char object[40];
    (void)snprintf(object, sizeof object, "release:%lld", (long long)r.id);
    struct store_audit au = auth_audit(&req->who, srv_now(), "release.withdraw", object);
    enum nb_err err = srv->store.ops->release_withdraw(&srv->store, r.id, &au);
    if (err == NB_OK)
        err = srv->store.ops->release_get(&srv->store, r.id, &r);
    if (err != NB_OK)
        http_reply_store_error(req, err, "release");
    else
        http_reply_json(req, MHD_HTTP_OK, release_json(&r));
}

static const struct http_route routes[] = {
    {"POST", "/api/v1/releases", HTTP_AUTH, STORE_ROLE_OPERATOR, HTTP_BODY_FILE, upload},
    {"GET", "/api/v1/releases", HTTP_AUTH, STORE_ROLE_VIEWER, HTTP_BODY_NONE, list},
    {"GET", "/api/v1/releases/{}", HTTP_AUTH, STORE_ROLE_VIEWER, HTTP_BODY_NONE, show},
    {"POST", "/api/v1/releases/{}/withdraw", HTTP_AUTH, STORE_ROLE_OPERATOR, HTTP_BODY_NONE,
     withdraw},
};

const struct http_routes api_release_routes = {routes, sizeof routes / sizeof routes[0]};
