/* The rollout engine's tick and its thread (rollout.h). For each running
 * rollout: time out devices without progress, settle finished attempts
 * (retries, quarantine: rollout_device.h), put devices that joined the
 * selection into the current wave, ask the gate, and act on its answer.
 * Every change goes through one store transaction with its audit entry
 * (actor "engine"), so a tick cut short leaves nothing half done. */
#include "log.h"
#include "rollout.h"
#include "rollout_control.h"
#include "rollout_device.h"

#include <nobrick/alloc.h>

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* An audit entry by the engine; detail is built with jansson (escaped). */
static struct store_audit engine_audit(const struct store_rollout *r, int64_t now,
                                       const char *action, json_t *detail)
{
    struct store_audit au;
    memset(&au, 0, sizeof au);
    au.at = now;
    memcpy(au.actor, "engine", 7);
    (void)snprintf(au.action, sizeof au.action, "%s", action);
    (void)snprintf(au.object, sizeof au.object, "rollout:%lld", (long long)r->id);
    size_t n = json_dumpb(detail, au.detail, sizeof au.detail - 1, JSON_COMPACT);
    au.detail[n < sizeof au.detail ? n : 0] = '\0';
    json_decref(detail);
    return au;
}

static int by_id(const void *a, const void *b)
{
    return strcmp(a, b);
}

struct members {
    char (*ids)[STORE_ID_MAX + 1];
    size_t n, cap;
    bool failed;
};

static bool add_member(void *arg, const struct store_rollout_member *m)
{
    struct members *ms = arg;
    if (ms->n == ms->cap) {
        size_t cap = ms->cap == 0 ? 256 : ms->cap * 2;
        void *p = nb_realloc(ms->ids, cap * sizeof ms->ids[0]);
        if (p == NULL) {
            ms->failed = true;
            return false;
        }
        ms->ids = p;
        ms->cap = cap;
    }
    memcpy(ms->ids[ms->n++], m->a.device_id, sizeof ms->ids[0]);
    return true;
}

/* Puts the planned devices of waves lo..hi that are not yet members into
 * wave `into` (which this opens when it is new). */
static enum nb_err assign_wave_as(struct srv *srv, const struct store_rollout *r,
                                  const struct rollout_plan *plan, const struct members *ms,
                                  unsigned lo, unsigned hi, int into, int64_t now,
                                  const struct store_audit *by)
{
    const char **ids = nb_calloc(plan->n + 1, sizeof *ids);
    size_t n = 0;
    if (ids == NULL)
        return NB_ENOMEM;
    for (size_t i = 0; i < plan->n; i++) {
        const struct wave_member *m = &plan->m[i];
        if (!m->skip && m->wave >= lo && m->wave <= hi &&
            (ms->n == 0 || bsearch(m->id, ms->ids, ms->n, sizeof ms->ids[0], by_id) == NULL))
            ids[n++] = m->id;
    }
    enum nb_err err = NB_OK;
    bool opens = into > r->current_wave;
    if (n > 0 || opens) {
        struct store_audit au =
            by != NULL
                ? *by
                : engine_audit(r, now, opens ? "rollout.wave" : "rollout.join",
                               json_pack("{s:i, s:i}", "wave", into, "devices", (json_int_t)n));
        err = srv->store.ops->rollout_assign(&srv->store, r->id, into, ids, n, now, &au);
        if (err == NB_OK)
            srv_log(SRV_LOG_INFO, "rollout %lld: %s wave %d with %zu devices", (long long)r->id,
                    opens ? "opened" : "joined to", into, n);
    }
    nb_free(ids);
    return err;
}

static enum nb_err assign_wave(struct srv *srv, const struct store_rollout *r,
                               const struct rollout_plan *plan, const struct members *ms,
                               unsigned lo, unsigned hi, int into, int64_t now)
{
    return assign_wave_as(srv, r, plan, ms, lo, hi, into, now, NULL);
}

/* The members of r, sorted by id. */
static enum nb_err load_members(struct srv *srv, const struct store_rollout *r, struct members *ms)
{
    enum nb_err err = srv->store.ops->rollout_members(&srv->store, r->id, add_member, ms);
    if (err == NB_OK && ms->failed)
        err = NB_ENOMEM;
    if (err == NB_OK && ms->n > 0)
        qsort(ms->ids, ms->n, sizeof ms->ids[0], by_id);
    return err;
}

static enum nb_err set_state(struct srv *srv, const struct store_rollout *r,
                             enum store_rollout_state to, const char *reason, int64_t now)
{
    struct store_audit au = engine_audit(
        r, now, to == STORE_ROLLOUT_COMPLETED ? "rollout.complete" : "rollout.gate",
        json_pack("{s:s, s:s}", "state", store_rollout_state_name(to), "reason", reason));
    enum nb_err err = srv->store.ops->rollout_set_state(&srv->store, r->id, STORE_ROLLOUT_RUNNING,
                                                        to, reason, now, &au);
    if (err == NB_OK)
        srv_log(SRV_LOG_INFO, "rollout %lld: %s: %s", (long long)r->id,
                store_rollout_state_name(to), reason);
    return err == NB_EINVAL ? NB_OK : err; /* paused by an operator meanwhile */
}

