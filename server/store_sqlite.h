/* Internals shared by the SQLite store's files (store_sqlite_conn.c:
 * connections, statements, transactions; store_sqlite.c: schema
 * migrations, devices, challenges, tokens; store_sqlite_fleet.c: releases,
 * deployments, assignments, reports, audit; store_sqlite_rollout.c:
 * rollouts and their waves; store_sqlite_rdev.c: the per-device safety of
 * rollouts). Not for other code. */
#ifndef NOBRICK_SERVER_STORE_SQLITE_H
#define NOBRICK_SERVER_STORE_SQLITE_H

#include "store.h"

#include <pthread.h>
#include <sqlite3.h>

/* A connection of one thread, with its prepared statements: SQLite
 * connections are not shared, so readers run in parallel (WAL) and each
 * statement is compiled once per connection. */
#define SQ_CACHE 64

struct sq_cached {
    const char *sql; /* the statement's text, by address (string literals) */
    sqlite3_stmt *st;
    bool busy; /* being stepped: a nested use prepares its own */
};

struct sq_conn {
    sqlite3 *db;
    struct sq_cached cache[SQ_CACHE];
    size_t n_cached;
    struct sq_conn *next;
};

/* The store: the database path, one connection per thread that uses it
 * (found by key, opened on first use, all closed with the store), and a
 * mutex that serialises this process's write transactions, so writers
 * queue on it instead of sleeping in SQLite's busy handler. */
struct sq {
    char *path;
    pthread_key_t key;
    pthread_mutex_t list_mu; /* conns */
    struct sq_conn *conns;
    pthread_mutex_t write_mu;
    /* The checkpointer: copies the WAL back into the database a few times
     * a second on its own connection, so no request pays for it. */
    pthread_t ckpt;
    bool ckpt_running, ckpt_stop;
    pthread_cond_t ckpt_cv; /* with list_mu */
};

/* The calling thread's connection, opened on first use; NULL (logged)
 * when it cannot be opened. */
struct sq_conn *sq_conn(struct sq *q);

/* Called for each result row; return false to stop. */
typedef bool (*sq_row_fn)(void *arg, sqlite3_stmt *st);

/* Runs one statement. fmt names the bound parameters in order: 't' a const
 * char *, 'i' an int64_t. NB_EEXIST for a constraint violation, NB_EIO for
 * other failures (logged with the SQLite message). */
NB_MUST_CHECK enum nb_err sq_exec(struct sq *q, const char *sql, const char *fmt, ...);
/* Runs a query and calls fn for each row; *n_rows (if not NULL) counts the
 * rows seen. */
NB_MUST_CHECK enum nb_err sq_query(struct sq *q, const char *sql, sq_row_fn fn, void *arg,
                                   size_t *n_rows, const char *fmt, ...);
/* Rows changed by the last sq_exec, and the rowid of the last insert, on
 * the calling thread's connection. */
int sq_changes(struct sq *q);
int64_t sq_last_id(struct sq *q);

/* Locks the write mutex and begins an immediate transaction. */
NB_MUST_CHECK enum nb_err sq_begin(struct sq *q);
/* Commits when err is NB_OK, else rolls back; unlocks; returns err or the
 * commit's failure. */
NB_MUST_CHECK enum nb_err sq_end(struct sq *q, enum nb_err err);
/* Appends au (when not NULL) inside the current transaction. */
NB_MUST_CHECK enum nb_err sq_audit(struct sq *q, const struct store_audit *au);

/* Opens the store at path (creating the file), for the calling thread
 * first; sq_close closes every thread's connection. */
NB_MUST_CHECK enum nb_err sq_open(const char *path, struct sq **out, struct nb_diag *diag);
void sq_close(struct sq *q);

/* Copies a text column into out (truncated to cap - 1, always terminated). */
void sq_text(sqlite3_stmt *st, int col, char *out, size_t cap);

/* The fleet half of the ops (store_sqlite_fleet.c); see store.h. */
enum nb_err sq_release_add(struct store *s, struct store_release *r, const struct store_audit *au);
enum nb_err sq_release_get(struct store *s, int64_t id, struct store_release *out);
enum nb_err sq_release_list(struct store *s, size_t limit, size_t offset, store_release_cb cb,
                            void *arg);
enum nb_err sq_release_withdraw(struct store *s, int64_t id, const struct store_audit *au);
enum nb_err sq_deployment_add(struct store *s, struct store_deployment *d,
                              const char *const *device_ids, size_t n,
                              const struct store_audit *au);
enum nb_err sq_deployment_get(struct store *s, int64_t id, struct store_deployment *out);
enum nb_err sq_deployment_list(struct store *s, size_t limit, size_t offset, store_deployment_cb cb,
                               void *arg);
enum nb_err sq_deployment_cancel(struct store *s, int64_t id, const struct store_audit *au);
enum nb_err sq_assignment_list(struct store *s, int64_t deployment_id, const char *device_id,
                               store_assignment_cb cb, void *arg);
enum nb_err sq_assignment_current(struct store *s, const char *device_id,
                                  struct store_assignment *out);
enum nb_err sq_assignment_get(struct store *s, int64_t deployment_id, const char *device_id,
                              struct store_assignment *out);
enum nb_err sq_assignment_update(struct store *s, const struct store_assignment *a);
enum nb_err sq_report_add(struct store *s, const struct store_report *r,
                          const struct store_assignment *assign);
enum nb_err sq_report_list(struct store *s, const char *device_id, size_t limit, store_report_cb cb,
                           void *arg);
