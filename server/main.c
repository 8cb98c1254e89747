/* nobrick-server: options, start-up, signals and graceful shutdown, plus
 * `nobrick-server token create`, which bootstraps the first API token on the
 * server host. The HTTP layer (http.c) and the API modules do the rest. */
#include "clock.h"
#include "config.h"
#include "http.h"
#include "log.h"
#include "rollout.h"

#include <nobrick/bundle_file.h>

#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

static void usage(FILE *f)
{
    fprintf(f, "Usage: nobrick-server --db sqlite:PATH --data DIR --director-key KEY\n"
               "                      --root root.json [--listen ADDR:PORT]\n"
               "                      [--tls-cert F --tls-key F] [--config FILE] [...]\n"
               "       nobrick-server token create --role viewer|operator|admin\n"
               "                      [--name NAME] (--db sqlite:PATH | --config FILE)\n\n"
               "The nobrick control plane: device API and management API over HTTP(S).\n"
               "Logs go to stderr; SIGTERM or SIGINT stop it gracefully.\n\nOptions:\n");
    config_usage(f);
}

static int fail(const char *what, enum nb_err err, const struct nb_diag *diag)
{
    srv_log(SRV_LOG_ERROR, "%s: %s (%s)", what, diag->msg[0] != '\0' ? diag->msg : nb_strerror(err),
            nb_errname(err));
    return 1;
}

/* ---- token create ------------------------------------------------------------------ */

struct token_args {
    enum store_role role;
    const char *name;
    struct srv_config cfg;
};

/* --role ROLE [--name NAME] and the store options; false after a message. */
static bool parse_token_args(int argc, char **argv, struct token_args *t)
{
    const char *role_name = NULL;
    char *rest[16];
    int n = 0;
    t->name = "bootstrap";
    srv_config_defaults(&t->cfg);
    for (int i = 3; i < argc && n < 14; i++) {
        if (strcmp(argv[i], "--role") == 0 && i + 1 < argc)
            role_name = argv[++i];
        else if (strcmp(argv[i], "--name") == 0 && i + 1 < argc)
            t->name = argv[++i];
        else
            rest[n++] = argv[i];
    }
    struct nb_diag diag = {{0}};
    if (role_name == NULL || store_role_parse(role_name, &t->role) != NB_OK ||
        t->role == STORE_ROLE_DEVICE) {
        fprintf(stderr, "nobrick-server: token create: --role viewer, operator or admin\n");
        return false;
    }
    if (config_load(&t->cfg, n, rest, 0, &diag) != NB_OK || t->cfg.db_url == NULL) {
        fprintf(stderr, "nobrick-server: token create: %s\n",
                diag.msg[0] != '\0' ? diag.msg : "--db (or a --config naming db) is required");
        return false;
    }
    return true;
}

static int token_create(int argc, char **argv)
{
    struct token_args t;
    if (!parse_token_args(argc, argv, &t)) {
        config_free();
        return 2;
    }
    struct nb_diag diag = {{0}};
    struct store st;
    enum nb_err err = store_open(t.cfg.db_url, &st, &diag);
    char token[AUTH_TOKEN_LEN + 1];
    int64_t id = 0;
    if (err == NB_OK) {
        struct auth_principal cli = {.role = STORE_ROLE_ADMIN};
        (void)snprintf(cli.actor, sizeof cli.actor, "cli (server host)");
        struct store_audit au = auth_audit(&cli, srv_now(), "token.create", "token");
        (void)snprintf(au.detail, sizeof au.detail, "{\"role\":\"%s\",\"name\":\"%.40s\"}",
                       store_role_name(t.role), t.name);
        err = auth_create_api_token(&st, t.role, t.name, au.at, &au, token, &id);
        store_close(&st);
    }
    config_free();
    if (err != NB_OK)
        return fail("token create", err, &diag);
    printf("%s\n", token);
    fprintf(stderr, "created %s token %lld (%s); it is shown only once\n", store_role_name(t.role),
            (long long)id, t.name);
    return 0;
}

/* ---- the server ------------------------------------------------------------------ */

static enum nb_err check_config(const struct srv_config *c, struct nb_diag *diag)
{
    if (c->db_url == NULL || c->data_dir == NULL || c->director_key == NULL || c->root_path == NULL)
        return nb_diag_set(diag, NB_EINVAL, "--db, --data, --director-key and --root are required");
    if (c->threads == 0 || c->max_inflight == 0 || c->max_json_body == 0 || c->max_upload == 0)
        return nb_diag_set(
            diag, NB_EINVAL,
            "--threads, --max-inflight, --max-json-body and --max-upload must be > 0");
    /* A server that follows a file's time must not serve real devices. */
    if (c->clock_file != NULL && strncmp(c->listen, "127.", 4) != 0)
        return nb_diag_set(diag, NB_EINVAL,
                           "--clock-file is for the simulator and tests: --listen must be on "
                           "127.0.0.0/8 (is %.60s)",
                           c->listen);
    enum srv_log_level level;
    if (srv_log_parse_level(c->log_level, &level) != NB_OK)
        return nb_diag_set(diag, NB_EINVAL, "--log-level: debug, info, warn or error");
    srv_log_set_level(level);
    return NB_OK;
}

static bool lists_director(const struct nb_root *root, const struct nb_signer *d)
{
    const struct nb_role *r = &root->roles[NB_ROLE_DIRECTOR];
    for (size_t i = 0; i < r->n_keys; i++) {
        if (memcmp(r->keys[i].pub, d->pub, sizeof r->keys[i].pub) == 0)
            return true;
    }
    return false;
}

/* The director key must be one the newest root lists, or every instruction
 * signed with it would be refused by the devices. A key the newest root
 * dropped but the anchor lists is the old server of a fleet that moved
 * (docs/trust.md "Moving a fleet to a new server"): it starts, to serve the
 * root chain to devices that have not walked it yet, with a warning. */
