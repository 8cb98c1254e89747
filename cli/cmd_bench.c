/* `nobrick bench run`: the test bench. Sends one release to every device
 * with a tag (one deployment per device, made as `nobrick deploy` makes
 * them), waits until each device's assignment is final, runs a battery of
 * test executables against each device that updated, and reports pass or
 * fail per device. Everything that can be refused is refused before the
 * first deployment. Exit 0 all passed, 1 a failure, 2 bad input, 3 the
 * server cannot be reached. */
#include "bench.h"
#include "remote.h"

#include <nobrick/alloc.h>

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define POLL_MS 1000

static const char run_usage[] =
    "Usage: nobrick bench run --release VERSION|ID --devices TAG [--tests DIR]\n"
    "                         [--timeout S] [--test-timeout S] [--logs DIR]\n"
    "                         [--junit FILE] [--json]\n"
    "\n"
    "The test bench: sends the release (any version, older ones included) to\n"
    "every active device tagged TAG, one deployment per device, waits until\n"
    "each has committed it and checked in on it (or failed, rolled back, or\n"
    "not finished within --timeout S, default 900), then runs every executable\n"
    "of DIR, sorted by name, once per updated device: argv[1] is the device id;\n"
    "NOBRICK_DEVICE_ID, NOBRICK_DEVICE_ADDRESS (empty when the server knows\n"
    "none), NOBRICK_RELEASE (the version) and NOBRICK_SERVER are set. A test\n"
    "passes when it exits 0 within --test-timeout S (default 300). Output goes\n"
    "to DIR/DEVICE/TEST.log under --logs (default: a new directory in $TMPDIR).\n"
    "\n"
    "Refused before anything is deployed (exit 2): no active device with the\n"
    "tag, devices of a hardware class the release does not list, devices\n"
    "whose minimum security counter is above the release's (anti-rollback),\n"
    "a test directory without executables. Ctrl-C cancels the deployments\n"
    "(devices already installing finish) and stops the running test.\n"
    "\n"
    "Prints a table per device and a summary (--json: the same as JSON);\n"
    "--junit FILE also writes JUnit XML. Exit 0 when every device updated and\n"
    "every test passed, 1 otherwise, 2 on bad input, 3 when the server cannot\n"
    "be reached. Needs an operator token.\n";

struct bench_opts {
    const char *release, *tag, *tests, *timeout, *test_timeout, *logs, *junit;
    unsigned long long timeout_s, test_timeout_s;
};

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
    (void)sig;
    stop = 1;
}

/* SIGINT and SIGTERM set stop; sleeps and waits are cut short by them. */
static void catch_signals(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    (void)sigemptyset(&sa.sa_mask);
    (void)sigaction(SIGINT, &sa, NULL);
    (void)sigaction(SIGTERM, &sa, NULL);
}

/* A failed call: 3 when the server never answered, else 1. */
static int call_failed(const struct cli_remote *r)
{
    return r->unreachable ? BENCH_EXIT_UNREACHABLE : CLI_EXIT_FAIL;
}

/* ---- options ---------------------------------------------------------------------------- */

static bool is_name(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > 63)
        return false;
    for (const char *p = s; *p != '\0'; p++) {
        if (!((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') ||
              *p == '.' || *p == '_' || *p == '-'))
            return false;
    }
    return true;
}

static int seconds(struct cli_remote *r, const char *name, const char *s, unsigned long long dflt,
                   unsigned long long *out)
{
    *out = dflt;
    if (s != NULL && !cli_parse_u64(s, 1, 86400, out))
        return cli_usage_error(r->cmd, "%s: %s '%s' is not 1..86400 seconds", r->cmd, name, s);
    return CLI_EXIT_OK;
}

