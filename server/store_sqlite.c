/* The SQLite store backend: a schema_version table and ordered migrations
 * applied at open, and the device, challenge and token ops
 * (store_sqlite_fleet.c has the rest; store_sqlite_conn.c the connections,
 * one per thread in WAL mode). All SQL of the server lives in
 * store_sqlite*.c. */
#include "store_sqlite.h"

#include <nobrick/alloc.h>

#include <stdio.h>
#include <string.h>

/* ---- helpers ------------------------------------------------------------------ */

enum nb_err sq_audit(struct sq *q, const struct store_audit *au)
{
    if (au == NULL)
        return NB_OK;
    return sq_exec(q, "INSERT INTO audit(at, actor, action, object, detail) VALUES(?,?,?,?,?)",
                   "itttt", au->at, au->actor, au->action, au->object,
                   au->detail[0] != '\0' ? au->detail : "{}");
}

/* ---- schema ------------------------------------------------------------------ */

/* Ordered migrations: migrations[i] takes the schema from version i to i+1.
 * Append only; never edit one that has shipped. */
static const char *const migrations[] = {
    "CREATE TABLE devices(id TEXT PRIMARY KEY, pubkey TEXT NOT NULL UNIQUE,"
    " hw_class TEXT NOT NULL, state TEXT NOT NULL, grp TEXT NOT NULL DEFAULT '',"
    " created_at INTEGER NOT NULL, last_seen INTEGER NOT NULL DEFAULT 0,"
    " installed_version TEXT NOT NULL DEFAULT '', security_counter INTEGER NOT NULL DEFAULT 0,"
    " slots TEXT NOT NULL DEFAULT '', last_result TEXT NOT NULL DEFAULT '');"
    "CREATE INDEX devices_grp ON devices(grp);"
    "CREATE TABLE device_tags(device_id TEXT NOT NULL REFERENCES devices(id),"
    " tag TEXT NOT NULL, PRIMARY KEY(device_id, tag));"
    "CREATE INDEX device_tags_tag ON device_tags(tag);"
    "CREATE TABLE challenges(device_id TEXT NOT NULL, challenge TEXT NOT NULL,"
    " expires_at INTEGER NOT NULL, PRIMARY KEY(device_id, challenge));"
    "CREATE TABLE tokens(id INTEGER PRIMARY KEY, hash TEXT NOT NULL UNIQUE, role TEXT NOT NULL,"
    " name TEXT NOT NULL, device_id TEXT NOT NULL DEFAULT '', created_at INTEGER NOT NULL,"
    " expires_at INTEGER NOT NULL, revoked INTEGER NOT NULL DEFAULT 0);"
    "CREATE TABLE releases(id INTEGER PRIMARY KEY, version TEXT NOT NULL,"
    " component TEXT NOT NULL, security_counter INTEGER NOT NULL, hw_classes TEXT NOT NULL,"
    " envelope_sha256 TEXT NOT NULL UNIQUE, bundle_sha256 TEXT NOT NULL,"
    " bundle_size INTEGER NOT NULL, envelope_off INTEGER NOT NULL,"
    " envelope_len INTEGER NOT NULL, table_off INTEGER NOT NULL, table_len INTEGER NOT NULL,"
    " frames_off INTEGER NOT NULL, frames_len INTEGER NOT NULL, encrypted INTEGER NOT NULL,"
    " created_at INTEGER NOT NULL, withdrawn INTEGER NOT NULL DEFAULT 0);"
    "CREATE TABLE deployments(id INTEGER PRIMARY KEY,"
    " release_id INTEGER NOT NULL REFERENCES releases(id), target_kind TEXT NOT NULL,"
    " target TEXT NOT NULL, created_by TEXT NOT NULL, created_at INTEGER NOT NULL,"
    " cancelled INTEGER NOT NULL DEFAULT 0);"
    "CREATE TABLE assignments(deployment_id INTEGER NOT NULL REFERENCES deployments(id),"
    " device_id TEXT NOT NULL REFERENCES devices(id), release_id INTEGER NOT NULL,"
    " state TEXT NOT NULL, progress INTEGER NOT NULL DEFAULT 0, code TEXT NOT NULL DEFAULT '',"
    " message TEXT NOT NULL DEFAULT '', updated_at INTEGER NOT NULL,"
    " PRIMARY KEY(deployment_id, device_id));"
    "CREATE INDEX assignments_device ON assignments(device_id, state);"
    "CREATE TABLE reports(seq INTEGER PRIMARY KEY, device_id TEXT NOT NULL,"
    " report_id TEXT NOT NULL, deployment_id INTEGER NOT NULL, state TEXT NOT NULL,"
    " progress INTEGER NOT NULL, code TEXT NOT NULL, message TEXT NOT NULL,"
    " at INTEGER NOT NULL, UNIQUE(device_id, report_id));"
    "CREATE TABLE audit(id INTEGER PRIMARY KEY AUTOINCREMENT, at INTEGER NOT NULL,"
    " actor TEXT NOT NULL, action TEXT NOT NULL, object TEXT NOT NULL, detail TEXT NOT NULL);"
    "CREATE TRIGGER audit_no_update BEFORE UPDATE ON audit"
    " BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;"
    "CREATE TRIGGER audit_no_delete BEFORE DELETE ON audit"
    " BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;",
    /* 2: rollouts, and the deployments that carry their waves. */
    "CREATE TABLE rollouts(id INTEGER PRIMARY KEY,"
    " release_id INTEGER NOT NULL REFERENCES releases(id), name TEXT NOT NULL,"
    " state TEXT NOT NULL, salt TEXT NOT NULL, spec TEXT NOT NULL,"
    " current_wave INTEGER NOT NULL DEFAULT -1, reason TEXT NOT NULL DEFAULT '',"
    " created_by TEXT NOT NULL, created_at INTEGER NOT NULL, updated_at INTEGER NOT NULL);"
    "CREATE INDEX rollouts_state ON rollouts(state);"
    "CREATE TABLE rollout_waves(rollout_id INTEGER NOT NULL REFERENCES rollouts(id),"
    " wave INTEGER NOT NULL, deployment_id INTEGER NOT NULL UNIQUE REFERENCES deployments(id),"
    " opened_at INTEGER NOT NULL, PRIMARY KEY(rollout_id, wave));",
    /* 3: rollout control: approvals, rollback links (windows live in the spec). */
    "CREATE TABLE rollout_approvals(rollout_id INTEGER NOT NULL REFERENCES rollouts(id),"
    " actor TEXT NOT NULL, at INTEGER NOT NULL, PRIMARY KEY(rollout_id, actor));"
    "CREATE TABLE rollout_rollbacks(rollout_id INTEGER PRIMARY KEY REFERENCES rollouts(id),"
    " rollback_id INTEGER NOT NULL UNIQUE REFERENCES rollouts(id));",
    /* 4: rollout device attempts, quarantine. */
    "ALTER TABLE assignments ADD COLUMN attempt INTEGER NOT NULL DEFAULT 1;"
    "ALTER TABLE assignments ADD COLUMN not_before INTEGER NOT NULL DEFAULT 0;"
    "ALTER TABLE assignments ADD COLUMN started_at INTEGER NOT NULL DEFAULT 0;"
    "ALTER TABLE assignments ADD COLUMN first_started_at INTEGER NOT NULL DEFAULT 0;"
    "ALTER TABLE assignments ADD COLUMN waiting TEXT NOT NULL DEFAULT '';"
    "ALTER TABLE assignments ADD COLUMN settled INTEGER NOT NULL DEFAULT 0;"
    "CREATE TABLE device_quarantine(device_id TEXT PRIMARY KEY REFERENCES devices(id),"
    " failures INTEGER NOT NULL DEFAULT 0, until INTEGER NOT NULL DEFAULT 0,"
    " since INTEGER NOT NULL DEFAULT 0, code TEXT NOT NULL DEFAULT '');"
    "CREATE INDEX device_quarantine_until ON device_quarantine(until);"
    /* The caps count a rollout's starts and downloads at each capped check-in. */
    "CREATE INDEX assignments_started ON assignments(deployment_id, first_started_at);"
    "CREATE INDEX assignments_dep_state ON assignments(deployment_id, state);",
    /* 5: each login purges expired challenges; without an index that scans
     * every outstanding one (O(n) a login, found with 120,000 devices
     * logging in at once in nobrick-sim). */
    "CREATE INDEX challenges_expires ON challenges(expires_at);",
    /* 6: device lists page by (created_at, id) from where the last page
     * ended; with OFFSET, each of a rollout plan's pages sorted every
     * device again (O(n^2 / 1000) a plan, each engine tick). */
    "CREATE INDEX devices_created ON devices(created_at, id);",
};
#define SCHEMA_VERSION ((int)(sizeof migrations / sizeof migrations[0]))

