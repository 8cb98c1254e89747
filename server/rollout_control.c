/* Rollout control (rollout_control.h): version ranges, rollbacks and the
 * automatic rollback, approvals, and the maintenance window's answers to
 * the engine and to check-ins. Decisions are small functions of the spec
 * and the store; the HTTP side is api_rollout_control.c. */
#include "rollout_control.h"
#include "log.h"

#include <nobrick/alloc.h>
#include <nobrick/release.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

bool rollout_version_in_range(const struct rollout_spec *s, const char *installed, char *why,
                              size_t cap)
{
    struct nb_semver v, lo, hi;
    if (s->min_version[0] == '\0' && s->max_version[0] == '\0')
        return true;
    if (nb_semver_parse(installed, &v) != NB_OK) {
        (void)snprintf(why, cap, "runs '%s', not a SemVer version", installed);
        return false;
    }
    if (s->min_version[0] != '\0' && nb_semver_parse(s->min_version, &lo) == NB_OK &&
        nb_semver_cmp(&v, &lo) < 0) {
        (void)snprintf(why, cap, "runs %s, below min_version %s", installed, s->min_version);
        return false;
    }
    if (s->max_version[0] != '\0' && nb_semver_parse(s->max_version, &hi) == NB_OK &&
        nb_semver_cmp(&v, &hi) > 0) {
        (void)snprintf(why, cap, "runs %s, above max_version %s", installed, s->max_version);
        return false;
    }
    return true;
}

enum nb_err rollout_rollback_check(const struct store_release *bad,
                                   const struct store_release *prev, char *why, size_t cap)
{
    if (prev->id == bad->id || prev->withdrawn) {
        (void)snprintf(why, cap, "release %lld (%s) %s: choose another release",
                       (long long)prev->id, prev->version,
                       prev->withdrawn ? "is withdrawn" : "is the release being rolled back");
        return NB_EINVAL;
    }
    if (prev->security_counter < bad->security_counter) {
        (void)snprintf(why, cap,
                       "release %s has security counter %llu, below the %llu of release %s "
                       "that the devices committed: they would refuse it (anti-rollback). "
                       "Re-sign the %s image with security counter %llu as a new release "
                       "and roll back to that",
                       prev->version, (unsigned long long)prev->security_counter,
                       (unsigned long long)bad->security_counter, bad->version, prev->version,
                       (unsigned long long)bad->security_counter);
        return NB_EROLLBACK;
    }
    return NB_OK;
}

/* ---- the previous release --------------------------------------------------------- */

struct prev_search {
    const struct store_release *bad;
    const char *version;
    struct nb_semver bad_v, best_v;
    struct store_release *best;
    bool found;
    size_t visited;
};

static bool consider_release(void *arg, const struct store_release *r)
{
    struct prev_search *ps = arg;
    struct nb_semver v;
    ps->visited++;
    if (strcmp(r->component, ps->bad->component) != 0 || nb_semver_parse(r->version, &v) != NB_OK)
        return true;
    if (ps->version[0] != '\0') {
        if (strcmp(r->version, ps->version) == 0 && (!ps->found || !r->withdrawn)) {
            *ps->best = *r;
            ps->found = true;
        }
        return true;
    }
    if (!r->withdrawn && nb_semver_cmp(&v, &ps->bad_v) < 0 &&
        (!ps->found || nb_semver_cmp(&v, &ps->best_v) > 0)) {
        *ps->best = *r;
        ps->best_v = v;
        ps->found = true;
    }
    return true;
}

