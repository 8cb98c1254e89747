/* The scenario's rollout (rollout.h), driven through the management API,
 * and the rollback the engine starts when its gates abort it. Virtual time
 * stops at each tick (run.c), so the engine sees the fleet as it is at
 * that virtual second: soak times, device timeouts and gates run as they
 * would over days, in seconds. */
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

/* GET /api/v1/rollouts/{id} into v; on failure the state is "unknown". */
static void read_view(struct sim_rollout *ro, struct sim_rollout_view *v)
{
    char path[64];
    struct nb_diag diag = {{0}};
    (void)snprintf(path, sizeof path, "/api/v1/rollouts/%lld", (long long)v->id);
    json_t *o = sim_mgmt_json(ro->net, "GET", path, ro->token, NULL, 200, &diag);
    const char *state = json_string_value(json_object_get(o, "state"));
    if (o == NULL || state == NULL) {
        fprintf(stderr, "\nsim: reading rollout %lld: %s\n", (long long)v->id, diag.msg);
        (void)snprintf(v->state, sizeof v->state, "unknown");
        json_decref(o);
        return;
    }
    (void)snprintf(v->state, sizeof v->state, "%s", state);
    json_decref(v->last);
    v->last = o;
}

static bool view_stopped(const struct sim_rollout_view *v)
{
    return strcmp(v->state, "running") != 0 && strcmp(v->state, "draft") != 0 &&
           v->state[0] != '\0';
}

void sim_rollout_refresh(struct sim_rollout *ro)
{
    read_view(ro, &ro->main);
    if (ro->rollback.id > 0)
        read_view(ro, &ro->rollback);
}

/* The id of the rollout named name in GET /api/v1/rollouts, or 0. */
static int64_t rollout_named(struct sim_rollout *ro, const char *name)
{
    struct nb_diag diag = {{0}};
    json_t *o = sim_mgmt_json(ro->net, "GET", "/api/v1/rollouts", ro->token, NULL, 200, &diag);
    json_t *item;
    size_t i;
    int64_t id = 0;
    if (o == NULL)
        fprintf(stderr, "\nsim: listing rollouts: %s\n", diag.msg);
    json_array_foreach(json_object_get(o, "rollouts"), i, item)
    {
        const char *n = json_string_value(json_object_get(item, "name"));
        if (n != NULL && strcmp(n, name) == 0)
            id = (int64_t)json_integer_value(json_object_get(item, "id"));
    }
    json_decref(o);
    return id > 0 ? id : 0;
}

/* The engine's rollback of the aborted main rollout, when its spec asked
 * for one: the rollout named rollback-of-ID whose spec.rollback_of is ID.
 * The engine starts it in the tick that aborts, so it exists by now or was
 * refused (the server logs why). */
static void find_rollback(struct sim_rollout *ro, double now_s)
{
    json_t *want = json_object_get(json_object_get(ro->main.last, "spec"), "auto_rollback");
    if (strcmp(ro->main.state, "aborted") != 0 || want == NULL || json_is_false(want))
        return;
    char name[40];
    (void)snprintf(name, sizeof name, "rollback-of-%lld", (long long)ro->main.id);
    ro->rollback.id = rollout_named(ro, name);
    if (ro->rollback.id == 0) {
        fprintf(stderr,
                "\nsim: rollout %lld aborted without its automatic rollback (see the "
                "server's log)\n",
                (long long)ro->main.id);
        return;
    }
    read_view(ro, &ro->rollback);
    json_t *spec = json_object_get(ro->rollback.last, "spec");
    if (json_integer_value(json_object_get(spec, "rollback_of")) != ro->main.id) {
        fprintf(stderr, "\nsim: rollout %lld is named %s but is no rollback of it\n",
                (long long)ro->rollback.id, name);
        json_decref(ro->rollback.last);
        memset(&ro->rollback, 0, sizeof ro->rollback);
        ro->rollback.started_s = ro->rollback.stopped_s = -1;
        return;
    }
    ro->rollback.started_s = now_s;
    fprintf(stderr, "\nsim: rollout %lld aborted; the engine rolls it back: rollout %lld\n",
            (long long)ro->main.id, (long long)ro->rollback.id);
}

static int64_t count(const json_t *wave, const char *key)
{
    return (int64_t)json_integer_value(json_object_get(wave, key));
}

/* The rollout's devices still to finish: of a completed one, every device
 * not yet succeeded or failed (cancelled and quarantined ones aside); of a
 * paused or aborted one, those downloading or installing (the others are
 * told to wait, or cancelled). */