static bool row_int(void *arg, sqlite3_stmt *st)
{
    *(int64_t *)arg = sqlite3_column_int64(st, 0);
    return false;
}

static enum nb_err read_version(struct sq *q, int *out)
{
    int64_t v = 0;
    enum nb_err err = sq_query(q, "SELECT version FROM schema_version", row_int, &v, NULL, "");
    if (err == NB_OK)
        *out = (int)v;
    return err;
}

/* Each migration runs in its own transaction with the version bump, so a
 * crash leaves the schema at a version that exists. */
static enum nb_err migrate(struct sq *q, struct nb_diag *diag)
{
    int v = 0;
    enum nb_err err = sq_exec(q, "CREATE TABLE IF NOT EXISTS schema_version(version INTEGER)", "");
    if (err == NB_OK)
        err = read_version(q, &v);
    if (err == NB_OK && v > SCHEMA_VERSION)
        return nb_diag_set(diag, NB_EUNSUPPORTED,
                           "database schema is version %d, newer than this server's %d", v,
                           SCHEMA_VERSION);
    for (; err == NB_OK && v < SCHEMA_VERSION; v++) {
        err = sq_begin(q);
        if (err != NB_OK)
            break;
        char *msg = NULL;
        if (sqlite3_exec(sq_conn(q)->db, migrations[v], NULL, NULL, &msg) != SQLITE_OK) {
            (void)nb_diag_set(diag, NB_EIO, "migration %d: %s", v + 1, msg ? msg : "?");
            err = NB_EIO;
        }
        sqlite3_free(msg);
        if (err == NB_OK)
            err = sq_exec(q, "DELETE FROM schema_version", "");
        if (err == NB_OK)
            err = sq_exec(q, "INSERT INTO schema_version(version) VALUES(?)", "i", (int64_t)v + 1);
        err = sq_end(q, err);
    }
    return err;
}