enum nb_err rollout_previous_release(struct srv *srv, const struct store_release *bad,
                                     const char *version, struct store_release *out, char *why,
                                     size_t cap)
{
    struct prev_search ps;
    memset(&ps, 0, sizeof ps);
    ps.bad = bad;
    ps.version = version;
    ps.best = out;
    if (nb_semver_parse(bad->version, &ps.bad_v) != NB_OK)
        return NB_EINVAL;
    for (size_t off = 0;; off += STORE_LIST_MAX) {
        ps.visited = 0;
        enum nb_err err =
            srv->store.ops->release_list(&srv->store, STORE_LIST_MAX, off, consider_release, &ps);
        if (err != NB_OK)
            return err;
        if (ps.visited < STORE_LIST_MAX)
            break;
    }
    if (ps.found)
        return NB_OK;
    if (version[0] != '\0')
        (void)snprintf(why, cap, "no release %s of component %s", version, bad->component);
    else
        (void)snprintf(why, cap,
                       "no release of component %s below %s to roll back to: upload one, or "
                       "name one with --release",
                       bad->component, bad->version);
    return NB_ENOENT;
}

/* ---- who took the bad release ------------------------------------------------------ */

struct took {
    struct srv *srv;
    const char *version;
    char (*ids)[STORE_ID_MAX + 1];
    size_t n, cap;
    enum nb_err err;
};

static bool took_it(struct took *t, const struct store_rollout_member *m)
{
    struct store_device d;
    switch (m->a.state) {
    case STORE_ASSIGN_DOWNLOADING:
    case STORE_ASSIGN_INSTALLING:
    case STORE_ASSIGN_REBOOTING:
    case STORE_ASSIGN_COMMITTED:
    case STORE_ASSIGN_SUCCEEDED:
        return true;
    default:
        break;
    }
    enum nb_err err = t->srv->store.ops->device_get(&t->srv->store, m->a.device_id, &d);
    if (err != NB_OK && err != NB_ENOENT)
        t->err = err;
    return err == NB_OK && strcmp(d.installed_version, t->version) == 0;
}

static bool note_took(void *arg, const struct store_rollout_member *m)
{
    struct took *t = arg;
    if (!took_it(t, m))
        return t->err == NB_OK;
    if (t->n == t->cap) {
        size_t cap = t->cap == 0 ? 256 : t->cap * 2;
        void *p = cap <= ROLLOUT_DEVICES_MAX ? nb_realloc(t->ids, cap * sizeof t->ids[0]) : NULL;
        if (p == NULL) {
            t->err = cap <= ROLLOUT_DEVICES_MAX ? NB_ENOMEM : NB_ELENGTH;
            return false;
        }
        t->ids = p;
        t->cap = cap;
    }
    memcpy(t->ids[t->n++], m->a.device_id, sizeof t->ids[0]);
    return true;
}

static int by_id(const void *a, const void *b)
{
    return strcmp(a, b);
}

enum nb_err rollout_rollback_members(struct srv *srv, int64_t bad_id,
                                     char (**ids)[STORE_ID_MAX + 1], size_t *n)
{
    static _Thread_local struct store_rollout bad;
    struct store_release rel;
    struct took t = {srv, NULL, NULL, 0, 0, NB_OK};
    enum nb_err err = srv->store.ops->rollout_get(&srv->store, bad_id, &bad);
    if (err == NB_OK)
        err = srv->store.ops->release_get(&srv->store, bad.release_id, &rel);
    t.version = rel.version;
    if (err == NB_OK)
        err = srv->store.ops->rollout_members(&srv->store, bad_id, note_took, &t);
    if (err == NB_OK)
        err = t.err;
    if (err != NB_OK) {
        nb_free(t.ids);
        return err;
    }
    /* A device is a member once per rollout, so the ids are distinct. */
    if (t.n > 0)
        qsort(t.ids, t.n, sizeof t.ids[0], by_id);
    *ids = t.ids;
    *n = t.n;
    return NB_OK;
}

/* ---- the rollback ------------------------------------------------------------------ */

