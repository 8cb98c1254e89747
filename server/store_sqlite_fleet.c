/* The SQLite store's fleet ops: releases, deployments with their per-device
 * assignments, status reports (idempotent by report id) and the append-only
 * audit log. Connection, schema and the other ops: store_sqlite.c. */
#include "store_sqlite.h"

#include <string.h>

static struct sq *ctx(struct store *s)
{
    return s->ctx;
}

/* Assignment states after which a device is done with a deployment. */
#define FINISHED "('succeeded', 'failed', 'rolled_back', 'cancelled')"

static size_t cap(size_t limit)
{
    return limit > STORE_LIST_MAX ? STORE_LIST_MAX : limit;
}

/* ---- releases ------------------------------------------------------------------ */

#define RELEASE_COLS                                                                               \
    "id, version, component, security_counter, hw_classes, envelope_sha256, bundle_sha256,"        \
    " bundle_size, envelope_off, envelope_len, table_off, table_len, frames_off, frames_len,"      \
    " encrypted, created_at, withdrawn"

static uint64_t col_u64(sqlite3_stmt *st, int i)
{
    return (uint64_t)sqlite3_column_int64(st, i);
}

static void read_release(sqlite3_stmt *st, struct store_release *r)
{
    memset(r, 0, sizeof *r);
    r->id = sqlite3_column_int64(st, 0);
    sq_text(st, 1, r->version, sizeof r->version);
    sq_text(st, 2, r->component, sizeof r->component);
    r->security_counter = col_u64(st, 3);
    sq_text(st, 4, r->hw_classes, sizeof r->hw_classes);
    sq_text(st, 5, r->envelope_sha256, sizeof r->envelope_sha256);
    sq_text(st, 6, r->bundle_sha256, sizeof r->bundle_sha256);
    r->bundle_size = col_u64(st, 7);
    r->envelope_off = col_u64(st, 8);
    r->envelope_len = col_u64(st, 9);
    r->table_off = col_u64(st, 10);
    r->table_len = col_u64(st, 11);
    r->frames_off = col_u64(st, 12);
    r->frames_len = col_u64(st, 13);
    r->encrypted = sqlite3_column_int64(st, 14) != 0;
    r->created_at = sqlite3_column_int64(st, 15);
    r->withdrawn = sqlite3_column_int64(st, 16) != 0;
}

static bool row_release(void *arg, sqlite3_stmt *st)
{
    read_release(st, arg);
    return false;
}

enum nb_err sq_release_add(struct store *s, struct store_release *r, const struct store_audit *au)
{
    enum nb_err err = sq_begin(ctx(s));
    if (err != NB_OK)
        return err;
    err = sq_exec(ctx(s),
                  "INSERT INTO releases(version, component, security_counter, hw_classes,"
                  " envelope_sha256, bundle_sha256, bundle_size, envelope_off, envelope_len,"
                  " table_off, table_len, frames_off, frames_len, encrypted, created_at)"
                  " VALUES(?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
                  "ttitttiiiiiiiii", r->version, r->component, (int64_t)r->security_counter,
                  r->hw_classes, r->envelope_sha256, r->bundle_sha256, (int64_t)r->bundle_size,
                  (int64_t)r->envelope_off, (int64_t)r->envelope_len, (int64_t)r->table_off,
                  (int64_t)r->table_len, (int64_t)r->frames_off, (int64_t)r->frames_len,
                  (int64_t)r->encrypted, r->created_at);
    if (err == NB_OK)
        r->id = sq_last_id(ctx(s));
    if (err == NB_OK)
        err = sq_audit(ctx(s), au);
    return sq_end(ctx(s), err);
}

enum nb_err sq_release_get(struct store *s, int64_t id, struct store_release *out)
{
    struct store_release r;
    size_t n = 0;
    enum nb_err err = sq_query(ctx(s), "SELECT " RELEASE_COLS " FROM releases WHERE id = ?",
                               row_release, &r, &n, "i", id);
    if (err == NB_OK && n == 0)
        err = NB_ENOENT;
    if (err == NB_OK)
        *out = r;
    return err;
}