/* ---- connection ------------------------------------------------------------------ */

static struct sq *ctx(struct store *s)
{
    return s->ctx;
}

static void sqlite_close(struct store *s)
{
    sq_close(ctx(s));
}

static enum nb_err sqlite_ping(struct store *s)
{
    return sq_exec(ctx(s), "SELECT 1", "");
}

static enum nb_err sqlite_schema_version(struct store *s, int *out)
{
    return read_version(ctx(s), out);
}

/* ---- devices ------------------------------------------------------------------ */

#define DEVICE_COLS                                                                                \
    "id, pubkey, hw_class, state, grp, created_at, last_seen, installed_version,"                  \
    " security_counter, slots, last_result"

static bool row_device(void *arg, sqlite3_stmt *st)
{
    struct store_device *d = arg;
    char state[32];
    memset(d, 0, sizeof *d);
    sq_text(st, 0, d->id, sizeof d->id);
    sq_text(st, 1, d->pubkey, sizeof d->pubkey);
    sq_text(st, 2, d->hw_class, sizeof d->hw_class);
    sq_text(st, 3, state, sizeof state);
    if (store_device_state_parse(state, &d->state) != NB_OK)
        d->state = STORE_DEVICE_DECOMMISSIONED; /* unknown: the safest reading */
    sq_text(st, 4, d->group, sizeof d->group);
    d->created_at = sqlite3_column_int64(st, 5);
    d->last_seen = sqlite3_column_int64(st, 6);
    sq_text(st, 7, d->installed_version, sizeof d->installed_version);
    d->security_counter = (uint64_t)sqlite3_column_int64(st, 8);
    sq_text(st, 9, d->slots, sizeof d->slots);
    sq_text(st, 10, d->last_result, sizeof d->last_result);
    return false;
}