static struct store_audit control_audit(const char *actor, int64_t now, const char *action,
                                        int64_t id, json_t *detail)
{
    struct store_audit au;
    memset(&au, 0, sizeof au);
    au.at = now;
    (void)snprintf(au.actor, sizeof au.actor, "%s", actor);
    (void)snprintf(au.action, sizeof au.action, "%s", action);
    (void)snprintf(au.object, sizeof au.object, "rollout:%lld", (long long)id);
    size_t n = json_dumpb(detail, au.detail, sizeof au.detail - 1, JSON_COMPACT);
    au.detail[n < sizeof au.detail ? n : 0] = '\0';
    json_decref(detail);
    return au;
}

/* The rollback's spec: bad's waves, gates, canary and window; its devices
 * come from bad (rollback_of), no approval, no rollback of its own. */
static enum nb_err rollback_spec(const struct store_rollout *bad, char *out, size_t cap)
{
    struct rollout_spec s;
    enum nb_err err = rollout_spec_parse(bad->spec, &s);
    if (err != NB_OK)
        return err;
    s.group[0] = s.tag[0] = s.hw_class[0] = s.min_version[0] = s.max_version[0] = '\0';
    s.auto_rollback = false;
    s.rollback_version[0] = '\0';
    s.approvals_required = 1;
    s.rollback_of = bad->id;
    json_t *o = rollout_spec_json(&s);
    size_t n = json_dumpb(o, out, cap - 1, JSON_COMPACT);
    json_decref(o);
    if (n == 0 || n >= cap - 1)
        return NB_ELENGTH;
    out[n] = '\0';
    return NB_OK;
}

/* Aborts bad when it still runs or is paused (its own audit entry). */
static enum nb_err abort_for_rollback(struct srv *srv, const struct store_rollout *bad,
                                      const char *actor, int64_t now)
{
    char reason[STORE_TEXT_MAX + 1];
    if (bad->state != STORE_ROLLOUT_RUNNING && bad->state != STORE_ROLLOUT_PAUSED)
        return NB_OK;
    (void)snprintf(reason, sizeof reason, "aborted for its rollback by %s", actor);
    struct store_audit au =
        control_audit(actor, now, "rollout.abort", bad->id, json_pack("{s:s}", "reason", reason));
    enum nb_err err = srv->store.ops->rollout_set_state(&srv->store, bad->id, bad->state,
                                                        STORE_ROLLOUT_ABORTED, reason, now, &au);
    return err == NB_EINVAL ? NB_OK : err; /* aborted meanwhile */
}

enum nb_err rollout_rollback(struct srv *srv, const struct store_rollout *bad, const char *version,
                             const char *actor, int64_t now, struct store_rollout *out, char *why,
                             size_t cap)
{
    static _Thread_local struct store_rollout r;
    struct store_release bad_rel, prev;
    int64_t existing = 0;
    memset(&r, 0, sizeof r);
    enum nb_err err = srv->store.ops->rollout_rollback_of(&srv->store, bad->id, &existing);
    if (err == NB_OK) {
        (void)snprintf(why, cap, "rollout %lld is rolled back already, by rollout %lld",
                       (long long)bad->id, (long long)existing);
        return NB_EEXIST;
    }
    err = err == NB_ENOENT ? srv->store.ops->release_get(&srv->store, bad->release_id, &bad_rel)
                           : err;
    if (err == NB_OK)
        err = rollout_previous_release(srv, &bad_rel, version, &prev, why, cap);
    if (err == NB_OK)
        err = rollout_rollback_check(&bad_rel, &prev, why, cap);
    if (err == NB_OK)
        err = rollback_spec(bad, r.spec, sizeof r.spec);
    if (err == NB_OK)
        err = abort_for_rollback(srv, bad, actor, now);
    if (err != NB_OK)
        return err;
    r.release_id = prev.id;
    (void)snprintf(r.name, sizeof r.name, "rollback-of-%lld", (long long)bad->id);
    (void)snprintf(r.salt, sizeof r.salt, "%.32s", prev.envelope_sha256);
    r.state = STORE_ROLLOUT_RUNNING;
    r.current_wave = -1;
    (void)snprintf(r.reason, sizeof r.reason, "rollback of rollout %lld (%s) to %s, by %s",
                   (long long)bad->id, bad_rel.version, prev.version, actor);
    (void)snprintf(r.created_by, sizeof r.created_by, "%s", actor);
    r.created_at = r.updated_at = now;
    struct store_audit au =
        control_audit(actor, now, "rollout.rollback", bad->id,
                      json_pack("{s:s, s:I, s:s}", "from", bad_rel.version, "release_id",
                                (json_int_t)prev.id, "to", prev.version));
    err = srv->store.ops->rollout_add_rollback(&srv->store, bad->id, &r, &au);
    if (err == NB_EEXIST)
        (void)snprintf(why, cap, "rollout %lld is rolled back already", (long long)bad->id);
    if (err != NB_OK)
        return err;
    srv_log(SRV_LOG_INFO, "rollout %lld: rolled back by rollout %lld (%s -> %s), by %s",
            (long long)bad->id, (long long)r.id, bad_rel.version, prev.version, actor);
    rollout_engine_wake(srv->engine);
    *out = r;
    return NB_OK;
}