/* The gate's answer for the current wave, acted on. */
static enum nb_err act(struct srv *srv, const struct store_rollout *r,
                       const struct rollout_spec *spec, const struct rollout_plan *plan,
                       const struct members *ms, int64_t now)
{
    struct rollout_wave_view views[ROLLOUT_WAVES_MAX];
    struct gate_result g;
    enum nb_err err = rollout_view(srv, r, now, views);
    if (err != NB_OK)
        return err;
    rollout_gate(r, spec, views, now, &g);
    rollout_escalate(spec, &g);
    if (g.decision == GATE_PAUSE)
        return set_state(srv, r, STORE_ROLLOUT_PAUSED, g.reason, now);
    if (g.decision == GATE_ABORT) {
        err = set_state(srv, r, STORE_ROLLOUT_ABORTED, g.reason, now);
        if (err == NB_OK)
            rollout_after_abort(srv, r->id, now);
        return err;
    }
    if (g.decision == GATE_HOLD || !rollout_window_allows(spec, now))
        return NB_OK;
    srv_log(SRV_LOG_INFO, "rollout %lld: %s", (long long)r->id, g.reason);
    int next = r->current_wave + 1;
    if ((size_t)next >= plan->n_waves) {
        char done[STORE_TEXT_MAX + 1];
        (void)snprintf(done, sizeof done, "completed: all %zu waves passed their gates (%s)",
                       plan->n_waves, g.reason);
        return set_state(srv, r, STORE_ROLLOUT_COMPLETED, done, now);
    }
    return assign_wave(srv, r, plan, ms, (unsigned)next, (unsigned)next, next, now);
}

static enum nb_err tick_one(struct srv *srv, const struct store_rollout *r, int64_t now)
{
    struct rollout_spec spec;
    struct store_release rel;
    struct rollout_plan plan;
    struct members ms = {NULL, 0, 0, false};
    size_t expired = 0;
    enum nb_err err = rollout_spec_parse(r->spec, &spec);
    if (err == NB_OK)
        err = srv->store.ops->release_get(&srv->store, r->release_id, &rel);
    if (err == NB_OK)
        err = rdev_expire(srv, r, &spec, now, &expired);
    if (err == NB_OK && expired > 0)
        srv_log(SRV_LOG_INFO, "rollout %lld: %zu devices timed out", (long long)r->id, expired);
    if (err == NB_OK)
        err = rdev_settle_rollout(srv, r, &spec, now); /* retries, quarantine: before the gate */
    if (err != NB_OK || (err = rollout_plan_make(srv, &rel, &spec, r->salt, &plan)) != NB_OK)
        return err;
    err = load_members(srv, r, &ms);
    if (err == NB_OK && r->current_wave < 0 && rollout_window_allows(&spec, now)) {
        err = assign_wave(srv, r, &plan, &ms, 0, 0, 0, now); /* the start: the canary */
    } else if (err == NB_OK && r->current_wave >= 0) {
        /* Devices that joined the selection: into the current wave, under its gate. */
        err = assign_wave(srv, r, &plan, &ms, 0, (unsigned)r->current_wave, r->current_wave, now);
        if (err == NB_OK)
            err = act(srv, r, &spec, &plan, &ms, now);
    }
    nb_free(ms.ids);
    rollout_plan_free(&plan);
    return err;
}

enum nb_err rollout_force_wave(struct srv *srv, const struct store_rollout *r,
                               const struct store_audit *au, int64_t now)
{
    struct rollout_spec spec;
    struct store_release rel;
    struct rollout_plan plan;
    struct members ms = {NULL, 0, 0, false};
    int next = r->current_wave + 1;
    enum nb_err err = rollout_spec_parse(r->spec, &spec);
    if (err == NB_OK)
        err = srv->store.ops->release_get(&srv->store, r->release_id, &rel);
    if (err != NB_OK || (err = rollout_plan_make(srv, &rel, &spec, r->salt, &plan)) != NB_OK)
        return err;
    err = (size_t)next >= plan.n_waves ? NB_ENOSPC : load_members(srv, r, &ms);
    if (err == NB_OK)
        err = assign_wave_as(srv, r, &plan, &ms, (unsigned)next, (unsigned)next, next, now, au);
    nb_free(ms.ids);
    rollout_plan_free(&plan);
    return err;
}

struct running {
    int64_t ids[STORE_LIST_MAX];
    size_t n;
};

static bool note_running(void *arg, const struct store_rollout *r)
{
    struct running *run = arg;
    run->ids[run->n++] = r->id;
    return run->n < STORE_LIST_MAX;
}

