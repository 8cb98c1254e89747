/* The scenario's rollout (rollout.h), driven through the management API.
 * Virtual time stops at each tick (run.c), so the engine sees the fleet as
 * it is at that virtual second: soak times, device timeouts and gates run
 * as they would over days, in seconds. */
#include "rollout.h"
#include "mgmt.h"

#include <stdio.h>
#include <string.h>

/* The scenario's spec with the release and the canary list, in body. */
static bool create_body(const struct sim_run *r, int64_t release_id, char *body, size_t cap,
                        struct nb_diag *diag)
{
    const struct sim_scenario *sc = r->sc;
    json_t *spec = json_loads(sc->rollout_spec, 0, NULL), *canary = json_array();
    for (uint32_t i = 0; i < sc->canary_count && i < r->fleet->n; i++)
        json_array_append_new(canary, json_string(r->fleet->dev[i].id));
    json_object_set_new(spec, "release_id", json_integer(release_id));
    if (sc->canary_count > 0)
        json_object_set(spec, "canary", canary);
    json_decref(canary);
    size_t n = spec != NULL ? json_dumpb(spec, body, cap - 1, JSON_COMPACT) : 0;
    json_decref(spec);
    if (n == 0 || n >= cap - 1) {
        nb_diag_set(diag, NB_ELENGTH, "plan.rollout: with the canary, longer than %zu bytes", cap);
        return false;
    }
    body[n] = '\0';
    return true;
}

void sim_rollout_refresh(struct sim_rollout *ro)
{
    char path[64];
    struct nb_diag diag = {{0}};
    (void)snprintf(path, sizeof path, "/api/v1/rollouts/%lld", (long long)ro->id);
    json_t *o = sim_mgmt_json(ro->net, "GET", path, ro->token, NULL, 200, &diag);
    const char *state = json_string_value(json_object_get(o, "state"));
    if (o == NULL || state == NULL) {
        fprintf(stderr, "\nsim: reading rollout %lld: %s\n", (long long)ro->id, diag.msg);
        (void)snprintf(ro->state, sizeof ro->state, "unknown");
        json_decref(o);
        return;
    }
    (void)snprintf(ro->state, sizeof ro->state, "%s", state);
    json_decref(ro->last);
    ro->last = o;
}

/* run.h's on_tick: the engine ticks at the virtual time, then the state. */
static void on_tick(void *ctx, struct sim_run *r)
{
    struct sim_rollout *ro = ctx;
    struct nb_diag diag = {{0}};
    if (r->vclock != NULL) {
        json_t *o =
            sim_mgmt_json(ro->net, "POST", "/api/v1/rollouts/tick", ro->token, NULL, 200, &diag);
        if (o == NULL)
            fprintf(stderr, "\nsim: %s\n", diag.msg);
        json_decref(o);
    }
    ro->ticks++;
    sim_rollout_refresh(ro);
    (void)snprintf(r->plan_note, sizeof r->plan_note, "rollout %s, wave %d", ro->state,
                   (int)json_integer_value(json_object_get(ro->last, "current_wave")));
    bool stopped = sim_rollout_stopped(ro);
    if (stopped && ro->stopped_s < 0)
        ro->stopped_s = (double)(sim_run_now_ms(r) - r->deploy_at_ms) / 1000.0;
    r->tick_at_ms = stopped ? UINT64_MAX : sim_run_now_ms(r) + (uint64_t)r->sc->tick_s * 1000;
}

enum nb_err sim_rollout_start(struct sim_rollout *ro, struct sim_run *r, const char *token,
                              int64_t release_id, const char *version, struct nb_diag *diag)
{
    char path[64];
    memset(ro, 0, sizeof *ro);
    ro->net = r->net;
    ro->token = token;
    ro->stopped_s = -1;
    static char body[SIM_ROLLOUT_SPEC_MAX * 2];
    if (!create_body(r, release_id, body, sizeof body, diag))
        return NB_ELENGTH;
    json_t *o = sim_mgmt_json(r->net, "POST", "/api/v1/rollouts", token, body, 201, diag);
    ro->id = (int64_t)json_integer_value(json_object_get(o, "id"));
    json_decref(o);
    if (ro->id <= 0)
        return o == NULL ? NB_EIO : nb_diag_set(diag, NB_EPARSE, "rollout: no id in the answer");
    (void)snprintf(path, sizeof path, "/api/v1/rollouts/%lld/start", (long long)ro->id);
    o = sim_mgmt_json(r->net, "POST", path, token, NULL, 200, diag);
    if (o == NULL)
        return NB_EIO;
    json_decref(o);
    sim_run_start_plan(r, version);
    r->on_tick = on_tick;
    r->tick_ctx = ro;
    r->tick_at_ms = sim_run_now_ms(r); /* the first tick at once: the canary */
    fprintf(stderr, "sim: rollout %lld of %s started\n", (long long)ro->id, version);
    return NB_OK;
}

bool sim_rollout_stopped(const struct sim_rollout *ro)
{
    return strcmp(ro->state, "running") != 0 && strcmp(ro->state, "draft") != 0 &&
           ro->state[0] != '\0';
}

bool sim_rollout_completed(const struct sim_rollout *ro)
{
    return strcmp(ro->state, "completed") == 0;
}

void sim_rollout_fini(struct sim_rollout *ro)
{
    json_decref(ro->last);
    ro->last = NULL;
}