struct visit_release {
    store_release_cb cb;
    void *arg;
};

static bool row_release_visit(void *arg, sqlite3_stmt *st)
{
    struct visit_release *v = arg;
    struct store_release r;
    read_release(st, &r);
    return v->cb(v->arg, &r);
}

enum nb_err sq_release_list(struct store *s, size_t limit, size_t offset, store_release_cb cb,
                            void *arg)
{
    struct visit_release v = {cb, arg};
    enum nb_err err =
        sq_query(ctx(s), "SELECT " RELEASE_COLS " FROM releases ORDER BY id LIMIT ? OFFSET ?",
                 row_release_visit, &v, NULL, "ii", (int64_t)cap(limit), (int64_t)offset);
    return err;
}

/* A withdrawn release is never offered again: assignments not yet started
 * are cancelled; devices already downloading or installing finish. */
enum nb_err sq_release_withdraw(struct store *s, int64_t id, const struct store_audit *au)
{
    enum nb_err err = sq_begin(ctx(s));
    if (err != NB_OK)
        return err;
    err = sq_exec(ctx(s), "UPDATE releases SET withdrawn = 1 WHERE id = ?", "i", id);
    if (err == NB_OK && sq_changes(ctx(s)) == 0)
        err = NB_ENOENT;
    if (err == NB_OK)
        err = sq_exec(ctx(s),
                      "UPDATE assignments SET state = 'cancelled', updated_at = ?"
                      " WHERE release_id = ? AND state IN ('pending', 'notified')",
                      "ii", au != NULL ? au->at : 0, id);
    if (err == NB_OK)
        err = sq_audit(ctx(s), au);
    return sq_end(ctx(s), err);
}

/* ---- deployments ------------------------------------------------------------------ */

#define DEPLOYMENT_COLS "id, release_id, target_kind, target, created_by, created_at, cancelled"

static void read_deployment(sqlite3_stmt *st, struct store_deployment *d)
{
    char kind[16];
    memset(d, 0, sizeof *d);
    d->id = sqlite3_column_int64(st, 0);
    d->release_id = sqlite3_column_int64(st, 1);
    sq_text(st, 2, kind, sizeof kind);
    d->target_kind = strcmp(kind, "group") == 0     ? STORE_TARGET_GROUP
                     : strcmp(kind, "rollout") == 0 ? STORE_TARGET_ROLLOUT
                                                    : STORE_TARGET_DEVICE;
    sq_text(st, 3, d->target, sizeof d->target);
    sq_text(st, 4, d->created_by, sizeof d->created_by);
    d->created_at = sqlite3_column_int64(st, 5);
    d->cancelled = sqlite3_column_int64(st, 6) != 0;
}

static bool row_deployment(void *arg, sqlite3_stmt *st)
{
    read_deployment(st, arg);
    return false;
}

enum nb_err sq_assign_one(struct sq *q, const struct store_deployment *d, const char *device)
{
    enum nb_err err = sq_exec(q,
                              "UPDATE assignments SET state = 'cancelled', updated_at = ?"
                              " WHERE device_id = ? AND state NOT IN " FINISHED,
                              "it", d->created_at, device);
    if (err == NB_OK)
        err = sq_exec(q,
                      "INSERT INTO assignments(deployment_id, device_id, release_id, state,"
                      " updated_at) VALUES(?,?,?,'pending',?)",
                      "itii", d->id, device, d->release_id, d->created_at);
    return err;
}

