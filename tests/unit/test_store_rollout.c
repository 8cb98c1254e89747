/* Store conformance suite, rollouts (the rest is test_store.c, which has
 * grown to its size limit): written against server/store.h only, on a
 * fresh SQLite database or the store NB_TEST_STORE_URL names. Covers
 * rollout states (compare and set, audit with the change), waves opened as
 * deployments of kind rollout, members, held devices while not running,
 * abort cancelling devices that had not started, the per-device
 * timeouts (lease and total), and the per-device safety ops: the start of
 * an attempt under caps, settling finished attempts (retry, final,
 * quarantine records) and quarantines listed and lifted. */
#include "store.h"

#include <nobrick/alloc.h>

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct fixture {
    char dir[64];
    char url[160];
    struct store st;
    int64_t release;
};

static void add_device(struct store *s, const char *id)
{
    struct store_device d;
    memset(&d, 0, sizeof d);
    (void)snprintf(d.id, sizeof d.id, "%s", id);
    (void)snprintf(d.pubkey, sizeof d.pubkey, "pub-%s", id);
    memcpy(d.hw_class, "thermo", 7);
    d.state = STORE_DEVICE_ACTIVE;
    d.created_at = 1000;
    assert_int_equal(s->ops->device_add(s, &d, NULL), NB_OK);
}

static int setup(void **state)
{
    struct fixture *f = nb_calloc(1, sizeof *f);
    assert_non_null(f);
    memcpy(f->dir, "/tmp/nb-store-XXXXXX", 21);
    assert_non_null(mkdtemp(f->dir));
    const char *url = getenv("NB_TEST_STORE_URL");
    if (url != NULL && url[0] != '\0')
        (void)snprintf(f->url, sizeof f->url, "%s", url);
    else
        (void)snprintf(f->url, sizeof f->url, "sqlite:%s/server.db", f->dir);
    struct nb_diag diag = {{0}};
    assert_int_equal(store_open(f->url, &f->st, &diag), NB_OK);
    struct store_release r;
    memset(&r, 0, sizeof r);
    memcpy(r.version, "2.0.0", 6);
    memcpy(r.hw_classes, "[\"thermo\"]", 11);
    memset(r.envelope_sha256, 'e', STORE_HASH_HEX);
    memset(r.bundle_sha256, 'b', STORE_HASH_HEX);
    assert_int_equal(f->st.ops->release_add(&f->st, &r, NULL), NB_OK);
    f->release = r.id;
    const char *ids[] = {"a", "b", "c", "d"};
    for (size_t i = 0; i < 4; i++)
        add_device(&f->st, ids[i]);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    char p[128];
    store_close(&f->st);
    const char *suffixes[] = {"", "-wal", "-shm"};
    for (size_t i = 0; i < 3; i++) {
        (void)snprintf(p, sizeof p, "%s/server.db%s", f->dir, suffixes[i]);
        (void)unlink(p);
    }
    (void)rmdir(f->dir);
    nb_free(f);
    return 0;
}

static struct store_audit audit(const char *action)
{
    struct store_audit a;
    memset(&a, 0, sizeof a);
    a.at = 2000;
    memcpy(a.actor, "test", 5);
    (void)snprintf(a.action, sizeof a.action, "%s", action);
    memcpy(a.object, "rollout", 8);
    return a;
}

static bool count_audit(void *arg, const struct store_audit *a)
{
    (void)a;
    (*(size_t *)arg)++;
    return true;
}

static size_t audit_count(struct store *s)
{
    size_t n = 0;
    assert_int_equal(s->ops->audit_list(s, 0, 1000, count_audit, &n), NB_OK);
    return n;
}

static bool count_quarantine(void *arg, const struct store_quarantine *q)
{
    (void)q;
    (*(size_t *)arg)++;
    return true;
}

static bool count_rollout(void *arg, const struct store_rollout *r)
{
    (void)r;
    (*(size_t *)arg)++;
    return true;
}

/* A rollout of the fixture's release, in state st; returns its id. */
static int64_t add_rollout(struct fixture *f, enum store_rollout_state st)
{
    static struct store_rollout r;
    memset(&r, 0, sizeof r);
    r.release_id = f->release;
    memcpy(r.name, "spring", 7);
    r.state = st;
    memcpy(r.salt, "salt", 5);
    memcpy(r.spec, "{\"waves\":[]}", 13);
    r.current_wave = -1;
    memcpy(r.created_by, "test", 5);
    r.created_at = r.updated_at = 100;
    struct store_audit au = audit("rollout.create");
    assert_int_equal(f->st.ops->rollout_add(&f->st, &r, &au), NB_OK);
    assert_true(r.id > 0);
    return r.id;
}

