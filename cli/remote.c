/* The server side of the CLI: resolves where and as whom to connect (flags,
 * then NOBRICK_* environment, then cli.conf), opens the HTTP client on the
 * first call (so a bad command line is reported before a bad config), and
 * turns every failed call into one line naming the status, the server's
 * error code and field, and what to check. */
#include "remote.h"
#include "table.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* ---- settings ----------------------------------------------------------------- */

static const char *env(const char *name)
{
    const char *v = getenv(name);
    return v != NULL && v[0] != '\0' ? v : NULL;
}

static const char *pick(const char *flag, const char *env_name, const char *conf)
{
    if (flag != NULL)
        return flag;
    if (env(env_name) != NULL)
        return env(env_name);
    return conf[0] != '\0' ? conf : NULL;
}

static int load_config(struct cli_remote *r, char *path, size_t size)
{
    struct nb_diag diag = {{0}};
    bool found = false;
    if (r->g->config != NULL)
        (void)snprintf(path, size, "%s", r->g->config);
    else if (!cli_config_default_path(path, size))
        return CLI_EXIT_OK; /* no HOME: flags and environment only */
    enum nb_err err = cli_config_load(path, &r->conf, &found, &diag);
    if (err == NB_OK && !found && r->g->config != NULL)
        err = nb_diag_set(&diag, NB_ENOENT, "%s: no such file", path);
    if (err == NB_OK)
        return CLI_EXIT_OK;
    fprintf(stderr, "nobrick: %s\n", diag.msg); /* the message names the file */
    return CLI_EXIT_FAIL;
}

static void note_token_source(struct cli_remote *r, const char *path)
{
    const char *from = r->g->token != NULL            ? "--token"
                       : env("NOBRICK_TOKEN") != NULL ? "NOBRICK_TOKEN"
                                                      : NULL;
    if (from != NULL)
        (void)snprintf(r->token_from, sizeof r->token_from, "%s", from);
    else
        (void)snprintf(r->token_from, sizeof r->token_from, "'token' in %s", path);
}

/* The server URL: http(s)://..., kept without trailing slashes. */
static int check_server(struct cli_remote *r, const char *path)
{
    if (r->server == NULL) {
        fprintf(stderr,
                "nobrick: %s: no server: give --server URL, set NOBRICK_SERVER, or put "
                "'server = URL' in %s\n",
                r->cmd, path);
        return CLI_EXIT_FAIL;
    }
    if (strncmp(r->server, "https://", 8) != 0 && strncmp(r->server, "http://", 7) != 0)
        return cli_usage_error(r->cmd, "%s: server '%s' is not an http:// or https:// URL", r->cmd,
                               r->server);
    size_t n = strlen(r->server);
    while (n > 0 && r->server[n - 1] == '/')
        n--;
    if (n >= sizeof r->url)
        return cli_usage_error(r->cmd, "%s: server URL too long", r->cmd);
    memcpy(r->url, r->server, n);
    r->url[n] = '\0';
    return CLI_EXIT_OK;
}

/* A token is printable ASCII without blanks: it goes into a header line. */
static int check_token(struct cli_remote *r, const char *path)
{
    if (r->token == NULL) {
        fprintf(stderr,
                "nobrick: %s: no API token: set NOBRICK_TOKEN (or --token T, or 'token = T' in "
                "%s, chmod 600); an admin makes one with 'nobrick token create'\n",
                r->cmd, path);
        return CLI_EXIT_FAIL;
    }
    for (const char *p = r->token; *p != '\0'; p++) {
        if (*p <= ' ' || *p > '~' || p - r->token > 150) {
            fprintf(stderr, "nobrick: %s: the token from %s is not a token (nbt_...)\n", r->cmd,
                    r->token_from);
            return CLI_EXIT_FAIL;
        }
    }
    return CLI_EXIT_OK;
}

/* Plain HTTP is fine on this host; elsewhere the token crosses the network
 * in clear. */
