/* Deployments, /api/v1/deployments: one release to one device or to every
 * active device of a group. How targets are chosen lives here (a rollout
 * engine will choose them in waves later); what happens to each device is
 * its assignment's state machine (assignment.h), advanced by the device's
 * check-ins and reports. */
#include "api.h"
#include "body.h"

#include <nobrick/alloc.h>

#include <microhttpd.h>
#include <stdio.h>
#include <string.h>

/* ---- choosing targets ------------------------------------------------------------------ */

struct targets {
    const struct store_release *rel;
    json_t *hw; /* the release's hardware classes */
    char (*ids)[STORE_ID_MAX + 1];
    size_t n;
    json_t *excluded; /* [{"device_id", "reason"}] */
};

static bool compatible(const struct targets *t, const char *hw_class)
{
    size_t i;
    json_t *v;
    json_array_foreach(t->hw, i, v)
    {
        if (json_is_string(v) && strcmp(json_string_value(v), hw_class) == 0)
            return true;
    }
    return false;
}

static void exclude(struct targets *t, const char *id, const char *reason)
{
    json_array_append_new(t->excluded, json_pack("{s:s, s:s}", "device_id", id, "reason", reason));
}

static bool consider(void *arg, const struct store_device *d)
{
    struct targets *t = arg;
    if (d->state != STORE_DEVICE_ACTIVE)
        exclude(t, d->id, "not active");
    else if (!compatible(t, d->hw_class))
        exclude(t, d->id, "hardware class not in the release");
    else if (t->n < STORE_LIST_MAX)
        memcpy(t->ids[t->n++], d->id, sizeof t->ids[0]);
    return true;
}

static enum nb_err choose(struct srv *srv, const struct store_deployment *dep, struct targets *t)
{
    if (dep->target_kind == STORE_TARGET_DEVICE) {
        struct store_device d;
        enum nb_err err = srv->store.ops->device_get(&srv->store, dep->target, &d);
        if (err == NB_OK)
            (void)consider(t, &d);
        return err;
    }
    struct store_device_filter f;
    memset(&f, 0, sizeof f);
    memcpy(f.group, dep->target, sizeof f.group);
    return srv->store.ops->device_list(&srv->store, &f, STORE_LIST_MAX, 0, consider, t);
}

/* ---- create ------------------------------------------------------------------ */

static bool parse_create(struct http_req *req, struct store_deployment *d)
{
    static const char *const fields[] = {"release_id", "device_id", "group", NULL};
    char device[STORE_ID_MAX + 1] = "", group[STORE_NAME_MAX + 1] = "";
    uint64_t rel = 0;
    memset(d, 0, sizeof *d);
    json_t *o = body_object(req, fields);
    bool ok = o != NULL && body_uint(req, o, "release_id", INT64_MAX, true, &rel) &&
              (json_object_get(o, "device_id") == NULL ||
               body_hex(req, o, "device_id", STORE_ID_MAX / 2, device)) &&
              body_name(req, o, "group", false, group);
    json_decref(o);
    if (ok && (device[0] != '\0') == (group[0] != '\0')) {
        http_reply_error(req, MHD_HTTP_BAD_REQUEST, "E_PARSE", "device_id",
                         "give exactly one of 'device_id' and 'group'");
        ok = false;
    }
    d->release_id = (int64_t)rel;
    d->target_kind = device[0] != '\0' ? STORE_TARGET_DEVICE : STORE_TARGET_GROUP;
    (void)snprintf(d->target, sizeof d->target, "%s", device[0] != '\0' ? device : group);
    return ok;
}

static bool usable_release(struct srv *srv, struct http_req *req, int64_t id,
                           struct store_release *r)
{
    enum nb_err err = srv->store.ops->release_get(&srv->store, id, r);
    if (err == NB_ENOENT) {
        http_reply_error(req, MHD_HTTP_BAD_REQUEST, "E_NOENT", "release_id", "no release %lld",
                         (long long)id);
        return false;
    }
    if (err != NB_OK) {
        http_reply_store_error(req, err, "release");
        return false;
    }
    if (r->withdrawn) {
        http_reply_error(req, MHD_HTTP_CONFLICT, "E_STATE", "release_id", "release is withdrawn");
        return false;
    }
    return true;
}

static enum nb_err store_deployment(struct srv *srv, struct http_req *req,
                                    struct store_deployment *d, const struct targets *t)
{
    const char **ids = nb_calloc(t->n, sizeof *ids);
    if (ids == NULL)
        return NB_ENOMEM;
    for (size_t i = 0; i < t->n; i++)
        ids[i] = t->ids[i];
    d->created_at = srv_now();
    (void)snprintf(d->created_by, sizeof d->created_by, "%s", req->who.actor);
    struct store_audit au = auth_audit(&req->who, d->created_at, "deployment.create", "deployment");
    (void)snprintf(au.detail, sizeof au.detail,
                   "{\"release_id\":%lld,\"target\":\"%.64s\",\"devices\":%zu}",
                   (long long)d->release_id, d->target, t->n);
    enum nb_err err = srv->store.ops->deployment_add(&srv->store, d, ids, t->n, &au);
    nb_free(ids);
    return err;
}

