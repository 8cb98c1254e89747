/* Per-device safety of rollouts (rollout_device.h): the failure classes,
 * the back-off, the settling of a finished attempt and the verdict at
 * check-in as pure functions, then the engine's expire and settle passes
 * and the check-in's start, which apply them through the store. */
#include "rollout_device.h"
#include "log.h"

#include <nobrick/alloc.h>

#include <stdio.h>
#include <string.h>

/* ---- decisions ------------------------------------------------------------------ */

/* Codes a device (or the server, E_TIMED_OUT) reports, by class; a code not
 * listed is final. docs/rollouts.md has the same table in words. */
static const char *const transient_codes[] = {
    "E_TIMEOUT", "E_IO",    "E_BUSY",   "E_POWER",
    "E_NOMEM",   "E_NOSPC", "E_CRYPTO", ROLLOUT_TIMEOUT_CODE,
};
static const char *const refused_codes[] = {
    "E_SIG",      "E_FRESHNESS", "E_NOT_FOR_DEVICE", "E_EXPIRED",
    "E_MISMATCH", "E_HASH",      "E_TRUNCATED",      "E_PARSE",
};

static bool listed(const char *const *codes, size_t n, const char *code)
{
    for (size_t i = 0; i < n; i++) {
        if (strcmp(codes[i], code) == 0)
            return true;
    }
    return false;
}

enum rdev_class rdev_classify(enum store_assign_state st, const char *code)
{
    if (st != STORE_ASSIGN_FAILED)
        return RDEV_FINAL;
    if (listed(transient_codes, sizeof transient_codes / sizeof transient_codes[0], code))
        return RDEV_TRANSIENT;
    if (listed(refused_codes, sizeof refused_codes / sizeof refused_codes[0], code))
        return RDEV_REFUSED;
    return RDEV_FINAL;
}

const char *rdev_class_name(enum rdev_class c)
{
    return c == RDEV_TRANSIENT ? "transient" : c == RDEV_REFUSED ? "refused" : "final";
}

uint32_t rdev_backoff_s(uint32_t base_s, uint32_t n)
{
    uint64_t d = base_s;
    for (uint32_t i = 1; i < n && d < RDEV_BACKOFF_MAX_S; i++)
        d *= 2;
    if (d > RDEV_BACKOFF_MAX_S)
        d = base_s > RDEV_BACKOFF_MAX_S ? base_s : RDEV_BACKOFF_MAX_S;
    return (uint32_t)d;
}

void rdev_policy_of(const struct rollout_spec *spec, struct rdev_policy *out)
{
    out->retry_max = spec->retry_max;
    out->backoff_s = spec->retry_backoff_s;
    out->quarantine_s = spec->quarantine_s;
    out->quarantine_after = RDEV_QUARANTINE_AFTER;
}

bool rdev_quarantined(const struct store_quarantine *q, int64_t now)
{
    return q->until > now;
}

static void settle_failure(const struct rdev_policy *p, const struct store_rollout_member *m,
                           int64_t now, struct store_settle *out)
{
    const char *code = m->a.code[0] != '\0' ? m->a.code : store_assign_state_name(m->a.state);
    bool quarantined = rdev_quarantined(&m->q, now);
    /* A quarantine served (or lifted) starts the count afresh. */
    uint32_t failures = m->q.until != 0 && !quarantined ? 0 : m->q.failures;
    out->failures = failures < UINT32_MAX ? failures + 1 : failures;
    (void)snprintf(out->code, sizeof out->code, "%s", code);
    if (!quarantined && out->failures >= p->quarantine_after) {
        out->since = now;
        out->quarantined_until = now + (int64_t)p->quarantine_s;
    }
    if (rdev_classify(m->a.state, m->a.code) == RDEV_FINAL || m->t.attempt >= p->retry_max)
        return;
    out->retry = true;
    out->not_before = now + (int64_t)rdev_backoff_s(p->backoff_s, m->t.attempt);
    if (out->quarantined_until > out->not_before)
        out->not_before = out->quarantined_until;
}

void rdev_settle(const struct rdev_policy *p, const struct store_rollout_member *m, int64_t now,
                 struct store_settle *out)
{
    memset(out, 0, sizeof *out);
    out->since = m->q.since;
    out->quarantined_until = m->q.until;
    (void)snprintf(out->code, sizeof out->code, "%s", m->q.code);
    if (m->a.state != STORE_ASSIGN_SUCCEEDED) {
        out->count = true;
        settle_failure(p, m, now, out);
        return;
    }
    /* A success clears the failures (a device with none has no record to write). */
    out->count = m->q.failures > 0;
    out->failures = 0;
}