static int parse_opts(struct cli_remote *r, int argc, char **argv, struct bench_opts *o)
{
    const struct cli_opt opts[] = {
        {"--release", &o->release, NULL, NULL, 0, NULL},
        {"--devices", &o->tag, NULL, NULL, 0, NULL},
        {"--tests", &o->tests, NULL, NULL, 0, NULL},
        {"--timeout", &o->timeout, NULL, NULL, 0, NULL},
        {"--test-timeout", &o->test_timeout, NULL, NULL, 0, NULL},
        {"--logs", &o->logs, NULL, NULL, 0, NULL},
        {"--junit", &o->junit, NULL, NULL, 0, NULL},
    };
    size_t n_pos = 0;
    int rc = cli_remote_parse(r, argc, argv, opts, sizeof opts / sizeof opts[0], NULL, 0, 0, &n_pos,
                              NULL);
    if (rc == CLI_EXIT_OK && (o->release == NULL || o->tag == NULL))
        rc = cli_usage_error(r->cmd, "%s: give --release VERSION|ID and --devices TAG", r->cmd);
    if (rc == CLI_EXIT_OK && !is_name(o->tag))
        rc = cli_usage_error(r->cmd, "%s: --devices '%.70s' is not a tag ([A-Za-z0-9._-], 1..63)",
                             r->cmd, o->tag);
    if (rc == CLI_EXIT_OK)
        rc = seconds(r, "--timeout", o->timeout, 900, &o->timeout_s);
    if (rc == CLI_EXIT_OK)
        rc = seconds(r, "--test-timeout", o->test_timeout, 300, &o->test_timeout_s);
    return rc;
}

/* ---- the release ---------------------------------------------------------------------- */

/* Digits name a release id, anything else a version; a version that
 * several releases carry must be named by id. */
static int find_release(struct cli_remote *r, const char *want, const json_t *list, json_t **out)
{
    bool by_id = want[0] >= '0' && want[0] <= '9' && strspn(want, "0123456789") == strlen(want);
    long long id = by_id ? strtoll(want, NULL, 10) : 0;
    size_t i, hits = 0;
    json_t *rel, *found = NULL;
    json_array_foreach(list, i, rel)
    {
        if (by_id ? cli_json_int(rel, "id") == id
                  : strcmp(cli_json_str(rel, "version"), want) == 0) {
            hits++;
            found = rel;
        }
    }
    if (hits == 0)
        return cli_usage_error(r->cmd,
                               "%s: no release %s %s on the server ('nobrick release "
                               "list' shows them)",
                               r->cmd, by_id ? "with id" : "with version", want);
    if (hits > 1)
        return cli_usage_error(r->cmd, "%s: %zu releases have version %s: give the id instead",
                               r->cmd, hits, want);
    if (cli_json_bool(found, "withdrawn"))
        return cli_usage_error(r->cmd, "%s: release %lld (%s) is withdrawn", r->cmd,
                               cli_json_int(found, "id"), cli_json_str(found, "version"));
    *out = json_incref(found);
    return CLI_EXIT_OK;
}

static int resolve_release(struct cli_remote *r, const char *want, json_t **rel)
{
    json_t *doc = NULL;
    if (cli_remote_call(r, "GET", "/api/v1/releases", NULL, &doc) != CLI_EXIT_OK)
        return call_failed(r);
    int rc = find_release(r, want, json_object_get(doc, "releases"), rel);
    json_decref(doc);
    return rc;
}

/* ---- the devices ----------------------------------------------------------------------- */

static bool lists(const json_t *a, const char *s)
{
    size_t i;
    json_t *v;
    json_array_foreach(a, i, v)
    {
        if (strcmp(json_string_value(v) ? json_string_value(v) : "", s) == 0)
            return true;
    }
    return false;
}

/* Why the release cannot go to device d, or NULL. A device that never
 * checked in has reported no counter: nothing to check. */
static const char *refusal(const json_t *rel, const json_t *d, char *why, size_t size)
{
    long long have = cli_json_int(d, "security_counter"),
              give = cli_json_int(rel, "security_counter");
    if (!lists(json_object_get(rel, "hw_classes"), cli_json_str(d, "hw_class"))) {
        char classes[120];
        cli_json_join(json_object_get(rel, "hw_classes"), classes, sizeof classes);
        (void)snprintf(why, size, "hardware class %s is not in the release's (%s)",
                       cli_json_str(d, "hw_class"), classes);
        return why;
    }
    if (cli_json_int(d, "last_seen") > 0 && give < have) {
        (void)snprintf(why, size,
                       "anti-rollback: the device's minimum security counter is %lld, the "
                       "release's %lld: it would refuse it (E_ROLLBACK)",
                       have, give);
        return why;
    }
    return NULL;
}