static void test_rollout_states(void **state)
{
    struct fixture *f = *state;
    struct store *s = &f->st;
    int64_t id = add_rollout(f, STORE_ROLLOUT_DRAFT);
    static struct store_rollout got;
    assert_int_equal(s->ops->rollout_get(s, id, &got), NB_OK);
    assert_string_equal(got.name, "spring");
    assert_string_equal(got.spec, "{\"waves\":[]}");
    assert_int_equal(got.state, STORE_ROLLOUT_DRAFT);
    assert_int_equal(got.current_wave, -1);
    assert_int_equal(s->ops->rollout_get(s, id + 1, &got), NB_ENOENT);

    struct store_audit au = audit("rollout.start");
    assert_int_equal(
        s->ops->rollout_set_state(s, id, STORE_ROLLOUT_DRAFT, STORE_ROLLOUT_RUNNING, "", 200, &au),
        NB_OK);
    /* Compare and set: a second start finds it running; nothing is audited. */
    assert_int_equal(
        s->ops->rollout_set_state(s, id, STORE_ROLLOUT_DRAFT, STORE_ROLLOUT_RUNNING, "", 200, &au),
        NB_EINVAL);
    assert_int_equal(s->ops->rollout_set_state(s, id + 1, STORE_ROLLOUT_DRAFT,
                                               STORE_ROLLOUT_RUNNING, "", 200, &au),
                     NB_ENOENT);
    assert_int_equal(s->ops->rollout_set_state(s, id, STORE_ROLLOUT_RUNNING, STORE_ROLLOUT_PAUSED,
                                               "wave 1 paused: why", 300, NULL),
                     NB_OK);
    assert_int_equal(s->ops->rollout_get(s, id, &got), NB_OK);
    assert_int_equal(got.state, STORE_ROLLOUT_PAUSED);
    assert_string_equal(got.reason, "wave 1 paused: why");
    assert_int_equal(got.updated_at, 300);
    assert_int_equal(audit_count(s), 2);

    int64_t other = add_rollout(f, STORE_ROLLOUT_RUNNING);
    size_t n = 0;
    assert_int_equal(s->ops->rollout_list(s, false, STORE_ROLLOUT_DRAFT, 100, 0, count_rollout, &n),
                     NB_OK);
    assert_int_equal(n, 2);
    n = 0;
    assert_int_equal(
        s->ops->rollout_list(s, true, STORE_ROLLOUT_RUNNING, 100, 0, count_rollout, &n), NB_OK);
    assert_int_equal(n, 1);
    (void)other;
}

struct members {
    size_t n;
    char ids[8][8];
    int waves[8];
    enum store_assign_state states[8];
};

static bool collect_member(void *arg, const struct store_rollout_member *m)
{
    struct members *ms = arg;
    if (ms->n < 8) {
        (void)snprintf(ms->ids[ms->n], sizeof ms->ids[0], "%.7s", m->a.device_id);
        ms->waves[ms->n] = m->wave;
        ms->states[ms->n++] = m->a.state;
    }
    return true;
}

static bool collect_wave(void *arg, const struct store_rollout_wave *w)
{
    struct store_rollout_wave *out = arg;
    out[w->wave] = *w;
    return true;
}

static void assign(struct store *s, int64_t id, int wave, const char *const *ids, size_t n,
                   enum nb_err want)
{
    struct store_audit au = audit("rollout.wave");
    assert_int_equal(s->ops->rollout_assign(s, id, wave, ids, n, 500 + wave, &au), want);
}

