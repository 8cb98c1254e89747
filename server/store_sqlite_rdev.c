/* The SQLite store's per-device safety ops of rollouts (store.h): the
 * check-in's start of an attempt under the rollout's caps (facts read and
 * the assignment moved in one transaction, so two check-ins cannot both
 * take the last place), the engine's settling of finished attempts
 * (retry, final, quarantine), and the devices' quarantine records. */
#include "store_sqlite.h"

#include <stdio.h>
#include <string.h>

static struct sq *ctx(struct store *s)
{
    return s->ctx;
}

#define OF_ROLLOUT SQ_OF_ROLLOUT

void sq_read_member_safety(sqlite3_stmt *st, int c, struct store_rollout_member *m)
{
    memset(&m->t, 0, sizeof m->t);
    memset(&m->q, 0, sizeof m->q);
    int64_t attempt = sqlite3_column_int64(st, c);
    m->t.attempt = attempt < 1 ? 1 : attempt > UINT32_MAX ? UINT32_MAX : (uint32_t)attempt;
    m->t.not_before = sqlite3_column_int64(st, c + 1);
    m->t.started_at = sqlite3_column_int64(st, c + 2);
    m->t.first_started_at = sqlite3_column_int64(st, c + 3);
    sq_text(st, c + 4, m->t.waiting, sizeof m->t.waiting);
    m->t.settled = sqlite3_column_int64(st, c + 5) != 0;
    memcpy(m->q.device_id, m->a.device_id, sizeof m->q.device_id);
    int64_t failures = sqlite3_column_int64(st, c + 6);
    m->q.failures = failures < 0 ? 0 : failures > UINT32_MAX ? UINT32_MAX : (uint32_t)failures;
    m->q.until = sqlite3_column_int64(st, c + 7);
    m->q.since = sqlite3_column_int64(st, c + 8);
    sq_text(st, c + 9, m->q.code, sizeof m->q.code);
}

/* ---- the start of an attempt ------------------------------------------------------ */

static bool row_facts(void *arg, sqlite3_stmt *st)
{
    struct store_start_facts *f = arg;
    char state[32];
    sq_text(st, 0, state, sizeof state);
    if (store_rollout_state_parse(state, &f->rollout_state) != NB_OK)
        f->rollout_state = STORE_ROLLOUT_PAUSED; /* unknown: the safest reading */
    sq_text(st, 1, state, sizeof state);
    if (store_assign_state_parse(state, &f->state) != NB_OK)
        f->state = STORE_ASSIGN_CANCELLED;
    int64_t attempt = sqlite3_column_int64(st, 2);
    f->t.attempt = attempt < 1 ? 1 : attempt > UINT32_MAX ? UINT32_MAX : (uint32_t)attempt;
    f->t.not_before = sqlite3_column_int64(st, 3);
    f->t.started_at = sqlite3_column_int64(st, 4);
    f->t.first_started_at = sqlite3_column_int64(st, 5);
    sq_text(st, 6, f->t.waiting, sizeof f->t.waiting);
    f->quarantined_until = sqlite3_column_int64(st, 7);
    return false;
}

static bool row_count(void *arg, sqlite3_stmt *st)
{
    int64_t v = sqlite3_column_int64(st, 0);
    *(uint32_t *)arg = v < 0 ? 0 : v > UINT32_MAX ? UINT32_MAX : (uint32_t)v;
    return false;
}

/* Inside the transaction: everything decide needs. */
static enum nb_err read_facts(struct sq *q, int64_t rollout_id, int64_t dep, const char *device,
                              int64_t now, struct store_start_facts *f, size_t *found)
{
    memset(f, 0, sizeof *f);
    enum nb_err err = sq_query(
        q,
        "SELECT r.state, a.state, a.attempt, a.not_before, a.started_at, a.first_started_at,"
        " a.waiting, COALESCE((SELECT until FROM device_quarantine WHERE device_id = a.device_id"
        " AND until > ?1), 0) FROM assignments a JOIN rollouts r ON r.id = ?2"
        " WHERE a.deployment_id = ?3 AND a.device_id = ?4",
        row_facts, f, found, "iiit", now, rollout_id, dep, device);
    if (err == NB_OK && *found > 0)
        err = sq_query(
            q, "SELECT COUNT(*) FROM assignments WHERE first_started_at > ? AND " OF_ROLLOUT,
            row_count, &f->started_last_min, NULL, "ii", now - 60, rollout_id);
    if (err == NB_OK && *found > 0)
        err = sq_query(q,
                       "SELECT COUNT(*) FROM assignments WHERE state IN ('notified', 'downloading')"
                       " AND " OF_ROLLOUT,
                       row_count, &f->downloading, NULL, "i", rollout_id);
    return err;
}