static enum nb_err device_add(struct store *s, const struct store_device *d,
                              const struct store_audit *au)
{
    enum nb_err err = sq_begin(ctx(s));
    if (err != NB_OK)
        return err;
    err = sq_exec(ctx(s),
                  "INSERT INTO devices(id, pubkey, hw_class, state, grp, created_at)"
                  " VALUES(?,?,?,?,?,?)",
                  "ttttti", d->id, d->pubkey, d->hw_class, store_device_state_name(d->state),
                  d->group, d->created_at);
    if (err == NB_OK)
        err = sq_audit(ctx(s), au);
    return sq_end(ctx(s), err);
}

static enum nb_err device_get(struct store *s, const char *id, struct store_device *out)
{
    struct store_device d;
    size_t n = 0;
    enum nb_err err = sq_query(ctx(s), "SELECT " DEVICE_COLS " FROM devices WHERE id = ?",
                               row_device, &d, &n, "t", id);
    if (err == NB_OK && n == 0)
        err = NB_ENOENT;
    if (err == NB_OK)
        *out = d;
    return err;
}

struct list_devices {
    store_device_cb cb;
    void *arg;
};

static bool row_device_visit(void *arg, sqlite3_stmt *st)
{
    struct list_devices *l = arg;
    struct store_device d;
    (void)row_device(&d, st);
    return l->cb(l->arg, &d);
}

static enum nb_err device_list(struct store *s, const struct store_device_filter *f, size_t limit,
                               size_t offset, store_device_cb cb, void *arg)
{
    struct list_devices l = {cb, arg};
    const char *state = f->has_state ? store_device_state_name(f->state) : "";
    enum nb_err err = sq_query(
        ctx(s),
        "SELECT " DEVICE_COLS " FROM devices WHERE (?1 = '' OR state = ?1)"
        " AND (?2 = '' OR hw_class = ?2) AND (?3 = '' OR grp = ?3) AND (?4 = '' OR id IN"
        " (SELECT device_id FROM device_tags WHERE tag = ?4)) AND (created_at, id) > (?7, ?8)"
        " ORDER BY created_at, id LIMIT ?5 OFFSET ?6",
        row_device_visit, &l, NULL, "ttttiiit", state, f->hw_class, f->group, f->tag,
        (int64_t)(limit > STORE_LIST_MAX ? STORE_LIST_MAX : limit), (int64_t)offset,
        f->after_id[0] != '\0' ? f->after_created_at : INT64_MIN, f->after_id);
    return err;
}

/* Runs an UPDATE of one device in a transaction with its audit entry:
 * NB_ENOENT when no row matched and the device does not exist, NB_EINVAL
 * when it exists but the WHERE clause (a state check) refused it. */
static enum nb_err device_update(struct store *s, const char *id, const char *sql, const char *a,
                                 const char *b, const struct store_audit *au)
{
    enum nb_err err = sq_begin(ctx(s));
    if (err != NB_OK)
        return err;
    err = sq_exec(ctx(s), sql, "ttt", a, b, id);
    if (err == NB_OK && sq_changes(ctx(s)) == 0) {
        size_t n = 0;
        err = sq_query(ctx(s), "SELECT 1 FROM devices WHERE id = ?", NULL, NULL, &n, "t", id);
        if (err == NB_OK)
            err = n == 0 ? NB_ENOENT : NB_EINVAL;
    }
    if (err == NB_OK)
        err = sq_audit(ctx(s), au);
    return sq_end(ctx(s), err);
}

