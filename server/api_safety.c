/* The per-device safety of rollouts as operators see it: a rollout's
 * devices with their attempts (/api/v1/rollouts/{id}/devices), the
 * quarantined devices (/api/v1/quarantine), lifting a quarantine
 * (DELETE /api/v1/devices/{id}/quarantine, audited), and the quarantine
 * field of the device views (api_fleet.c). */
#include "api.h"
#include "body.h"
#include "rollout_device.h"

#include <microhttpd.h>
#include <stdio.h>
#include <string.h>

static json_t *quarantine_json(const struct store_quarantine *q)
{
    return json_pack("{s:s, s:I, s:I, s:i, s:s}", "device_id", q->device_id, "since",
                     (json_int_t)q->since, "until", (json_int_t)q->until, "failures",
                     (int)q->failures, "code", q->code);
}

/* ---- the device views ------------------------------------------------------------ */

json_t *api_safety_device(struct srv *srv, const char *device_id, int64_t now)
{
    struct store_quarantine q;
    enum nb_err err = srv->store.ops->quarantine_get(&srv->store, device_id, &q);
    if (err != NB_OK || !rdev_quarantined(&q, now))
        return json_null();
    return quarantine_json(&q);
}

struct marks {
    json_t *devices;
};

static bool mark(void *arg, const struct store_quarantine *q)
{
    struct marks *m = arg;
    size_t i;
    json_t *d;
    json_array_foreach(m->devices, i, d)
    {
        if (strcmp(json_string_value(json_object_get(d, "id")), q->device_id) == 0)
            json_object_set_new(d, "quarantine", quarantine_json(q));
    }
    return true;
}

enum nb_err api_safety_mark(struct srv *srv, json_t *devices, int64_t now)
{
    size_t i;
    json_t *d;
    json_array_foreach(devices, i, d)
    {
        json_object_set_new(d, "quarantine", json_null());
    }
    struct marks m = {devices};
    return srv->store.ops->quarantine_list(&srv->store, now, STORE_LIST_MAX, mark, &m);
}

/* ---- the routes ------------------------------------------------------------------ */

static bool collect_quarantine(void *arg, const struct store_quarantine *q)
{
    json_array_append_new(arg, quarantine_json(q));
    return true;
}

static void list_quarantine(struct srv *srv, struct http_req *req)
{
    json_t *a = json_array();
    enum nb_err err = srv->store.ops->quarantine_list(&srv->store, srv_now(), STORE_LIST_MAX,
                                                      collect_quarantine, a);
    if (err != NB_OK) {
        json_decref(a);
        http_reply_store_error(req, err, "quarantine");
        return;
    }
    http_reply_json(req, MHD_HTTP_OK, json_pack("{s:o}", "devices", a));
}

static void lift(struct srv *srv, struct http_req *req)
{
    char object[STORE_NAME_MAX + 1];
    struct store_device d;
    int64_t now = srv_now();
    enum nb_err err = srv->store.ops->device_get(&srv->store, req->params[0], &d);
    if (err != NB_OK) {
        http_reply_store_error(req, err, "device");
        return;
    }
    (void)snprintf(object, sizeof object, "device:%.24s", d.id);
    struct store_audit au = auth_audit(&req->who, now, "device.unquarantine", object);
    err = srv->store.ops->quarantine_lift(&srv->store, d.id, now, &au);
    if (err == NB_ENOENT) {
        http_reply_error(req, MHD_HTTP_CONFLICT, "E_STATE", NULL, "device %.16s is not quarantined",
                         d.id);
        return;
    }
    if (err != NB_OK) {
        http_reply_store_error(req, err, "quarantine");
        return;
    }
    http_reply_json(req, MHD_HTTP_OK, json_pack("{s:s, s:n}", "device_id", d.id, "quarantine"));
}

static json_t *member_json(const struct store_rollout_member *m, int64_t now)
{
    return json_pack("{s:s, s:i, s:s, s:s, s:s, s:i, s:I, s:I, s:I, s:s, s:o}", "device_id",
                     m->a.device_id, "wave", m->wave, "state", store_assign_state_name(m->a.state),
                     "code", m->a.code, "message", m->a.message, "attempt", (int)m->t.attempt,
                     "first_started_at", (json_int_t)m->t.first_started_at, "started_at",
                     (json_int_t)m->t.started_at, "not_before", (json_int_t)m->t.not_before,
                     "waiting", m->t.waiting, "quarantine",
                     rdev_quarantined(&m->q, now) ? quarantine_json(&m->q) : json_null());
}

struct members {
    json_t *list;
    int64_t now;
};

static bool collect_member(void *arg, const struct store_rollout_member *m)
{
    struct members *ms = arg;
    json_array_append_new(ms->list, member_json(m, ms->now));
    return json_array_size(ms->list) < ROLLOUT_DEVICES_MAX;
}

static void rollout_devices(struct srv *srv, struct http_req *req)
{
    int64_t id = 0;
    static _Thread_local struct store_rollout r;
    if (!body_parse_id(req->params[0], &id)) {
        http_reply_error(req, MHD_HTTP_BAD_REQUEST, "E_PARSE", "id", "not a rollout id");
        return;
    }
    struct members ms = {json_array(), srv_now()};
    enum nb_err err = srv->store.ops->rollout_get(&srv->store, id, &r);
    if (err == NB_OK)
        err = srv->store.ops->rollout_members(&srv->store, id, collect_member, &ms);
    if (err != NB_OK) {
        json_decref(ms.list);
        http_reply_store_error(req, err, "rollout");
        return;
    }
    http_reply_json(req, MHD_HTTP_OK,
                    json_pack("{s:I, s:o}", "rollout_id", (json_int_t)id, "devices", ms.list));
}

static const struct http_route routes[] = {
    {"GET", "/api/v1/rollouts/{}/devices", HTTP_AUTH, STORE_ROLE_VIEWER, HTTP_BODY_NONE,
     rollout_devices},
    {"GET", "/api/v1/quarantine", HTTP_AUTH, STORE_ROLE_VIEWER, HTTP_BODY_NONE, list_quarantine},
    {"DELETE", "/api/v1/devices/{}/quarantine", HTTP_AUTH, STORE_ROLE_OPERATOR, HTTP_BODY_NONE,
     lift},
};

const struct http_routes api_safety_routes = {routes, sizeof routes / sizeof routes[0]};
