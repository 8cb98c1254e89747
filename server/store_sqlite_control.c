/* The SQLite store's rollout control (store.h): second-operator approvals,
 * the link from a rollout to its rollback, the emergency stop, and which
 * rollout a deployment belongs to. Each change is one transaction with its
 * audit entries. */
#include "store_sqlite.h"

#include <stdio.h>
#include <string.h>

static struct sq *ctx(struct store *s)
{
    return s->ctx;
}

enum nb_err sq_rollout_approve(struct store *s, int64_t id, const char *actor, int64_t at,
                               const struct store_audit *au)
{
    struct sq *q = ctx(s);
    size_t n = 0;
    enum nb_err err = sq_begin(q);
    if (err != NB_OK)
        return err;
    err = sq_query(q, "SELECT 1 FROM rollouts WHERE id = ? AND state = 'draft'", NULL, NULL, &n,
                   "i", id);
    if (err == NB_OK && n == 0)
        err = NB_EINVAL;
    if (err == NB_OK)
        err = sq_query(q, "SELECT 1 FROM rollout_approvals WHERE rollout_id = ? AND actor = ?",
                       NULL, NULL, &n, "it", id, actor);
    if (err == NB_OK && n > 0)
        err = NB_EEXIST;
    if (err == NB_OK)
        err = sq_exec(q, "INSERT INTO rollout_approvals(rollout_id, actor, at) VALUES(?,?,?)",
                      "iti", id, actor, at);
    if (err == NB_OK)
        err = sq_audit(q, au);
    return sq_end(q, err);
}

enum nb_err sq_rollout_approvals(struct store *s, int64_t id, size_t *n)
{
    size_t count = 0;
    enum nb_err err = sq_query(ctx(s), "SELECT 1 FROM rollout_approvals WHERE rollout_id = ?", NULL,
                               NULL, &count, "i", id);
    if (err == NB_OK)
        *n = count;
    return err;
}

enum nb_err sq_rollout_add_rollback(struct store *s, int64_t bad_id, struct store_rollout *r,
                                    const struct store_audit *au)
{
    struct sq *q = ctx(s);
    size_t n = 0;
    enum nb_err err = sq_begin(q);
    if (err != NB_OK)
        return err;
    err = sq_query(q, "SELECT 1 FROM rollout_rollbacks WHERE rollout_id = ?", NULL, NULL, &n, "i",
                   bad_id);
    if (err == NB_OK && n > 0)
        err = NB_EEXIST;
    if (err == NB_OK)
        err = sq_exec(q,
                      "INSERT INTO rollouts(release_id, name, state, salt, spec, current_wave,"
                      " reason, created_by, created_at, updated_at) VALUES(?,?,?,?,?,?,?,?,?,?)",
                      "ittttittii", r->release_id, r->name, store_rollout_state_name(r->state),
                      r->salt, r->spec, (int64_t)r->current_wave, r->reason, r->created_by,
                      r->created_at, r->updated_at);
    if (err == NB_OK)
        r->id = sq_last_id(q);
    if (err == NB_OK)
        err = sq_exec(q, "INSERT INTO rollout_rollbacks(rollout_id, rollback_id) VALUES(?,?)", "ii",
                      bad_id, r->id);
    if (err == NB_OK)
        err = sq_audit(q, au);
    return sq_end(q, err);
}

static bool row_id(void *arg, sqlite3_stmt *st)
{
    *(int64_t *)arg = sqlite3_column_int64(st, 0);
    return false;
}

/* The integer of the one row sql finds for key; NB_ENOENT: none. */
static enum nb_err one_id(struct store *s, const char *sql, int64_t key, int64_t *out)
{
    size_t n = 0;
    int64_t id = 0;
    enum nb_err err = sq_query(ctx(s), sql, row_id, &id, &n, "i", key);
    if (err == NB_OK && n == 0)
        err = NB_ENOENT;
    if (err == NB_OK)
        *out = id;
    return err;
}

