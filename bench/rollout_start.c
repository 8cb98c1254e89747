/* nobrick-bench-rollout: the cost of a capped rollout's check-in in the
 * store. Makes a fresh SQLite store with N active devices in the one wave
 * of a running rollout, starts S of them (the start rate's window is full),
 * then times M check-ins of devices still pending: each is the store's
 * rollout_start (read the facts, count the minute's starts and the
 * downloads in flight, record "rate cap") with the server's own verdict
 * (rdev_start_verdict). Through store.h and rollout_device.h only.
 *
 * Then a rollout plan's selection, which the engine makes at each tick:
 * every device read in pages of STORE_LIST_MAX, by OFFSET (the reference:
 * the engine before schema 6) and from where the last page ended.
 *
 * Usage: nobrick-bench-rollout --db sqlite:PATH --devices N [--started S] [--checkins M]
 * Prints two lines: devices, started, check-ins, mean, p50, p99 and max in
 * microseconds; devices, then the milliseconds of a whole read by offset
 * and by keyset (the best of 3 each) and their ratio. */
#include "rollout_device.h"

#include <nobrick/alloc.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct args {
    const char *db;
    unsigned long devices, started, checkins;
};

static bool parse_args(int argc, char **argv, struct args *a)
{
    *a = (struct args){NULL, 0, 100, 2000};
    for (int i = 1; i + 1 < argc; i += 2) {
        char *end = NULL;
        unsigned long v = strtoul(argv[i + 1], &end, 10);
        bool num = argv[i + 1][0] >= '0' && argv[i + 1][0] <= '9' && *end == '\0';
        if (strcmp(argv[i], "--db") == 0)
            a->db = argv[i + 1];
        else if (num && strcmp(argv[i], "--devices") == 0)
            a->devices = v;
        else if (num && strcmp(argv[i], "--started") == 0)
            a->started = v;
        else if (num && strcmp(argv[i], "--checkins") == 0)
            a->checkins = v;
        else
            return false;
    }
    return a->db != NULL && a->devices > a->started && a->checkins > 0 && argc % 2 == 1;
}

static void device_id(unsigned long i, char *out)
{
    (void)snprintf(out, STORE_ID_MAX + 1, "%064lx", i);
}

static enum nb_err seed(struct store *s, unsigned long n, int64_t *rollout, int64_t now)
{
    struct store_release r;
    static struct store_rollout ro;
    memset(&r, 0, sizeof r);
    memcpy(r.version, "2.0.0", 6);
    memcpy(r.hw_classes, "[\"thermo\"]", 11);
    memset(r.envelope_sha256, 'e', STORE_HASH_HEX);
    memset(r.bundle_sha256, 'b', STORE_HASH_HEX);
    enum nb_err err = s->ops->release_add(s, &r, NULL);
    char(*ids)[STORE_ID_MAX + 1] = nb_calloc(n, sizeof *ids);
    const char **ptrs = nb_calloc(n, sizeof *ptrs);
    if (ids == NULL || ptrs == NULL)
        err = NB_ENOMEM;
    for (unsigned long i = 0; err == NB_OK && i < n; i++) {
        struct store_device d;
        memset(&d, 0, sizeof d);
        device_id(i, d.id);
        (void)snprintf(d.pubkey, sizeof d.pubkey, "%064lx", i);
        memcpy(d.hw_class, "thermo", 7);
        d.state = STORE_DEVICE_ACTIVE;
        d.created_at = now;
        err = s->ops->device_add(s, &d, NULL);
        memcpy(ids[i], d.id, sizeof ids[i]);
        ptrs[i] = ids[i];
    }
    memset(&ro, 0, sizeof ro);
    ro.release_id = r.id;
    memcpy(ro.name, "bench", 6);
    ro.state = STORE_ROLLOUT_RUNNING;
    memcpy(ro.spec, "{}", 3);
    ro.current_wave = -1;
    if (err == NB_OK)
        err = s->ops->rollout_add(s, &ro, NULL);
    if (err == NB_OK)
        err = s->ops->rollout_assign(s, ro.id, 0, ptrs, n, now, NULL);
    nb_free(ptrs);
    nb_free(ids);
    *rollout = ro.id;
    return err;
}

static enum store_start decide(void *arg, const struct store_start_facts *f, int64_t now)
{
    return rdev_start_verdict(arg, f, now);
}

