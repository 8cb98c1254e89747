/* What an operator reads about a rollout (rollout.h): the plan as JSON
 * (dry run and create), and the status: per wave the funnel (targeted,
 * not seen, notified, downloading, installing, succeeded, failed by
 * reason, timed out, waiting for a cap, retrying, quarantined), the
 * gate's decision with its sentence, the quarantined devices, and the time
 * the rollout took to reach each share of its devices. */
#include "rollout.h"

#include <nobrick/alloc.h>

#include <stdlib.h>
#include <string.h>

json_t *rollout_plan_json(const struct rollout_plan *plan, const struct store_release *r,
                          size_t list_max)
{
    json_t *waves = json_array(), *devices = json_array();
    size_t cum = 0;
    for (size_t w = 0; w < plan->n_waves; w++) {
        cum += plan->sizes[w];
        json_array_append_new(waves,
                              json_pack("{s:i, s:s, s:I, s:I}", "wave", (int)w, "name",
                                        w == 0 ? "canary" : "wave", "devices",
                                        (json_int_t)plan->sizes[w], "cumulative", (json_int_t)cum));
    }
    for (size_t i = 0, shown = 0; i < plan->n && shown < list_max; i++) {
        if (plan->m[i].skip)
            continue;
        json_array_append_new(devices, json_pack("{s:s, s:i}", "device_id", plan->m[i].id, "wave",
                                                 (int)plan->m[i].wave));
        shown++;
    }
    return json_pack("{s:I, s:o, s:o, s:b, s:O, s:I}", "devices", (json_int_t)cum, "waves", waves,
                     "members", devices, "members_truncated", cum > list_max, "excluded",
                     plan->excluded, "bytes", (json_int_t)(cum * r->bundle_size));
}

static json_t *failures_json(const struct gate_counts *c)
{
    json_t *o = json_object();
    for (int k = 0; k < GATE_FAIL_COUNT; k++)
        json_object_set_new(o, gate_failure_name(k), json_integer(c->failed[k]));
    return o;
}

/* The wave's devices: those the gate counts, and those it leaves out. */
static uint32_t targeted(const struct rollout_wave_view *v)
{
    return gate_total(&v->counts) + v->cancelled + v->quarantined;
}

/* planned: the plan's devices still to reach, or the devices the wave
 * holds, whichever is more (devices on the version leave the plan). */
static json_t *wave_json(int w, const struct rollout_wave_view *v, size_t planned)
{
    const uint32_t *s = v->in_state;
    const struct gate_counts *c = &v->counts;
    planned = planned > targeted(v) ? planned : targeted(v);
    json_t *o = json_pack(
        "{s:i, s:s, s:b, s:I, s:I, s:i, s:i, s:i, s:i, s:i, s:i, s:i, s:i, s:o, s:i, s:i}", "wave",
        w, "name", w == 0 ? "canary" : "wave", "opened", v->opened, "opened_at",
        (json_int_t)v->opened_at, "planned", (json_int_t)planned, "targeted", (int)targeted(v),
        "not_seen", (int)c->not_seen, "notified", (int)s[STORE_ASSIGN_NOTIFIED], "downloading",
        (int)s[STORE_ASSIGN_DOWNLOADING], "installing",
        (int)(s[STORE_ASSIGN_INSTALLING] + s[STORE_ASSIGN_REBOOTING] + s[STORE_ASSIGN_COMMITTED]),
        "succeeded", (int)c->succeeded, "failed", (int)gate_failed(c), "timed_out",
        (int)c->failed[GATE_FAIL_TIMEOUT], "failed_by_reason", failures_json(c), "cancelled",
        (int)v->cancelled, "deployment_id", (int)v->deployment_id);
    json_object_set_new(o, "waiting_rate_cap", json_integer(v->waiting_rate));
    json_object_set_new(o, "waiting_download_cap", json_integer(v->waiting_downloads));
    json_object_set_new(o, "retrying", json_integer(v->retrying));
    json_object_set_new(o, "quarantined", json_integer(v->quarantined));
    return o;
}

/* The rollout's devices that are quarantined at now (at most list_max). */
struct quarantined {
    json_t *list;
    int64_t now;
};