enum nb_err sq_audit_append(struct store *s, struct store_audit *a);
enum nb_err sq_audit_list(struct store *s, int64_t before_id, size_t limit, store_audit_cb cb,
                          void *arg);

/* Inside a transaction: a pending assignment of d for device, after
 * cancelling the device's other unfinished ones (store_sqlite_fleet.c). */
NB_MUST_CHECK enum nb_err sq_assign_one(struct sq *q, const struct store_deployment *d,
                                        const char *device);

/* The rollout ops (store_sqlite_rollout.c); see store.h. */
enum nb_err sq_rollout_add(struct store *s, struct store_rollout *r, const struct store_audit *au);
enum nb_err sq_rollout_get(struct store *s, int64_t id, struct store_rollout *out);
enum nb_err sq_rollout_list(struct store *s, bool has_state, enum store_rollout_state state,
                            size_t limit, size_t offset, store_rollout_cb cb, void *arg);
enum nb_err sq_rollout_set_state(struct store *s, int64_t id, enum store_rollout_state from,
                                 enum store_rollout_state to, const char *reason, int64_t at,
                                 const struct store_audit *au);
enum nb_err sq_rollout_assign(struct store *s, int64_t rollout_id, int wave,
                              const char *const *device_ids, size_t n, int64_t at,
                              const struct store_audit *au);
enum nb_err sq_rollout_waves(struct store *s, int64_t rollout_id, store_rollout_wave_cb cb,
                             void *arg);
enum nb_err sq_rollout_members(struct store *s, int64_t rollout_id, store_rollout_member_cb cb,
                               void *arg);
enum nb_err sq_rollout_expire(struct store *s, int64_t rollout_id, const struct store_expiry *e,
                              int64_t at, size_t *n);

/* The per-device safety ops of rollouts (store_sqlite_rdev.c); see store.h. */
enum nb_err sq_rollout_start(struct store *s, int64_t rollout_id, int64_t deployment_id,
                             const char *device_id, int64_t now, store_start_fn decide, void *arg,
                             enum store_start *out);
enum nb_err sq_rollout_unsettled(struct store *s, int64_t rollout_id, store_rollout_member_cb cb,
                                 void *arg);
enum nb_err sq_assignment_settle(struct store *s, int64_t deployment_id, const char *device_id,
                                 enum store_assign_state was, const struct store_settle *how,
                                 const struct store_audit *au);
enum nb_err sq_assignment_attempt(struct store *s, int64_t deployment_id, const char *device_id,
                                  struct store_attempt *out);
enum nb_err sq_quarantine_get(struct store *s, const char *device_id, struct store_quarantine *out);
enum nb_err sq_quarantine_list(struct store *s, int64_t now, size_t limit, store_quarantine_cb cb,
                               void *arg);
enum nb_err sq_quarantine_lift(struct store *s, const char *device_id, int64_t now,
                               const struct store_audit *au);
/* A rollout member's columns after SQ_ASSIGN_COLS (prefix a. and q.), and
 * their reader (store_sqlite_rdev.c): the attempt and the device's record. */
#define SQ_MEMBER_COLS                                                                             \
    "a.attempt, a.not_before, a.started_at, a.first_started_at, a.waiting, a.settled,"             \
    " COALESCE(q.failures, 0), COALESCE(q.until, 0), COALESCE(q.since, 0), COALESCE(q.code, '')"
void sq_read_member_safety(sqlite3_stmt *st, int first_col, struct store_rollout_member *m);
/* The members of rollouts, to be followed by a WHERE on w and a; rows for
 * sq_row_member (store_sqlite_rollout.c), which calls v->cb. */
#define SQ_MEMBER_SELECT                                                                           \
    "SELECT w.wave, a.deployment_id, a.device_id, a.release_id, a.state, a.progress, a.code,"      \
    " a.message, a.updated_at, " SQ_MEMBER_COLS " FROM rollout_waves w JOIN assignments a"         \
    " ON a.deployment_id = w.deployment_id"                                                        \
    " LEFT JOIN device_quarantine q ON q.device_id = a.device_id"
struct sq_visit_member {
    store_rollout_member_cb cb;
    void *arg;
};
bool sq_row_member(void *arg, sqlite3_stmt *st);
/* The rollout's assignments, for UPDATE ... WHERE: the deployments of its
 * waves (one parameter, the rollout's id). */
#define SQ_OF_ROLLOUT                                                                              \
    "deployment_id IN (SELECT deployment_id FROM rollout_waves WHERE rollout_id = ?)"

/* The assignment columns and their reader (store_sqlite_fleet.c). */
#define SQ_ASSIGN_COLS                                                                             \
    "deployment_id, device_id, release_id, state, progress, code, message, updated_at"
void sq_read_assignment(sqlite3_stmt *st, int first_col, struct store_assignment *a);

/* store_sqlite_control.c */
enum nb_err sq_rollout_approve(struct store *s, int64_t id, const char *actor, int64_t at,
                               const struct store_audit *au);
enum nb_err sq_rollout_approvals(struct store *s, int64_t id, size_t *n);
enum nb_err sq_rollout_add_rollback(struct store *s, int64_t bad_id, struct store_rollout *r,
                                    const struct store_audit *au);
enum nb_err sq_rollout_rollback_of(struct store *s, int64_t bad_id, int64_t *rollback_id);
enum nb_err sq_deployment_rollout(struct store *s, int64_t deployment_id, int64_t *rollout_id);
enum nb_err sq_stop_all(struct store *s, const char *reason, const char *reason_json, int64_t at,
                        const struct store_audit *tmpl, size_t *rollouts, size_t *deployments);

#endif
