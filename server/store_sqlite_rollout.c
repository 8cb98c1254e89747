/* The SQLite store's rollout ops: rollouts with compare-and-set states, the
 * waves they open (each wave a deployment of target kind rollout, so the
 * device path and the assignment machine are those of every deployment),
 * their members, and the per-device timeout. See store.h. */
#include "store_sqlite.h"

#include <stdio.h>
#include <string.h>

static struct sq *ctx(struct store *s)
{
    return s->ctx;
}

#define ROLLOUT_COLS                                                                               \
    "id, release_id, name, state, salt, spec, current_wave, reason, created_by, created_at,"       \
    " updated_at"

static void read_rollout(sqlite3_stmt *st, struct store_rollout *r)
{
    char state[32];
    memset(r, 0, sizeof *r);
    r->id = sqlite3_column_int64(st, 0);
    r->release_id = sqlite3_column_int64(st, 1);
    sq_text(st, 2, r->name, sizeof r->name);
    sq_text(st, 3, state, sizeof state);
    if (store_rollout_state_parse(state, &r->state) != NB_OK)
        r->state = STORE_ROLLOUT_PAUSED; /* unknown: the safest reading */
    sq_text(st, 4, r->salt, sizeof r->salt);
    sq_text(st, 5, r->spec, sizeof r->spec);
    r->current_wave = (int)sqlite3_column_int64(st, 6);
    sq_text(st, 7, r->reason, sizeof r->reason);
    sq_text(st, 8, r->created_by, sizeof r->created_by);
    r->created_at = sqlite3_column_int64(st, 9);
    r->updated_at = sqlite3_column_int64(st, 10);
}

static bool row_rollout(void *arg, sqlite3_stmt *st)
{
    read_rollout(st, arg);
    return false;
}

enum nb_err sq_rollout_add(struct store *s, struct store_rollout *r, const struct store_audit *au)
{
    enum nb_err err = sq_begin(ctx(s));
    if (err != NB_OK)
        return err;
    err = sq_exec(ctx(s),
                  "INSERT INTO rollouts(release_id, name, state, salt, spec, current_wave, reason,"
                  " created_by, created_at, updated_at) VALUES(?,?,?,?,?,?,?,?,?,?)",
                  "ittttittii", r->release_id, r->name, store_rollout_state_name(r->state), r->salt,
                  r->spec, (int64_t)r->current_wave, r->reason, r->created_by, r->created_at,
                  r->updated_at);
    if (err == NB_OK)
        r->id = sq_last_id(ctx(s));
    if (err == NB_OK)
        err = sq_audit(ctx(s), au);
    return sq_end(ctx(s), err);
}

static enum nb_err get_locked(struct sq *q, int64_t id, struct store_rollout *out)
{
    size_t n = 0;
    enum nb_err err = sq_query(q, "SELECT " ROLLOUT_COLS " FROM rollouts WHERE id = ?", row_rollout,
                               out, &n, "i", id);
    return err == NB_OK && n == 0 ? NB_ENOENT : err;
}

enum nb_err sq_rollout_get(struct store *s, int64_t id, struct store_rollout *out)
{
    struct store_rollout r;
    enum nb_err err = get_locked(ctx(s), id, &r);
    if (err == NB_OK)
        *out = r;
    return err;
}

struct visit_rollout {
    store_rollout_cb cb;
    void *arg;
    struct store_rollout r;
};

static bool row_rollout_visit(void *arg, sqlite3_stmt *st)
{
    struct visit_rollout *v = arg;
    read_rollout(st, &v->r);
    return v->cb(v->arg, &v->r);
}

enum nb_err sq_rollout_list(struct store *s, bool has_state, enum store_rollout_state state,
                            size_t limit, size_t offset, store_rollout_cb cb, void *arg)
{
    struct visit_rollout v;
    v.cb = cb;
    v.arg = arg;
    enum nb_err err = sq_query(
        ctx(s),
        "SELECT " ROLLOUT_COLS " FROM rollouts WHERE (?1 = '' OR state = ?1)"
        " ORDER BY id DESC LIMIT ?2 OFFSET ?3",
        row_rollout_visit, &v, NULL, "tii", has_state ? store_rollout_state_name(state) : "",
        (int64_t)(limit > STORE_LIST_MAX ? STORE_LIST_MAX : limit), (int64_t)offset);
    return err;
}

