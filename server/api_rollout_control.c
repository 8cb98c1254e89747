/* Rollout control, /api/v1/rollouts: rollback, approve, advance (a wave
 * opened against the gate) and the emergency stop-all. Handlers parse,
 * call rollout_control.c or the store, and render; every change is
 * audited in the store's transaction. docs/api.md "Rollout control". */
#include "api.h"
#include "body.h"
#include "rollout_control.h"

#include <microhttpd.h>
#include <stdio.h>
#include <string.h>

/* A required "reason" (1..STORE_TEXT_MAX characters) from the body. */
static bool parse_reason(struct http_req *req, char reason[STORE_TEXT_MAX / 2 + 1])
{
    static const char *const fields[] = {"reason", NULL};
    json_t *o = body_object(req, fields);
    bool ok = o != NULL && body_string(req, o, "reason", STORE_TEXT_MAX / 2, true, reason);
    json_decref(o);
    return ok;
}

static void rollback(struct srv *srv, struct http_req *req)
{
    static _Thread_local struct store_rollout bad, rb;
    static const char *const fields[] = {"release", NULL};
    char version[STORE_NAME_MAX + 1] = "", why[ROLLOUT_WHY_MAX] = "";
    json_t *o = body_object(req, fields);
    bool ok = o != NULL && body_string(req, o, "release", STORE_NAME_MAX, false, version);
    json_decref(o);
    if (!ok || !api_rollout_get(srv, req, &bad))
        return;
    enum nb_err err =
        rollout_rollback(srv, &bad, version, req->who.actor, srv_now(), &rb, why, sizeof why);
    if (err == NB_OK)
        http_reply_json(req, MHD_HTTP_CREATED, api_rollout_json(&rb));
    else if (err == NB_EROLLBACK || err == NB_EEXIST || err == NB_EINVAL)
        http_reply_error(req, MHD_HTTP_CONFLICT, nb_errname(err), "release", "%s", why);
    else if (err == NB_ENOENT && why[0] != '\0')
        http_reply_error(req, MHD_HTTP_NOT_FOUND, "E_NOENT", "release", "%s", why);
    else
        http_reply_store_error(req, err, "rollback");
}

static void approve(struct srv *srv, struct http_req *req)
{
    static _Thread_local struct store_rollout r;
    if (!api_rollout_get(srv, req, &r))
        return;
    if (strcmp(r.created_by, req->who.actor) == 0) {
        http_reply_error(req, MHD_HTTP_FORBIDDEN, "E_APPROVAL", NULL,
                         "rollout %lld was created by %s: a second operator (another token) "
                         "approves it",
                         (long long)r.id, r.created_by);
        return;
    }
    char object[40];
    (void)snprintf(object, sizeof object, "rollout:%lld", (long long)r.id);
    struct store_audit au = auth_audit(&req->who, srv_now(), "rollout.approve", object);
    enum nb_err err =
        srv->store.ops->rollout_approve(&srv->store, r.id, req->who.actor, au.at, &au);
    size_t missing = 0;
    if (err == NB_EINVAL)
        http_reply_error(req, MHD_HTTP_CONFLICT, "E_STATE", NULL,
                         "rollout %lld is %s: only a draft is approved", (long long)r.id,
                         store_rollout_state_name(r.state));
    else if (err == NB_EEXIST)
        http_reply_error(req, MHD_HTTP_CONFLICT, "E_EXIST", NULL,
                         "%s approved rollout %lld already", req->who.actor, (long long)r.id);
    else if (err != NB_OK || (err = rollout_approvals_missing(srv, &r, &missing)) != NB_OK)
        http_reply_store_error(req, err, "approval");
    else
        http_reply_json(req, MHD_HTTP_OK,
                        json_pack("{s:I, s:s, s:I}", "id", (json_int_t)r.id, "approved_by",
                                  req->who.actor, "approvals_missing", (json_int_t)missing));
}