static enum nb_err apply_start(struct sq *q, int64_t dep, const char *device, int64_t now,
                               const struct store_start_facts *f, enum store_start v)
{
    if (v == STORE_START_GO && f->state == STORE_ASSIGN_PENDING)
        return sq_exec(q,
                       "UPDATE assignments SET state = 'notified', updated_at = ?1,"
                       " started_at = ?1, waiting = '', first_started_at ="
                       " CASE WHEN first_started_at = 0 THEN ?1 ELSE first_started_at END"
                       " WHERE deployment_id = ?2 AND device_id = ?3",
                       "iit", now, dep, device);
    if (v == STORE_START_RATE || v == STORE_START_DOWNLOADS)
        return sq_exec(
            q, "UPDATE assignments SET waiting = ? WHERE deployment_id = ? AND device_id = ?",
            "tit", v == STORE_START_RATE ? "rate cap" : "download cap", dep, device);
    return NB_OK;
}

enum nb_err sq_rollout_start(struct store *s, int64_t rollout_id, int64_t deployment_id,
                             const char *device_id, int64_t now, store_start_fn decide, void *arg,
                             enum store_start *out)
{
    struct sq *q = ctx(s);
    struct store_start_facts f;
    size_t found = 0;
    enum store_start v = STORE_START_GONE;
    enum nb_err err = sq_begin(q);
    if (err != NB_OK)
        return err;
    err = read_facts(q, rollout_id, deployment_id, device_id, now, &f, &found);
    if (err == NB_OK && found > 0 &&
        (f.state == STORE_ASSIGN_PENDING || f.state == STORE_ASSIGN_NOTIFIED))
        v = decide(arg, &f, now);
    if (err == NB_OK)
        err = apply_start(q, deployment_id, device_id, now, &f, v);
    err = sq_end(q, err);
    if (err == NB_OK)
        *out = v;
    return err;
}

/* ---- settling finished attempts ------------------------------------------------------ */

enum nb_err sq_rollout_unsettled(struct store *s, int64_t rollout_id, store_rollout_member_cb cb,
                                 void *arg)
{
    struct sq_visit_member v = {cb, arg};
    return sq_query(ctx(s),
                    SQ_MEMBER_SELECT " WHERE w.rollout_id = ? AND a.settled = 0"
                                     " AND a.state IN ('succeeded', 'failed', 'rolled_back')"
                                     " ORDER BY a.updated_at, a.device_id",
                    sq_row_member, &v, NULL, "i", rollout_id);
}

static enum nb_err write_record(struct sq *q, const char *device, const struct store_settle *how)
{
    return sq_exec(q,
                   "INSERT INTO device_quarantine(device_id, failures, until, since, code)"
                   " VALUES(?,?,?,?,?) ON CONFLICT(device_id) DO UPDATE SET"
                   " failures = excluded.failures, until = excluded.until,"
                   " since = excluded.since, code = excluded.code",
                   "tiiit", device, (int64_t)how->failures, how->quarantined_until, how->since,
                   how->code);
}

enum nb_err sq_assignment_settle(struct store *s, int64_t deployment_id, const char *device_id,
                                 enum store_assign_state was, const struct store_settle *how,
                                 const struct store_audit *au)
{
    struct sq *q = ctx(s);
    enum nb_err err = sq_begin(q);
    if (err != NB_OK)
        return err;
    if (how->retry)
        err = sq_exec(q,
                      "UPDATE assignments SET state = 'pending', attempt = attempt + 1,"
                      " not_before = ?, started_at = 0, waiting = '', progress = 0, settled = 0"
                      " WHERE deployment_id = ? AND device_id = ? AND state = ? AND settled = 0",
                      "iitt", how->not_before, deployment_id, device_id,
                      store_assign_state_name(was));
    else
        err = sq_exec(q,
                      "UPDATE assignments SET settled = 1 WHERE deployment_id = ?"
                      " AND device_id = ? AND state = ? AND settled = 0",
                      "itt", deployment_id, device_id, store_assign_state_name(was));
    if (err == NB_OK && sq_changes(q) == 0)
        err = NB_EINVAL;
    if (err == NB_OK && how->count)
        err = write_record(q, device_id, how);
    if (err == NB_OK)
        err = sq_audit(q, au);
    return sq_end(q, err);
}