static void test_rollout_waves(void **state)
{
    struct fixture *f = *state;
    struct store *s = &f->st;
    int64_t id = add_rollout(f, STORE_ROLLOUT_DRAFT);
    const char *canary[] = {"a"}, *first[] = {"b", "c"}, *late[] = {"d"};
    assign(s, id, 0, canary, 1, NB_EINVAL); /* not running */
    assert_int_equal(
        s->ops->rollout_set_state(s, id, STORE_ROLLOUT_DRAFT, STORE_ROLLOUT_RUNNING, "", 200, NULL),
        NB_OK);
    /* A device's plain deployment gives way to the rollout. */
    struct store_deployment d;
    memset(&d, 0, sizeof d);
    d.release_id = f->release;
    memcpy(d.target, "b", 2);
    assert_int_equal(s->ops->deployment_add(s, &d, first, 1, NULL), NB_OK);
    size_t before = audit_count(s);
    assign(s, id, 0, canary, 1, NB_OK);
    assign(s, id, 1, first, 2, NB_OK);
    assign(s, id, 0, late, 1, NB_OK);     /* a late joiner of an opened wave */
    assign(s, id, 3, NULL, 0, NB_OK);     /* an empty wave opens too */
    assign(s, id, 2, late, 1, NB_EINVAL); /* never open a wave below the current one */
    assert_int_equal(audit_count(s), before + 4);

    static struct store_rollout got;
    assert_int_equal(s->ops->rollout_get(s, id, &got), NB_OK);
    assert_int_equal(got.current_wave, 3);
    struct store_rollout_wave w[4];
    memset(w, 0, sizeof w);
    assert_int_equal(s->ops->rollout_waves(s, id, collect_wave, w), NB_OK);
    assert_int_equal(w[1].opened_at, 501);
    assert_int_equal(w[2].deployment_id, 0); /* never opened */
    struct store_deployment wd;
    assert_int_equal(s->ops->deployment_get(s, w[1].deployment_id, &wd), NB_OK);
    assert_int_equal(wd.target_kind, STORE_TARGET_ROLLOUT);
    assert_int_equal(wd.release_id, f->release);

    struct members ms;
    memset(&ms, 0, sizeof ms);
    assert_int_equal(s->ops->rollout_members(s, id, collect_member, &ms), NB_OK);
    assert_int_equal(ms.n, 4);
    assert_string_equal(ms.ids[0], "a");
    assert_string_equal(ms.ids[1], "d");
    assert_int_equal(ms.waves[1], 0);
    assert_string_equal(ms.ids[3], "c");
    assert_int_equal(ms.waves[3], 1);
    struct store_assignment a;
    assert_int_equal(s->ops->assignment_get(s, d.id, "b", &a), NB_OK);
    assert_int_equal(a.state, STORE_ASSIGN_CANCELLED);
    assert_int_equal(s->ops->assignment_current(s, "b", &a), NB_OK);
    assert_int_equal(a.deployment_id, w[1].deployment_id);
}

/* A running rollout with devices a, b and c in wave 0; *dep its deployment. */
static int64_t running_abc(struct fixture *f, int64_t *dep)
{
    struct store *s = &f->st;
    int64_t id = add_rollout(f, STORE_ROLLOUT_RUNNING);
    const char *ids[] = {"a", "b", "c"};
    assign(s, id, 0, ids, 3, NB_OK);
    struct store_assignment a;
    assert_int_equal(s->ops->assignment_current(s, "a", &a), NB_OK);
    *dep = a.deployment_id;
    return id;
}

static void test_rollout_hold_abort_expire(void **state)
{
    struct fixture *f = *state;
    struct store *s = &f->st;
    const char *ids[] = {"a", "b", "c"};
    int64_t dep = 0, id = running_abc(f, &dep);
    struct store_assignment a;
    assert_int_equal(s->ops->assignment_get(s, dep, "a", &a), NB_OK);
    a.state = STORE_ASSIGN_DOWNLOADING;
    a.updated_at = 600;
    assert_int_equal(s->ops->assignment_update(s, &a), NB_OK);
    assert_int_equal(s->ops->assignment_get(s, dep, "b", &a), NB_OK);
    a.state = STORE_ASSIGN_INSTALLING;
    a.updated_at = 900;
    assert_int_equal(s->ops->assignment_update(s, &a), NB_OK);

    assert_int_equal(s->ops->rollout_set_state(s, id, STORE_ROLLOUT_RUNNING, STORE_ROLLOUT_PAUSED,
                                               "operator", 700, NULL),
                     NB_OK);

    /* Timeout: in progress and unchanged before 800 -> failed; pending stays. */
    size_t n = 0;
    struct store_expiry e = {800, 0, "E_TIMED_OUT", "no progress", "too slow", "absent"};
    assert_int_equal(s->ops->rollout_expire(s, id, &e, 1000, &n), NB_OK);
    assert_int_equal(n, 1);
    assert_int_equal(s->ops->assignment_get(s, dep, "a", &a), NB_OK);
    assert_int_equal(a.state, STORE_ASSIGN_FAILED);
    assert_string_equal(a.code, "E_TIMED_OUT");
    assert_string_equal(a.message, "no progress");
    assert_int_equal(a.updated_at, 1000);

    /* Abort: c had not started (cancelled); b is installing (finishes). */
    assert_int_equal(s->ops->rollout_set_state(s, id, STORE_ROLLOUT_PAUSED, STORE_ROLLOUT_ABORTED,
                                               "operator", 1100, NULL),
                     NB_OK);
    assert_int_equal(s->ops->assignment_get(s, dep, "c", &a), NB_OK);
    assert_int_equal(a.state, STORE_ASSIGN_CANCELLED);
    assert_int_equal(s->ops->assignment_get(s, dep, "b", &a), NB_OK);
    assert_int_equal(a.state, STORE_ASSIGN_INSTALLING);
    assign(s, id, 0, ids, 1, NB_EINVAL);
}