static bool note_quarantined(void *arg, const struct store_rollout_member *m)
{
    struct quarantined *q = arg;
    if (m->q.until > q->now && m->a.state != STORE_ASSIGN_SUCCEEDED &&
        m->a.state != STORE_ASSIGN_CANCELLED)
        json_array_append_new(q->list,
                              json_pack("{s:s, s:i, s:I, s:I, s:i, s:s}", "device_id",
                                        m->a.device_id, "wave", m->wave, "since",
                                        (json_int_t)m->q.since, "until", (json_int_t)m->q.until,
                                        "failures", (int)m->q.failures, "code", m->q.code));
    return json_array_size(q->list) < STORE_LIST_MAX;
}

/* Times of the successes, for the time to each share. */
struct successes {
    int64_t *at;
    size_t n, cap;
    size_t total; /* members not cancelled */
};

static bool note_success(void *arg, const struct store_rollout_member *m)
{
    struct successes *s = arg;
    s->total += m->a.state != STORE_ASSIGN_CANCELLED;
    if (m->a.state != STORE_ASSIGN_SUCCEEDED)
        return true;
    if (s->n == s->cap) {
        size_t cap = s->cap == 0 ? 64 : 2 * s->cap;
        int64_t *p = nb_realloc(s->at, cap * sizeof *p);
        if (p == NULL)
            return false;
        s->at = p;
        s->cap = cap;
    }
    s->at[s->n++] = m->a.updated_at;
    return true;
}

static int by_time(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

/* {"1%": seconds | null, ...}: from the start to the success that made the
 * share of the rollout's devices (planned, not only targeted so far). */
static json_t *time_to_share(struct srv *srv, const struct store_rollout *r, int64_t start,
                             size_t planned)
{
    static const unsigned shares[] = {1, 5, 25, 50, 75, 100};
    struct successes s = {NULL, 0, 0, 0};
    json_t *o = json_object();
    if (srv->store.ops->rollout_members(&srv->store, r->id, note_success, &s) != NB_OK) {
        nb_free(s.at);
        return o;
    }
    if (s.n > 0)
        qsort(s.at, s.n, sizeof s.at[0], by_time);
    size_t total = planned > s.total ? planned : s.total;
    for (size_t i = 0; i < sizeof shares / sizeof shares[0]; i++) {
        char key[8];
        (void)snprintf(key, sizeof key, "%u%%", shares[i]);
        size_t need = (total * shares[i] + 99) / 100;
        need = need == 0 ? 1 : need;
        json_object_set_new(
            o, key, total > 0 && s.n >= need ? json_integer(s.at[need - 1] - start) : json_null());
    }
    nb_free(s.at);
    return o;
}

json_t *rollout_status_json(struct srv *srv, const struct store_rollout *r,
                            const struct rollout_spec *spec, const struct rollout_plan *plan,
                            int64_t now)
{
    struct rollout_wave_view views[ROLLOUT_WAVES_MAX];
    struct quarantined q = {NULL, now};
    if (rollout_view(srv, r, now, views) != NB_OK)
        return NULL;
    q.list = json_array();
    if (srv->store.ops->rollout_members(&srv->store, r->id, note_quarantined, &q) != NB_OK) {
        json_decref(q.list);
        return NULL;
    }
    json_t *waves = json_array();
    size_t planned = 0;
    for (size_t w = 0; w < plan->n_waves; w++) {
        json_array_append_new(waves, wave_json((int)w, &views[w], plan->sizes[w]));
        uint32_t held = gate_total(&views[w].counts) + views[w].quarantined;
        planned += plan->sizes[w] > held ? plan->sizes[w] : held;
    }
    json_t *gate = json_null();
    if (r->state == STORE_ROLLOUT_RUNNING || r->state == STORE_ROLLOUT_PAUSED) {
        struct gate_result g;
        rollout_gate(r, spec, views, now, &g);
        gate = json_pack("{s:i, s:s, s:s}", "wave", r->current_wave < 0 ? 0 : r->current_wave,
                         "decision", gate_decision_name(g.decision), "reason", g.reason);
    }
    return json_pack("{s:o, s:o, s:o, s:o}", "waves", waves, "gate", gate, "time_to_share",
                     time_to_share(srv, r, views[0].opened_at, planned), "quarantined", q.list);
}