enum nb_err sq_rollout_rollback_of(struct store *s, int64_t bad_id, int64_t *rollback_id)
{
    return one_id(s, "SELECT rollback_id FROM rollout_rollbacks WHERE rollout_id = ?", bad_id,
                  rollback_id);
}

enum nb_err sq_deployment_rollout(struct store *s, int64_t deployment_id, int64_t *rollout_id)
{
    return one_id(s, "SELECT rollout_id FROM rollout_waves WHERE deployment_id = ?", deployment_id,
                  rollout_id);
}

/* ---- the emergency stop ------------------------------------------------------------- */

#define STOP_MAX 1000 /* rollouts or deployments one stop visits */

struct ids {
    int64_t v[STOP_MAX];
    size_t n;
};

static bool row_ids(void *arg, sqlite3_stmt *st)
{
    struct ids *ids = arg;
    ids->v[ids->n++] = sqlite3_column_int64(st, 0);
    return ids->n < STOP_MAX;
}

static enum nb_err audit_one(struct sq *q, const struct store_audit *tmpl, const char *action,
                             const char *kind, int64_t id, const char *reason)
{
    struct store_audit au = *tmpl;
    (void)snprintf(au.action, sizeof au.action, "%s", action);
    (void)snprintf(au.object, sizeof au.object, "%s:%lld", kind, (long long)id);
    /* reason is the caller's, already escaped as a JSON string body. */
    (void)snprintf(au.detail, sizeof au.detail, "{\"reason\":\"%s\"}", reason);
    return sq_audit(q, &au);
}

static enum nb_err stop_locked(struct sq *q, const char *reason, const char *reason_json,
                               int64_t at, const struct store_audit *tmpl, struct ids *ro,
                               struct ids *dep)
{
    enum nb_err err = sq_query(q, "SELECT id FROM rollouts WHERE state = 'running' ORDER BY id",
                               row_ids, ro, NULL, "");
    for (size_t i = 0; err == NB_OK && i < ro->n; i++) {
        err = sq_exec(q,
                      "UPDATE rollouts SET state = 'paused', reason = ?, updated_at = ?"
                      " WHERE id = ?",
                      "tii", reason, at, ro->v[i]);
        if (err == NB_OK)
            err = audit_one(q, tmpl, "rollout.stop", "rollout", ro->v[i], reason_json);
    }
    if (err == NB_OK)
        err = sq_query(q,
                       "SELECT DISTINCT d.id FROM deployments d JOIN assignments a"
                       " ON a.deployment_id = d.id WHERE d.target_kind != 'rollout'"
                       " AND a.state = 'pending' ORDER BY d.id",
                       row_ids, dep, NULL, "");
    for (size_t i = 0; err == NB_OK && i < dep->n; i++) {
        err = sq_exec(q,
                      "UPDATE assignments SET state = 'cancelled', code = 'E_STOPPED',"
                      " message = ?, updated_at = ? WHERE deployment_id = ? AND state = 'pending'",
                      "tii", reason, at, dep->v[i]);
        if (err == NB_OK)
            err = audit_one(q, tmpl, "deployment.stop", "deployment", dep->v[i], reason_json);
    }
    return err;
}

enum nb_err sq_stop_all(struct store *s, const char *reason, const char *reason_json, int64_t at,
                        const struct store_audit *tmpl, size_t *rollouts, size_t *deployments)
{
    static _Thread_local struct ids ro, dep;
    ro.n = dep.n = 0;
    enum nb_err err = sq_begin(ctx(s));
    if (err != NB_OK)
        return err;
    err = sq_end(ctx(s), stop_locked(ctx(s), reason, reason_json, at, tmpl, &ro, &dep));
    if (err == NB_OK) {
        *rollouts = ro.n;
        *deployments = dep.n;
    }
    return err;
}