/* A decider that records the facts it saw and answers what the test set. */
struct decider {
    enum store_start answer;
    struct store_start_facts seen;
    int calls;
};

static enum store_start decide(void *arg, const struct store_start_facts *f, int64_t now)
{
    struct decider *d = arg;
    (void)now;
    d->seen = *f;
    d->calls++;
    return d->answer;
}

static enum store_start start(struct store *s, int64_t id, int64_t dep, const char *dev,
                              int64_t now, struct decider *d)
{
    enum store_start v = STORE_START_GONE;
    assert_int_equal(s->ops->rollout_start(s, id, dep, dev, now, decide, d, &v), NB_OK);
    return v;
}

static bool find_member(void *arg, const struct store_rollout_member *m)
{
    struct store_rollout_member *out = arg;
    if (strcmp(m->a.device_id, out->a.device_id) != 0)
        return true;
    *out = *m;
    return false;
}

static struct store_rollout_member get_member(struct store *s, int64_t id, const char *dev)
{
    struct store_rollout_member m;
    memset(&m, 0, sizeof m);
    (void)snprintf(m.a.device_id, sizeof m.a.device_id, "%s", dev);
    assert_int_equal(s->ops->rollout_members(s, id, find_member, &m), NB_OK);
    assert_int_equal(m.t.attempt >= 1, 1);
    return m;
}

static void test_rollout_start(void **state)
{
    struct fixture *f = *state;
    struct store *s = &f->st;
    int64_t dep = 0, id = running_abc(f, &dep);
    struct store_assignment a;
    int64_t of = 0;
    assert_int_equal(s->ops->deployment_rollout(s, dep, &of), NB_OK);
    assert_int_equal(of, id);
    struct store_deployment plain;
    memset(&plain, 0, sizeof plain);
    plain.release_id = f->release;
    const char *d_only[] = {"d"};
    assert_int_equal(s->ops->deployment_add(s, &plain, d_only, 1, NULL), NB_OK);
    assert_int_equal(s->ops->deployment_rollout(s, plain.id, &of), NB_ENOENT);

    /* go: a pending device becomes notified, its first start noted. */
    struct decider d = {STORE_START_GO, {0}, 0};
    assert_int_equal(start(s, id, dep, "a", 5000, &d), STORE_START_GO);
    assert_int_equal(d.seen.state, STORE_ASSIGN_PENDING);
    assert_int_equal(d.seen.rollout_state, STORE_ROLLOUT_RUNNING);
    assert_int_equal(d.seen.started_last_min, 0);
    struct store_rollout_member m = get_member(s, id, "a");
    assert_int_equal(m.a.state, STORE_ASSIGN_NOTIFIED);
    assert_int_equal(m.t.started_at, 5000);
    assert_int_equal(m.t.first_started_at, 5000);
    /* The next check-in sees one start in the minute and one download. */
    d.answer = STORE_START_RATE;
    assert_int_equal(start(s, id, dep, "b", 5030, &d), STORE_START_RATE);
    assert_int_equal(d.seen.started_last_min, 1);
    assert_int_equal(d.seen.downloading, 1);
    m = get_member(s, id, "b");
    assert_int_equal(m.a.state, STORE_ASSIGN_PENDING);
    assert_string_equal(m.t.waiting, "rate cap");
    d.answer = STORE_START_DOWNLOADS;
    assert_int_equal(start(s, id, dep, "b", 5061, &d), STORE_START_DOWNLOADS);
    assert_int_equal(d.seen.started_last_min, 0); /* a's start left the window */
    assert_string_equal(get_member(s, id, "b").t.waiting, "download cap");
    d.answer = STORE_START_GO;
    assert_int_equal(start(s, id, dep, "b", 5062, &d), STORE_START_GO);
    assert_string_equal(get_member(s, id, "b").t.waiting, "");
    /* A notified device is asked again (its start time stays). */
    assert_int_equal(start(s, id, dep, "a", 5100, &d), STORE_START_GO);
    assert_int_equal(d.seen.state, STORE_ASSIGN_NOTIFIED);
    assert_int_equal(get_member(s, id, "a").t.started_at, 5000);
    /* A finished assignment is gone without asking. */
    assert_int_equal(s->ops->assignment_get(s, dep, "c", &a), NB_OK);
    a.state = STORE_ASSIGN_FAILED;
    assert_int_equal(s->ops->assignment_update(s, &a), NB_OK);
    int calls = d.calls;
    assert_int_equal(start(s, id, dep, "c", 5200, &d), STORE_START_GONE);
    assert_int_equal(d.calls, calls);

    /* The total timeout: a started before 5050 fails, b (started 5062) stays. */
    size_t n = 0;
    struct store_expiry e = {0, 5050, "E_TIMED_OUT", "silent", "too slow", "absent"};
    assert_int_equal(s->ops->rollout_expire(s, id, &e, 6000, &n), NB_OK);
    assert_int_equal(n, 1);
    assert_int_equal(s->ops->assignment_get(s, dep, "a", &a), NB_OK);
    assert_string_equal(a.message, "too slow");
    assert_int_equal(s->ops->assignment_get(s, dep, "b", &a), NB_OK);
    assert_int_equal(a.state, STORE_ASSIGN_NOTIFIED);
}

