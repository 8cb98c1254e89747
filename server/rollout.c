/* The rollout engine (rollout.h): the plan of a selection (who is in which
 * wave, who is left out and why), the per-wave counters read back from the
 * store, and the tick that turns a gate decision into the next wave, a
 * pause, an abort or the end. The store is the only memory: a tick reads
 * everything it needs, so a restarted server carries on. */
#include "rollout.h"
#include "log.h"
#include "rollout_control.h"

#include <nobrick/alloc.h>

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* ---- the plan ------------------------------------------------------------------ */

struct planner {
    const struct store_release *rel;
    const struct rollout_spec *spec;
    json_t *hw;
    struct rollout_plan *plan;
    size_t cap;
    size_t visited;                  /* rows of the current page */
    struct store_device_filter page; /* the selection, and where its next page starts */
    enum nb_err err;
};

static bool in_release(const struct planner *p, const char *hw_class)
{
    size_t i;
    json_t *v;
    json_array_foreach(p->hw, i, v)
    {
        if (json_is_string(v) && strcmp(json_string_value(v), hw_class) == 0)
            return true;
    }
    return false;
}

static bool is_canary(const struct rollout_spec *s, const char *id)
{
    for (size_t i = 0; i < s->n_canary; i++) {
        if (strcmp(s->canary[i], id) == 0)
            return true;
    }
    return false;
}

static void exclude(struct planner *p, const char *id, const char *reason)
{
    json_array_append_new(p->plan->excluded,
                          json_pack("{s:s, s:s}", "device_id", id, "reason", reason));
}

static bool take(struct planner *p, const struct store_device *d, bool canary, bool skip)
{
    struct rollout_plan *pl = p->plan;
    if (pl->n == p->cap) {
        size_t cap = p->cap == 0 ? 256 : p->cap * 2;
        void *m = cap <= ROLLOUT_DEVICES_MAX ? nb_realloc(pl->m, cap * sizeof pl->m[0]) : NULL;
        if (m == NULL) {
            p->err = cap <= ROLLOUT_DEVICES_MAX ? NB_ENOMEM : NB_ELENGTH;
            return false;
        }
        pl->m = m;
        p->cap = cap;
    }
    memset(&pl->m[pl->n], 0, sizeof pl->m[0]);
    memcpy(pl->m[pl->n].id, d->id, sizeof d->id);
    pl->m[pl->n].skip = skip;
    pl->m[pl->n++].canary = canary;
    return true;
}

/* Every device the selection matches, and each canary: in the plan when
 * active, of a class the release lists and not already on its version. */
static bool consider(struct planner *p, const struct store_device *d, bool canary)
{
    char why[ROLLOUT_WHY_MAX];
    if (!canary && is_canary(p->spec, d->id))
        return true; /* taken with the canary list */
    if (d->state != STORE_DEVICE_ACTIVE)
        (void)snprintf(why, sizeof why, "not active (%s)", store_device_state_name(d->state));
    else if (!in_release(p, d->hw_class))
        (void)snprintf(why, sizeof why, "hardware class %s not in the release", d->hw_class);
    else if (strcmp(d->installed_version, p->rel->version) == 0)
        (void)snprintf(why, sizeof why, "already runs %s", p->rel->version);
    else if (!rollout_version_in_range(p->spec, d->installed_version, why, sizeof why))
        ;
    else
        return take(p, d, canary, false);
    exclude(p, d->id, why);
    /* A device already on the version keeps its place in the order, so the
     * waves of the others do not shift as devices update. */
    return strncmp(why, "already", 7) != 0 || take(p, d, canary, true);
}

static bool consider_selected(void *arg, const struct store_device *d)
{
    struct planner *p = arg;
    p->visited++;
    p->page.after_created_at = d->created_at;
    memcpy(p->page.after_id, d->id, sizeof p->page.after_id);
    return consider(p, d, false);
}

/* A rollback's devices: those of the rolled-back rollout that took its
 * release (rollout_control.c), the canary list among them. */
static enum nb_err select_rollback(struct srv *srv, struct planner *p)
{
    char(*ids)[STORE_ID_MAX + 1] = NULL;
    size_t n = 0;
    enum nb_err err = rollout_rollback_members(srv, p->spec->rollback_of, &ids, &n);
    for (size_t i = 0; err == NB_OK && p->err == NB_OK && i < n; i++) {
        struct store_device d;
        err = srv->store.ops->device_get(&srv->store, ids[i], &d);
        if (err == NB_OK)
            (void)consider(p, &d, is_canary(p->spec, d.id));
    }
    nb_free(ids);
    return err != NB_OK ? err : p->err;
}

static enum nb_err select_devices(struct srv *srv, struct planner *p)
{
    struct store_device_filter *f = &p->page;
    if (p->spec->rollback_of > 0)
        return select_rollback(srv, p);
    memset(f, 0, sizeof *f);
    memcpy(f->group, p->spec->group, sizeof f->group);
    memcpy(f->tag, p->spec->tag, sizeof f->tag);
    memcpy(f->hw_class, p->spec->hw_class, sizeof f->hw_class);
    while (p->err == NB_OK) {
        p->visited = 0;
        enum nb_err err =
            srv->store.ops->device_list(&srv->store, f, STORE_LIST_MAX, 0, consider_selected, p);
        if (err != NB_OK)
            return err;
        if (p->visited < STORE_LIST_MAX)
            break;
    }
    for (size_t i = 0; p->err == NB_OK && i < p->spec->n_canary; i++) {
        struct store_device d;
        enum nb_err err = srv->store.ops->device_get(&srv->store, p->spec->canary[i], &d);
        if (err == NB_ENOENT)
            exclude(p, p->spec->canary[i], "unknown device");
        else if (err != NB_OK)
            return err;
        else
            (void)consider(p, &d, true);
    }
    return p->err;
}

