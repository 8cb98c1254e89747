/* The management calls of nobrick-sim (mgmt.h). Preauthorisation goes
 * through the multi handle in batches (bodies kept until answered), the
 * rest are single blocking calls whose JSON answers are read with
 * jansson. */
#include "mgmt.h"

#include <nobrick/alloc.h>
#include <nobrick/fileio.h>

#include <stdio.h>
#include <string.h>

#define BATCH 256u
#define BODY_MAX 256u
#define ANSWER_MAX (8u << 20) /* a deployment lists every assignment */
#define BUNDLE_MAX (UINT64_C(1) << 32)

struct preauth {
    uint32_t ok, refused;
    int first_status;
};

static void preauth_done(void *ctx, void *owner, const struct nb_agent_response *r)
{
    struct preauth *p = ctx;
    (void)owner;
    if (r->err == NB_OK && (r->status == 201 || r->status == 409)) {
        p->ok++;
        return;
    }
    if (p->refused++ == 0)
        p->first_status = r->err == NB_OK ? r->status : 0;
}

enum nb_err sim_mgmt_preauthorise(struct sim_net *net, const char *token, struct sim_fleet *f,
                                  struct nb_diag *diag)
{
    static char bodies[BATCH][BODY_MAX];
    struct preauth p = {0, 0, 0};
    for (uint32_t start = 0; start < f->n && p.refused == 0; start += BATCH) {
        for (uint32_t k = 0; k < BATCH && start + k < f->n; k++) {
            const struct sim_device *d = &f->dev[start + k];
            char group[SIM_NAME_MAX + 1];
            sim_device_group(f, d, group);
            int n = snprintf(bodies[k], BODY_MAX,
                             "{\"public_key\":\"%s\",\"hw_class\":\"%s\",\"group\":\"%s\"}",
                             d->pub_hex, sim_device_class(f, d), group);
            struct nb_agent_request q = {
                "POST", "/api/v1/devices", token, bodies[k], (size_t)n, false, 0, 0, 4096};
            if (sim_net_submit(net, &q, NULL) != NB_OK)
                return nb_diag_set(diag, NB_ENOMEM, "preauthorising: cannot start a request");
        }
        while (sim_net_run(net, 100, preauth_done, &p) > 0)
            ;
    }
    if (p.refused > 0)
        return nb_diag_set(
            diag, p.first_status == 401 || p.first_status == 403 ? NB_EUNAUTHORIZED : NB_EIO,
            "preauthorising %u devices: %u refused (first: HTTP %d); is the "
            "token an operator's?",
            (unsigned)f->n, (unsigned)p.refused, p.first_status);
    return NB_OK;
}

/* A blocking call whose 2xx answer is a JSON object (new reference). */
static json_t *call_json(struct sim_net *net, const char *method, const char *path,
                         const char *token, const void *body, size_t len, const char *type,
                         int want, struct nb_diag *diag)
{
    static char answer[ANSWER_MAX];
    int status = 0;
    enum nb_err err =
        sim_net_call(net, method, path, token, body, len, type, &status, answer, sizeof answer);
    if (err != NB_OK) {
        nb_diag_set(diag, NB_EIO, "%s %s: the server cannot be reached", method, path);
        return NULL;
    }
    json_t *o = status == want ? json_loads(answer, 0, NULL) : NULL;
    if (o == NULL)
        nb_diag_set(diag, NB_EIO, "%s %s: HTTP %d: %.300s", method, path, status, answer);
    return o;
}

