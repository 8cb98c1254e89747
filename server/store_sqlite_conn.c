/* The SQLite store's connections and statements: one connection per thread
 * (opened on first use, in WAL mode, so readers never wait for each other
 * or for the writer), each keeping its statements compiled (prepared once,
 * reset after every use), and a process-wide mutex around write
 * transactions. The SQL itself is in store_sqlite.c and store_sqlite_fleet.c. */
#include "store_sqlite.h"

#include <nobrick/alloc.h>

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

/* ---- connections ------------------------------------------------------------------ */

/* Per connection: WAL (set once in the file, checked here), no fsync on
 * each commit (NORMAL: durable at checkpoints, never corrupt), foreign
 * keys, 8 MiB of page cache (the inner pages of the indexes stay), and
 * checkpoints left to the checkpointer (a committing request does one
 * only if the WAL reaches 10000 pages, 40 MB: the checkpointer is behind). */
static const char conn_pragmas[] = "PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON;"
                                   " PRAGMA cache_size = -8192; PRAGMA wal_autocheckpoint = 10000;";

static void conn_free(struct sq_conn *c)
{
    for (size_t i = 0; i < c->n_cached; i++)
        sqlite3_finalize(c->cache[i].st);
    sqlite3_close(c->db);
    nb_free(c);
}

static struct sq_conn *conn_open(const char *path, struct nb_diag *diag)
{
    struct sq_conn *c = nb_calloc(1, sizeof *c);
    if (c == NULL) {
        (void)nb_diag_set(diag, NB_ENOMEM, "out of memory");
        return NULL;
    }
    /* NOMUTEX: a connection is only ever used by the thread that owns it. */
    int rc = sqlite3_open_v2(
        path, &c->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, NULL);
    char *msg = NULL;
    if (rc == SQLITE_OK) {
        sqlite3_busy_timeout(c->db, 5000);
        rc = sqlite3_exec(c->db, conn_pragmas, NULL, NULL, &msg);
    }
    if (rc != SQLITE_OK) {
        (void)nb_diag_set(diag, NB_EIO, "sqlite:%s: %s", path,
                          msg != NULL     ? msg
                          : c->db != NULL ? sqlite3_errmsg(c->db)
                                          : "cannot open");
        sqlite3_free(msg);
        conn_free(c);
        return NULL;
    }
    return c;
}

struct sq_conn *sq_conn(struct sq *q)
{
    struct sq_conn *c = pthread_getspecific(q->key);
    if (c != NULL)
        return c;
    struct nb_diag diag = {{0}};
    c = conn_open(q->path, &diag);
    if (c == NULL) {
        fprintf(stderr, "nobrick-server: error: %s\n", diag.msg);
        return NULL;
    }
    pthread_mutex_lock(&q->list_mu);
    c->next = q->conns;
    q->conns = c;
    pthread_mutex_unlock(&q->list_mu);
    (void)pthread_setspecific(q->key, c);
    return c;
}

#define CKPT_INTERVAL_NS 200000000L

/* A PASSIVE checkpoint never blocks readers or the writer; it copies what
 * no reader still needs. */
static void *checkpointer(void *arg)
{
    struct sq *q = arg;
    struct sq_conn *c = sq_conn(q);
    pthread_mutex_lock(&q->list_mu);
    while (!q->ckpt_stop) {
        struct timespec t;
        clock_gettime(CLOCK_REALTIME, &t);
        t.tv_nsec += CKPT_INTERVAL_NS;
        t.tv_sec += t.tv_nsec / 1000000000L;
        t.tv_nsec %= 1000000000L;
        (void)pthread_cond_timedwait(&q->ckpt_cv, &q->list_mu, &t);
        if (q->ckpt_stop || c == NULL)
            continue;
        pthread_mutex_unlock(&q->list_mu);
        (void)sqlite3_wal_checkpoint_v2(c->db, NULL, SQLITE_CHECKPOINT_PASSIVE, NULL, NULL);
        pthread_mutex_lock(&q->list_mu);
    }
    pthread_mutex_unlock(&q->list_mu);
    return NULL;
}