static int add_device(struct bench_run *run, const json_t *d)
{
    struct bench_device *x = &run->dev[run->n_dev];
    memset(x, 0, sizeof *x);
    (void)snprintf(x->id, sizeof x->id, "%s", cli_json_str(d, "id"));
    (void)snprintf(x->hw_class, sizeof x->hw_class, "%s", cli_json_str(d, "hw_class"));
    (void)snprintf(x->address, sizeof x->address, "%s", cli_json_str(d, "address"));
    (void)snprintf(x->state, sizeof x->state, "not deployed");
    x->tests = nb_calloc(run->n_tests > 0 ? run->n_tests : 1, sizeof *x->tests);
    if (x->tests == NULL)
        return cli_fail(NB_ENOMEM, NULL, "bench run");
    run->n_dev++;
    return CLI_EXIT_OK;
}

/* Keeps the active devices of the list; refuses the run when any of them
 * cannot take the release, naming each. */
static int select_devices(struct cli_remote *r, struct bench_run *run, const json_t *rel,
                          const json_t *list, const char *tag)
{
    size_t i, refused = 0;
    json_t *d;
    run->dev = nb_calloc(json_array_size(list) + 1, sizeof *run->dev);
    if (run->dev == NULL)
        return cli_fail(NB_ENOMEM, NULL, r->cmd);
    json_array_foreach(list, i, d)
    {
        char why[200];
        if (strcmp(cli_json_str(d, "state"), "active") != 0) {
            fprintf(stderr, "nobrick: %s: warning: skipping %s: it is %s, not active\n", r->cmd,
                    cli_json_str(d, "id"), cli_json_str(d, "state"));
        } else if (refusal(rel, d, why, sizeof why) != NULL) {
            fprintf(stderr, "nobrick: %s: device %s: %s\n", r->cmd, cli_json_str(d, "id"), why);
            refused++;
        } else if (add_device(run, d) != CLI_EXIT_OK) {
            return CLI_EXIT_FAIL;
        }
    }
    if (refused > 0)
        return cli_usage_error(r->cmd,
                               "%s: release %s cannot go to %zu device%s tagged %s "
                               "(above); untag them or pick another release",
                               r->cmd, run->version, refused, refused == 1 ? "" : "s", tag);
    if (run->n_dev == 0)
        return cli_usage_error(r->cmd,
                               "%s: no active device is tagged '%s' (tag one with "
                               "'nobrick device tag ID %s')",
                               r->cmd, tag, tag);
    return CLI_EXIT_OK;
}

static int resolve_devices(struct cli_remote *r, struct bench_run *run, const json_t *rel,
                           const char *tag)
{
    char path[160];
    json_t *doc = NULL;
    (void)snprintf(path, sizeof path, "/api/v1/devices?tag=%s&limit=%d", tag, BENCH_MAX_DEVICES);
    if (cli_remote_call(r, "GET", path, NULL, &doc) != CLI_EXIT_OK)
        return call_failed(r);
    const json_t *list = json_object_get(doc, "devices");
    int rc = CLI_EXIT_OK;
    if (json_array_size(list) >= BENCH_MAX_DEVICES)
        rc = cli_usage_error(r->cmd,
                             "%s: %d or more devices are tagged '%s': a bench is for "
                             "test devices; use 'nobrick rollout' for a fleet",
                             r->cmd, BENCH_MAX_DEVICES, tag);
    if (rc == CLI_EXIT_OK)
        rc = select_devices(r, run, rel, list, tag);
    json_decref(doc);
    return rc;
}

/* ---- the log directory ----------------------------------------------------------------- */

static int make_logs(struct cli_remote *r, struct bench_run *run, const char *logs)
{
    char base[900];
    if (logs != NULL) {
        (void)snprintf(base, sizeof base, "%s", logs);
        if (mkdir(base, 0755) != 0 && errno != EEXIST)
            return cli_usage_error(r->cmd, "%s: --logs %s: %s", r->cmd, logs, strerror(errno));
    } else {
        const char *tmp = getenv("TMPDIR");
        (void)snprintf(base, sizeof base, "%s/nobrick-bench.XXXXXX",
                       tmp != NULL && tmp[0] != '\0' ? tmp : "/tmp");
        if (mkdtemp(base) == NULL) {
            fprintf(stderr, "nobrick: %s: cannot make a log directory %s: %s\n", r->cmd, base,
                    strerror(errno));
            return CLI_EXIT_FAIL;
        }
    }
    for (size_t i = 0; i < run->n_dev; i++) {
        struct bench_device *d = &run->dev[i];
        (void)snprintf(d->log_dir, sizeof d->log_dir, "%s/%s", base, d->id);
        if (mkdir(d->log_dir, 0755) != 0 && errno != EEXIST) {
            fprintf(stderr, "nobrick: %s: cannot make %s: %s\n", r->cmd, d->log_dir,
                    strerror(errno));
            return CLI_EXIT_FAIL;
        }
    }
    return CLI_EXIT_OK;
}