enum store_start rdev_start_verdict(const struct rdev_caps *caps, const struct store_start_facts *f,
                                    int64_t now)
{
    /* A completed rollout still serves its late devices; an aborted one
     * cancelled those that had not started. */
    if (f->rollout_state != STORE_ROLLOUT_RUNNING && f->rollout_state != STORE_ROLLOUT_COMPLETED)
        return STORE_START_HELD;
    if (f->state == STORE_ASSIGN_NOTIFIED)
        return STORE_START_GO;
    if (f->quarantined_until > now)
        return STORE_START_QUARANTINED;
    if (f->t.not_before > now)
        return STORE_START_BACKOFF;
    if (caps->max_downloading > 0 && f->downloading >= caps->max_downloading)
        return STORE_START_DOWNLOADS;
    if (caps->start_rate_per_min > 0 && f->t.first_started_at == 0 &&
        f->started_last_min >= caps->start_rate_per_min)
        return STORE_START_RATE;
    return STORE_START_GO;
}

const char *rdev_start_name(enum store_start v)
{
    static const char *const names[] = {"go",       "held",         "back-off", "quarantined",
                                        "rate cap", "download cap", "gone"};
    return (size_t)v < sizeof names / sizeof names[0] ? names[v] : "?";
}

/* ---- the check-in ------------------------------------------------------------------ */

static enum store_start decide(void *arg, const struct store_start_facts *f, int64_t now)
{
    return rdev_start_verdict(arg, f, now);
}

bool rdev_may_instruct(struct srv *srv, const struct store_rollout *r,
                       const struct rollout_spec *spec, struct store_assignment *a, int64_t now)
{
    if (a->state != STORE_ASSIGN_PENDING && a->state != STORE_ASSIGN_NOTIFIED)
        return true;
    struct rdev_caps caps = {spec->start_rate_per_min, spec->max_downloading > 0
                                                           ? spec->max_downloading
                                                           : srv->cfg.max_downloading};
    enum store_start v = STORE_START_HELD;
    enum nb_err err = srv->store.ops->rollout_start(&srv->store, r->id, a->deployment_id,
                                                    a->device_id, now, decide, &caps, &v);
    if (err != NB_OK) {
        srv_log(SRV_LOG_WARN, "rollout check-in of %.16s: %s", a->device_id, nb_strerror(err));
        return false;
    }
    if (v != STORE_START_GO)
        return false;
    if (a->state == STORE_ASSIGN_PENDING) {
        a->state = STORE_ASSIGN_NOTIFIED;
        a->updated_at = now;
    }
    return true;
}

void rdev_report_key(struct srv *srv, const struct store_assignment *a, char *report_id)
{
    struct store_attempt t;
    char key[STORE_NAME_MAX + 1];
    if (srv->store.ops->assignment_attempt(&srv->store, a->deployment_id, a->device_id, &t) !=
            NB_OK ||
        t.attempt < 2)
        return;
    int n = snprintf(key, sizeof key, "%s@a%u", report_id, (unsigned)t.attempt);
    if (n > 0 && (size_t)n < sizeof key)
        memcpy(report_id, key, (size_t)n + 1);
}

/* ---- the engine ------------------------------------------------------------------ */

enum nb_err rdev_expire(struct srv *srv, const struct store_rollout *r,
                        const struct rollout_spec *spec, int64_t now, size_t *n)
{
    char silent[96], slow[96], absent[96];
    (void)snprintf(silent, sizeof silent, "no report for %u s (the rollout's lease)",
                   spec->lease_s);
    (void)snprintf(slow, sizeof slow, "the attempt took more than %u s (the device timeout)",
                   spec->device_timeout_s);
    (void)snprintf(absent, sizeof absent, "not back for its retry within %u s (the lease)",
                   spec->lease_s);
    struct store_expiry e = {now - (int64_t)spec->lease_s,
                             now - (int64_t)spec->device_timeout_s,
                             ROLLOUT_TIMEOUT_CODE,
                             silent,
                             slow,
                             absent};
    return srv->store.ops->rollout_expire(&srv->store, r->id, &e, now, n);
}