static void warn_plain_http(const struct cli_remote *r)
{
    static const char *const local[] = {"http://127.0.0.1", "http://localhost", "http://[::1]"};
    if (strncmp(r->url, "http://", 7) != 0)
        return;
    for (size_t i = 0; i < sizeof local / sizeof local[0]; i++) {
        size_t n = strlen(local[i]);
        if (strncmp(r->url, local[i], n) == 0 && (r->url[n] == '\0' || r->url[n] == ':'))
            return;
    }
    fprintf(stderr, "nobrick: warning: the token goes unencrypted to %s; use https://\n", r->url);
}

static int open_client(struct cli_remote *r)
{
    char path[1024] = "~/.config/nobrick/cli.conf";
    unsigned long long timeout = CLI_TIMEOUT_DEFAULT_S;
    int rc = load_config(r, path, sizeof path);
    if (rc != CLI_EXIT_OK)
        return rc;
    r->server = pick(r->g->server, "NOBRICK_SERVER", r->conf.server);
    r->token = pick(r->g->token, "NOBRICK_TOKEN", r->conf.token);
    r->ca = pick(r->g->ca, "NOBRICK_CA", r->conf.ca);
    const char *t = r->g->timeout != NULL ? r->g->timeout : r->conf.timeout;
    note_token_source(r, path);
    if (t[0] != '\0' && !cli_parse_u64(t, 1, 86400, &timeout))
        return cli_usage_error(r->cmd, "%s: timeout '%s' is not 1..86400 seconds", r->cmd, t);
    if ((rc = check_server(r, path)) != CLI_EXIT_OK || (rc = check_token(r, path)) != CLI_EXIT_OK)
        return rc;
    warn_plain_http(r);
    struct cli_http_conf hc = {r->url, r->token, r->ca, (long)timeout,
                               !r->json && isatty(STDERR_FILENO)};
    struct nb_diag diag = {{0}};
    enum nb_err err = cli_http_new(&hc, &r->http, &diag);
    return err == NB_OK ? CLI_EXIT_OK : cli_fail(err, &diag, r->cmd);
}

static void close_client(struct cli_remote *r)
{
    cli_http_free(r->http);
    r->http = NULL;
    memset(&r->conf, 0, sizeof r->conf); /* may hold the token */
}

/* ---- dispatch ----------------------------------------------------------------- */

static int run_one(const struct cli_global *g, const char *name, const struct cli_remote_command *c,
                   int argc, char **argv)
{
    struct cli_remote r;
    memset(&r, 0, sizeof r);
    r.g = g;
    r.cmd = name;
    r.json = g->json;
    int rc = c->run(&r, argc, argv);
    close_client(&r);
    return rc;
}

int cli_remote_dispatch(const struct cli_global *g, const char *parent,
                        const struct cli_remote_command *table, size_t n, int argc, char **argv)
{
    if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
        strcmp(argv[1], "help") == 0) {
        FILE *f = argc < 2 ? stderr : stdout;
        fprintf(f, "Usage: nobrick [GLOBAL OPTIONS] %s SUBCOMMAND [OPTIONS]\n\nSubcommands:\n",
                parent);
        for (size_t i = 0; i < n; i++)
            fprintf(f, "  %s\n", table[i].name);
        fprintf(f,
                "\nRun 'nobrick %s SUBCOMMAND --help' for details, 'nobrick --help' for the "
                "global options.\n",
                parent);
        return argc < 2 ? CLI_EXIT_USAGE : CLI_EXIT_OK;
    }
    for (size_t i = 0; i < n; i++) {
        if (strcmp(argv[1], table[i].name) != 0)
            continue;
        if (cli_wants_help(argc - 1, argv + 1)) {
            fputs(table[i].usage, stdout);
            return CLI_EXIT_OK;
        }
        char name[64];
        (void)snprintf(name, sizeof name, "%s %s", parent, table[i].name);
        return run_one(g, name, &table[i], argc - 1, argv + 1);
    }
    return cli_usage_error(parent, "%s: unknown subcommand '%s'", parent, argv[1]);
}