/* ---- the battery ------------------------------------------------------------------------ */

static int run_battery(struct cli_remote *r, struct bench_run *run, long test_timeout_s)
{
    for (size_t i = 0; i < run->n_dev && !stop; i++) {
        struct bench_device *d = &run->dev[i];
        for (size_t t = 0; d->updated && t < run->n_tests && !stop; t++) {
            char log[1400];
            (void)snprintf(log, sizeof log, "%s/%s.log", d->log_dir, run->tests[t]);
            struct bench_env env = {d->id, d->address, run->version, r->url, test_timeout_s, log};
            struct nb_diag diag = {{0}};
            if (!r->json)
                fprintf(stderr, "bench: %s: %s ...\n", d->id, run->tests[t]);
            if (bench_test_run(run->tests_dir, run->tests[t], &env, &stop, &d->tests[t], &diag) !=
                NB_OK)
                return cli_fail(NB_EIO, &diag, r->cmd);
        }
    }
    run->interrupted = run->interrupted || stop;
    return CLI_EXIT_OK;
}

static int report(struct cli_remote *r, const struct bench_run *run, const char *junit)
{
    if (junit != NULL) {
        FILE *f = fopen(junit, "w");
        enum nb_err err = f == NULL ? NB_EIO : bench_report_junit(run, f);
        if (f != NULL && fclose(f) != 0)
            err = NB_EIO;
        if (err != NB_OK)
            fprintf(stderr, "nobrick: %s: cannot write %s: %s\n", r->cmd, junit, strerror(errno));
    }
    if (r->json) {
        json_t *doc = bench_report_json(run);
        if (doc == NULL)
            return cli_fail(NB_ENOMEM, NULL, r->cmd);
        (void)cli_remote_print_json(doc);
    } else {
        bench_report_print(run, stdout);
    }
    return bench_run_passed(run) ? CLI_EXIT_OK : CLI_EXIT_FAIL;
}

/* Everything that can be refused, before anything is deployed. */
static int prepare(struct cli_remote *r, struct bench_run *run, const struct bench_opts *o)
{
    struct nb_diag diag = {{0}};
    json_t *rel = NULL;
    if (o->tests != NULL) {
        (void)snprintf(run->tests_dir, sizeof run->tests_dir, "%s", o->tests);
        enum nb_err err = bench_tests_list(run, o->tests, &diag);
        if (err != NB_OK)
            return err == NB_ENOMEM ? cli_fail(err, &diag, r->cmd)
                                    : cli_usage_error(r->cmd, "%s: %s", r->cmd, diag.msg);
    }
    int rc = resolve_release(r, o->release, &rel);
    if (rc != CLI_EXIT_OK)
        return rc;
    run->release_id = cli_json_int(rel, "id");
    (void)snprintf(run->version, sizeof run->version, "%s", cli_json_str(rel, "version"));
    rc = resolve_devices(r, run, rel, o->tag);
    json_decref(rel);
    return rc == CLI_EXIT_OK ? make_logs(r, run, o->logs) : rc;
}

static int bench_run(struct cli_remote *r, int argc, char **argv)
{
    struct bench_opts o;
    struct bench_run run;
    memset(&o, 0, sizeof o);
    memset(&run, 0, sizeof run);
    int rc = parse_opts(r, argc, argv, &o);
    if (rc == CLI_EXIT_OK)
        rc = prepare(r, &run, &o);
    if (rc != CLI_EXIT_OK) {
        bench_run_fini(&run);
        return rc;
    }
    catch_signals();
    rc = bench_deploy_and_wait(r, &run, (long)o.timeout_s, &stop);
    if (rc == CLI_EXIT_OK && !stop)
        rc = run_battery(r, &run, (long)o.test_timeout_s);
    int verdict = report(r, &run, o.junit); /* also after a failure: what is known so far */
    bench_run_fini(&run);
    return rc != CLI_EXIT_OK ? rc : verdict;
}

static const struct cli_remote_command bench_commands[] = {
    {"run", bench_run, run_usage},
};

int cli_cmd_bench(const struct cli_global *g, int argc, char **argv)
{
    return cli_remote_dispatch(g, "bench", bench_commands,
                               sizeof bench_commands / sizeof bench_commands[0], argc, argv);
}
