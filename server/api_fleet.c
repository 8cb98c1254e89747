/* Devices as operators see them, /api/v1/devices: list with filters, show
 * with full history (assignments and status reports), preauthorise,
 * approve, decommission, tags and group. Every change is audited by the
 * store in the transaction that makes it. */
#include "api.h"
#include "body.h"

#include <nobrick/encoding.h>
#include <nobrick/envelope.h>

#include <microhttpd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static json_t *device_json(const struct store_device *d)
{
    json_t *slots = d->slots[0] != '\0' ? json_loads(d->slots, 0, NULL) : NULL;
    return json_pack("{s:s, s:s, s:s, s:s, s:s, s:I, s:I, s:s, s:I, s:o, s:s}", "id", d->id,
                     "public_key", d->pubkey, "hw_class", d->hw_class, "state",
                     store_device_state_name(d->state), "group", d->group, "created_at",
                     (json_int_t)d->created_at, "last_seen", (json_int_t)d->last_seen,
                     "installed_version", d->installed_version, "security_counter",
                     (json_int_t)d->security_counter, "slots",
                     slots != NULL ? slots : json_object(), "last_result", d->last_result);
}

/* ---- list ------------------------------------------------------------------ */

static bool query_filter(struct http_req *req, struct store_device_filter *f)
{
    static const char *const names[] = {"hw_class", "group", "tag"};
    char *dest[] = {f->hw_class, f->group, f->tag};
    memset(f, 0, sizeof *f);
    for (size_t i = 0; i < 3; i++) {
        const char *v = http_query(req, names[i]);
        if (v == NULL)
            continue;
        if (!body_is_name(v)) {
            http_reply_error(req, MHD_HTTP_BAD_REQUEST, "E_PARSE", names[i],
                             "query '%s': not a name", names[i]);
            return false;
        }
        (void)snprintf(dest[i], STORE_NAME_MAX + 1, "%s", v);
    }
    const char *st = http_query(req, "state");
    f->has_state = st != NULL;
    if (st != NULL && store_device_state_parse(st, &f->state) != NB_OK) {
        http_reply_error(req, MHD_HTTP_BAD_REQUEST, "E_PARSE", "state",
                         "query 'state': pending, preauthorized, active or decommissioned");
        return false;
    }
    return true;
}

static bool query_count(struct http_req *req, const char *name, size_t dflt, size_t *out)
{
    const char *v = http_query(req, name);
    int64_t n = 0;
    *out = dflt;
    if (v == NULL)
        return true;
    if (strcmp(v, "0") != 0 && !body_parse_id(v, &n)) {
        http_reply_error(req, MHD_HTTP_BAD_REQUEST, "E_PARSE", name, "query '%s': a number", name);
        return false;
    }
    *out = (size_t)n;
    return true;
}

/* A device id as ids are made: 1..64 lower-case hex digits. */
static bool is_device_id(const char *s)
{
    size_t n = strspn(s, "0123456789abcdef");
    return n > 0 && n <= STORE_ID_MAX && s[n] == '\0';
}

/* The page cursor "CREATED_AT.ID": where a page ended, so the next one
 * starts after it (an index search, however deep the page). */
static bool query_after(struct http_req *req, struct store_device_filter *f)
{
    const char *v = http_query(req, "after");
    const char *dot = v != NULL ? strchr(v, '.') : NULL;
    char num[24];
    int64_t at = 0;
    size_t n = dot != NULL ? (size_t)(dot - v) : 0;
    if (v == NULL)
        return true;
    if (n > 0 && n < sizeof num) {
        memcpy(num, v, n);
        num[n] = '\0';
    }
    if (dot == NULL || n == 0 || n >= sizeof num || !body_parse_id(num, &at) ||
        !is_device_id(dot + 1)) {
        http_reply_error(req, MHD_HTTP_BAD_REQUEST, "E_PARSE", "after",
                         "query 'after': the \"next\" of the page before (CREATED_AT.ID)");
        return false;
    }
    f->after_created_at = at;
    (void)snprintf(f->after_id, sizeof f->after_id, "%s", dot + 1);
    return true;
}