int cli_remote_run(const struct cli_global *g, const struct cli_remote_command *c, int argc,
                   char **argv)
{
    if (cli_wants_help(argc, argv)) {
        fputs(c->usage, stdout);
        return CLI_EXIT_OK;
    }
    return run_one(g, c->name, c, argc, argv);
}

int cli_remote_parse(struct cli_remote *r, int argc, char **argv, const struct cli_opt *opts,
                     size_t n, const char **pos, size_t min_pos, size_t max_pos, size_t *n_pos,
                     const char *pos_name)
{
    struct cli_opt all[32];
    if (n >= sizeof all / sizeof all[0])
        return cli_usage_error(r->cmd, "%s: too many options", r->cmd); /* programmer error */
    if (n > 0)
        memcpy(all, opts, n * sizeof *opts);
    all[n] = (struct cli_opt){"--json", NULL, NULL, NULL, 0, &r->json};
    int rc = cli_parse_opts(r->cmd, argc, argv, all, n + 1, pos, max_pos, n_pos);
    if (rc == CLI_EXIT_OK && *n_pos < min_pos)
        rc = cli_usage_error(r->cmd, "%s: %s is required", r->cmd, pos_name);
    return rc;
}

int cli_remote_parse_id(struct cli_remote *r, const char *what, const char *s, long long *out)
{
    unsigned long long v = 0;
    if (!cli_parse_u64(s, 1, 9007199254740992ull, &v))
        return cli_usage_error(r->cmd, "%s: %s '%s' is not a number", r->cmd, what, s);
    *out = (long long)v;
    return CLI_EXIT_OK;
}

int cli_remote_segment(struct cli_remote *r, const char *s, char *out, size_t size)
{
    if (s[0] == '\0' || !cli_http_escape(s, out, size))
        return cli_usage_error(r->cmd, "%s: '%.40s' is not an id", r->cmd, s);
    return CLI_EXIT_OK;
}

/* ---- calls -------------------------------------------------------------------- */

const char *cli_json_str(const json_t *o, const char *key)
{
    const char *s = json_string_value(json_object_get(o, key));
    return s != NULL ? s : "";
}

long long cli_json_int(const json_t *o, const char *key)
{
    return (long long)json_integer_value(json_object_get(o, key));
}

bool cli_json_bool(const json_t *o, const char *key)
{
    return json_is_true(json_object_get(o, key));
}

void cli_json_join(const json_t *a, char *out, size_t size)
{
    size_t i, o = 0;
    json_t *v;
    out[0] = '\0';
    json_array_foreach(a, i, v)
    {
        int n = snprintf(out + o, size - o, "%s%s", i > 0 ? "," : "",
                         json_is_string(v) ? json_string_value(v) : "?");
        if (n < 0 || (size_t)n >= size - o)
            return; /* cut at the last whole value */
        o += (size_t)n;
    }
}

void cli_quarantine_text(const json_t *q, char *out, size_t size)
{
    char until[32];
    cli_table_time(cli_json_int(q, "until"), until);
    (void)snprintf(out, size, "quarantined until %s after %lld failed attempts (%s)", until,
                   cli_json_int(q, "failures"), cli_json_str(q, "code"));
}

/* The first line of a body that is not a JSON error, printable bytes only. */
static void print_snippet(const char *body)
{
    size_t i = 0;
    for (; body[i] != '\0' && body[i] != '\n' && i < 160; i++)
        fputc(body[i] >= ' ' && body[i] <= '~' ? body[i] : '?', stderr);
    fputs(i == 0 ? "(empty answer)\n" : "\n", stderr);
}