enum nb_err sq_deployment_add(struct store *s, struct store_deployment *d,
                              const char *const *device_ids, size_t n, const struct store_audit *au)
{
    struct sq *q = ctx(s);
    enum nb_err err = sq_begin(q);
    if (err != NB_OK)
        return err;
    err = sq_exec(q,
                  "INSERT INTO deployments(release_id, target_kind, target, created_by,"
                  " created_at) VALUES(?,?,?,?,?)",
                  "ittti", d->release_id, store_target_name(d->target_kind), d->target,
                  d->created_by, d->created_at);
    if (err == NB_OK)
        d->id = sq_last_id(q);
    for (size_t i = 0; err == NB_OK && i < n; i++)
        err = sq_assign_one(q, d, device_ids[i]);
    if (err == NB_OK)
        err = sq_audit(q, au);
    return sq_end(q, err);
}

enum nb_err sq_deployment_get(struct store *s, int64_t id, struct store_deployment *out)
{
    struct store_deployment d;
    size_t n = 0;
    enum nb_err err = sq_query(ctx(s), "SELECT " DEPLOYMENT_COLS " FROM deployments WHERE id = ?",
                               row_deployment, &d, &n, "i", id);
    if (err == NB_OK && n == 0)
        err = NB_ENOENT;
    if (err == NB_OK)
        *out = d;
    return err;
}

struct visit_deployment {
    store_deployment_cb cb;
    void *arg;
};

static bool row_deployment_visit(void *arg, sqlite3_stmt *st)
{
    struct visit_deployment *v = arg;
    struct store_deployment d;
    read_deployment(st, &d);
    return v->cb(v->arg, &d);
}

enum nb_err sq_deployment_list(struct store *s, size_t limit, size_t offset, store_deployment_cb cb,
                               void *arg)
{
    struct visit_deployment v = {cb, arg};
    enum nb_err err =
        sq_query(ctx(s), "SELECT " DEPLOYMENT_COLS " FROM deployments ORDER BY id LIMIT ? OFFSET ?",
                 row_deployment_visit, &v, NULL, "ii", (int64_t)cap(limit), (int64_t)offset);
    return err;
}

enum nb_err sq_deployment_cancel(struct store *s, int64_t id, const struct store_audit *au)
{
    enum nb_err err = sq_begin(ctx(s));
    if (err != NB_OK)
        return err;
    err = sq_exec(ctx(s), "UPDATE deployments SET cancelled = 1 WHERE id = ?", "i", id);
    if (err == NB_OK && sq_changes(ctx(s)) == 0)
        err = NB_ENOENT;
    if (err == NB_OK)
        err = sq_exec(ctx(s),
                      "UPDATE assignments SET state = 'cancelled', updated_at = ?"
                      " WHERE deployment_id = ? AND state NOT IN " FINISHED,
                      "ii", au != NULL ? au->at : 0, id);
    if (err == NB_OK)
        err = sq_audit(ctx(s), au);
    return sq_end(ctx(s), err);
}

/* ---- assignments ------------------------------------------------------------------ */

#define ASSIGN_COLS SQ_ASSIGN_COLS

void sq_read_assignment(sqlite3_stmt *st, int c, struct store_assignment *a)
{
    char state[32];
    memset(a, 0, sizeof *a);
    a->deployment_id = sqlite3_column_int64(st, c);
    sq_text(st, c + 1, a->device_id, sizeof a->device_id);
    a->release_id = sqlite3_column_int64(st, c + 2);
    sq_text(st, c + 3, state, sizeof state);
    if (store_assign_state_parse(state, &a->state) != NB_OK)
        a->state = STORE_ASSIGN_CANCELLED;
    a->progress = (uint32_t)sqlite3_column_int64(st, c + 4);
    sq_text(st, c + 5, a->code, sizeof a->code);
    sq_text(st, c + 6, a->message, sizeof a->message);
    a->updated_at = sqlite3_column_int64(st, c + 7);
}

static void read_assignment(sqlite3_stmt *st, struct store_assignment *a)
{
    sq_read_assignment(st, 0, a);
}

static bool row_assignment(void *arg, sqlite3_stmt *st)
{
    read_assignment(st, arg);
    return false;
}