static void create(struct srv *srv, struct http_req *req)
{
    struct store_deployment d;
    struct store_release r;
    if (!parse_create(req, &d) || !usable_release(srv, req, d.release_id, &r))
        return;
    struct targets t = {&r, json_loads(r.hw_classes, 0, NULL), NULL, 0, json_array()};
    t.ids = nb_calloc(STORE_LIST_MAX, sizeof t.ids[0]);
    enum nb_err err = t.ids == NULL ? NB_ENOMEM : choose(srv, &d, &t);
    if (err == NB_OK && t.n == 0)
        http_reply_error(req, MHD_HTTP_CONFLICT, "E_INCOMPAT",
                         d.target_kind == STORE_TARGET_DEVICE ? "device_id" : "group",
                         "no active device of a hardware class in the release");
    else if (err == NB_OK && (err = store_deployment(srv, req, &d, &t)) == NB_OK)
        http_reply_json(req, MHD_HTTP_CREATED,
                        json_pack("{s:I, s:I, s:i, s:O}", "id", (json_int_t)d.id, "release_id",
                                  (json_int_t)d.release_id, "devices", (int)t.n, "excluded",
                                  t.excluded));
    if (err != NB_OK)
        http_reply_store_error(req, err, "device");
    nb_free(t.ids);
    json_decref(t.hw);
    json_decref(t.excluded);
}

/* ---- read and cancel ------------------------------------------------------------------ */

static json_t *deployment_json(const struct store_deployment *d)
{
    return json_pack("{s:I, s:I, s:s, s:s, s:s, s:I, s:b}", "id", (json_int_t)d->id, "release_id",
                     (json_int_t)d->release_id, "target_kind", store_target_name(d->target_kind),
                     "target", d->target, "created_by", d->created_by, "created_at",
                     (json_int_t)d->created_at, "cancelled", d->cancelled);
}

static bool collect(void *arg, const struct store_deployment *d)
{
    json_array_append_new(arg, deployment_json(d));
    return true;
}

static void list(struct srv *srv, struct http_req *req)
{
    json_t *a = json_array();
    enum nb_err err = srv->store.ops->deployment_list(&srv->store, STORE_LIST_MAX, 0, collect, a);
    if (err != NB_OK) {
        json_decref(a);
        http_reply_store_error(req, err, "deployments");
        return;
    }
    http_reply_json(req, MHD_HTTP_OK, json_pack("{s:o}", "deployments", a));
}

static bool collect_assignment(void *arg, const struct store_assignment *a)
{
    json_t *o = arg, *counts = json_object_get(o, "counts");
    const char *st = store_assign_state_name(a->state);
    json_object_set_new(counts, st,
                        json_integer(json_integer_value(json_object_get(counts, st)) + 1));
    json_array_append_new(json_object_get(o, "assignments"),
                          json_pack("{s:s, s:s, s:i, s:s, s:I}", "device_id", a->device_id, "state",
                                    st, "progress", (int)a->progress, "code", a->code, "updated_at",
                                    (json_int_t)a->updated_at));
    return true;
}

static bool get_deployment(struct srv *srv, struct http_req *req, struct store_deployment *d)
{
    int64_t id = 0;
    if (!body_parse_id(req->params[0], &id)) {
        http_reply_error(req, MHD_HTTP_BAD_REQUEST, "E_PARSE", "id", "not a deployment id");
        return false;
    }
    enum nb_err err = srv->store.ops->deployment_get(&srv->store, id, d);
    if (err != NB_OK)
        http_reply_store_error(req, err, "deployment");
    return err == NB_OK;
}

static void show(struct srv *srv, struct http_req *req)
{
    struct store_deployment d;
    if (!get_deployment(srv, req, &d))
        return;
    json_t *o = deployment_json(&d);
    json_object_set_new(o, "counts", json_object());
    json_object_set_new(o, "assignments", json_array());
    enum nb_err err =
        srv->store.ops->assignment_list(&srv->store, d.id, NULL, collect_assignment, o);
    if (err != NB_OK) {
        json_decref(o);
        http_reply_store_error(req, err, "assignments");
        return;
    }
    http_reply_json(req, MHD_HTTP_OK, o);
}

static void cancel(struct srv *srv, struct http_req *req)
{
    struct store_deployment d;
    if (!get_deployment(srv, req, &d))
        return;
    char object[40];
    (void)snprintf(object, sizeof object, "deployment:%lld", (long long)d.id);
    struct store_audit au = auth_audit(&req->who, srv_now(), "deployment.cancel", object);
    enum nb_err err = srv->store.ops->deployment_cancel(&srv->store, d.id, &au);
    if (err == NB_OK)
        err = srv->store.ops->deployment_get(&srv->store, d.id, &d);
    if (err != NB_OK)
        http_reply_store_error(req, err, "deployment");
    else
        http_reply_json(req, MHD_HTTP_OK, deployment_json(&d));
}

static const struct http_route routes[] = {
    {"POST", "/api/v1/deployments", HTTP_AUTH, STORE_ROLE_OPERATOR, HTTP_BODY_JSON, create},
    {"GET", "/api/v1/deployments", HTTP_AUTH, STORE_ROLE_VIEWER, HTTP_BODY_NONE, list},
    {"GET", "/api/v1/deployments/{}", HTTP_AUTH, STORE_ROLE_VIEWER, HTTP_BODY_NONE, show},
    {"POST", "/api/v1/deployments/{}/cancel", HTTP_AUTH, STORE_ROLE_OPERATOR, HTTP_BODY_NONE,
     cancel},
};

const struct http_routes api_deployment_routes = {routes, sizeof routes / sizeof routes[0]};