struct unsettled {
    struct store_rollout_member *m;
    size_t n;
    bool failed;
};

static bool note_unsettled(void *arg, const struct store_rollout_member *m)
{
    struct unsettled *u = arg;
    if (u->m == NULL && (u->m = nb_calloc(RDEV_SETTLE_PER_TICK, sizeof *u->m)) == NULL) {
        u->failed = true;
        return false;
    }
    u->m[u->n++] = *m;
    return u->n < RDEV_SETTLE_PER_TICK;
}

/* The audit entry of a retry or a quarantine; none for the rest. */
static bool settle_audit(const struct store_rollout *r, const struct store_rollout_member *m,
                         const struct store_settle *how, int64_t now, struct store_audit *au)
{
    bool quarantines = how->quarantined_until != m->q.until && how->quarantined_until > now;
    if (!quarantines && !how->retry)
        return false;
    memset(au, 0, sizeof *au);
    au->at = now;
    memcpy(au->actor, "engine", 7);
    json_t *d = json_pack("{s:I, s:s, s:s, s:i, s:i}", "rollout", (json_int_t)r->id, "device_id",
                          m->a.device_id, "code", how->code, "attempt", (int)m->t.attempt,
                          "failures", (int)how->failures);
    if (quarantines) {
        memcpy(au->action, "device.quarantine", 18);
        (void)snprintf(au->object, sizeof au->object, "device:%.16s", m->a.device_id);
        json_object_set_new(d, "until", json_integer(how->quarantined_until));
    } else {
        memcpy(au->action, "rollout.retry", 14);
        (void)snprintf(au->object, sizeof au->object, "rollout:%lld", (long long)r->id);
        json_object_set_new(d, "not_before", json_integer(how->not_before));
    }
    size_t len = json_dumpb(d, au->detail, sizeof au->detail - 1, JSON_COMPACT);
    au->detail[len < sizeof au->detail ? len : 0] = '\0';
    json_decref(d);
    return true;
}

/* The device's record as it is now: an earlier member of this tick may
 * have changed it (one device, one member per rollout, but be exact). */
static enum nb_err settle_one(struct srv *srv, const struct store_rollout *r,
                              const struct rdev_policy *p, struct store_rollout_member *m,
                              int64_t now)
{
    struct store_settle how;
    struct store_audit au;
    enum nb_err err = srv->store.ops->quarantine_get(&srv->store, m->a.device_id, &m->q);
    if (err == NB_ENOENT)
        memset(&m->q, 0, sizeof m->q);
    else if (err != NB_OK)
        return err;
    rdev_settle(p, m, now, &how);
    bool audited = settle_audit(r, m, &how, now, &au);
    err = srv->store.ops->assignment_settle(&srv->store, m->a.deployment_id, m->a.device_id,
                                            m->a.state, &how, audited ? &au : NULL);
    if (err == NB_OK && audited)
        srv_log(SRV_LOG_INFO, "rollout %lld: device %.16s: %s", (long long)r->id, m->a.device_id,
                au.action);
    return err == NB_EINVAL ? NB_OK : err; /* changed meanwhile: the next tick sees it */
}

enum nb_err rdev_settle_rollout(struct srv *srv, const struct store_rollout *r,
                                const struct rollout_spec *spec, int64_t now)
{
    struct unsettled u = {NULL, 0, false};
    struct rdev_policy p;
    rdev_policy_of(spec, &p);
    enum nb_err err = srv->store.ops->rollout_unsettled(&srv->store, r->id, note_unsettled, &u);
    if (err == NB_OK && u.failed)
        err = NB_ENOMEM;
    for (size_t i = 0; err == NB_OK && i < u.n; i++)
        err = settle_one(srv, r, &p, &u.m[i], now);
    nb_free(u.m);
    return err;
}

enum nb_err rdev_tick_late(struct srv *srv, const struct store_rollout *r, int64_t now)
{
    static _Thread_local struct rollout_spec spec; /* only the engine thread ticks */
    size_t expired = 0;
    enum nb_err err = rollout_spec_parse(r->spec, &spec);
    if (err == NB_OK)
        err = rdev_expire(srv, r, &spec, now, &expired);
    if (err == NB_OK)
        err = rdev_settle_rollout(srv, r, &spec, now);
    return err;
}