struct visit_assignment {
    store_assignment_cb cb;
    void *arg;
};

static bool row_assignment_visit(void *arg, sqlite3_stmt *st)
{
    struct visit_assignment *v = arg;
    struct store_assignment a;
    read_assignment(st, &a);
    return v->cb(v->arg, &a);
}

enum nb_err sq_assignment_list(struct store *s, int64_t deployment_id, const char *device_id,
                               store_assignment_cb cb, void *arg)
{
    /* One statement per filter, never "(?1 = 0 OR deployment_id = ?1)":
     * the planner uses no index for a column behind such an OR, and a
     * device's bundle download (a list by device) then read every
     * assignment of the fleet, 120,000 rows a frame request. Each binds
     * both parameters: a term without a column costs nothing. */
#define ASSIGN_LIST(where)                                                                         \
    "SELECT " ASSIGN_COLS " FROM assignments WHERE " where                                         \
    " ORDER BY deployment_id, device_id LIMIT 10000"
    static const char *const sql[2][2] = {
        {ASSIGN_LIST("?1 = 0 AND ?2 = ''"), ASSIGN_LIST("?1 = 0 AND device_id = ?2")},
        {ASSIGN_LIST("deployment_id = ?1 AND ?2 = ''"),
         ASSIGN_LIST("deployment_id = ?1 AND device_id = ?2")},
    };
#undef ASSIGN_LIST
    struct visit_assignment v = {cb, arg};
    bool by_device = device_id != NULL && device_id[0] != '\0';
    return sq_query(ctx(s), sql[deployment_id != 0][by_device], row_assignment_visit, &v, NULL,
                    "it", deployment_id, by_device ? device_id : "");
}

/* The one assignment row a query selects: NB_ENOENT when none. The query
 * binds a deployment id (0: any) and a device id. */
static enum nb_err one_assignment(struct store *s, const char *sql, int64_t deployment_id,
                                  const char *device_id, struct store_assignment *out)
{
    struct store_assignment r;
    size_t n = 0;
    enum nb_err err = sq_query(ctx(s), sql, row_assignment, &r, &n, "it", deployment_id, device_id);
    if (err == NB_OK && n == 0)
        err = NB_ENOENT;
    if (err == NB_OK)
        *out = r;
    return err;
}

enum nb_err sq_assignment_current(struct store *s, const char *device_id,
                                  struct store_assignment *out)
{
    return one_assignment(s,
                          "SELECT " ASSIGN_COLS " FROM assignments WHERE ?1 = 0 AND device_id = ?2"
                          " AND state NOT IN " FINISHED " ORDER BY deployment_id DESC LIMIT 1",
                          0, device_id, out);
}

enum nb_err sq_assignment_get(struct store *s, int64_t deployment_id, const char *device_id,
                              struct store_assignment *out)
{
    return one_assignment(
        s, "SELECT " ASSIGN_COLS " FROM assignments WHERE deployment_id = ? AND device_id = ?",
        deployment_id, device_id, out);
}

static enum nb_err update_assignment(struct sq *q, const struct store_assignment *a)
{
    enum nb_err err =
        sq_exec(q,
                "UPDATE assignments SET state = ?, progress = ?, code = ?,"
                " message = ?, updated_at = ? WHERE deployment_id = ? AND device_id = ?",
                "tittiit", store_assign_state_name(a->state), (int64_t)a->progress, a->code,
                a->message, a->updated_at, a->deployment_id, a->device_id);
    if (err == NB_OK && sq_changes(q) == 0)
        err = NB_ENOENT;
    return err;
}

enum nb_err sq_assignment_update(struct store *s, const struct store_assignment *a)
{
    enum nb_err err = sq_begin(ctx(s));
    if (err == NB_OK)
        err = sq_end(ctx(s), update_assignment(ctx(s), a));
    return err;
}

/* ---- reports ------------------------------------------------------------------ */