/* Ticks the rollouts in state st (at most max, newest first): running
 * ones fully, completed ones only for their late devices (rollout_device.h). */
static void tick_state(struct srv *srv, enum store_rollout_state st, size_t max, int64_t now)
{
    static _Thread_local struct running run; /* only the engine thread ticks */
    static _Thread_local struct store_rollout r;
    run.n = 0;
    enum nb_err err =
        srv->store.ops->rollout_list(&srv->store, true, st, max, 0, note_running, &run);
    for (size_t i = 0; err == NB_OK && i < run.n; i++) {
        /* Read again: the state may have changed since the list. */
        enum nb_err e = srv->store.ops->rollout_get(&srv->store, run.ids[i], &r);
        if (e == NB_OK && r.state == st)
            e = st == STORE_ROLLOUT_RUNNING ? tick_one(srv, &r, now) : rdev_tick_late(srv, &r, now);
        if (e != NB_OK)
            srv_log(SRV_LOG_WARN, "rollout %lld: tick: %s", (long long)run.ids[i], nb_strerror(e));
    }
    if (err != NB_OK)
        srv_log(SRV_LOG_WARN, "rollouts: tick: %s", nb_strerror(err));
}

void rollout_tick(struct srv *srv, int64_t now)
{
    tick_state(srv, STORE_ROLLOUT_RUNNING, STORE_LIST_MAX, now);
    tick_state(srv, STORE_ROLLOUT_COMPLETED, RDEV_LATE_ROLLOUTS, now);
}

/* ---- the thread ------------------------------------------------------------------ */

struct rollout_engine {
    struct srv *srv;
    uint32_t interval_s; /* 0: ticks only when asked */
    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t cv, done_cv;
    bool stop, wake;
    uint64_t asked, done; /* ticks asked by rollout_engine_tick, and the last one done */
};

/* Until the next tick is due (mu held): woken, stopped or, with an
 * interval, interval_s seconds of real time. */
static void wait_for_work(struct rollout_engine *e)
{
    if (e->interval_s == 0) {
        while (!e->stop && !e->wake)
            pthread_cond_wait(&e->cv, &e->mu);
        return;
    }
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += e->interval_s;
    while (!e->stop && !e->wake && pthread_cond_timedwait(&e->cv, &e->mu, &until) == 0) {
    }
}

static void *engine_main(void *arg)
{
    struct rollout_engine *e = arg;
    pthread_mutex_lock(&e->mu);
    while (!e->stop) {
        uint64_t asked = e->asked; /* this tick answers every request made so far */
        e->wake = false;
        pthread_mutex_unlock(&e->mu);
        rollout_tick(e->srv, srv_now());
        pthread_mutex_lock(&e->mu);
        e->done = asked;
        pthread_cond_broadcast(&e->done_cv);
        wait_for_work(e);
    }
    pthread_mutex_unlock(&e->mu);
    return NULL;
}

enum nb_err rollout_engine_start(struct srv *srv, uint32_t interval_s, struct rollout_engine **out)
{
    struct rollout_engine *e = nb_calloc(1, sizeof *e);
    if (e == NULL)
        return NB_ENOMEM;
    e->srv = srv;
    e->interval_s = interval_s;
    pthread_mutex_init(&e->mu, NULL);
    pthread_cond_init(&e->cv, NULL);
    pthread_cond_init(&e->done_cv, NULL);
    if (pthread_create(&e->thread, NULL, engine_main, e) != 0) {
        pthread_cond_destroy(&e->done_cv);
        pthread_cond_destroy(&e->cv);
        pthread_mutex_destroy(&e->mu);
        nb_free(e);
        return NB_EIO;
    }
    *out = e;
    return NB_OK;
}

void rollout_engine_wake(struct rollout_engine *e)
{
    if (e == NULL)
        return;
    pthread_mutex_lock(&e->mu);
    e->wake = true;
    pthread_cond_signal(&e->cv);
    pthread_mutex_unlock(&e->mu);
}

void rollout_engine_tick(struct rollout_engine *e)
{
    if (e == NULL)
        return;
    pthread_mutex_lock(&e->mu);
    uint64_t want = ++e->asked;
    e->wake = true;
    pthread_cond_signal(&e->cv);
    while (!e->stop && e->done < want)
        pthread_cond_wait(&e->done_cv, &e->mu);
    pthread_mutex_unlock(&e->mu);
}

void rollout_engine_stop(struct rollout_engine *e)
{
    if (e == NULL)
        return;
    pthread_mutex_lock(&e->mu);
    e->stop = true;
    pthread_cond_signal(&e->cv);
    pthread_cond_broadcast(&e->done_cv);
    pthread_mutex_unlock(&e->mu);
    pthread_join(e->thread, NULL);
    pthread_cond_destroy(&e->done_cv);
    pthread_cond_destroy(&e->cv);
    pthread_mutex_destroy(&e->mu);
    nb_free(e);
}