static bool row_attempt(void *arg, sqlite3_stmt *st)
{
    struct store_rollout_member *m = arg;
    sq_read_member_safety(st, 0, m);
    return false;
}

enum nb_err sq_assignment_attempt(struct store *s, int64_t deployment_id, const char *device_id,
                                  struct store_attempt *out)
{
    struct store_rollout_member m;
    size_t n = 0;
    memset(&m, 0, sizeof m);
    enum nb_err err = sq_query(ctx(s),
                               "SELECT " SQ_MEMBER_COLS " FROM assignments a"
                               " LEFT JOIN device_quarantine q ON q.device_id = a.device_id"
                               " WHERE a.deployment_id = ? AND a.device_id = ?",
                               row_attempt, &m, &n, "it", deployment_id, device_id);
    if (err == NB_OK && n == 0)
        err = NB_ENOENT;
    if (err == NB_OK)
        *out = m.t;
    return err;
}

/* ---- quarantine records ------------------------------------------------------------ */

#define QUARANTINE_COLS "device_id, failures, until, since, code"

static void read_quarantine(sqlite3_stmt *st, struct store_quarantine *out)
{
    memset(out, 0, sizeof *out);
    sq_text(st, 0, out->device_id, sizeof out->device_id);
    int64_t failures = sqlite3_column_int64(st, 1);
    out->failures = failures < 0 ? 0 : failures > UINT32_MAX ? UINT32_MAX : (uint32_t)failures;
    out->until = sqlite3_column_int64(st, 2);
    out->since = sqlite3_column_int64(st, 3);
    sq_text(st, 4, out->code, sizeof out->code);
}

static bool row_quarantine(void *arg, sqlite3_stmt *st)
{
    read_quarantine(st, arg);
    return false;
}

enum nb_err sq_quarantine_get(struct store *s, const char *device_id, struct store_quarantine *out)
{
    struct store_quarantine r;
    size_t n = 0;
    enum nb_err err =
        sq_query(ctx(s), "SELECT " QUARANTINE_COLS " FROM device_quarantine WHERE device_id = ?",
                 row_quarantine, &r, &n, "t", device_id);
    if (err == NB_OK && n == 0)
        err = NB_ENOENT;
    if (err == NB_OK)
        *out = r;
    return err;
}

struct visit_quarantine {
    store_quarantine_cb cb;
    void *arg;
};

static bool row_quarantine_visit(void *arg, sqlite3_stmt *st)
{
    struct visit_quarantine *v = arg;
    struct store_quarantine r;
    read_quarantine(st, &r);
    return v->cb(v->arg, &r);
}

enum nb_err sq_quarantine_list(struct store *s, int64_t now, size_t limit, store_quarantine_cb cb,
                               void *arg)
{
    struct visit_quarantine v = {cb, arg};
    return sq_query(ctx(s),
                    "SELECT " QUARANTINE_COLS " FROM device_quarantine WHERE until > ?"
                    " ORDER BY until, device_id LIMIT ?",
                    row_quarantine_visit, &v, NULL, "ii", now,
                    (int64_t)(limit > STORE_LIST_MAX ? STORE_LIST_MAX : limit));
}

enum nb_err sq_quarantine_lift(struct store *s, const char *device_id, int64_t now,
                               const struct store_audit *au)
{
    struct sq *q = ctx(s);
    enum nb_err err = sq_begin(q);
    if (err != NB_OK)
        return err;
    err = sq_exec(q,
                  "UPDATE device_quarantine SET failures = 0, until = 0, since = 0"
                  " WHERE device_id = ? AND until > ?",
                  "ti", device_id, now);
    if (err == NB_OK && sq_changes(q) == 0)
        err = NB_ENOENT;
    if (err == NB_OK)
        err = sq_audit(q, au);
    return sq_end(q, err);
}