/* The rollout's assignments, for UPDATE ... WHERE: the deployments of its waves. */
#define OF_ROLLOUT SQ_OF_ROLLOUT

enum nb_err sq_rollout_set_state(struct store *s, int64_t id, enum store_rollout_state from,
                                 enum store_rollout_state to, const char *reason, int64_t at,
                                 const struct store_audit *au)
{
    struct sq *q = ctx(s);
    enum nb_err err = sq_begin(q);
    if (err != NB_OK)
        return err;
    err = sq_exec(q,
                  "UPDATE rollouts SET state = ?, reason = ?, updated_at = ?"
                  " WHERE state = ? AND id = ?",
                  "ttiti", store_rollout_state_name(to), reason, at, store_rollout_state_name(from),
                  id);
    if (err == NB_OK && sq_changes(q) == 0) {
        size_t n = 0;
        err = sq_query(q, "SELECT 1 FROM rollouts WHERE id = ?", NULL, NULL, &n, "i", id);
        if (err == NB_OK)
            err = n == 0 ? NB_ENOENT : NB_EINVAL;
    }
    if (err == NB_OK && to == STORE_ROLLOUT_ABORTED)
        err = sq_exec(q,
                      "UPDATE assignments SET state = 'cancelled', updated_at = ?"
                      " WHERE state IN ('pending', 'notified') AND " OF_ROLLOUT,
                      "ii", at, id);
    if (err == NB_OK)
        err = sq_audit(q, au);
    return sq_end(q, err);
}

static bool row_deployment_id(void *arg, sqlite3_stmt *st)
{
    *(int64_t *)arg = sqlite3_column_int64(st, 0);
    return false;
}

/* Opens wave `wave` of r: its deployment and its row; r is running. */
static enum nb_err open_wave(struct sq *q, const struct store_rollout *r, int wave, int64_t at,
                             int64_t *dep_id)
{
    char target[STORE_ID_MAX + 1];
    (void)snprintf(target, sizeof target, "rollout:%lld", (long long)r->id);
    if (wave < r->current_wave)
        return NB_EINVAL;
    enum nb_err err = sq_exec(q,
                              "INSERT INTO deployments(release_id, target_kind, target,"
                              " created_by, created_at) VALUES(?, 'rollout', ?, ?, ?)",
                              "itti", r->release_id, target, target, at);
    if (err == NB_OK)
        *dep_id = sq_last_id(q);
    if (err == NB_OK)
        err = sq_exec(q,
                      "INSERT INTO rollout_waves(rollout_id, wave, deployment_id, opened_at)"
                      " VALUES(?,?,?,?)",
                      "iiii", r->id, (int64_t)wave, *dep_id, at);
    if (err == NB_OK)
        err = sq_exec(q, "UPDATE rollouts SET current_wave = ?, updated_at = ? WHERE id = ?", "iii",
                      (int64_t)wave, at, r->id);
    return err;
}

static enum nb_err assign_locked(struct sq *q, int64_t rollout_id, int wave, const char *const *ids,
                                 size_t n, int64_t at)
{
    struct store_rollout r;
    struct store_deployment d;
    memset(&d, 0, sizeof d);
    size_t found = 0;
    enum nb_err err = get_locked(q, rollout_id, &r);
    if (err == NB_OK && r.state != STORE_ROLLOUT_RUNNING)
        err = NB_EINVAL;
    if (err == NB_OK)
        err =
            sq_query(q, "SELECT deployment_id FROM rollout_waves WHERE rollout_id = ? AND wave = ?",
                     row_deployment_id, &d.id, &found, "ii", rollout_id, (int64_t)wave);
    if (err == NB_OK && found == 0)
        err = open_wave(q, &r, wave, at, &d.id);
    d.release_id = r.release_id;
    d.created_at = at;
    for (size_t i = 0; err == NB_OK && i < n; i++)
        err = sq_assign_one(q, &d, ids[i]);
    return err;
}