static int64_t open_devices(const struct sim_rollout_view *v)
{
    bool completed = strcmp(v->state, "completed") == 0;
    int64_t n = 0;
    json_t *w;
    size_t i;
    json_array_foreach(json_object_get(v->last, "waves"), i, w)
    {
        n += completed ? count(w, "targeted") - count(w, "succeeded") - count(w, "failed") -
                             count(w, "cancelled") - count(w, "quarantined")
                       : count(w, "downloading") + count(w, "installing");
    }
    return n;
}

static void note(struct sim_run *r, const struct sim_rollout *ro)
{
    const struct sim_rollout_view *m = &ro->main, *b = &ro->rollback;
    int n = snprintf(r->plan_note, sizeof r->plan_note, "rollout %s, wave %d", m->state,
                     (int)json_integer_value(json_object_get(m->last, "current_wave")));
    if (b->id > 0 && n > 0 && (size_t)n < sizeof r->plan_note)
        (void)snprintf(r->plan_note + n, sizeof r->plan_note - (size_t)n, "; rollback %s, wave %d",
                       b->state, (int)json_integer_value(json_object_get(b->last, "current_wave")));
}

/* run.h's on_tick: the engine ticks at the virtual time, then the states;
 * the ticks stop once the rollout and its rollback are done. */
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
    double now_s = (double)(sim_run_now_ms(r) - r->deploy_at_ms) / 1000.0;
    sim_rollout_refresh(ro);
    if (sim_rollout_stopped(ro) && ro->main.stopped_s < 0)
        ro->main.stopped_s = now_s;
    if (sim_rollout_stopped(ro) && !ro->rollback_sought) {
        ro->rollback_sought = true;
        find_rollback(ro, now_s);
    }
    if (ro->rollback.id > 0) {
        ro->rollback_open = open_devices(&ro->rollback);
        if (view_stopped(&ro->rollback) && ro->rollback.stopped_s < 0)
            ro->rollback.stopped_s = now_s;
    }
    note(r, ro);
    r->tick_at_ms =
        sim_rollout_done(ro) ? UINT64_MAX : sim_run_now_ms(r) + (uint64_t)r->sc->tick_s * 1000;
}

enum nb_err sim_rollout_start(struct sim_rollout *ro, struct sim_run *r, const char *token,
                              int64_t release_id, const char *version, struct nb_diag *diag)
{
    int64_t planned = 0;
    memset(ro, 0, sizeof *ro);
    ro->net = r->net;
    ro->token = token;
    ro->main.started_s = 0;
    ro->main.stopped_s = ro->rollback.started_s = ro->rollback.stopped_s = -1;
    static char body[SIM_ROLLOUT_SPEC_MAX * 2];
    if (!create_body(r, release_id, body, sizeof body, diag))
        return NB_ELENGTH;
    enum nb_err err = sim_mgmt_rollout(r->net, token, body, &ro->main.id, &planned, diag);
    if (err != NB_OK)
        return err;
    sim_run_start_plan(r, version);
    r->on_tick = on_tick;
    r->tick_ctx = ro;
    r->tick_at_ms = sim_run_now_ms(r); /* the first tick at once: the canary */
    fprintf(stderr, "sim: rollout %lld of %s started\n", (long long)ro->main.id, version);
    return NB_OK;
}

bool sim_rollout_stopped(const struct sim_rollout *ro)
{
    return view_stopped(&ro->main);
}

bool sim_rollout_completed(const struct sim_rollout *ro)
{
    return strcmp(ro->main.state, "completed") == 0;
}

bool sim_rollout_done(const struct sim_rollout *ro)
{
    if (!sim_rollout_stopped(ro))
        return false;
    return ro->rollback.id <= 0 || (view_stopped(&ro->rollback) && ro->rollback_open <= 0);
}

static json_t *seconds(double s)
{
    return s >= 0 ? json_real(s) : json_null();
}

void sim_rollout_summary(const struct sim_rollout *ro, json_t *s)
{
    json_t *timing = json_object_get(s, "timing");
    json_object_set_new(timing, "rollout_stopped_s", seconds(ro->main.stopped_s));
    json_object_set_new(timing, "rollback_started_s", seconds(ro->rollback.started_s));
    json_object_set_new(timing, "rollback_stopped_s", seconds(ro->rollback.stopped_s));
    json_object_set_new(s, "rollback",
                        ro->rollback.last != NULL ? json_incref(ro->rollback.last) : json_null());
}

void sim_rollout_fini(struct sim_rollout *ro)
{
    json_decref(ro->main.last);
    json_decref(ro->rollback.last);
    ro->main.last = ro->rollback.last = NULL;
}
