/* Rollouts, /api/v1/rollouts: create (or a dry run that only shows the
 * plan), list, show with the per-wave funnel and the gate's reason, and the
 * controls start, pause, resume and abort. Handlers parse, call the store,
 * render; the engine (rollout_engine.c) does the rest on its ticks (on a
 * virtual clock, POST /api/v1/rollouts/tick asks for one). */
#include "api.h"
#include "body.h"
#include "clock.h"
#include "rollout.h"
#include "rollout_control.h"

#include <microhttpd.h>
#include <stdio.h>
#include <string.h>

#define LIST_MEMBERS 1000 /* members a plan shows */

json_t *api_rollout_json(const struct store_rollout *r)
{
    return json_pack("{s:I, s:I, s:s, s:s, s:s, s:i, s:s, s:s, s:I, s:I}", "id", (json_int_t)r->id,
                     "release_id", (json_int_t)r->release_id, "name", r->name, "state",
                     store_rollout_state_name(r->state), "salt", r->salt, "current_wave",
                     r->current_wave, "reason", r->reason, "created_by", r->created_by,
                     "created_at", (json_int_t)r->created_at, "updated_at",
                     (json_int_t)r->updated_at);
}

static bool usable_release(struct srv *srv, struct http_req *req, int64_t id,
                           struct store_release *r)
{
    enum nb_err err = srv->store.ops->release_get(&srv->store, id, r);
    if (err == NB_ENOENT)
        http_reply_error(req, MHD_HTTP_BAD_REQUEST, "E_NOENT", "release_id", "no release %lld",
                         (long long)id);
    else if (err != NB_OK)
        http_reply_store_error(req, err, "release");
    else if (r->withdrawn)
        http_reply_error(req, MHD_HTTP_CONFLICT, "E_STATE", "release_id", "release is withdrawn");
    return err == NB_OK && !r->withdrawn;
}

/* ---- create ------------------------------------------------------------------ */

struct create_req {
    struct store_rollout r;
    struct rollout_spec spec;
    bool dry_run;
};

static bool parse_create(struct http_req *req, struct create_req *c)
{
    static const char *const fields[] = {"release_id",
                                         "name",
                                         "salt",
                                         "dry_run",
                                         "select",
                                         "canary",
                                         "waves",
                                         "soak_s",
                                         "success_pct",
                                         "fail_pct",
                                         "fail_min",
                                         "min_finished",
                                         "cum_fail_pct",
                                         "cum_fail_min",
                                         "abort_pct",
                                         "abort_min",
                                         "unseen_wait_s",
                                         "device_timeout_s",
                                         "auto_rollback",
                                         "approvals_required",
                                         "window",
                                         "lease_s",
                                         "retry_max",
                                         "retry_backoff_s",
                                         "quarantine_s",
                                         "start_rate_per_min",
                                         "max_downloading",
                                         NULL};
    uint64_t rel = 0;
    const char *field = NULL;
    struct nb_diag diag = {{0}};
    json_t *o = body_object(req, fields);
    bool ok = o != NULL && body_uint(req, o, "release_id", INT64_MAX, true, &rel) &&
              body_name(req, o, "name", false, c->r.name) &&
              body_name(req, o, "salt", false, c->r.salt);
    const json_t *dry = json_object_get(o, "dry_run");
    if (ok && dry != NULL && !json_is_boolean(dry)) {
        http_reply_error(req, MHD_HTTP_BAD_REQUEST, "E_PARSE", "dry_run", "a boolean");
        ok = false;
    }
    c->dry_run = json_is_true(dry);
    if (ok && rollout_spec_read(o, &c->spec, &field, &diag) != NB_OK) {
        http_reply_error(req, MHD_HTTP_BAD_REQUEST, "E_PARSE", field, "%s", diag.msg);
        ok = false;
    }
    json_decref(o);
    c->r.release_id = (int64_t)rel;
    return ok;
}