static void checkpointer_stop(struct sq *q)
{
    if (!q->ckpt_running)
        return;
    pthread_mutex_lock(&q->list_mu);
    q->ckpt_stop = true;
    pthread_cond_signal(&q->ckpt_cv);
    pthread_mutex_unlock(&q->list_mu);
    (void)pthread_join(q->ckpt, NULL);
    q->ckpt_running = false;
}

/* SQLite's memory statistics take a process-wide mutex on every
 * allocation, which request threads then queue on; nothing reads them. It
 * can be switched off only before the library initialises (later, the
 * call fails harmlessly). */
static pthread_once_t config_once = PTHREAD_ONCE_INIT;

static void configure_library(void)
{
    (void)sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
}

enum nb_err sq_open(const char *path, struct sq **out, struct nb_diag *diag)
{
    (void)pthread_once(&config_once, configure_library);
    struct sq *q = nb_calloc(1, sizeof *q);
    if (q == NULL || (q->path = nb_strdup(path)) == NULL) {
        nb_free(q);
        return nb_diag_set(diag, NB_ENOMEM, "out of memory");
    }
    pthread_mutex_init(&q->list_mu, NULL);
    pthread_mutex_init(&q->write_mu, NULL);
    pthread_cond_init(&q->ckpt_cv, NULL);
    if (pthread_key_create(&q->key, NULL) != 0) {
        sq_close(q);
        return nb_diag_set(diag, NB_EIO, "pthread_key_create failed");
    }
    struct sq_conn *c = conn_open(path, diag);
    char *msg = NULL;
    if (c != NULL &&
        sqlite3_exec(c->db, "PRAGMA journal_mode = WAL", NULL, NULL, &msg) != SQLITE_OK)
        (void)nb_diag_set(diag, NB_EIO, "sqlite: %s", msg != NULL ? msg : "?");
    sqlite3_free(msg);
    if (c != NULL) {
        q->conns = c;
        (void)pthread_setspecific(q->key, c);
    }
    if (c != NULL && diag->msg[0] == '\0' && pthread_create(&q->ckpt, NULL, checkpointer, q) != 0)
        (void)nb_diag_set(diag, NB_EIO, "cannot start the checkpoint thread");
    if (c == NULL || diag->msg[0] != '\0') {
        sq_close(q);
        return diag->msg[0] != '\0' ? NB_EIO : NB_ENOMEM;
    }
    q->ckpt_running = true;
    *out = q;
    return NB_OK;
}

/* Only once no other thread uses the store (the HTTP server is stopped). */
void sq_close(struct sq *q)
{
    if (q == NULL)
        return;
    checkpointer_stop(q);
    while (q->conns != NULL) {
        struct sq_conn *c = q->conns;
        q->conns = c->next;
        conn_free(c);
    }
    (void)pthread_key_delete(q->key);
    pthread_mutex_destroy(&q->list_mu);
    pthread_mutex_destroy(&q->write_mu);
    pthread_cond_destroy(&q->ckpt_cv);
    nb_free(q->path);
    nb_free(q);
}

/* ---- statements ------------------------------------------------------------------ */

/* The cached statement for sql, prepared on first use; a one-off one
 * (*cached NULL, finalised by the caller) when the cache is full or the
 * cached one is being stepped further up the stack (a visitor that calls
 * the store). */
static sqlite3_stmt *stmt_get(struct sq_conn *c, const char *sql, struct sq_cached **cached)
{
    *cached = NULL;
    size_t i = 0;
    while (i < c->n_cached && c->cache[i].sql != sql)
        i++;
    if (i < c->n_cached && !c->cache[i].busy) {
        c->cache[i].busy = true;
        *cached = &c->cache[i];
        return c->cache[i].st;
    }
    bool keep = i == c->n_cached && i < SQ_CACHE;
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v3(c->db, sql, -1, keep ? SQLITE_PREPARE_PERSISTENT : 0, &st, NULL) !=
        SQLITE_OK) {
        fprintf(stderr, "nobrick-server: error: sqlite prepare: %s\n", sqlite3_errmsg(c->db));
        return NULL;
    }
    if (keep) {
        c->cache[i] = (struct sq_cached){sql, st, true};
        c->n_cached++;
        *cached = &c->cache[i];
    }
    return st;
}

