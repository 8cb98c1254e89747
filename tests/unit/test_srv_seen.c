/* Unit tests for server/seen.c: coalesced last-seen times are visible to
 * srv_seen_last until written, the later time wins, a flush writes them
 * all to the store (and only last_seen), and a full buffer flushes and
 * still records every note. Also two threads noting while a third flushes
 * (for the sanitizers). */
#include "seen.h"

#include <nobrick/alloc.h>

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct fixture {
    char dir[64], db[128];
    struct store st;
    struct srv_seen seen;
};

static void add_device(struct store *st, const char *id)
{
    struct store_device d;
    memset(&d, 0, sizeof d);
    (void)snprintf(d.id, sizeof d.id, "%s", id);
    (void)snprintf(d.pubkey, sizeof d.pubkey, "pub-%s", id);
    (void)snprintf(d.hw_class, sizeof d.hw_class, "hw");
    d.state = STORE_DEVICE_ACTIVE;
    assert_int_equal(st->ops->device_add(st, &d, NULL), NB_OK);
}

static int setup(void **state)
{
    struct fixture *f = nb_calloc(1, sizeof *f);
    memcpy(f->dir, "/tmp/nb-seen-XXXXXX", 20);
    assert_non_null(mkdtemp(f->dir));
    (void)snprintf(f->db, sizeof f->db, "%s/db", f->dir);
    char url[160];
    (void)snprintf(url, sizeof url, "sqlite:%s", f->db);
    struct nb_diag diag = {{0}};
    assert_int_equal(store_open(url, &f->st, &diag), NB_OK);
    assert_int_equal(srv_seen_init(&f->seen, &f->st), NB_OK);
    add_device(&f->st, "dev1");
    add_device(&f->st, "dev2");
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    char p[160];
    srv_seen_fini(&f->seen);
    store_close(&f->st);
    const char *suffixes[] = {"", "-wal", "-shm"};
    for (size_t i = 0; i < 3; i++) {
        (void)snprintf(p, sizeof p, "%s%s", f->db, suffixes[i]);
        (void)unlink(p);
    }
    (void)rmdir(f->dir);
    nb_free(f);
    return 0;
}

static int64_t stored(struct fixture *f, const char *id)
{
    struct store_device d;
    assert_int_equal(f->st.ops->device_get(&f->st, id, &d), NB_OK);
    return d.last_seen;
}

static void test_note_then_flush(void **state)
{
    struct fixture *f = *state;
    assert_int_equal(srv_seen_last(&f->seen, "dev1"), 0);
    assert_int_equal(srv_seen_note(&f->seen, "dev1", 500), NB_OK);
    assert_int_equal(srv_seen_note(&f->seen, "dev1", 400), NB_OK); /* late arrival */
    assert_int_equal(srv_seen_note(&f->seen, "dev2", 450), NB_OK);
    assert_int_equal(srv_seen_note(&f->seen, "ghost", 450), NB_OK); /* unknown: skipped */
    assert_int_equal(srv_seen_last(&f->seen, "dev1"), 500);
    assert_int_equal(stored(f, "dev1"), 0); /* not written yet */
    assert_int_equal(srv_seen_flush(&f->seen), NB_OK);
    assert_int_equal(stored(f, "dev1"), 500);
    assert_int_equal(stored(f, "dev2"), 450);
    assert_int_equal(srv_seen_last(&f->seen, "dev1"), 0); /* forgotten once written */
    assert_int_equal(srv_seen_flush(&f->seen), NB_OK);    /* nothing to write */
    /* An older time never moves last_seen back. */
    assert_int_equal(srv_seen_note(&f->seen, "dev1", 100), NB_OK);
    assert_int_equal(srv_seen_flush(&f->seen), NB_OK);
    assert_int_equal(stored(f, "dev1"), 500);
}

static void test_full_buffer_flushes(void **state)
{
    struct fixture *f = *state;
    char id[32];
    for (int i = 0; i < SRV_SEEN_MAX - 1; i++) {
        (void)snprintf(id, sizeof id, "other-%d", i);
        assert_int_equal(srv_seen_note(&f->seen, id, 10), NB_OK);
    }
    assert_int_equal(srv_seen_note(&f->seen, "dev1", 700), NB_OK); /* the last free entry */
    assert_int_equal(stored(f, "dev1"), 0);
    assert_int_equal(srv_seen_note(&f->seen, "dev2", 800), NB_OK); /* full: flushes first */
    assert_int_equal(stored(f, "dev1"), 700);
    assert_int_equal(srv_seen_last(&f->seen, "dev2"), 800);
    assert_int_equal(srv_seen_flush(&f->seen), NB_OK);
    assert_int_equal(stored(f, "dev2"), 800);
}

static void *noter(void *arg)
{
    struct fixture *f = arg;
    for (int64_t t = 1; t <= 2000; t++) {
        if (srv_seen_note(&f->seen, t % 2 ? "dev1" : "dev2", t) != NB_OK)
            return arg;
    }
    return NULL;
}

static void test_concurrent_notes_and_flushes(void **state)
{
    struct fixture *f = *state;
    pthread_t a, b;
    assert_int_equal(pthread_create(&a, NULL, noter, f), 0);
    assert_int_equal(pthread_create(&b, NULL, noter, f), 0);
    for (int i = 0; i < 50; i++)
        assert_int_equal(srv_seen_flush(&f->seen), NB_OK);
    void *ra = NULL, *rb = NULL;
    assert_int_equal(pthread_join(a, &ra), 0);
    assert_int_equal(pthread_join(b, &rb), 0);
    assert_null(ra);
    assert_null(rb);
    assert_int_equal(srv_seen_flush(&f->seen), NB_OK);
    assert_int_equal(stored(f, "dev1"), 1999);
    assert_int_equal(stored(f, "dev2"), 2000);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_note_then_flush, setup, teardown),
        cmocka_unit_test_setup_teardown(test_full_buffer_flushes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_concurrent_notes_and_flushes, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