static enum nb_err device_set_state(struct store *s, const char *id, enum store_device_state from,
                                    enum store_device_state to, const struct store_audit *au)
{
    return device_update(s, id, "UPDATE devices SET state = ? WHERE state = ? AND id = ?",
                         store_device_state_name(to), store_device_state_name(from), au);
}

static enum nb_err device_set_group(struct store *s, const char *id, const char *group,
                                    const struct store_audit *au)
{
    /* A decommissioned device keeps the group it had. */
    return device_update(s, id, "UPDATE devices SET grp = ? WHERE state != ? AND id = ?", group,
                         store_device_state_name(STORE_DEVICE_DECOMMISSIONED), au);
}

static enum nb_err device_set_tags(struct store *s, const char *id, const char *const *tags,
                                   size_t n, const struct store_audit *au)
{
    if (n > STORE_MAX_TAGS)
        return NB_ELENGTH;
    enum nb_err err = sq_begin(ctx(s));
    if (err != NB_OK)
        return err;
    size_t found = 0;
    err = sq_query(ctx(s), "SELECT 1 FROM devices WHERE id = ?", NULL, NULL, &found, "t", id);
    if (err == NB_OK && found == 0)
        err = NB_ENOENT;
    if (err == NB_OK)
        err = sq_exec(ctx(s), "DELETE FROM device_tags WHERE device_id = ?", "t", id);
    for (size_t i = 0; err == NB_OK && i < n; i++)
        err = sq_exec(ctx(s), "INSERT OR IGNORE INTO device_tags(device_id, tag) VALUES(?,?)", "tt",
                      id, tags[i]);
    if (err == NB_OK)
        err = sq_audit(ctx(s), au);
    return sq_end(ctx(s), err);
}

struct tags_out {
    char (*out)[STORE_NAME_MAX + 1];
    size_t n;
};

static bool row_tag(void *arg, sqlite3_stmt *st)
{
    struct tags_out *t = arg;
    sq_text(st, 0, t->out[t->n], sizeof t->out[t->n]);
    return ++t->n < STORE_MAX_TAGS;
}

static enum nb_err device_get_tags(struct store *s, const char *id, char out[][STORE_NAME_MAX + 1],
                                   size_t *n)
{
    struct tags_out t = {out, 0};
    enum nb_err err =
        sq_query(ctx(s), "SELECT tag FROM device_tags WHERE device_id = ? ORDER BY tag", row_tag,
                 &t, NULL, "t", id);
    if (err == NB_OK)
        *n = t.n;
    return err;
}

static enum nb_err device_checkin(struct store *s, const char *id, const struct store_checkin *c)
{
    enum nb_err err = sq_begin(ctx(s));
    if (err != NB_OK)
        return err;
    err = sq_exec(ctx(s),
                  "UPDATE devices SET last_seen = ?, installed_version = ?, security_counter = ?,"
                  " slots = ?, last_result = ? WHERE id = ?",
                  "itittt", c->at, c->installed_version, (int64_t)c->security_counter, c->slots,
                  c->last_result, id);
    if (err == NB_OK && sq_changes(ctx(s)) == 0)
        err = NB_ENOENT;
    return sq_end(ctx(s), err);
}

static enum nb_err device_seen(struct store *s, const struct store_seen *v, size_t n)
{
    enum nb_err err = sq_begin(ctx(s));
    if (err != NB_OK)
        return err;
    for (size_t i = 0; err == NB_OK && i < n; i++)
        err = sq_exec(ctx(s), "UPDATE devices SET last_seen = max(last_seen, ?) WHERE id = ?", "it",
                      v[i].at, v[i].id);
    return sq_end(ctx(s), err);
}

/* ---- challenges ------------------------------------------------------------------ */