/* Resets a cached statement (ending its read of the database) or
 * finalises a one-off one. */
static void stmt_put(sqlite3_stmt *st, struct sq_cached *cached)
{
    if (cached == NULL) {
        sqlite3_finalize(st);
        return;
    }
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    cached->busy = false;
}

static enum nb_err bind_all(sqlite3_stmt *st, const char *fmt, va_list ap)
{
    for (int i = 0; fmt[i] != '\0'; i++) {
        int rc = SQLITE_MISUSE;
        if (fmt[i] == 't')
            rc = sqlite3_bind_text(st, i + 1, va_arg(ap, const char *), -1, SQLITE_TRANSIENT);
        else if (fmt[i] == 'i')
            rc = sqlite3_bind_int64(st, i + 1, va_arg(ap, int64_t));
        if (rc != SQLITE_OK)
            return NB_EIO;
    }
    return NB_OK;
}

static enum nb_err step_all(struct sq_conn *c, sqlite3_stmt *st, sq_row_fn fn, void *arg, size_t *n)
{
    int rc;
    bool more = true;
    while (more && (rc = sqlite3_step(st)) == SQLITE_ROW) {
        if (n != NULL)
            (*n)++;
        more = fn == NULL || fn(arg, st);
    }
    if (!more || rc == SQLITE_DONE)
        return NB_OK;
    if ((rc & 0xff) == SQLITE_CONSTRAINT)
        return NB_EEXIST;
    fprintf(stderr, "nobrick-server: error: sqlite: %s\n", sqlite3_errmsg(c->db));
    return NB_EIO;
}

static enum nb_err run(struct sq *q, const char *sql, sq_row_fn fn, void *arg, size_t *n,
                       const char *fmt, va_list ap)
{
    struct sq_conn *c = sq_conn(q);
    struct sq_cached *cached = NULL;
    sqlite3_stmt *st = c != NULL ? stmt_get(c, sql, &cached) : NULL;
    if (st == NULL)
        return NB_EIO;
    enum nb_err err = bind_all(st, fmt, ap);
    if (err == NB_OK)
        err = step_all(c, st, fn, arg, n);
    stmt_put(st, cached);
    return err;
}

enum nb_err sq_exec(struct sq *q, const char *sql, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    enum nb_err err = run(q, sql, NULL, NULL, NULL, fmt, ap);
    va_end(ap);
    return err;
}

enum nb_err sq_query(struct sq *q, const char *sql, sq_row_fn fn, void *arg, size_t *n_rows,
                     const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    if (n_rows != NULL)
        *n_rows = 0;
    enum nb_err err = run(q, sql, fn, arg, n_rows, fmt, ap);
    va_end(ap);
    return err;
}

/* Both read the thread's connection, which exists: the statement they
 * follow opened it. */
int sq_changes(struct sq *q)
{
    struct sq_conn *c = sq_conn(q);
    return c != NULL ? sqlite3_changes(c->db) : 0;
}

int64_t sq_last_id(struct sq *q)
{
    struct sq_conn *c = sq_conn(q);
    return c != NULL ? sqlite3_last_insert_rowid(c->db) : 0;
}

/* ---- transactions ------------------------------------------------------------------ */

enum nb_err sq_begin(struct sq *q)
{
    pthread_mutex_lock(&q->write_mu);
    enum nb_err err = sq_exec(q, "BEGIN IMMEDIATE", "");
    if (err != NB_OK)
        pthread_mutex_unlock(&q->write_mu);
    return err;
}

enum nb_err sq_end(struct sq *q, enum nb_err err)
{
    if (err == NB_OK)
        err = sq_exec(q, "COMMIT", "");
    /* A failed rollback leaves nothing to do but report the first error. */
    if (err != NB_OK && sq_exec(q, "ROLLBACK", "") != NB_OK)
        fprintf(stderr, "nobrick-server: error: sqlite: rollback failed\n");
    pthread_mutex_unlock(&q->write_mu);
    return err;
}

void sq_text(sqlite3_stmt *st, int col, char *out, size_t cap)
{
    const unsigned char *t = sqlite3_column_text(st, col);
    (void)snprintf(out, cap, "%s", t != NULL ? (const char *)t : "");
}