/* Stores the rollout (state draft) with its audit entry. */
static enum nb_err store_rollout(struct srv *srv, struct http_req *req, struct create_req *c,
                                 const struct rollout_plan *plan)
{
    json_t *spec = rollout_spec_json(&c->spec);
    size_t n = json_dumpb(spec, c->r.spec, sizeof c->r.spec - 1, JSON_COMPACT);
    json_decref(spec);
    if (n == 0 || n >= sizeof c->r.spec - 1)
        return NB_ELENGTH;
    c->r.spec[n] = '\0';
    c->r.state = STORE_ROLLOUT_DRAFT;
    c->r.current_wave = -1;
    c->r.created_at = c->r.updated_at = srv_now();
    (void)snprintf(c->r.created_by, sizeof c->r.created_by, "%s", req->who.actor);
    struct store_audit au = auth_audit(&req->who, c->r.created_at, "rollout.create", "rollout");
    (void)snprintf(au.detail, sizeof au.detail,
                   "{\"release_id\":%lld,\"name\":\"%s\",\"devices\":%zu}",
                   (long long)c->r.release_id, c->r.name, plan->n);
    return srv->store.ops->rollout_add(&srv->store, &c->r, &au);
}

static void create(struct srv *srv, struct http_req *req)
{
    static _Thread_local struct create_req c; /* 14 KiB: off the request thread's stack */
    struct store_release rel;
    struct rollout_plan plan;
    memset(&c, 0, sizeof c);
    if (!parse_create(req, &c) || !usable_release(srv, req, c.r.release_id, &rel))
        return;
    if (c.r.name[0] == '\0')
        (void)snprintf(c.r.name, sizeof c.r.name, "release-%.50s", rel.version);
    /* The default salt comes from the release: re-created, the same waves. */
    if (c.r.salt[0] == '\0')
        (void)snprintf(c.r.salt, sizeof c.r.salt, "%.32s", rel.envelope_sha256);
    enum nb_err err = rollout_plan_make(srv, &rel, &c.spec, c.r.salt, &plan);
    if (err != NB_OK) {
        http_reply_store_error(req, err, "rollout plan");
        return;
    }
    json_t *p = rollout_plan_json(&plan, &rel, LIST_MEMBERS);
    if (c.dry_run) {
        http_reply_json(req, MHD_HTTP_OK,
                        json_pack("{s:b, s:s, s:s, s:o, s:o}", "dry_run", 1, "name", c.r.name,
                                  "salt", c.r.salt, "spec", rollout_spec_json(&c.spec), "plan", p));
    } else if ((err = store_rollout(srv, req, &c, &plan)) != NB_OK) {
        json_decref(p);
        http_reply_store_error(req, err, "rollout");
    } else {
        json_t *o = api_rollout_json(&c.r);
        json_object_set_new(o, "spec", rollout_spec_json(&c.spec));
        json_object_set_new(o, "plan", p);
        http_reply_json(req, MHD_HTTP_CREATED, o);
    }
    rollout_plan_free(&plan);
}

/* ---- read ------------------------------------------------------------------ */

static bool collect(void *arg, const struct store_rollout *r)
{
    json_array_append_new(arg, api_rollout_json(r));
    return true;
}

static void list(struct srv *srv, struct http_req *req)
{
    json_t *a = json_array();
    enum nb_err err = srv->store.ops->rollout_list(&srv->store, false, STORE_ROLLOUT_DRAFT,
                                                   STORE_LIST_MAX, 0, collect, a);
    if (err != NB_OK) {
        json_decref(a);
        http_reply_store_error(req, err, "rollouts");
        return;
    }
    http_reply_json(req, MHD_HTTP_OK, json_pack("{s:o}", "rollouts", a));
}

