/* Store conformance suite: written against server/store.h only, so every
 * backend runs the same cases. By default it opens a fresh SQLite database
 * in a temporary directory; NB_TEST_STORE_URL names another (empty) store
 * to test instead. Covers each op's results and errors, compare-and-set
 * device states, deployment and assignment rules, idempotent reports, and
 * that an audit entry is written with its change and never without it. */
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
};

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

static struct store *S(void **state)
{
    return &((struct fixture *)*state)->st;
}

static struct store_device make_device(const char *id, const char *hw, enum store_device_state st)
{
    struct store_device d;
    memset(&d, 0, sizeof d);
    (void)snprintf(d.id, sizeof d.id, "%s", id);
    (void)snprintf(d.pubkey, sizeof d.pubkey, "pub-%s", id);
    (void)snprintf(d.hw_class, sizeof d.hw_class, "%s", hw);
    d.state = st;
    d.created_at = 1000;
    return d;
}

static struct store_audit make_audit(const char *action, const char *object)
{
    struct store_audit a;
    memset(&a, 0, sizeof a);
    a.at = 2000;
    (void)snprintf(a.actor, sizeof a.actor, "test");
    (void)snprintf(a.action, sizeof a.action, "%s", action);
    (void)snprintf(a.object, sizeof a.object, "%s", object);
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

/* ---- schema ------------------------------------------------------------------ */

static void test_schema_version_survives_reopen(void **state)
{
    struct fixture *f = *state;
    int v = 0;
    assert_int_equal(f->st.ops->schema_version(&f->st, &v), NB_OK);
    assert_true(v >= 1);
    assert_int_equal(f->st.ops->ping(&f->st), NB_OK);
    struct store_device d = make_device("dev1", "thermo", STORE_DEVICE_PENDING);
    assert_int_equal(f->st.ops->device_add(&f->st, &d, NULL), NB_OK);
    store_close(&f->st);
    struct nb_diag diag = {{0}};
    assert_int_equal(store_open(f->url, &f->st, &diag), NB_OK);
    int v2 = 0;
    assert_int_equal(f->st.ops->schema_version(&f->st, &v2), NB_OK);
    assert_int_equal(v, v2);
    struct store_device got;
    assert_int_equal(f->st.ops->device_get(&f->st, "dev1", &got), NB_OK);
}

static void test_unknown_scheme(void **state)
{
    (void)state;
    struct store st;
    memset(&st, 0, sizeof st);
    struct nb_diag diag = {{0}};
    assert_int_equal(store_open("mysql://x", &st, &diag), NB_EUNSUPPORTED);
    assert_non_null(strstr(diag.msg, "unknown scheme"));
    assert_int_equal(store_open("sqlite:", &st, &diag), NB_EINVAL);
    store_close(&st); /* safe on a zeroed store */
}

/* ---- devices ------------------------------------------------------------------ */

static void test_device_add_get(void **state)
{
    struct store *s = S(state);
    struct store_device d = make_device("dev1", "thermo", STORE_DEVICE_PENDING);
    struct store_audit au = make_audit("device.enrol", "device:dev1");
    assert_int_equal(s->ops->device_add(s, &d, &au), NB_OK);
    struct store_device got;
    assert_int_equal(s->ops->device_get(s, "dev1", &got), NB_OK);
    assert_string_equal(got.pubkey, "pub-dev1");
    assert_string_equal(got.hw_class, "thermo");
    assert_int_equal(got.state, STORE_DEVICE_PENDING);
    assert_int_equal(got.last_seen, 0);
    assert_int_equal(s->ops->device_get(s, "nope", &got), NB_ENOENT);
    /* Same id, or same public key under another id: refused, no audit. */
    assert_int_equal(s->ops->device_add(s, &d, &au), NB_EEXIST);
    struct store_device d2 = make_device("dev2", "thermo", STORE_DEVICE_PENDING);
    memcpy(d2.pubkey, d.pubkey, sizeof d2.pubkey);
    assert_int_equal(s->ops->device_add(s, &d2, &au), NB_EEXIST);
    assert_int_equal(audit_count(s), 1);
}

static bool collect_ids(void *arg, const struct store_device *d)
{
    char *out = arg;
    size_t len = strlen(out);
    (void)snprintf(out + len, 256 - len, "%s,", d->id);
    return true;
}

static void list_ids(struct store *s, const struct store_device_filter *f, char out[256])
{
    out[0] = '\0';
    assert_int_equal(s->ops->device_list(s, f, 100, 0, collect_ids, out), NB_OK);
}

static void test_device_list_filters(void **state)
{
    struct store *s = S(state);
    struct store_device a = make_device("a", "thermo", STORE_DEVICE_ACTIVE);
    struct store_device b = make_device("b", "valve", STORE_DEVICE_PENDING);
    struct store_device c = make_device("c", "thermo", STORE_DEVICE_PENDING);
    assert_int_equal(s->ops->device_add(s, &a, NULL), NB_OK);
    assert_int_equal(s->ops->device_add(s, &b, NULL), NB_OK);
    assert_int_equal(s->ops->device_add(s, &c, NULL), NB_OK);
    assert_int_equal(s->ops->device_set_group(s, "c", "lab", NULL), NB_OK);
    const char *tags[] = {"beta", "eu"};
    assert_int_equal(s->ops->device_set_tags(s, "b", tags, 2, NULL), NB_OK);

    char ids[256];
    struct store_device_filter f;
    memset(&f, 0, sizeof f);
    list_ids(s, &f, ids);
    assert_string_equal(ids, "a,b,c,");
    f.has_state = true;
    f.state = STORE_DEVICE_PENDING;
    list_ids(s, &f, ids);
    assert_string_equal(ids, "b,c,");
    memcpy(f.hw_class, "thermo", 7);
    list_ids(s, &f, ids);
    assert_string_equal(ids, "c,");
    memset(&f, 0, sizeof f);
    memcpy(f.group, "lab", 4);
    list_ids(s, &f, ids);
    assert_string_equal(ids, "c,");
    memset(&f, 0, sizeof f);
    memcpy(f.tag, "eu", 3);
    list_ids(s, &f, ids);
    assert_string_equal(ids, "b,");
    /* Paging. */
    memset(&f, 0, sizeof f);
    ids[0] = '\0';
    assert_int_equal(s->ops->device_list(s, &f, 1, 1, collect_ids, ids), NB_OK);
    assert_string_equal(ids, "b,");
    /* From where a page ended: after (created_at, id), ties broken by id,
     * with the other filters still applied. */
    f.after_created_at = a.created_at;
    memcpy(f.after_id, "a", 2);
    list_ids(s, &f, ids);
    assert_string_equal(ids, "b,c,");
    memcpy(f.after_id, "b", 2);
    list_ids(s, &f, ids);
    assert_string_equal(ids, "c,");
    memcpy(f.hw_class, "valve", 6);
    list_ids(s, &f, ids);
    assert_string_equal(ids, "");
    memset(&f, 0, sizeof f);
    f.after_created_at = a.created_at - 1;
    memcpy(f.after_id, "zzz", 4);
    list_ids(s, &f, ids);
    assert_string_equal(ids, "a,b,c,");
    f.after_created_at = a.created_at + 1;
    memcpy(f.after_id, "0", 2);
    list_ids(s, &f, ids);
    assert_string_equal(ids, "");
}

static void test_device_state_is_compare_and_set(void **state)
{
    struct store *s = S(state);
    struct store_device d = make_device("dev1", "thermo", STORE_DEVICE_PENDING);
    assert_int_equal(s->ops->device_add(s, &d, NULL), NB_OK);
    struct store_audit au = make_audit("device.approve", "device:dev1");
    assert_int_equal(
        s->ops->device_set_state(s, "dev1", STORE_DEVICE_PENDING, STORE_DEVICE_ACTIVE, &au), NB_OK);
    /* A second approval races and loses: not pending any more. */
    assert_int_equal(
        s->ops->device_set_state(s, "dev1", STORE_DEVICE_PENDING, STORE_DEVICE_ACTIVE, &au),
        NB_EINVAL);
    assert_int_equal(
        s->ops->device_set_state(s, "zz", STORE_DEVICE_PENDING, STORE_DEVICE_ACTIVE, &au),
        NB_ENOENT);
    struct store_device got;
    assert_int_equal(s->ops->device_get(s, "dev1", &got), NB_OK);
    assert_int_equal(got.state, STORE_DEVICE_ACTIVE);
    assert_int_equal(audit_count(s), 1);
}

static void test_device_group_tags_checkin(void **state)
{
    struct store *s = S(state);
    struct store_device d = make_device("dev1", "thermo", STORE_DEVICE_ACTIVE);
    assert_int_equal(s->ops->device_add(s, &d, NULL), NB_OK);
    assert_int_equal(s->ops->device_set_group(s, "dev1", "canary", NULL), NB_OK);
    assert_int_equal(s->ops->device_set_group(s, "nope", "canary", NULL), NB_ENOENT);
    const char *tags[] = {"zeta", "alpha", "alpha"};
    assert_int_equal(s->ops->device_set_tags(s, "dev1", tags, 3, NULL), NB_OK);
    char got_tags[STORE_MAX_TAGS][STORE_NAME_MAX + 1];
    size_t n = 0;
    assert_int_equal(s->ops->device_get_tags(s, "dev1", got_tags, &n), NB_OK);
    assert_int_equal(n, 2);
    assert_string_equal(got_tags[0], "alpha");
    assert_string_equal(got_tags[1], "zeta");
    assert_int_equal(s->ops->device_set_tags(s, "dev1", tags, 0, NULL), NB_OK);
    assert_int_equal(s->ops->device_get_tags(s, "dev1", got_tags, &n), NB_OK);
    assert_int_equal(n, 0);
    assert_int_equal(s->ops->device_set_tags(s, "nope", tags, 1, NULL), NB_ENOENT);

    struct store_checkin c;
    memset(&c, 0, sizeof c);
    memcpy(c.installed_version, "1.2.3", 6);
    c.security_counter = 7;
    memcpy(c.slots, "{\"a\":\"good\"}", 13);
    c.at = 5000;
    assert_int_equal(s->ops->device_checkin(s, "dev1", &c), NB_OK);
    assert_int_equal(s->ops->device_checkin(s, "nope", &c), NB_ENOENT);
    struct store_device got;
    assert_int_equal(s->ops->device_get(s, "dev1", &got), NB_OK);
    assert_string_equal(got.group, "canary");
    assert_string_equal(got.installed_version, "1.2.3");
    assert_int_equal(got.security_counter, 7);
    assert_string_equal(got.slots, "{\"a\":\"good\"}");
    assert_int_equal(got.last_seen, 5000);
    /* device_seen only moves last_seen forward, skips unknown ids and
     * leaves what the device reported alone. */
    struct store_seen seen[3] = {{"dev1", 4000}, {"nope", 9000}, {"dev1", 6000}};
    assert_int_equal(s->ops->device_seen(s, seen, 2), NB_OK);
    assert_int_equal(s->ops->device_get(s, "dev1", &got), NB_OK);
    assert_int_equal(got.last_seen, 5000);
    assert_int_equal(s->ops->device_seen(s, seen + 2, 1), NB_OK);
    assert_int_equal(s->ops->device_get(s, "dev1", &got), NB_OK);
    assert_int_equal(got.last_seen, 6000);
    assert_string_equal(got.installed_version, "1.2.3");
    assert_int_equal(got.security_counter, 7);
    assert_int_equal(s->ops->device_seen(s, seen, 0), NB_OK);
    /* A decommissioned device cannot be regrouped. */
    assert_int_equal(
        s->ops->device_set_state(s, "dev1", STORE_DEVICE_ACTIVE, STORE_DEVICE_DECOMMISSIONED, NULL),
        NB_OK);
    assert_int_equal(s->ops->device_set_group(s, "dev1", "other", NULL), NB_EINVAL);
}

/* ---- challenges and tokens ------------------------------------------------------ */

static void test_challenge_single_use(void **state)
{
    struct store *s = S(state);
    assert_int_equal(s->ops->challenge_put(s, "dev1", "c1", 100), NB_OK);
    assert_int_equal(s->ops->challenge_put(s, "dev1", "c2", 100), NB_OK);
    assert_int_equal(s->ops->challenge_take(s, "dev2", "c1", 50), NB_ENOENT);
    assert_int_equal(s->ops->challenge_take(s, "dev1", "c1", 50), NB_OK);
    assert_int_equal(s->ops->challenge_take(s, "dev1", "c1", 50), NB_ENOENT);
    assert_int_equal(s->ops->challenge_take(s, "dev1", "c2", 100), NB_ENOENT); /* expired */
}

static struct store_token make_token(const char *hash, enum store_role role, int64_t expires)
{
    struct store_token t;
    memset(&t, 0, sizeof t);
    (void)snprintf(t.hash, sizeof t.hash, "%s", hash);
    t.role = role;
    (void)snprintf(t.name, sizeof t.name, "t-%s", hash);
    t.created_at = 10;
    t.expires_at = expires;
    return t;
}

static bool count_tokens(void *arg, const struct store_token *t)
{
    (void)t;
    (*(size_t *)arg)++;
    return true;
}

static void test_tokens(void **state)
{
    struct store *s = S(state);
    struct store_token admin = make_token("h1", STORE_ROLE_ADMIN, 0);
    struct store_audit au = make_audit("token.create", "token");
    assert_int_equal(s->ops->token_add(s, &admin, &au), NB_OK);
    assert_true(admin.id > 0);
    struct store_token dev = make_token("h2", STORE_ROLE_DEVICE, 100);
    memcpy(dev.device_id, "dev1", 5);
    assert_int_equal(s->ops->token_add(s, &dev, NULL), NB_OK);
    struct store_token dup = make_token("h1", STORE_ROLE_VIEWER, 0);
    assert_int_equal(s->ops->token_add(s, &dup, &au), NB_EEXIST);

    struct store_token got;
    assert_int_equal(s->ops->token_find(s, "h1", &got), NB_OK);
    assert_int_equal(got.role, STORE_ROLE_ADMIN);
    assert_false(got.revoked);
    assert_int_equal(s->ops->token_find(s, "h2", &got), NB_OK);
    assert_string_equal(got.device_id, "dev1");
    assert_int_equal(got.expires_at, 100);
    assert_int_equal(s->ops->token_find(s, "h3", &got), NB_ENOENT);

    size_t n = 0;
    assert_int_equal(s->ops->token_list(s, count_tokens, &n), NB_OK);
    assert_int_equal(n, 1); /* device tokens are not listed */
    assert_int_equal(s->ops->token_revoke(s, admin.id, &au), NB_OK);
    assert_int_equal(s->ops->token_find(s, "h1", &got), NB_OK);
    assert_true(got.revoked);
    assert_int_equal(s->ops->token_revoke(s, 9999, &au), NB_ENOENT);
    assert_int_equal(s->ops->token_purge(s, 200, &n), NB_OK);
    assert_int_equal(n, 1);
    assert_int_equal(s->ops->token_find(s, "h2", &got), NB_ENOENT);
    assert_int_equal(s->ops->token_find(s, "h1", &got), NB_OK); /* API tokens stay */
    assert_int_equal(audit_count(s), 2);
}

/* ---- releases, deployments, assignments, reports ----------------------------------- */

static struct store_release make_release(const char *version, char digest_char)
{
    struct store_release r;
    memset(&r, 0, sizeof r);
    (void)snprintf(r.version, sizeof r.version, "%s", version);
    memcpy(r.component, "system", 7);
    r.security_counter = 3;
    memcpy(r.hw_classes, "[\"thermo\"]", 11);
    memset(r.envelope_sha256, digest_char, STORE_HASH_HEX);
    memset(r.bundle_sha256, 'b', STORE_HASH_HEX);
    r.bundle_size = 4096;
    r.envelope_off = 32;
    r.envelope_len = 1000;
    r.table_off = 1032;
    r.table_len = 96;
    r.frames_off = 1128;
    r.frames_len = 2968;
    r.created_at = 100;
    return r;
}

static int64_t add_release(struct store *s, const char *version, char digest_char)
{
    struct store_release r = make_release(version, digest_char);
    assert_int_equal(s->ops->release_add(s, &r, NULL), NB_OK);
    assert_true(r.id > 0);
    return r.id;
}

static int64_t deploy(struct store *s, int64_t release, const char *const *ids, size_t n)
{
    struct store_deployment d;
    memset(&d, 0, sizeof d);
    d.release_id = release;
    d.target_kind = n == 1 ? STORE_TARGET_DEVICE : STORE_TARGET_GROUP;
    (void)snprintf(d.target, sizeof d.target, "%s", n == 1 ? ids[0] : "lab");
    memcpy(d.created_by, "test", 5);
    d.created_at = 300;
    assert_int_equal(s->ops->deployment_add(s, &d, ids, n, NULL), NB_OK);
    assert_true(d.id > 0);
    return d.id;
}

static void add_devices(struct store *s)
{
    struct store_device a = make_device("a", "thermo", STORE_DEVICE_ACTIVE);
    struct store_device b = make_device("b", "thermo", STORE_DEVICE_ACTIVE);
    assert_int_equal(s->ops->device_add(s, &a, NULL), NB_OK);
    assert_int_equal(s->ops->device_add(s, &b, NULL), NB_OK);
}

static void test_releases(void **state)
{
    struct store *s = S(state);
    int64_t id = add_release(s, "1.0.0", 'e');
    struct store_release dup = make_release("1.0.1", 'e');
    assert_int_equal(s->ops->release_add(s, &dup, NULL), NB_EEXIST);
    struct store_release got;
    assert_int_equal(s->ops->release_get(s, id, &got), NB_OK);
    assert_string_equal(got.version, "1.0.0");
    assert_int_equal(got.frames_off, 1128);
    assert_int_equal(got.bundle_size, 4096);
    assert_false(got.withdrawn);
    assert_int_equal(s->ops->release_get(s, id + 100, &got), NB_ENOENT);

    add_devices(s);
    const char *ids[] = {"a"};
    (void)deploy(s, id, ids, 1);
    struct store_audit au = make_audit("release.withdraw", "release");
    assert_int_equal(s->ops->release_withdraw(s, id, &au), NB_OK);
    assert_int_equal(s->ops->release_get(s, id, &got), NB_OK);
    assert_true(got.withdrawn);
    struct store_assignment a;
    assert_int_equal(s->ops->assignment_current(s, "a", &a), NB_ENOENT);
    assert_int_equal(s->ops->release_withdraw(s, id + 100, &au), NB_ENOENT);
    assert_int_equal(audit_count(s), 1);
}

static bool count_assign(void *arg, const struct store_assignment *a)
{
    (void)a;
    (*(size_t *)arg)++;
    return true;
}

static void test_deployments_and_assignments(void **state)
{
    struct store *s = S(state);
    add_devices(s);
    int64_t r1 = add_release(s, "1.0.0", '1');
    int64_t r2 = add_release(s, "2.0.0", '2');
    const char *both[] = {"a", "b"};
    int64_t d1 = deploy(s, r1, both, 2);
    struct store_assignment a;
    assert_int_equal(s->ops->assignment_current(s, "a", &a), NB_OK);
    assert_int_equal(a.deployment_id, d1);
    assert_int_equal(a.release_id, r1);
    assert_int_equal(a.state, STORE_ASSIGN_PENDING);

    /* A newer deployment supersedes the unfinished older one. */
    const char *only_a[] = {"a"};
    int64_t d2 = deploy(s, r2, only_a, 1);
    assert_int_equal(s->ops->assignment_current(s, "a", &a), NB_OK);
    assert_int_equal(a.deployment_id, d2);
    assert_int_equal(s->ops->assignment_get(s, d1, "a", &a), NB_OK);
    assert_int_equal(a.state, STORE_ASSIGN_CANCELLED);
    assert_int_equal(s->ops->assignment_current(s, "b", &a), NB_OK);
    assert_int_equal(a.deployment_id, d1);

    a.state = STORE_ASSIGN_DOWNLOADING;
    a.progress = 40;
    a.updated_at = 400;
    assert_int_equal(s->ops->assignment_update(s, &a), NB_OK);
    assert_int_equal(s->ops->assignment_get(s, d1, "b", &a), NB_OK);
    assert_int_equal(a.state, STORE_ASSIGN_DOWNLOADING);
    assert_int_equal(a.progress, 40);
    memcpy(a.device_id, "zz", 3);
    assert_int_equal(s->ops->assignment_update(s, &a), NB_ENOENT);

    size_t n = 0;
    assert_int_equal(s->ops->assignment_list(s, d1, NULL, count_assign, &n), NB_OK);
    assert_int_equal(n, 2);
    n = 0;
    assert_int_equal(s->ops->assignment_list(s, 0, "a", count_assign, &n), NB_OK);
    assert_int_equal(n, 2);
    /* every combination of the two filters: none, both, an empty device id */
    n = 0;
    assert_int_equal(s->ops->assignment_list(s, 0, NULL, count_assign, &n), NB_OK);
    assert_int_equal(n, 3);
    n = 0;
    assert_int_equal(s->ops->assignment_list(s, d2, "a", count_assign, &n), NB_OK);
    assert_int_equal(n, 1);
    n = 0;
    assert_int_equal(s->ops->assignment_list(s, d2, "b", count_assign, &n), NB_OK);
    assert_int_equal(n, 0);
    n = 0;
    assert_int_equal(s->ops->assignment_list(s, d2, "", count_assign, &n), NB_OK);
    assert_int_equal(n, 1);

    struct store_audit au = make_audit("deployment.cancel", "deployment");
    assert_int_equal(s->ops->deployment_cancel(s, d1, &au), NB_OK);
    assert_int_equal(s->ops->assignment_current(s, "b", &a), NB_ENOENT);
    struct store_deployment dep;
    assert_int_equal(s->ops->deployment_get(s, d1, &dep), NB_OK);
    assert_true(dep.cancelled);
    assert_int_equal(dep.target_kind, STORE_TARGET_GROUP);
    assert_int_equal(s->ops->deployment_get(s, 999, &dep), NB_ENOENT);
    assert_int_equal(s->ops->deployment_cancel(s, 999, &au), NB_ENOENT);
}

static void test_deployment_unknown_device_changes_nothing(void **state)
{
    struct store *s = S(state);
    add_devices(s);
    int64_t r1 = add_release(s, "1.0.0", '1');
    struct store_deployment d;
    memset(&d, 0, sizeof d);
    d.release_id = r1;
    d.created_at = 1;
    const char *ids[] = {"a", "ghost"};
    struct store_audit au = make_audit("deployment.create", "deployment");
    assert_int_not_equal(s->ops->deployment_add(s, &d, ids, 2, &au), NB_OK);
    struct store_assignment a;
    assert_int_equal(s->ops->assignment_current(s, "a", &a), NB_ENOENT);
    assert_int_equal(audit_count(s), 0);
}

static bool collect_reports(void *arg, const struct store_report *r)
{
    char *out = arg;
    size_t len = strlen(out);
    (void)snprintf(out + len, 256 - len, "%s:%s,", r->report_id, store_assign_state_name(r->state));
    return true;
}

static void test_reports_are_idempotent(void **state)
{
    struct store *s = S(state);
    add_devices(s);
    int64_t r1 = add_release(s, "1.0.0", '1');
    const char *ids[] = {"a"};
    int64_t d1 = deploy(s, r1, ids, 1);
    struct store_assignment a;
    assert_int_equal(s->ops->assignment_current(s, "a", &a), NB_OK);

    struct store_report rep;
    memset(&rep, 0, sizeof rep);
    memcpy(rep.report_id, "r1", 3);
    memcpy(rep.device_id, "a", 2);
    rep.deployment_id = d1;
    rep.state = STORE_ASSIGN_DOWNLOADING;
    rep.progress = 10;
    rep.at = 500;
    a.state = STORE_ASSIGN_DOWNLOADING;
    a.progress = 10;
    assert_int_equal(s->ops->report_add(s, &rep, &a), NB_OK);
    /* The same report again: refused, and its assignment change with it. */
    struct store_assignment other = a;
    other.state = STORE_ASSIGN_FAILED;
    assert_int_equal(s->ops->report_add(s, &rep, &other), NB_EEXIST);
    assert_int_equal(s->ops->assignment_get(s, d1, "a", &a), NB_OK);
    assert_int_equal(a.state, STORE_ASSIGN_DOWNLOADING);

    memcpy(rep.report_id, "r2", 3);
    rep.state = STORE_ASSIGN_INSTALLING;
    assert_int_equal(s->ops->report_add(s, &rep, NULL), NB_OK);
    char got[256] = "";
    assert_int_equal(s->ops->report_list(s, "a", 10, collect_reports, got), NB_OK);
    assert_string_equal(got, "r2:installing,r1:downloading,");
    /* Report ids are per device. */
    memcpy(rep.device_id, "b", 2);
    assert_int_equal(s->ops->report_add(s, &rep, NULL), NB_OK);
}

/* ---- audit ------------------------------------------------------------------ */

static bool collect_audit(void *arg, const struct store_audit *a)
{
    char *out = arg;
    size_t len = strlen(out);
    (void)snprintf(out + len, 256 - len, "%lld:%s,", (long long)a->id, a->action);
    return true;
}

static void test_audit_append_and_page(void **state)
{
    struct store *s = S(state);
    for (int i = 0; i < 3; i++) {
        char action[16];
        (void)snprintf(action, sizeof action, "act%d", i);
        struct store_audit a = make_audit(action, "x");
        assert_int_equal(s->ops->audit_append(s, &a), NB_OK);
        assert_int_equal(a.id, i + 1);
    }
    char got[256] = "";
    assert_int_equal(s->ops->audit_list(s, 0, 2, collect_audit, got), NB_OK);
    assert_string_equal(got, "3:act2,2:act1,");
    got[0] = '\0';
    assert_int_equal(s->ops->audit_list(s, 2, 10, collect_audit, got), NB_OK);
    assert_string_equal(got, "1:act0,");
}

static void test_names_round_trip(void **state)
{
    (void)state;
    for (int i = 0; i < STORE_ASSIGN_COUNT; i++) {
        enum store_assign_state st;
        assert_int_equal(store_assign_state_parse(store_assign_state_name(i), &st), NB_OK);
        assert_int_equal(st, i);
    }
    enum store_role role;
    assert_int_equal(store_role_parse("operator", &role), NB_OK);
    assert_int_equal(role, STORE_ROLE_OPERATOR);
    assert_int_equal(store_role_parse("root", &role), NB_EINVAL);
    enum store_device_state ds;
    assert_int_equal(store_device_state_parse("preauthorized", &ds), NB_OK);
    assert_int_equal(store_device_state_parse("Active", &ds), NB_EINVAL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_schema_version_survives_reopen, setup, teardown),
        cmocka_unit_test(test_unknown_scheme),
        cmocka_unit_test_setup_teardown(test_device_add_get, setup, teardown),
        cmocka_unit_test_setup_teardown(test_device_list_filters, setup, teardown),
        cmocka_unit_test_setup_teardown(test_device_state_is_compare_and_set, setup, teardown),
        cmocka_unit_test_setup_teardown(test_device_group_tags_checkin, setup, teardown),
        cmocka_unit_test_setup_teardown(test_challenge_single_use, setup, teardown),
        cmocka_unit_test_setup_teardown(test_tokens, setup, teardown),
        cmocka_unit_test_setup_teardown(test_releases, setup, teardown),
        cmocka_unit_test_setup_teardown(test_deployments_and_assignments, setup, teardown),
        cmocka_unit_test_setup_teardown(test_deployment_unknown_device_changes_nothing, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_reports_are_idempotent, setup, teardown),
        cmocka_unit_test_setup_teardown(test_audit_append_and_page, setup, teardown),
        cmocka_unit_test(test_names_round_trip),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