static int by_value(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

/* Starts the first `started` devices with no cap, then times `checkins`
 * check-ins of the others under a full start rate. */
static enum nb_err measure(struct store *s, const struct args *a, int64_t rollout, int64_t now,
                           double *us)
{
    struct store_assignment asg;
    char id[STORE_ID_MAX + 1];
    struct rdev_caps open = {0, 0}, capped = {(uint32_t)a->started, 0};
    enum store_start v;
    device_id(0, id);
    enum nb_err err = s->ops->assignment_current(s, id, &asg);
    for (unsigned long i = 0; err == NB_OK && i < a->started; i++) {
        device_id(i, id);
        err = s->ops->rollout_start(s, rollout, asg.deployment_id, id, now, decide, &open, &v);
    }
    for (unsigned long i = 0; err == NB_OK && i < a->checkins; i++) {
        device_id(a->started + i % (a->devices - a->started), id);
        double t0 = now_us();
        err = s->ops->rollout_start(s, rollout, asg.deployment_id, id, now, decide, &capped, &v);
        us[i] = now_us() - t0;
        if (err == NB_OK && v != STORE_START_RATE)
            err = NB_EINVAL; /* the bench measures refused check-ins */
    }
    return err;
}

/* ---- a plan's selection: every device, page by page ---------------------- */

struct pages {
    struct store_device_filter f;
    size_t rows, page_rows;
};

static bool page_row(void *arg, const struct store_device *d)
{
    struct pages *pg = arg;
    pg->rows++;
    pg->page_rows++;
    pg->f.after_created_at = d->created_at;
    memcpy(pg->f.after_id, d->id, sizeof pg->f.after_id);
    return true;
}

/* One whole read, by offset or from the last row; its time in ms. */
static enum nb_err read_all(struct store *s, bool keyset, unsigned long want, double *ms)
{
    struct pages pg;
    memset(&pg, 0, sizeof pg);
    enum nb_err err = NB_OK;
    double t0 = now_us();
    for (size_t off = 0; err == NB_OK; off += STORE_LIST_MAX) {
        struct store_device_filter f = pg.f;
        if (!keyset)
            f.after_id[0] = '\0';
        pg.page_rows = 0;
        err = s->ops->device_list(s, &f, STORE_LIST_MAX, keyset ? 0 : off, page_row, &pg);
        if (pg.page_rows < STORE_LIST_MAX)
            break;
    }
    *ms = (now_us() - t0) / 1e3;
    return err == NB_OK && pg.rows != want ? NB_EINVAL : err;
}

static enum nb_err measure_pages(struct store *s, unsigned long n, double *offset_ms,
                                 double *keyset_ms)
{
    enum nb_err err = NB_OK;
    *offset_ms = *keyset_ms = 1e18;
    for (int i = 0; err == NB_OK && i < 3; i++) {
        double a = 0, b = 0;
        err = read_all(s, false, n, &a);
        if (err == NB_OK)
            err = read_all(s, true, n, &b);
        *offset_ms = a < *offset_ms ? a : *offset_ms;
        *keyset_ms = b < *keyset_ms ? b : *keyset_ms;
    }
    return err;
}

int main(int argc, char **argv)
{
    struct args a;
    struct store s;
    struct nb_diag diag = {{0}};
    int64_t rollout = 0, now = (int64_t)time(NULL);
    if (!parse_args(argc, argv, &a)) {
        fprintf(stderr, "usage: nobrick-bench-rollout --db sqlite:PATH --devices N"
                        " [--started S] [--checkins M]\n");
        return 2;
    }
    double *us = nb_calloc(a.checkins, sizeof *us), offset_ms = 0, keyset_ms = 0;
    enum nb_err err = us == NULL ? NB_ENOMEM : store_open(a.db, &s, &diag);
    if (err == NB_OK) {
        err = seed(&s, a.devices, &rollout, now);
        if (err == NB_OK)
            err = measure(&s, &a, rollout, now, us);
        if (err == NB_OK)
            err = measure_pages(&s, a.devices, &offset_ms, &keyset_ms);
        store_close(&s);
    }
    if (err != NB_OK) {
        fprintf(stderr, "nobrick-bench-rollout: %s %s\n", nb_strerror(err), diag.msg);
        nb_free(us);
        return 1;
    }
    double sum = 0;
    for (unsigned long i = 0; i < a.checkins; i++)
        sum += us[i];
    qsort(us, a.checkins, sizeof *us, by_value);
    printf(
        "devices %lu started %lu checkins %lu mean_us %.0f p50_us %.0f p99_us %.0f max_us %.0f\n",
        a.devices, a.started, a.checkins, sum / (double)a.checkins, us[a.checkins / 2],
        us[a.checkins * 99 / 100], us[a.checkins - 1]);
    printf("devices %lu offset_ms %.1f keyset_ms %.1f ratio %.1f\n", a.devices, offset_ms,
           keyset_ms, keyset_ms > 0 ? offset_ms / keyset_ms : 0);
    nb_free(us);
    return 0;
}