enum nb_err rollout_plan_make(struct srv *srv, const struct store_release *r,
                              const struct rollout_spec *spec, const char *salt,
                              struct rollout_plan *plan)
{
    memset(plan, 0, sizeof *plan);
    plan->excluded = json_array();
    struct planner p = {r, spec, json_loads(r->hw_classes, 0, NULL), plan, 0, 0, {0}, NB_OK};
    enum nb_err err = select_devices(srv, &p);
    json_decref(p.hw);
    if (err == NB_OK)
        err = wave_assign(salt, spec->steps, spec->n_steps, plan->m, plan->n);
    plan->n_waves = spec->n_steps + 1;
    for (size_t i = 0; err == NB_OK && i < plan->n; i++) {
        if (plan->m[i].wave < plan->n_waves && !plan->m[i].skip)
            plan->sizes[plan->m[i].wave]++;
    }
    if (err != NB_OK)
        rollout_plan_free(plan);
    return err;
}

void rollout_plan_free(struct rollout_plan *plan)
{
    nb_free(plan->m);
    json_decref(plan->excluded);
    memset(plan, 0, sizeof *plan);
}

/* ---- counting ------------------------------------------------------------------ */

/* Pending: not seen, unless the device already checked in and waits (for
 * a cap) or failed an attempt that will be retried: those are in progress
 * (a failure counts only when it is final). */
static void count_pending(struct rollout_wave_view *v, const struct store_rollout_member *m)
{
    if (m->t.waiting[0] != '\0') {
        if (strcmp(m->t.waiting, "rate cap") == 0)
            v->waiting_rate++;
        else
            v->waiting_downloads++;
        v->counts.in_progress++;
    } else if (m->t.attempt > 1) {
        v->retrying++;
        v->counts.in_progress++;
    } else {
        v->counts.not_seen++;
    }
}

static void count(struct rollout_wave_view *v, const struct store_rollout_member *m, int64_t now)
{
    const struct store_assignment *a = &m->a;
    struct gate_counts *c = &v->counts;
    v->in_state[a->state]++;
    /* A quarantined device is counted apart, like one never seen. */
    if (a->state != STORE_ASSIGN_SUCCEEDED && a->state != STORE_ASSIGN_CANCELLED &&
        m->q.until > now) {
        v->quarantined++;
        return;
    }
    switch (a->state) {
    case STORE_ASSIGN_PENDING:
        count_pending(v, m);
        break;
    case STORE_ASSIGN_SUCCEEDED:
        c->succeeded++;
        break;
    case STORE_ASSIGN_FAILED:
        c->failed[strcmp(a->code, ROLLOUT_TIMEOUT_CODE) == 0 ? GATE_FAIL_TIMEOUT
                                                             : GATE_FAIL_INSTALL]++;
        break;
    case STORE_ASSIGN_ROLLED_BACK:
        /* No code: the check-in found it back on the old version after it
         * said it committed. */
        c->failed[a->code[0] == '\0' ? GATE_FAIL_FALLBACK : GATE_FAIL_HEALTH]++;
        break;
    case STORE_ASSIGN_CANCELLED:
        v->cancelled++;
        break;
    default:
        c->in_progress++;
    }
}

struct counting {
    struct rollout_wave_view *views;
    int64_t now;
};

static bool count_member(void *arg, const struct store_rollout_member *m)
{
    struct counting *k = arg;
    if (m->wave >= 0 && m->wave < ROLLOUT_WAVES_MAX && m->a.state < STORE_ASSIGN_COUNT)
        count(&k->views[m->wave], m, k->now);
    return true;
}

static bool note_wave(void *arg, const struct store_rollout_wave *w)
{
    struct rollout_wave_view *views = arg;
    if (w->wave >= 0 && w->wave < ROLLOUT_WAVES_MAX) {
        views[w->wave].opened = true;
        views[w->wave].deployment_id = w->deployment_id;
        views[w->wave].opened_at = w->opened_at;
    }
    return true;
}

enum nb_err rollout_view(struct srv *srv, const struct store_rollout *r, int64_t now,
                         struct rollout_wave_view *views)
{
    struct counting k = {views, now};
    memset(views, 0, ROLLOUT_WAVES_MAX * sizeof views[0]);
    enum nb_err err = srv->store.ops->rollout_waves(&srv->store, r->id, note_wave, views);
    if (err == NB_OK)
        err = srv->store.ops->rollout_members(&srv->store, r->id, count_member, &k);
    return err;
}

void rollout_gate(const struct store_rollout *r, const struct rollout_spec *spec,
                  const struct rollout_wave_view *views, int64_t now, struct gate_result *out)
{
    int cw = r->current_wave < 0 ? 0 : r->current_wave;
    struct gate_input in;
    memset(&in, 0, sizeof in);
    in.wave = (unsigned)cw;
    in.cur = views[cw].counts;
    for (int w = 0; w < cw; w++) {
        const struct gate_counts *c = &views[w].counts;
        in.before.not_seen += c->not_seen;
        in.before.in_progress += c->in_progress;
        in.before.succeeded += c->succeeded;
        for (int k = 0; k < GATE_FAIL_COUNT; k++)
            in.before.failed[k] += c->failed[k];
    }
    in.soaked_s = now > views[cw].opened_at ? (uint64_t)(now - views[cw].opened_at) : 0;
    gate_evaluate(cw == 0 ? &spec->canary_gate : &spec->gate, &in, out);
}
