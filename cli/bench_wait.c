/* The test bench's update phase: one deployment per device (through
 * cli_deploy_create, as `nobrick deploy --device`), then polling each
 * deployment until the device's assignment is final (succeeded, failed,
 * rolled_back, cancelled) or the timeout passes, with a progress line.
 * On Ctrl-C and at the timeout the deployments still open are cancelled,
 * so no test device updates later behind the operator's back. */
#include "bench.h"
#include "remote.h"

#include <string.h>
#include <unistd.h>

#define POLL_MS 1000

static bool is_final(const char *state)
{
    static const char *const final[] = {"succeeded",    "failed",    "rolled_back", "cancelled",
                                        "not deployed", "timed out", "interrupted"};
    for (size_t i = 0; i < sizeof final / sizeof final[0]; i++) {
        if (strcmp(state, final[i]) == 0)
            return true;
    }
    return false;
}

static int deploy_one(struct cli_remote *r, const struct bench_run *run, struct bench_device *d)
{
    json_t *dep = NULL;
    if (cli_deploy_create(r, run->release_id, d->id, NULL, &dep) != CLI_EXIT_OK)
        return r->unreachable ? BENCH_EXIT_UNREACHABLE : CLI_EXIT_FAIL;
    const json_t *ex = json_array_get(json_object_get(dep, "excluded"), 0);
    if (cli_json_int(dep, "devices") == 1) {
        d->deployment = cli_json_int(dep, "id");
        (void)snprintf(d->state, sizeof d->state, "pending");
    } else {
        (void)snprintf(d->message, sizeof d->message, "the server excluded it: %s",
                       ex != NULL ? cli_json_str(ex, "reason") : "no reason given");
    }
    json_decref(dep);
    return CLI_EXIT_OK;
}

/* Cancels the deployments whose device has not finished; with `why` as
 * the device's state ("timed out") and message. */
static void cancel_open(struct cli_remote *r, struct bench_run *run, const char *why, long waited)
{
    for (size_t i = 0; i < run->n_dev; i++) {
        struct bench_device *d = &run->dev[i];
        if (d->deployment == 0 || is_final(d->state))
            continue;
        char path[96];
        json_t *ans = NULL;
        (void)snprintf(path, sizeof path, "/api/v1/deployments/%lld/cancel", d->deployment);
        if (cli_remote_call(r, "POST", path, NULL, &ans) == CLI_EXIT_OK)
            json_decref(ans);
        (void)snprintf(d->message, sizeof d->message,
                       "still %s after %ld s; deployment %lld cancelled (a device already "
                       "installing finishes): is it on and checking in? 'nobrick device show "
                       "%.16s...'",
                       d->state, waited, d->deployment, d->id);
        (void)snprintf(d->state, sizeof d->state, "%s", why);
    }
}

/* Reads the device's assignment in its deployment. */
static int poll_one(struct cli_remote *r, struct bench_device *d, long long *progress)
{
    char path[64];
    json_t *doc = NULL;
    (void)snprintf(path, sizeof path, "/api/v1/deployments/%lld", d->deployment);
    if (cli_remote_call(r, "GET", path, NULL, &doc) != CLI_EXIT_OK)
        return r->unreachable ? BENCH_EXIT_UNREACHABLE : CLI_EXIT_FAIL;
    size_t i;
    json_t *a;
    json_array_foreach(json_object_get(doc, "assignments"), i, a)
    {
        if (strcmp(cli_json_str(a, "device_id"), d->id) != 0)
            continue;
        (void)snprintf(d->state, sizeof d->state, "%s", cli_json_str(a, "state"));
        (void)snprintf(d->code, sizeof d->code, "%s", cli_json_str(a, "code"));
        (void)snprintf(d->message, sizeof d->message, "%s", cli_json_str(a, "message"));
        d->updated = strcmp(d->state, "succeeded") == 0;
        *progress += cli_json_int(a, "progress");
    }
    json_decref(doc);
    return CLI_EXIT_OK;
}

static size_t count_open(const struct bench_run *run)
{
    size_t open = 0;
    for (size_t i = 0; i < run->n_dev; i++)
        open += !is_final(run->dev[i].state);
    return open;
}

/* "succeeded 1, installing 2": the states in the devices' order. */
static void summarize(const struct bench_run *run, char *out, size_t size)
{
    size_t o = 0;
    out[0] = '\0';
    for (size_t i = 0; i < run->n_dev; i++) {
        const char *st = run->dev[i].state;
        size_t n = 0, first = i;
        for (size_t k = 0; k < run->n_dev; k++) {
            n += strcmp(run->dev[k].state, st) == 0;
            if (first == i && k < i && strcmp(run->dev[k].state, st) == 0)
                first = k;
        }
        int w = first == i ? snprintf(out + o, size - o, "%s%s %zu", o > 0 ? ", " : "", st, n) : 0;
        if (w < 0 || (size_t)w >= size - o)
            break;
        o += (size_t)w;
    }
}

static void progress_line(const struct bench_run *run, long waited, long long pct, bool tty)
{
    static char last[400];
    char now[400];
    size_t open = count_open(run);
    summarize(run, now, sizeof now);
    if (tty) {
        fprintf(stderr, "\rbench: %ld s: %s (%zu open, %lld%%)\033[K", waited, now, open,
                open > 0 ? pct / (long long)open : 100);
        if (open == 0)
            fputc('\n', stderr);
    } else if (strcmp(now, last) != 0) {
        fprintf(stderr, "bench: %ld s: %s\n", waited, now);
    }
    memcpy(last, now, sizeof last);
}

/* Polls until every device is final, the timeout, or *stop. */
static int wait_all(struct cli_remote *r, struct bench_run *run, long timeout_s,
                    volatile const sig_atomic_t *stop)
{
    long start = bench_now_ms() / 1000;
    bool tty = isatty(STDERR_FILENO) && !r->json;
    for (;;) {
        long long pct = 0;
        for (size_t i = 0; i < run->n_dev && !*stop; i++) {
            struct bench_device *d = &run->dev[i];
            int rc = is_final(d->state) ? CLI_EXIT_OK : poll_one(r, d, &pct);
            if (rc != CLI_EXIT_OK)
                return rc;
        }
        long waited = bench_now_ms() / 1000 - start;
        progress_line(run, waited, pct, tty);
        if (count_open(run) == 0)
            return CLI_EXIT_OK;
        if (*stop || waited >= timeout_s) {
            if (tty)
                fputc('\n', stderr);
            run->interrupted = *stop != 0;
            cancel_open(r, run, *stop ? "interrupted" : "timed out", waited);
            return CLI_EXIT_OK;
        }
        bench_nap_ms(POLL_MS);
    }
}

int bench_deploy_and_wait(struct cli_remote *r, struct bench_run *run, long timeout_s,
                          volatile const sig_atomic_t *stop)
{
    for (size_t i = 0; i < run->n_dev; i++) {
        int rc = *stop ? CLI_EXIT_OK : deploy_one(r, run, &run->dev[i]);
        if (rc != CLI_EXIT_OK || *stop) {
            run->interrupted = *stop != 0;
            cancel_open(r, run, *stop ? "interrupted" : "not deployed", 0);
            return rc;
        }
    }
    return wait_all(r, run, timeout_s, stop);
}