static void print_hint(const struct cli_remote *r, long status, const char *code)
{
    if (status == 401)
        fprintf(stderr,
                "nobrick: hint: %s refused the token from %s: check that it is this server's "
                "and not revoked; an admin makes one with 'nobrick token create'\n",
                r->url, r->token_from);
    else if (status == 403 && strcmp(code, "E_FORBIDDEN") == 0)
        fprintf(stderr, "nobrick: hint: ask an admin for a token with that role "
                        "('nobrick token create --role operator --name NAME')\n");
    else if (status >= 500 && status != 503)
        fprintf(stderr, "nobrick: hint: the server failed; its log says why\n");
}

/* "nobrick: CMD: STATUS CODE (field F): MESSAGE", then a hint. */
static int report(const struct cli_remote *r, const struct cli_http_resp *resp)
{
    const json_t *e = json_object_get(resp->json, "error");
    const char *code = cli_json_str(e, "code"), *field = cli_json_str(e, "field");
    if (json_is_object(e) && code[0] != '\0') {
        fprintf(stderr, "nobrick: %s: %ld %s", r->cmd, resp->status, code);
        if (field[0] != '\0')
            fprintf(stderr, " (field %s)", field);
        fprintf(stderr, ": %s\n", cli_json_str(e, "message"));
    } else if (resp->status >= 200 && resp->status < 300) {
        fprintf(stderr,
                "nobrick: %s: %ld from %s is not a JSON object (is it a nobrick-server? check "
                "--server)\n",
                r->cmd, resp->status, r->url);
    } else {
        fprintf(stderr, "nobrick: %s: HTTP %ld from %s: ", r->cmd, resp->status, r->url);
        print_snippet(resp->body);
    }
    print_hint(r, resp->status, code);
    return CLI_EXIT_FAIL;
}

/* Takes the answer of a request that reached the server. */
static int answer_of(struct cli_remote *r, struct cli_http_resp *resp, json_t **answer)
{
    int rc = CLI_EXIT_OK;
    if (resp->status < 200 || resp->status >= 300 || !json_is_object(resp->json))
        rc = report(r, resp);
    else
        *answer = json_incref(resp->json);
    cli_http_resp_fini(resp);
    return rc;
}

int cli_remote_call(struct cli_remote *r, const char *method, const char *path, json_t *body,
                    json_t **answer)
{
    int rc = r->http == NULL ? open_client(r) : CLI_EXIT_OK;
    if (rc == CLI_EXIT_OK) {
        struct cli_http_resp resp;
        struct nb_diag diag = {{0}};
        enum nb_err err = cli_http_json(r->http, method, path, body, &resp, &diag);
        if (err != NB_OK) {
            fprintf(stderr, "nobrick: %s\n", diag.msg);
            r->unreachable = err == NB_EIO || err == NB_ETIMEOUT || err == NB_ECRYPTO;
            rc = CLI_EXIT_FAIL;
        } else {
            rc = answer_of(r, &resp, answer);
        }
    }
    json_decref(body);
    return rc;
}

int cli_remote_upload(struct cli_remote *r, const char *path, const char *file_path,
                      json_t **answer)
{
    int rc = r->http == NULL ? open_client(r) : CLI_EXIT_OK;
    if (rc != CLI_EXIT_OK)
        return rc;
    struct cli_http_resp resp;
    struct nb_diag diag = {{0}};
    enum nb_err err = cli_http_upload(r->http, path, file_path, &resp, &diag);
    if (err != NB_OK) {
        fprintf(stderr, "nobrick: %s\n", diag.msg);
        return CLI_EXIT_FAIL;
    }
    return answer_of(r, &resp, answer);
}

int cli_remote_print_json(json_t *doc)
{
    int rc = json_dumpf(doc, stdout, JSON_INDENT(2)) == 0 ? CLI_EXIT_OK : CLI_EXIT_FAIL;
    putchar('\n');
    json_decref(doc);
    return rc;
}