bool api_rollout_get(struct srv *srv, struct http_req *req, struct store_rollout *r)
{
    int64_t id = 0;
    if (!body_parse_id(req->params[0], &id)) {
        http_reply_error(req, MHD_HTTP_BAD_REQUEST, "E_PARSE", "id", "not a rollout id");
        return false;
    }
    enum nb_err err = srv->store.ops->rollout_get(&srv->store, id, r);
    if (err != NB_OK)
        http_reply_store_error(req, err, "rollout");
    return err == NB_OK;
}

static void show(struct srv *srv, struct http_req *req)
{
    static _Thread_local struct store_rollout r;
    static _Thread_local struct rollout_spec spec;
    struct store_release rel;
    struct rollout_plan plan;
    if (!api_rollout_get(srv, req, &r))
        return;
    enum nb_err err = rollout_spec_parse(r.spec, &spec);
    if (err == NB_OK)
        err = srv->store.ops->release_get(&srv->store, r.release_id, &rel);
    if (err == NB_OK)
        err = rollout_plan_make(srv, &rel, &spec, r.salt, &plan);
    if (err != NB_OK) {
        http_reply_store_error(req, err, "rollout");
        return;
    }
    json_t *status = rollout_status_json(srv, &r, &spec, &plan, srv_now());
    rollout_plan_free(&plan);
    if (status == NULL) {
        http_reply_store_error(req, NB_EIO, "rollout status");
        return;
    }
    json_t *o = api_rollout_json(&r);
    json_object_set_new(o, "release_version", json_string(rel.version));
    json_object_set_new(o, "spec", rollout_spec_json(&spec));
    json_object_update(o, status);
    json_decref(status);
    http_reply_json(req, MHD_HTTP_OK, o);
}

/* ---- controls ------------------------------------------------------------------ */

/* Moves the rollout from one of from[0..n-1] to `to`; 409 E_STATE when it
 * is in none of them. */
static void control(struct srv *srv, struct http_req *req, const enum store_rollout_state *from,
                    size_t n, enum store_rollout_state to, const char *action)
{
    static _Thread_local struct store_rollout r;
    if (!api_rollout_get(srv, req, &r))
        return;
    char object[40], reason[STORE_TEXT_MAX + 1] = "";
    (void)snprintf(object, sizeof object, "rollout:%lld", (long long)r.id);
    if (to == STORE_ROLLOUT_PAUSED || to == STORE_ROLLOUT_ABORTED)
        (void)snprintf(reason, sizeof reason, "%s by %s",
                       to == STORE_ROLLOUT_PAUSED ? "paused" : "aborted", req->who.actor);
    struct store_audit au = auth_audit(&req->who, srv_now(), action, object);
    enum nb_err err = NB_EINVAL;
    for (size_t i = 0; i < n && err == NB_EINVAL; i++) {
        if (r.state == from[i])
            err = srv->store.ops->rollout_set_state(&srv->store, r.id, from[i], to, reason, au.at,
                                                    &au);
    }
    if (err == NB_EINVAL) {
        http_reply_error(req, MHD_HTTP_CONFLICT, "E_STATE", NULL, "rollout %lld is %s",
                         (long long)r.id, store_rollout_state_name(r.state));
        return;
    }
    if (err == NB_OK)
        err = srv->store.ops->rollout_get(&srv->store, r.id, &r);
    if (err != NB_OK) {
        http_reply_store_error(req, err, "rollout");
        return;
    }
    if (to == STORE_ROLLOUT_RUNNING)
        rollout_engine_wake(srv->engine);
    if (to == STORE_ROLLOUT_ABORTED)
        rollout_after_abort(srv, r.id, au.at);
    http_reply_json(req, MHD_HTTP_OK, api_rollout_json(&r));
}