void rollout_after_abort(struct srv *srv, int64_t id, int64_t now)
{
    static _Thread_local struct store_rollout bad, rb;
    struct rollout_spec spec;
    char why[ROLLOUT_WHY_MAX] = "";
    enum nb_err err = srv->store.ops->rollout_get(&srv->store, id, &bad);
    if (err == NB_OK)
        err = rollout_spec_parse(bad.spec, &spec);
    if (err != NB_OK || !spec.auto_rollback || spec.rollback_of > 0)
        return;
    err = rollout_rollback(srv, &bad, spec.rollback_version, "engine", now, &rb, why, sizeof why);
    if (err != NB_OK && err != NB_EEXIST)
        srv_log(SRV_LOG_ERROR, "rollout %lld: automatic rollback refused: %s", (long long)id,
                why[0] != '\0' ? why : nb_strerror(err));
}

void rollout_escalate(const struct rollout_spec *s, struct gate_result *g)
{
    if (g->decision != GATE_PAUSE || !s->auto_rollback || s->rollback_of > 0)
        return;
    g->decision = GATE_ABORT;
    char reason[GATE_REASON_MAX];
    (void)snprintf(reason, sizeof reason, "%.180s; aborted for its automatic rollback", g->reason);
    memcpy(g->reason, reason, sizeof reason);
}

/* ---- windows and approvals --------------------------------------------------------- */

bool rollout_window_allows(const struct rollout_spec *s, int64_t now)
{
    /* download_only: devices download outside the window, so waves open
     * at any time and the instruction carries the window. */
    return !s->has_window || s->download_only || window_is_open(&s->window, now);
}

void rollout_checkin_window(const struct rollout_spec *spec, const struct store_assignment *a,
                            int64_t now, bool *hold, int64_t *after, int64_t *before)
{
    int64_t open_at = 0, close_at = 0;
    *hold = false;
    *after = *before = 0;
    if (!spec->has_window)
        return;
    if (window_next(&spec->window, now, &open_at, &close_at) != NB_OK) {
        *hold = true; /* no window to be found: nobody installs */
        return;
    }
    if (spec->download_only) {
        *after = open_at;
        *before = close_at;
    } else {
        *hold = open_at > now &&
                (a->state == STORE_ASSIGN_PENDING || a->state == STORE_ASSIGN_NOTIFIED);
    }
}

enum nb_err rollout_approvals_missing(struct srv *srv, const struct store_rollout *r,
                                      size_t *missing)
{
    struct rollout_spec spec;
    size_t have = 0;
    enum nb_err err = rollout_spec_parse(r->spec, &spec);
    if (err == NB_OK)
        err = srv->store.ops->rollout_approvals(&srv->store, r->id, &have);
    if (err == NB_OK)
        *missing = spec.approvals_required - 1 > have ? spec.approvals_required - 1 - have : 0;
    return err;
}