static bool collect_unsettled(void *arg, const struct store_rollout_member *m)
{
    struct members *ms = arg;
    if (ms->n < 8) {
        (void)snprintf(ms->ids[ms->n], sizeof ms->ids[0], "%.7s", m->a.device_id);
        ms->states[ms->n++] = m->a.state;
    }
    return true;
}

static size_t unsettled(struct store *s, int64_t id, struct members *ms)
{
    memset(ms, 0, sizeof *ms);
    assert_int_equal(s->ops->rollout_unsettled(s, id, collect_unsettled, ms), NB_OK);
    return ms->n;
}

static void finish(struct store *s, int64_t dep, const char *dev, enum store_assign_state st,
                   const char *code)
{
    struct store_assignment a;
    assert_int_equal(s->ops->assignment_get(s, dep, dev, &a), NB_OK);
    a.state = st;
    (void)snprintf(a.code, sizeof a.code, "%s", code);
    assert_int_equal(s->ops->assignment_update(s, &a), NB_OK);
}

static void test_rollout_settle(void **state)
{
    struct fixture *f = *state;
    struct store *s = &f->st;
    int64_t dep = 0, id = running_abc(f, &dep);
    struct store_assignment a;
    finish(s, dep, "a", STORE_ASSIGN_FAILED, "E_IO");
    finish(s, dep, "b", STORE_ASSIGN_ROLLED_BACK, "E_HEALTH");
    struct members ms;
    assert_int_equal(unsettled(s, id, &ms), 2);

    /* a: retried, its record written in the same transaction as the audit. */
    struct store_settle how;
    memset(&how, 0, sizeof how);
    how.retry = true;
    how.not_before = 7000;
    how.count = true;
    how.failures = 1;
    memcpy(how.code, "E_IO", 5);
    struct store_audit au = audit("rollout.retry");
    size_t before = audit_count(s);
    assert_int_equal(s->ops->assignment_settle(s, dep, "a", STORE_ASSIGN_FAILED, &how, &au), NB_OK);
    assert_int_equal(audit_count(s), before + 1);
    /* Settled once: the same again finds nothing to settle, audits nothing. */
    assert_int_equal(s->ops->assignment_settle(s, dep, "a", STORE_ASSIGN_FAILED, &how, &au),
                     NB_EINVAL);
    assert_int_equal(audit_count(s), before + 1);
    struct store_rollout_member m = get_member(s, id, "a");
    assert_int_equal(m.a.state, STORE_ASSIGN_PENDING);
    assert_int_equal(m.t.attempt, 2);
    assert_int_equal(m.t.not_before, 7000);
    assert_false(m.t.settled);
    assert_string_equal(m.a.code, "E_IO"); /* the last failure stays readable */
    assert_int_equal(m.q.failures, 1);
    struct store_attempt t;
    assert_int_equal(s->ops->assignment_attempt(s, dep, "a", &t), NB_OK);
    assert_int_equal(t.attempt, 2);
    assert_int_equal(t.not_before, 7000);
    assert_int_equal(s->ops->assignment_attempt(s, dep, "zz", &t), NB_ENOENT);
    assert_int_equal(s->ops->assignment_current(s, "a", &a), NB_OK);
    /* Not back for the retry: failed once the lease after not_before is over. */
    size_t n = 0;
    struct store_expiry e = {7000, 0, "E_TIMED_OUT", "silent", "slow", "absent"};
    assert_int_equal(s->ops->rollout_expire(s, id, &e, 7500, &n), NB_OK);
    assert_int_equal(n, 0);
    e.silent_before = 7001;
    assert_int_equal(s->ops->rollout_expire(s, id, &e, 7600, &n), NB_OK);
    assert_int_equal(n, 1);
    assert_int_equal(s->ops->assignment_get(s, dep, "a", &a), NB_OK);
    assert_int_equal(a.state, STORE_ASSIGN_FAILED);
    assert_string_equal(a.message, "absent");
    assert_int_equal(unsettled(s, id, &ms), 2); /* a, failed again, and b */

    /* b: final, quarantined. */
    memset(&how, 0, sizeof how);
    how.count = true;
    how.failures = 3;
    how.since = 6000;
    how.quarantined_until = 9000;
    memcpy(how.code, "E_HEALTH", 9);
    assert_int_equal(s->ops->assignment_settle(s, dep, "b", STORE_ASSIGN_ROLLED_BACK, &how, NULL),
                     NB_OK);
    assert_int_equal(unsettled(s, id, &ms), 1); /* a, failed again */
    m = get_member(s, id, "b");
    assert_true(m.t.settled);
    assert_int_equal(m.q.until, 9000);
    assert_string_equal(m.q.code, "E_HEALTH");

    /* The quarantine: listed until it ends, lifted once, audited. */
    struct store_quarantine q;
    assert_int_equal(s->ops->quarantine_get(s, "b", &q), NB_OK);
    assert_int_equal(q.failures, 3);
    assert_int_equal(q.since, 6000);
    assert_int_equal(s->ops->quarantine_get(s, "c", &q), NB_ENOENT);
    n = 0;
    assert_int_equal(s->ops->quarantine_list(s, 8999, 100, count_quarantine, &n), NB_OK);
    assert_int_equal(n, 1);
    n = 0;
    assert_int_equal(s->ops->quarantine_list(s, 9000, 100, count_quarantine, &n), NB_OK);
    assert_int_equal(n, 0);
    au = audit("device.unquarantine");
    before = audit_count(s);
    assert_int_equal(s->ops->quarantine_lift(s, "a", 8000, &au), NB_ENOENT); /* not quarantined */
    assert_int_equal(s->ops->quarantine_lift(s, "b", 8000, &au), NB_OK);
    assert_int_equal(s->ops->quarantine_lift(s, "b", 8000, &au), NB_ENOENT);
    assert_int_equal(audit_count(s), before + 1);
    assert_int_equal(s->ops->quarantine_get(s, "b", &q), NB_OK);
    assert_int_equal(q.failures, 0);
    assert_int_equal(q.until, 0);
}

static void test_rollout_state_names(void **state)
{
    (void)state;
    for (int i = 0; i < STORE_ROLLOUT_STATE_COUNT; i++) {
        enum store_rollout_state st;
        assert_int_equal(store_rollout_state_parse(store_rollout_state_name(i), &st), NB_OK);
        assert_int_equal(st, i);
    }
    enum store_rollout_state st;
    assert_int_equal(store_rollout_state_parse("finished", &st), NB_EINVAL);
    assert_string_equal(store_target_name(STORE_TARGET_ROLLOUT), "rollout");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_rollout_states, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rollout_waves, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rollout_hold_abort_expire, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rollout_start, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rollout_settle, setup, teardown),
        cmocka_unit_test(test_rollout_state_names),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