enum nb_err sq_rollout_assign(struct store *s, int64_t rollout_id, int wave,
                              const char *const *device_ids, size_t n, int64_t at,
                              const struct store_audit *au)
{
    enum nb_err err = sq_begin(ctx(s));
    if (err != NB_OK)
        return err;
    err = assign_locked(ctx(s), rollout_id, wave, device_ids, n, at);
    if (err == NB_OK)
        err = sq_audit(ctx(s), au);
    return sq_end(ctx(s), err);
}

struct visit_wave {
    store_rollout_wave_cb cb;
    void *arg;
};

static bool row_wave_visit(void *arg, sqlite3_stmt *st)
{
    struct visit_wave *v = arg;
    struct store_rollout_wave w = {sqlite3_column_int64(st, 0), (int)sqlite3_column_int64(st, 1),
                                   sqlite3_column_int64(st, 2), sqlite3_column_int64(st, 3)};
    return v->cb(v->arg, &w);
}

enum nb_err sq_rollout_waves(struct store *s, int64_t rollout_id, store_rollout_wave_cb cb,
                             void *arg)
{
    struct visit_wave v = {cb, arg};
    enum nb_err err =
        sq_query(ctx(s),
                 "SELECT rollout_id, wave, deployment_id, opened_at FROM rollout_waves"
                 " WHERE rollout_id = ? ORDER BY wave",
                 row_wave_visit, &v, NULL, "i", rollout_id);
    return err;
}

bool sq_row_member(void *arg, sqlite3_stmt *st)
{
    struct sq_visit_member *v = arg;
    struct store_rollout_member m;
    m.wave = (int)sqlite3_column_int64(st, 0);
    sq_read_assignment(st, 1, &m.a);
    sq_read_member_safety(st, 9, &m);
    return v->cb(v->arg, &m);
}

enum nb_err sq_rollout_members(struct store *s, int64_t rollout_id, store_rollout_member_cb cb,
                               void *arg)
{
    struct sq_visit_member v = {cb, arg};
    return sq_query(ctx(s), SQ_MEMBER_SELECT " WHERE w.rollout_id = ? ORDER BY w.wave, a.device_id",
                    sq_row_member, &v, NULL, "i", rollout_id);
}

enum nb_err sq_rollout_expire(struct store *s, int64_t rollout_id, const struct store_expiry *e,
                              int64_t at, size_t *n)
{
    static const char *const sql =
        "UPDATE assignments SET state = 'failed', code = ?, message = ?, updated_at = ?"
        " WHERE state IN ('notified', 'downloading', 'installing', 'rebooting', 'committed')"
        " AND (?4 = 0 AND updated_at < ?5 OR ?4 = 1 AND started_at > 0 AND started_at < ?5)"
        " AND " OF_ROLLOUT;
    size_t changed = 0;
    enum nb_err err = sq_begin(ctx(s));
    if (err != NB_OK)
        return err;
    /* The lease first: a device both silent and slow is said to be silent. */
    err = sq_exec(ctx(s), sql, "ttiiii", e->code, e->silent_message, at, (int64_t)0,
                  e->silent_before, rollout_id);
    if (err == NB_OK)
        changed = (size_t)sq_changes(ctx(s));
    if (err == NB_OK)
        err = sq_exec(ctx(s), sql, "ttiiii", e->code, e->slow_message, at, (int64_t)1,
                      e->started_before, rollout_id);
    if (err == NB_OK)
        changed += (size_t)sq_changes(ctx(s));
    if (err == NB_OK)
        err = sq_exec(ctx(s),
                      "UPDATE assignments SET state = 'failed', code = ?, message = ?,"
                      " updated_at = ? WHERE state = 'pending' AND attempt > 1 AND waiting = ''"
                      " AND not_before < ? AND " OF_ROLLOUT,
                      "ttiii", e->code, e->absent_message, at, e->silent_before, rollout_id);
    if (err == NB_OK)
        changed += (size_t)sq_changes(ctx(s));
    err = sq_end(ctx(s), err);
    if (err == NB_OK)
        *n = changed;
    return err;
}
