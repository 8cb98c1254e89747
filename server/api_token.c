/* API tokens and the audit log: /api/v1/tokens (admin: create, list,
 * revoke; a token's secret is shown once, only its hash is stored) and
 * /api/v1/audit (newest first, paged with ?before=ID). */
#include "api.h"
#include "body.h"

#include <nobrick/crypto.h>

#include <microhttpd.h>
#include <stdio.h>
#include <string.h>

static json_t *token_json(const struct store_token *t)
{
    return json_pack("{s:I, s:s, s:s, s:I, s:b}", "id", (json_int_t)t->id, "role",
                     store_role_name(t->role), "name", t->name, "created_at",
                     (json_int_t)t->created_at, "revoked", t->revoked);
}

static void create(struct srv *srv, struct http_req *req)
{
    static const char *const fields[] = {"role", "name", NULL};
    char role_name[STORE_NAME_MAX + 1], name[STORE_NAME_MAX + 1];
    enum store_role role = STORE_ROLE_VIEWER;
    json_t *o = body_object(req, fields);
    bool ok = o != NULL && body_name(req, o, "role", true, role_name) &&
              body_name(req, o, "name", true, name);
    json_decref(o);
    if (!ok)
        return;
    if (store_role_parse(role_name, &role) != NB_OK || role == STORE_ROLE_DEVICE) {
        http_reply_error(req, MHD_HTTP_BAD_REQUEST, "E_PARSE", "role",
                         "field 'role': viewer, operator or admin");
        return;
    }
    int64_t now = srv_now(), id = 0;
    struct store_audit au = auth_audit(&req->who, now, "token.create", "token");
    (void)snprintf(au.detail, sizeof au.detail, "{\"role\":\"%s\",\"name\":\"%s\"}", role_name,
                   name);
    char secret[AUTH_TOKEN_LEN + 1];
    enum nb_err err = auth_create_api_token(&srv->store, role, name, now, &au, secret, &id);
    if (err != NB_OK) {
        http_reply_store_error(req, err, "token");
        return;
    }
    http_reply_json(req, MHD_HTTP_CREATED,
                    json_pack("{s:I, s:s, s:s, s:s}", "id", (json_int_t)id, "role", role_name,
                              "name", name, "token", secret));
    nb_wipe(secret, sizeof secret);
}

static bool collect_token(void *arg, const struct store_token *t)
{
    json_array_append_new(arg, token_json(t));
    return true;
}

static void list(struct srv *srv, struct http_req *req)
{
    json_t *a = json_array();
    enum nb_err err = srv->store.ops->token_list(&srv->store, collect_token, a);
    if (err != NB_OK) {
        json_decref(a);
        http_reply_store_error(req, err, "tokens");
        return;
    }
    http_reply_json(req, MHD_HTTP_OK, json_pack("{s:o}", "tokens", a));
}

static void revoke_token(struct srv *srv, struct http_req *req)
{
    int64_t id = 0;
    if (!body_parse_id(req->params[0], &id)) {
        http_reply_error(req, MHD_HTTP_BAD_REQUEST, "E_PARSE", "id", "not a token id");
        return;
    }
    char object[40];
    (void)snprintf(object, sizeof object, "token:%lld", (long long)id);
    struct store_audit au = auth_audit(&req->who, srv_now(), "token.revoke", object);
    enum nb_err err = srv->store.ops->token_revoke(&srv->store, id, &au);
    if (err != NB_OK)
        http_reply_store_error(req, err, "token");
    else
        http_reply_json(req, MHD_HTTP_OK,
                        json_pack("{s:I, s:b}", "id", (json_int_t)id, "revoked", 1));
}

/* ---- audit ------------------------------------------------------------------ */

static bool collect_audit(void *arg, const struct store_audit *a)
{
    json_t *detail = json_loads(a->detail, 0, NULL);
    json_array_append_new(arg, json_pack("{s:I, s:I, s:s, s:s, s:s, s:o}", "id", (json_int_t)a->id,
                                         "at", (json_int_t)a->at, "actor", a->actor, "action",
                                         a->action, "object", a->object, "detail",
                                         detail != NULL ? detail : json_object()));
    return true;
}

static void audit(struct srv *srv, struct http_req *req)
{
    int64_t before = 0, limit = 100;
    const char *b = http_query(req, "before"), *l = http_query(req, "limit");
    if ((b != NULL && !body_parse_id(b, &before)) || (l != NULL && !body_parse_id(l, &limit))) {
        http_reply_error(req, MHD_HTTP_BAD_REQUEST, "E_PARSE", b != NULL ? "before" : "limit",
                         "a positive number");
        return;
    }
    json_t *a = json_array();
    enum nb_err err =
        srv->store.ops->audit_list(&srv->store, before, (size_t)limit, collect_audit, a);
    if (err != NB_OK) {
        json_decref(a);
        http_reply_store_error(req, err, "audit log");
        return;
    }
    http_reply_json(req, MHD_HTTP_OK, json_pack("{s:o}", "entries", a));
}

static const struct http_route routes[] = {
    {"POST", "/api/v1/tokens", HTTP_AUTH, STORE_ROLE_ADMIN, HTTP_BODY_JSON, create},
    {"GET", "/api/v1/tokens", HTTP_AUTH, STORE_ROLE_ADMIN, HTTP_BODY_NONE, list},
    {"DELETE", "/api/v1/tokens/{}", HTTP_AUTH, STORE_ROLE_ADMIN, HTTP_BODY_NONE, revoke_token},
    {"GET", "/api/v1/audit", HTTP_AUTH, STORE_ROLE_VIEWER, HTTP_BODY_NONE, audit},
};

const struct http_routes api_token_routes = {routes, sizeof routes / sizeof routes[0]};