struct device_page {
    json_t *devices;
    char next[STORE_ID_MAX + 32]; /* the last device's cursor */
};

static bool collect_device(void *arg, const struct store_device *d)
{
    struct device_page *pg = arg;
    json_array_append_new(pg->devices, device_json(d));
    (void)snprintf(pg->next, sizeof pg->next, "%lld.%s", (long long)d->created_at, d->id);
    return true;
}

static void list(struct srv *srv, struct http_req *req)
{
    struct store_device_filter f;
    size_t limit = 0, offset = 0;
    if (!query_filter(req, &f) || !query_after(req, &f) ||
        !query_count(req, "limit", 100, &limit) || !query_count(req, "offset", 0, &offset))
        return;
    struct device_page pg = {json_array(), ""};
    enum nb_err err =
        srv->store.ops->device_list(&srv->store, &f, limit, offset, collect_device, &pg);
    if (err == NB_OK)
        err = api_safety_mark(srv, pg.devices, srv_now());
    if (err != NB_OK) {
        json_decref(pg.devices);
        http_reply_store_error(req, err, "devices");
        return;
    }
    /* A full page may have more after it; a short one is the last. */
    size_t shown = json_array_size(pg.devices);
    bool more = shown > 0 && shown == (limit < STORE_LIST_MAX ? limit : STORE_LIST_MAX);
    http_reply_json(req, MHD_HTTP_OK,
                    json_pack("{s:o, s:o}", "devices", pg.devices, "next",
                              more ? json_string(pg.next) : json_null()));
}

/* ---- show, with history ------------------------------------------------------------ */

static bool collect_assignment(void *arg, const struct store_assignment *a)
{
    json_array_append_new(arg, json_pack("{s:I, s:I, s:s, s:i, s:s, s:s, s:I}", "deployment_id",
                                         (json_int_t)a->deployment_id, "release_id",
                                         (json_int_t)a->release_id, "state",
                                         store_assign_state_name(a->state), "progress",
                                         (int)a->progress, "code", a->code, "message", a->message,
                                         "updated_at", (json_int_t)a->updated_at));
    return true;
}

static bool collect_report(void *arg, const struct store_report *r)
{
    json_array_append_new(
        arg, json_pack("{s:s, s:I, s:s, s:i, s:s, s:s, s:I}", "report_id", r->report_id,
                       "deployment_id", (json_int_t)r->deployment_id, "state",
                       store_assign_state_name(r->state), "progress", (int)r->progress, "code",
                       r->code, "message", r->message, "at", (json_int_t)r->at));
    return true;
}

static bool get_device(struct srv *srv, struct http_req *req, struct store_device *d)
{
    enum nb_err err = srv->store.ops->device_get(&srv->store, req->params[0], d);
    if (err != NB_OK)
        http_reply_store_error(req, err, "device");
    return err == NB_OK;
}

static void show(struct srv *srv, struct http_req *req)
{
    struct store_device d;
    char tags[STORE_MAX_TAGS][STORE_NAME_MAX + 1];
    size_t n = 0;
    if (!get_device(srv, req, &d))
        return;
    json_t *o = device_json(&d), *t = json_array(), *as = json_array(), *rs = json_array();
    enum nb_err err = srv->store.ops->device_get_tags(&srv->store, d.id, tags, &n);
    for (size_t i = 0; err == NB_OK && i < n; i++)
        json_array_append_new(t, json_string(tags[i]));
    if (err == NB_OK)
        err = srv->store.ops->assignment_list(&srv->store, 0, d.id, collect_assignment, as);
    if (err == NB_OK)
        err = srv->store.ops->report_list(&srv->store, d.id, 200, collect_report, rs);
    json_object_set_new(o, "tags", t);
    json_object_set_new(o, "assignments", as);
    json_object_set_new(o, "reports", rs);
    json_object_set_new(o, "quarantine", api_safety_device(srv, d.id, srv_now()));
    if (err != NB_OK) {
        json_decref(o);
        http_reply_store_error(req, err, "device history");
        return;
    }
    http_reply_json(req, MHD_HTTP_OK, o);
}