enum nb_err sim_mgmt_upload(struct sim_net *net, const char *token, const char *path, int64_t *id,
                            char version[NB_BOOTCTL_VERSION_MAX + 1], struct nb_diag *diag)
{
    uint8_t *data = NULL;
    size_t len = 0;
    enum nb_err err = nb_file_read(path, BUNDLE_MAX, &data, &len, diag);
    if (err != NB_OK)
        return err;
    json_t *o = call_json(net, "POST", "/api/v1/releases", token, data, len,
                          "application/octet-stream", 201, diag);
    nb_free(data);
    const char *v = json_string_value(json_object_get(o, "version"));
    json_int_t rid = json_integer_value(json_object_get(o, "id"));
    if (o != NULL && (v == NULL || strlen(v) > NB_BOOTCTL_VERSION_MAX || rid <= 0))
        nb_diag_set(diag, NB_EPARSE, "upload of %s: no id or version in the answer", path);
    else if (o != NULL) {
        memcpy(version, v, strlen(v) + 1);
        *id = (int64_t)rid;
    }
    err = o != NULL && rid > 0 && v != NULL ? NB_OK : NB_EIO;
    json_decref(o);
    return err;
}

enum nb_err sim_mgmt_deploy(struct sim_net *net, const char *token, int64_t release_id,
                            const char *group, int64_t *id, int64_t *devices, struct nb_diag *diag)
{
    char body[160];
    int n = snprintf(body, sizeof body, "{\"release_id\":%lld,\"group\":\"%s\"}",
                     (long long)release_id, group);
    json_t *o =
        call_json(net, "POST", "/api/v1/deployments", token, body, (size_t)n, NULL, 201, diag);
    json_int_t did = json_integer_value(json_object_get(o, "id"));
    *devices = json_integer_value(json_object_get(o, "devices"));
    json_decref(o);
    if (did <= 0)
        return o == NULL ? NB_EIO : nb_diag_set(diag, NB_EPARSE, "deployment: no id");
    *id = (int64_t)did;
    return NB_OK;
}

json_t *sim_mgmt_json(struct sim_net *net, const char *method, const char *path, const char *token,
                      const char *body, int want, struct nb_diag *diag)
{
    return call_json(net, method, path, token, body, body != NULL ? strlen(body) : 0, NULL, want,
                     diag);
}

json_t *sim_mgmt_counts(struct sim_net *net, const char *token, int64_t id)
{
    char path[64];
    struct nb_diag diag = {{0}};
    (void)snprintf(path, sizeof path, "/api/v1/deployments/%lld", (long long)id);
    json_t *o = call_json(net, "GET", path, token, NULL, 0, NULL, 200, &diag);
    json_t *counts = json_incref(json_object_get(o, "counts"));
    json_decref(o);
    return counts;
}

json_t *sim_mgmt_counts_sum(struct sim_net *net, const char *token, const int64_t *ids, size_t n)
{
    json_t *sum = json_object();
    for (size_t i = 0; sum != NULL && i < n; i++) {
        json_t *c = sim_mgmt_counts(net, token, ids[i]), *v;
        const char *state;
        if (c == NULL) {
            json_decref(sum);
            return NULL;
        }
        json_object_foreach(c, state, v)
        {
            json_int_t had = json_integer_value(json_object_get(sum, state));
            json_object_set_new(sum, state, json_integer(had + json_integer_value(v)));
        }
        json_decref(c);
    }
    return sum;
}

enum nb_err sim_mgmt_rollout(struct sim_net *net, const char *token, const char *body, int64_t *id,
                             int64_t *planned, struct nb_diag *diag)
{
    char path[64];
    json_t *o = sim_mgmt_json(net, "POST", "/api/v1/rollouts", token, body, 201, diag);
    *id = (int64_t)json_integer_value(json_object_get(o, "id"));
    *planned = (int64_t)json_integer_value(json_object_get(json_object_get(o, "plan"), "devices"));
    json_decref(o);
    if (*id <= 0)
        return o == NULL ? NB_EIO : nb_diag_set(diag, NB_EPARSE, "rollout: no id in the answer");
    (void)snprintf(path, sizeof path, "/api/v1/rollouts/%lld/start", (long long)*id);
    o = sim_mgmt_json(net, "POST", path, token, NULL, 200, diag);
    json_decref(o);
    return o != NULL ? NB_OK : NB_EIO;
}