/* A rollout that needs a second operator's approval does not start without it. */
static bool approved(struct srv *srv, struct http_req *req)
{
    static _Thread_local struct store_rollout r;
    size_t missing = 0;
    if (!api_rollout_get(srv, req, &r))
        return false;
    enum nb_err err = rollout_approvals_missing(srv, &r, &missing);
    if (err != NB_OK)
        http_reply_store_error(req, err, "rollout");
    else if (missing > 0)
        http_reply_error(req, MHD_HTTP_CONFLICT, "E_APPROVAL", NULL,
                         "rollout %lld needs approval by %s; created by %s ('nobrick rollout "
                         "approve %lld' with another operator's token)",
                         (long long)r.id, missing == 1 ? "a second operator" : "more operators",
                         r.created_by, (long long)r.id);
    return err == NB_OK && missing == 0;
}

static void start(struct srv *srv, struct http_req *req)
{
    static const enum store_rollout_state from[] = {STORE_ROLLOUT_DRAFT};
    if (!approved(srv, req))
        return;
    control(srv, req, from, 1, STORE_ROLLOUT_RUNNING, "rollout.start");
}

static void pause_rollout(struct srv *srv, struct http_req *req)
{
    static const enum store_rollout_state from[] = {STORE_ROLLOUT_RUNNING};
    control(srv, req, from, 1, STORE_ROLLOUT_PAUSED, "rollout.pause");
}

static void resume(struct srv *srv, struct http_req *req)
{
    static const enum store_rollout_state from[] = {STORE_ROLLOUT_PAUSED};
    control(srv, req, from, 1, STORE_ROLLOUT_RUNNING, "rollout.resume");
}

static void abort_rollout(struct srv *srv, struct http_req *req)
{
    static const enum store_rollout_state from[] = {STORE_ROLLOUT_RUNNING, STORE_ROLLOUT_PAUSED,
                                                    STORE_ROLLOUT_DRAFT};
    control(srv, req, from, 3, STORE_ROLLOUT_ABORTED, "rollout.abort");
}

/* One engine tick at the virtual time, for the simulator (clock.h): only a
 * server on a clock file ticks on request, and the answer comes once the
 * tick is done. */
static void tick(struct srv *srv, struct http_req *req)
{
    if (!srv_clock_virtual() || srv->engine == NULL) {
        http_reply_error(req, MHD_HTTP_NOT_FOUND, "E_NOENT", NULL,
                         "only a server started with --clock-file ticks on request");
        return;
    }
    rollout_engine_tick(srv->engine);
    http_reply_json(req, MHD_HTTP_OK, json_pack("{s:I}", "now", (json_int_t)srv_now()));
}

static const struct http_route routes[] = {
    {"POST", "/api/v1/rollouts", HTTP_AUTH, STORE_ROLE_OPERATOR, HTTP_BODY_JSON, create},
    {"GET", "/api/v1/rollouts", HTTP_AUTH, STORE_ROLE_VIEWER, HTTP_BODY_NONE, list},
    {"POST", "/api/v1/rollouts/tick", HTTP_AUTH, STORE_ROLE_OPERATOR, HTTP_BODY_NONE, tick},
    {"GET", "/api/v1/rollouts/{}", HTTP_AUTH, STORE_ROLE_VIEWER, HTTP_BODY_NONE, show},
    {"POST", "/api/v1/rollouts/{}/start", HTTP_AUTH, STORE_ROLE_OPERATOR, HTTP_BODY_NONE, start},
    {"POST", "/api/v1/rollouts/{}/pause", HTTP_AUTH, STORE_ROLE_OPERATOR, HTTP_BODY_NONE,
     pause_rollout},
    {"POST", "/api/v1/rollouts/{}/resume", HTTP_AUTH, STORE_ROLE_OPERATOR, HTTP_BODY_NONE, resume},
    {"POST", "/api/v1/rollouts/{}/abort", HTTP_AUTH, STORE_ROLE_OPERATOR, HTTP_BODY_NONE,
     abort_rollout},
};

const struct http_routes api_rollout_routes = {routes, sizeof routes / sizeof routes[0]};