/* ---- changes ------------------------------------------------------------------ */

static struct store_audit audit(const struct http_req *req, const char *action, const char *id)
{
    char object[STORE_NAME_MAX + 1];
    (void)snprintf(object, sizeof object, "device:%.24s", id);
    return auth_audit(&req->who, srv_now(), action, object);
}

static void reply_device(struct srv *srv, struct http_req *req, const char *id, unsigned status)
{
    struct store_device d;
    enum nb_err err = srv->store.ops->device_get(&srv->store, id, &d);
    if (err != NB_OK)
        http_reply_store_error(req, err, "device");
    else
        http_reply_json(req, status, device_json(&d));
}

static void preauthorize(struct srv *srv, struct http_req *req)
{
    static const char *const fields[] = {"public_key", "hw_class", "group", NULL};
    struct store_device d;
    uint8_t pub[NB_ED25519_PUB_LEN];
    memset(&d, 0, sizeof d);
    json_t *o = body_object(req, fields);
    bool ok = o != NULL && body_hex(req, o, "public_key", NB_ED25519_PUB_LEN, d.pubkey) &&
              body_name(req, o, "hw_class", true, d.hw_class) &&
              body_name(req, o, "group", false, d.group);
    json_decref(o);
    if (!ok)
        return;
    if (nb_hex_decode(d.pubkey, strlen(d.pubkey), pub, sizeof pub) != NB_OK ||
        nb_ed25519_pub_is_weak(pub) || nb_keyid(pub, d.id) != NB_OK) {
        http_reply_error(req, MHD_HTTP_BAD_REQUEST, "E_PARSE", "public_key",
                         "field 'public_key': not a usable Ed25519 public key");
        return;
    }
    d.state = STORE_DEVICE_PREAUTHORIZED;
    d.created_at = srv_now();
    struct store_audit au = audit(req, "device.preauthorize", d.id);
    enum nb_err err = srv->store.ops->device_add(&srv->store, &d, &au);
    if (err != NB_OK)
        http_reply_store_error(req, err, "device with this public key");
    else
        reply_device(srv, req, d.id, MHD_HTTP_CREATED);
}

static void set_state(struct srv *srv, struct http_req *req, const char *action,
                      enum store_device_state to)
{
    struct store_device d;
    if (!get_device(srv, req, &d))
        return;
    bool allowed = to == STORE_DEVICE_ACTIVE ? d.state == STORE_DEVICE_PENDING
                                             : d.state != STORE_DEVICE_DECOMMISSIONED;
    if (!allowed) {
        http_reply_error(req, MHD_HTTP_CONFLICT, "E_STATE", "state", "device is %s",
                         store_device_state_name(d.state));
        return;
    }
    struct store_audit au = audit(req, action, d.id);
    enum nb_err err = srv->store.ops->device_set_state(&srv->store, d.id, d.state, to, &au);
    if (err == NB_EINVAL) /* another operator changed it meanwhile */
        http_reply_error(req, MHD_HTTP_CONFLICT, "E_STATE", "state", "device state changed");
    else if (err != NB_OK)
        http_reply_store_error(req, err, "device");
    else
        reply_device(srv, req, d.id, MHD_HTTP_OK);
}

static void approve(struct srv *srv, struct http_req *req)
{
    set_state(srv, req, "device.approve", STORE_DEVICE_ACTIVE);
}

static void decommission(struct srv *srv, struct http_req *req)
{
    set_state(srv, req, "device.decommission", STORE_DEVICE_DECOMMISSIONED);
}