static void advance(struct srv *srv, struct http_req *req)
{
    static _Thread_local struct store_rollout r;
    char reason[STORE_TEXT_MAX / 2 + 1] = "", object[40];
    if (!parse_reason(req, reason) || !api_rollout_get(srv, req, &r))
        return;
    (void)snprintf(object, sizeof object, "rollout:%lld", (long long)r.id);
    struct store_audit au = auth_audit(&req->who, srv_now(), "rollout.advance", object);
    json_t *d = json_pack("{s:i, s:s}", "wave", r.current_wave + 1, "reason", reason);
    size_t n = json_dumpb(d, au.detail, sizeof au.detail - 1, JSON_COMPACT);
    au.detail[n < sizeof au.detail ? n : 0] = '\0';
    json_decref(d);
    enum nb_err err = NB_OK;
    if (r.state == STORE_ROLLOUT_PAUSED) {
        struct store_audit resumed = auth_audit(&req->who, au.at, "rollout.resume", object);
        err = srv->store.ops->rollout_set_state(&srv->store, r.id, STORE_ROLLOUT_PAUSED,
                                                STORE_ROLLOUT_RUNNING, "", au.at, &resumed);
        r.state = err == NB_OK ? STORE_ROLLOUT_RUNNING : r.state;
    }
    if (err == NB_OK && r.state != STORE_ROLLOUT_RUNNING)
        err = NB_EINVAL;
    if (err == NB_OK)
        err = rollout_force_wave(srv, &r, &au, au.at);
    if (err == NB_ENOSPC || err == NB_EINVAL) {
        if (err == NB_ENOSPC)
            http_reply_error(req, MHD_HTTP_CONFLICT, "E_STATE", NULL,
                             "rollout %lld is at its last wave (%d)", (long long)r.id,
                             r.current_wave);
        else
            http_reply_error(req, MHD_HTTP_CONFLICT, "E_STATE", NULL,
                             "rollout %lld is %s: only a running or paused rollout advances",
                             (long long)r.id, store_rollout_state_name(r.state));
        return;
    }
    if (err == NB_OK)
        err = srv->store.ops->rollout_get(&srv->store, r.id, &r);
    if (err != NB_OK) {
        http_reply_store_error(req, err, "rollout");
        return;
    }
    rollout_engine_wake(srv->engine);
    http_reply_json(req, MHD_HTTP_OK, api_rollout_json(&r));
}

static void stop_all(struct srv *srv, struct http_req *req)
{
    char reason[STORE_TEXT_MAX / 2 + 1] = "", full[STORE_TEXT_MAX + 1], esc[STORE_TEXT_MAX + 1];
    size_t rollouts = 0, deployments = 0;
    if (!parse_reason(req, reason))
        return;
    (void)snprintf(full, sizeof full, "emergency stop by %s: %s", req->who.actor, reason);
    json_t *s = json_string(full);
    size_t n = json_dumpb(s, esc, sizeof esc - 1, JSON_COMPACT | JSON_ENCODE_ANY);
    json_decref(s);
    if (n < 2 || n >= sizeof esc - 1) {
        http_reply_error(req, MHD_HTTP_BAD_REQUEST, "E_LENGTH", "reason", "too long");
        return;
    }
    esc[n - 1] = '\0'; /* the string's body, without its quotes */
    struct store_audit tmpl = auth_audit(&req->who, srv_now(), "rollout.stop", "");
    enum nb_err err = srv->store.ops->stop_all(&srv->store, full, esc + 1, tmpl.at, &tmpl,
                                               &rollouts, &deployments);
    if (err != NB_OK) {
        http_reply_store_error(req, err, "stop-all");
        return;
    }
    http_reply_json(req, MHD_HTTP_OK,
                    json_pack("{s:I, s:I, s:s}", "rollouts_paused", (json_int_t)rollouts,
                              "deployments_stopped", (json_int_t)deployments, "reason", full));
}

static const struct http_route routes[] = {
    {"POST", "/api/v1/rollouts/stop-all", HTTP_AUTH, STORE_ROLE_ADMIN, HTTP_BODY_JSON, stop_all},
    {"POST", "/api/v1/rollouts/{}/rollback", HTTP_AUTH, STORE_ROLE_OPERATOR, HTTP_BODY_JSON,
     rollback},
    {"POST", "/api/v1/rollouts/{}/approve", HTTP_AUTH, STORE_ROLE_OPERATOR, HTTP_BODY_NONE,
     approve},
    {"POST", "/api/v1/rollouts/{}/advance", HTTP_AUTH, STORE_ROLE_OPERATOR, HTTP_BODY_JSON,
     advance},
};

const struct http_routes api_rollout_control_routes = {routes, sizeof routes / sizeof routes[0]};