static enum nb_err check_director(const struct srv *s, struct nb_diag *diag)
{
    static struct nb_root newest, anchor; /* start-up only */
    srv_roots_newest(s->roots, &newest);
    srv_roots_anchor(s->roots, &anchor);
    if (lists_director(&newest, &s->director))
        return NB_OK;
    if (lists_director(&anchor, &s->director)) {
        srv_log(SRV_LOG_WARN,
                "%s: key %.16s... is no longer a director key of root v%u: devices that walked "
                "to it refuse this server's instructions; it serves the root chain",
                s->director.label, s->director.keyid, (unsigned)newest.version);
        return NB_OK;
    }
    return nb_diag_set(diag, NB_EINVAL, "%s: key %.16s... is not a director key of root v%u",
                       s->director.label, s->director.keyid, (unsigned)newest.version);
}

static enum nb_err open_all(struct srv *s, struct nb_diag *diag)
{
    enum nb_err err = check_config(&s->cfg, diag);
    if (err == NB_OK) /* creates the data directory the roots are stored in */
        err = artifacts_init(&s->arts, s->cfg.data_dir, diag);
    if (err == NB_OK && s->cfg.clock_file != NULL)
        err = srv_clock_open(s->cfg.clock_file, diag);
    if (err == NB_OK)
        err = srv_roots_open(s->cfg.root_path, s->cfg.data_dir, srv_now(), &s->roots, diag);
    if (err == NB_OK)
        err = nb_signer_open(s->cfg.director_key, &s->director, diag);
    if (err == NB_OK)
        err = check_director(s, diag);
    if (err == NB_OK)
        err = store_open(s->cfg.db_url, &s->store, diag);
    if (err == NB_OK && srv_seen_init(&s->seen, &s->store) != NB_OK)
        err = nb_diag_set(diag, NB_ENOMEM, "out of memory");
    return err;
}

static void flush_seen(struct srv *s)
{
    enum nb_err err = srv_seen_flush(&s->seen);
    if (err != NB_OK)
        srv_log(SRV_LOG_ERROR, "writing last-seen times: %s", nb_strerror(err));
}

/* Waits for SIGTERM or SIGINT; ten times a second, writes the coalesced
 * last-seen times (small batches: a second's worth would stall the
 * requests behind it); once a minute, purges expired device tokens. */
static void wait_for_stop(struct srv *s, const sigset_t *set)
{
    struct timespec tenth = {0, 100000000};
    for (unsigned tick = 1;; tick++) {
        int sig = sigtimedwait(set, NULL, &tenth);
        if (sig == SIGTERM || sig == SIGINT) {
            srv_log(SRV_LOG_INFO, "signal %d: shutting down", sig);
            return;
        }
        flush_seen(s);
        size_t n = 0;
        if (tick % 600 == 0 && s->store.ops->token_purge(&s->store, srv_now(), &n) == NB_OK &&
            n > 0)
            srv_log(SRV_LOG_DEBUG, "purged %zu expired device tokens", n);
    }
}

static int serve(int argc, char **argv)
{
    static struct srv s; /* large (the root); lives for the whole run */
    struct nb_diag diag = {{0}};
    srv_config_defaults(&s.cfg);
    enum nb_err err = config_load(&s.cfg, argc, argv, 1, &diag);
    if (err != NB_OK) {
        fprintf(stderr, "nobrick-server: %s\nTry 'nobrick-server --help'.\n", diag.msg);
        return 2;
    }
    err = open_all(&s, &diag);
    /* Signals are blocked before any thread starts, so only sigwait sees them. */
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGHUP);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    signal(SIGPIPE, SIG_IGN);
    /* jansson seeds its hash function on first use; do it before the
     * request threads exist, as its documentation asks. */
    json_object_seed(0);
    struct http_server *h = NULL;
    if (err == NB_OK)
        err = http_start(&s, &h, &diag);
    /* On a clock file the engine ticks when asked (POST /api/v1/rollouts/tick). */
    uint32_t interval_s = s.cfg.clock_file != NULL ? 0 : s.cfg.rollout_tick_s;
    if (err == NB_OK && (interval_s > 0 || s.cfg.clock_file != NULL) &&
        (err = rollout_engine_start(&s, interval_s, &s.engine)) != NB_OK)
        (void)nb_diag_set(&diag, err, "cannot start the rollout engine");
    int rc = 0;
    if (err == NB_OK) {
        srv_log(SRV_LOG_INFO, "listening on %.*s:%u (%s), director key %.16s...",
                (int)strcspn(s.cfg.listen, ":"), s.cfg.listen, http_port(h),
                s.cfg.tls_cert != NULL ? "https" : "http", s.director.keyid);
        wait_for_stop(&s, &set);
        http_stop(h);
        rollout_engine_stop(s.engine);
        flush_seen(&s);
        srv_log(SRV_LOG_INFO, "stopped");
    } else {
        http_stop(h);
        rc = fail("start-up", err, &diag);
    }
    srv_seen_fini(&s.seen);
    store_close(&s.store);
    nb_signer_close(&s.director);
    srv_roots_close(s.roots);
    srv_clock_close();
    config_free();
    return rc;
}

int main(int argc, char **argv)
{
    if (argc >= 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
        usage(stdout);
        return 0;
    }
    if (argc >= 3 && strcmp(argv[1], "token") == 0 && strcmp(argv[2], "create") == 0)
        return token_create(argc, argv);
    if (argc >= 2 && strcmp(argv[1], "token") == 0) {
        fprintf(stderr, "nobrick-server: token: the only subcommand is 'create'\n");
        return 2;
    }
    return serve(argc, argv);
}