static bool parse_tags(struct http_req *req, char tags[][STORE_NAME_MAX + 1], size_t *n)
{
    static const char *const fields[] = {"tags", NULL};
    json_t *o = body_object(req, fields);
    const json_t *a = o != NULL ? json_object_get(o, "tags") : NULL;
    bool ok = json_is_array(a) && json_array_size(a) <= STORE_MAX_TAGS;
    for (size_t i = 0; ok && i < json_array_size(a); i++) {
        const json_t *t = json_array_get(a, i);
        ok = json_is_string(t) && body_is_name(json_string_value(t));
        if (ok)
            (void)snprintf(tags[i], STORE_NAME_MAX + 1, "%s", json_string_value(t));
    }
    if (o != NULL && !ok)
        http_reply_error(req, MHD_HTTP_BAD_REQUEST, "E_PARSE", "tags",
                         "field 'tags': an array of at most %d names", STORE_MAX_TAGS);
    *n = ok ? json_array_size(a) : 0;
    json_decref(o);
    return ok;
}

static void set_tags(struct srv *srv, struct http_req *req)
{
    char tags[STORE_MAX_TAGS][STORE_NAME_MAX + 1];
    const char *ptrs[STORE_MAX_TAGS];
    size_t n = 0;
    if (!parse_tags(req, tags, &n))
        return;
    for (size_t i = 0; i < n; i++)
        ptrs[i] = tags[i];
    struct store_audit au = audit(req, "device.tags", req->params[0]);
    enum nb_err err = srv->store.ops->device_set_tags(&srv->store, req->params[0], ptrs, n, &au);
    if (err != NB_OK)
        http_reply_store_error(req, err, "device");
    else
        reply_device(srv, req, req->params[0], MHD_HTTP_OK);
}

static void set_group(struct srv *srv, struct http_req *req)
{
    static const char *const fields[] = {"group", NULL};
    char group[STORE_NAME_MAX + 1];
    json_t *o = body_object(req, fields);
    bool ok = o != NULL && body_name(req, o, "group", false, group);
    json_decref(o);
    if (!ok)
        return;
    struct store_audit au = audit(req, "device.group", req->params[0]);
    (void)snprintf(au.detail, sizeof au.detail, "{\"group\":\"%s\"}", group);
    enum nb_err err = srv->store.ops->device_set_group(&srv->store, req->params[0], group, &au);
    if (err == NB_EINVAL)
        http_reply_error(req, MHD_HTTP_CONFLICT, "E_STATE", "state", "device is decommissioned");
    else if (err != NB_OK)
        http_reply_store_error(req, err, "device");
    else
        reply_device(srv, req, req->params[0], MHD_HTTP_OK);
}

static const struct http_route routes[] = {
    {"GET", "/api/v1/devices", HTTP_AUTH, STORE_ROLE_VIEWER, HTTP_BODY_NONE, list},
    {"POST", "/api/v1/devices", HTTP_AUTH, STORE_ROLE_OPERATOR, HTTP_BODY_JSON, preauthorize},
    {"GET", "/api/v1/devices/{}", HTTP_AUTH, STORE_ROLE_VIEWER, HTTP_BODY_NONE, show},
    {"POST", "/api/v1/devices/{}/approve", HTTP_AUTH, STORE_ROLE_OPERATOR, HTTP_BODY_NONE, approve},
    {"POST", "/api/v1/devices/{}/decommission", HTTP_AUTH, STORE_ROLE_OPERATOR, HTTP_BODY_NONE,
     decommission},
    {"PUT", "/api/v1/devices/{}/tags", HTTP_AUTH, STORE_ROLE_OPERATOR, HTTP_BODY_JSON, set_tags},
    {"PUT", "/api/v1/devices/{}/group", HTTP_AUTH, STORE_ROLE_OPERATOR, HTTP_BODY_JSON, set_group},
};

const struct http_routes api_fleet_routes = {routes, sizeof routes / sizeof routes[0]};