enum nb_err sq_report_add(struct store *s, const struct store_report *r,
                          const struct store_assignment *assign)
{
    enum nb_err err = sq_begin(ctx(s));
    if (err != NB_OK)
        return err;
    err = sq_exec(ctx(s),
                  "INSERT INTO reports(device_id, report_id, deployment_id, state, progress,"
                  " code, message, at) VALUES(?,?,?,?,?,?,?,?)",
                  "ttititti", r->device_id, r->report_id, r->deployment_id,
                  store_assign_state_name(r->state), (int64_t)r->progress, r->code, r->message,
                  r->at);
    if (err == NB_OK && assign != NULL)
        err = update_assignment(ctx(s), assign);
    return sq_end(ctx(s), err);
}

static void read_report(sqlite3_stmt *st, struct store_report *r)
{
    char state[32];
    memset(r, 0, sizeof *r);
    sq_text(st, 0, r->device_id, sizeof r->device_id);
    sq_text(st, 1, r->report_id, sizeof r->report_id);
    r->deployment_id = sqlite3_column_int64(st, 2);
    sq_text(st, 3, state, sizeof state);
    if (store_assign_state_parse(state, &r->state) != NB_OK)
        r->state = STORE_ASSIGN_FAILED;
    r->progress = (uint32_t)sqlite3_column_int64(st, 4);
    sq_text(st, 5, r->code, sizeof r->code);
    sq_text(st, 6, r->message, sizeof r->message);
    r->at = sqlite3_column_int64(st, 7);
}

struct visit_report {
    store_report_cb cb;
    void *arg;
};

static bool row_report_visit(void *arg, sqlite3_stmt *st)
{
    struct visit_report *v = arg;
    struct store_report r;
    read_report(st, &r);
    return v->cb(v->arg, &r);
}

enum nb_err sq_report_list(struct store *s, const char *device_id, size_t limit, store_report_cb cb,
                           void *arg)
{
    struct visit_report v = {cb, arg};
    enum nb_err err = sq_query(ctx(s),
                               "SELECT device_id, report_id, deployment_id, state, progress, code,"
                               " message, at FROM reports WHERE device_id = ?"
                               " ORDER BY seq DESC LIMIT ?",
                               row_report_visit, &v, NULL, "ti", device_id, (int64_t)cap(limit));
    return err;
}

/* ---- audit ------------------------------------------------------------------ */

enum nb_err sq_audit_append(struct store *s, struct store_audit *a)
{
    enum nb_err err = sq_begin(ctx(s));
    if (err != NB_OK)
        return err;
    err = sq_audit(ctx(s), a);
    if (err == NB_OK)
        a->id = sq_last_id(ctx(s));
    return sq_end(ctx(s), err);
}

struct visit_audit {
    store_audit_cb cb;
    void *arg;
};

static bool row_audit_visit(void *arg, sqlite3_stmt *st)
{
    struct visit_audit *v = arg;
    struct store_audit a;
    memset(&a, 0, sizeof a);
    a.id = sqlite3_column_int64(st, 0);
    a.at = sqlite3_column_int64(st, 1);
    sq_text(st, 2, a.actor, sizeof a.actor);
    sq_text(st, 3, a.action, sizeof a.action);
    sq_text(st, 4, a.object, sizeof a.object);
    sq_text(st, 5, a.detail, sizeof a.detail);
    return v->cb(v->arg, &a);
}

enum nb_err sq_audit_list(struct store *s, int64_t before_id, size_t limit, store_audit_cb cb,
                          void *arg)
{
    struct visit_audit v = {cb, arg};
    enum nb_err err = sq_query(ctx(s),
                               "SELECT id, at, actor, action, object, detail FROM audit"
                               " WHERE (?1 = 0 OR id < ?1) ORDER BY id DESC LIMIT ?2",
                               row_audit_visit, &v, NULL, "ii", before_id, (int64_t)cap(limit));
    return err;
}