static enum nb_err challenge_put(struct store *s, const char *device_id, const char *challenge,
                                 int64_t expires_at)
{
    enum nb_err err = sq_begin(ctx(s));
    if (err != NB_OK)
        return err;
    /* Expired challenges go first: the table holds only live ones. */
    err = sq_exec(ctx(s), "DELETE FROM challenges WHERE expires_at < ?", "i", expires_at - 3600);
    if (err == NB_OK)
        err = sq_exec(ctx(s),
                      "INSERT INTO challenges(device_id, challenge, expires_at) VALUES(?,?,?)",
                      "tti", device_id, challenge, expires_at);
    return sq_end(ctx(s), err);
}

static enum nb_err challenge_take(struct store *s, const char *device_id, const char *challenge,
                                  int64_t now)
{
    enum nb_err err = sq_begin(ctx(s));
    if (err != NB_OK)
        return err;
    err = sq_exec(ctx(s),
                  "DELETE FROM challenges WHERE device_id = ? AND challenge = ? AND expires_at > ?",
                  "tti", device_id, challenge, now);
    if (err == NB_OK && sq_changes(ctx(s)) == 0)
        err = NB_ENOENT;
    return sq_end(ctx(s), err);
}

/* ---- tokens ------------------------------------------------------------------ */

#define TOKEN_COLS "id, hash, role, name, device_id, created_at, expires_at, revoked"

static bool row_token(void *arg, sqlite3_stmt *st)
{
    struct store_token *t = arg;
    char role[32];
    memset(t, 0, sizeof *t);
    t->id = sqlite3_column_int64(st, 0);
    sq_text(st, 1, t->hash, sizeof t->hash);
    sq_text(st, 2, role, sizeof role);
    if (store_role_parse(role, &t->role) != NB_OK)
        t->revoked = true; /* unknown role: grant nothing */
    sq_text(st, 3, t->name, sizeof t->name);
    sq_text(st, 4, t->device_id, sizeof t->device_id);
    t->created_at = sqlite3_column_int64(st, 5);
    t->expires_at = sqlite3_column_int64(st, 6);
    t->revoked = t->revoked || sqlite3_column_int64(st, 7) != 0;
    return false;
}

static enum nb_err token_add(struct store *s, struct store_token *t, const struct store_audit *au)
{
    enum nb_err err = sq_begin(ctx(s));
    if (err != NB_OK)
        return err;
    err = sq_exec(ctx(s),
                  "INSERT INTO tokens(hash, role, name, device_id, created_at, expires_at)"
                  " VALUES(?,?,?,?,?,?)",
                  "ttttii", t->hash, store_role_name(t->role), t->name, t->device_id, t->created_at,
                  t->expires_at);
    if (err == NB_OK)
        t->id = sq_last_id(ctx(s));
    if (err == NB_OK)
        err = sq_audit(ctx(s), au);
    return sq_end(ctx(s), err);
}

static enum nb_err token_find(struct store *s, const char *hash, struct store_token *out)
{
    struct store_token t;
    size_t n = 0;
    enum nb_err err = sq_query(ctx(s), "SELECT " TOKEN_COLS " FROM tokens WHERE hash = ?",
                               row_token, &t, &n, "t", hash);
    if (err == NB_OK && n == 0)
        err = NB_ENOENT;
    if (err == NB_OK)
        *out = t;
    return err;
}

static enum nb_err token_revoke(struct store *s, int64_t id, const struct store_audit *au)
{
    enum nb_err err = sq_begin(ctx(s));
    if (err != NB_OK)
        return err;
    err = sq_exec(ctx(s), "UPDATE tokens SET revoked = 1 WHERE id = ?", "i", id);
    if (err == NB_OK && sq_changes(ctx(s)) == 0)
        err = NB_ENOENT;
    if (err == NB_OK)
        err = sq_audit(ctx(s), au);
    return sq_end(ctx(s), err);
}

struct list_tokens {
    store_token_cb cb;
    void *arg;
};

static bool row_token_visit(void *arg, sqlite3_stmt *st)
{
    struct list_tokens *l = arg;
    struct store_token t;
    (void)row_token(&t, st);
    return l->cb(l->arg, &t);
}

static enum nb_err token_list(struct store *s, store_token_cb cb, void *arg)
{
    struct list_tokens l = {cb, arg};
    enum nb_err err = sq_query(ctx(s),
                               "SELECT " TOKEN_COLS " FROM tokens WHERE role != 'device'"
                               " ORDER BY id LIMIT 1000",
                               row_token_visit, &l, NULL, "");
    return err;
}

static enum nb_err token_purge(struct store *s, int64_t now, size_t *n)
{
    enum nb_err err = sq_begin(ctx(s));
    if (err != NB_OK)
        return err;
    err = sq_exec(ctx(s),
                  "DELETE FROM tokens WHERE role = 'device' AND expires_at != 0 AND expires_at < ?",
                  "i", now);
    size_t purged = err == NB_OK ? (size_t)sq_changes(ctx(s)) : 0;
    err = sq_end(ctx(s), err);
    if (err == NB_OK)
        *n = purged;
    return err;
}

/* ---- open ------------------------------------------------------------------ */

static const struct store_ops sqlite_ops = {
    .close = sqlite_close,
    .ping = sqlite_ping,
    .schema_version = sqlite_schema_version,
    .device_add = device_add,
    .device_get = device_get,
    .device_list = device_list,
    .device_set_state = device_set_state,
    .device_set_group = device_set_group,
    .device_set_tags = device_set_tags,
    .device_get_tags = device_get_tags,
    .device_checkin = device_checkin,
    .device_seen = device_seen,
    .challenge_put = challenge_put,
    .challenge_take = challenge_take,
    .token_add = token_add,
    .token_find = token_find,
    .token_revoke = token_revoke,
    .token_list = token_list,
    .token_purge = token_purge,
    .release_add = sq_release_add,
    .release_get = sq_release_get,
    .release_list = sq_release_list,
    .release_withdraw = sq_release_withdraw,
    .deployment_add = sq_deployment_add,
    .deployment_get = sq_deployment_get,
    .deployment_list = sq_deployment_list,
    .deployment_cancel = sq_deployment_cancel,
    .assignment_list = sq_assignment_list,
    .assignment_current = sq_assignment_current,
    .assignment_get = sq_assignment_get,
    .assignment_update = sq_assignment_update,
    .report_add = sq_report_add,
    .report_list = sq_report_list,
    .audit_append = sq_audit_append,
    .audit_list = sq_audit_list,
    .rollout_add = sq_rollout_add,
    .rollout_get = sq_rollout_get,
    .rollout_list = sq_rollout_list,
    .rollout_set_state = sq_rollout_set_state,
    .rollout_assign = sq_rollout_assign,
    .rollout_waves = sq_rollout_waves,
    .rollout_members = sq_rollout_members,
    .rollout_expire = sq_rollout_expire,
    .rollout_approve = sq_rollout_approve,
    .rollout_approvals = sq_rollout_approvals,
    .rollout_add_rollback = sq_rollout_add_rollback,
    .rollout_rollback_of = sq_rollout_rollback_of,
    .deployment_rollout = sq_deployment_rollout,
    .stop_all = sq_stop_all,
    .rollout_start = sq_rollout_start,
    .rollout_unsettled = sq_rollout_unsettled,
    .assignment_settle = sq_assignment_settle,
    .assignment_attempt = sq_assignment_attempt,
    .quarantine_get = sq_quarantine_get,
    .quarantine_list = sq_quarantine_list,
    .quarantine_lift = sq_quarantine_lift,
};

enum nb_err store_sqlite_open(const char *path, struct store *out, struct nb_diag *diag)
{
    struct sq *q = NULL;
    enum nb_err err = sq_open(path, &q, diag);
    if (err != NB_OK)
        return err;
    err = migrate(q, diag);
    if (err != NB_OK) {
        sq_close(q);
        return err;
    }
    *out = (struct store){&sqlite_ops, q};
    return NB_OK;
}
