/* `nobrick token create|list|revoke` and `nobrick audit`: API tokens and
 * the audit log of who changed what (/api/v1/tokens, /api/v1/audit), the
 * admin's side of the server, as in the server's api_token.c. A new token's
 * secret goes alone to stdout, shown once; everything else to stderr. */
#include "remote.h"
#include "table.h"

#include <string.h>

/* ---- token create --------------------------------------------------------------- */

static const char create_usage[] =
    "Usage: nobrick token create --role viewer|operator|admin --name NAME [--json]\n"
    "\n"
    "Makes an API token. viewer reads everything; operator also uploads and\n"
    "withdraws releases, manages devices and deploys; admin also manages\n"
    "tokens. The secret (nbt_...) is printed alone on stdout and shown only\n"
    "once: the server keeps only its hash. NAME ([A-Za-z0-9._-]) says who or\n"
    "what uses it (ci, alice). Needs an admin token; the very first admin token\n"
    "is made on the server host with 'nobrick-server token create --role admin'.\n";

static int token_create(struct cli_remote *r, int argc, char **argv)
{
    const char *role = NULL, *name = NULL;
    const struct cli_opt opts[] = {
        {"--role", &role, NULL, NULL, 0, NULL},
        {"--name", &name, NULL, NULL, 0, NULL},
    };
    size_t n_pos = 0;
    json_t *tok = NULL;
    int rc = cli_remote_parse(r, argc, argv, opts, 2, NULL, 0, 0, &n_pos, NULL);
    if (rc == CLI_EXIT_OK && (role == NULL || name == NULL))
        rc = cli_usage_error(r->cmd, "%s: %s is required", r->cmd,
                             role == NULL ? "--role viewer|operator|admin" : "--name NAME");
    if (rc != CLI_EXIT_OK)
        return rc;
    rc = cli_remote_call(r, "POST", "/api/v1/tokens",
                         json_pack("{s:s, s:s}", "role", role, "name", name), &tok);
    if (rc != CLI_EXIT_OK || r->json)
        return rc != CLI_EXIT_OK ? rc : cli_remote_print_json(tok);
    printf("%s\n", cli_json_str(tok, "token"));
    fprintf(stderr, "created %s token %lld (%s); it is shown only once\n",
            cli_json_str(tok, "role"), cli_json_int(tok, "id"), cli_json_str(tok, "name"));
    json_decref(tok);
    return CLI_EXIT_OK;
}

/* ---- token list ----------------------------------------------------------------- */

static const char list_usage[] =
    "Usage: nobrick token list [--json]\n"
    "\n"
    "Lists the API tokens: id, role, name, creation time (UTC) and whether it\n"
    "is revoked. Secrets are never shown again. Needs an admin token.\n";

static enum nb_err add_token_row(struct cli_table *t, const json_t *k)
{
    char id[24], when[32];
    (void)snprintf(id, sizeof id, "%lld", cli_json_int(k, "id"));
    cli_table_time(cli_json_int(k, "created_at"), when);
    const char *cells[] = {id, cli_json_str(k, "role"), cli_json_str(k, "name"), when,
                           cli_json_bool(k, "revoked") ? "revoked" : "active"};
    return cli_table_add(t, cells);
}

static int token_list(struct cli_remote *r, int argc, char **argv)
{
    static const char *const head[] = {"ID", "ROLE", "NAME", "CREATED", "STATE"};
    size_t n_pos = 0, i;
    json_t *doc = NULL, *k;
    int rc = cli_remote_parse(r, argc, argv, NULL, 0, NULL, 0, 0, &n_pos, NULL);
    if (rc == CLI_EXIT_OK)
        rc = cli_remote_call(r, "GET", "/api/v1/tokens", NULL, &doc);
    if (rc != CLI_EXIT_OK || r->json)
        return rc != CLI_EXIT_OK ? rc : cli_remote_print_json(doc);
    struct cli_table *t = cli_table_new(5, head);
    enum nb_err err = t == NULL ? NB_ENOMEM : NB_OK;
    json_array_foreach(json_object_get(doc, "tokens"), i, k)
    {
        if (err == NB_OK)
            err = add_token_row(t, k);
    }
    if (err == NB_OK)
        cli_table_print(t, stdout);
    cli_table_free(t);
    json_decref(doc);
    return err == NB_OK ? CLI_EXIT_OK : cli_fail(err, NULL, r->cmd);
}

/* ---- token revoke --------------------------------------------------------------- */

static const char revoke_usage[] =
    "Usage: nobrick token revoke ID [--json]\n"
    "\n"
    "Revokes an API token (its id from 'nobrick token list'): from now on the\n"
    "server refuses it with 401. Cannot be undone. Needs an admin token.\n";

static int token_revoke(struct cli_remote *r, int argc, char **argv)
{
    const char *arg = NULL;
    size_t n_pos = 0;
    long long id = 0;
    char path[64];
    json_t *doc = NULL;
    int rc = cli_remote_parse(r, argc, argv, NULL, 0, &arg, 1, 1, &n_pos, "ID");
    if (rc == CLI_EXIT_OK)
        rc = cli_remote_parse_id(r, "token id", arg, &id);
    if (rc != CLI_EXIT_OK)
        return rc;
    (void)snprintf(path, sizeof path, "/api/v1/tokens/%lld", id);
    rc = cli_remote_call(r, "DELETE", path, NULL, &doc);
    if (rc != CLI_EXIT_OK || r->json)
        return rc != CLI_EXIT_OK ? rc : cli_remote_print_json(doc);
    printf("revoked token %lld\n", id);
    json_decref(doc);
    return CLI_EXIT_OK;
}

static const struct cli_remote_command token_commands[] = {
    {"create", token_create, create_usage},
    {"list", token_list, list_usage},
    {"revoke", token_revoke, revoke_usage},
};

int cli_cmd_token(const struct cli_global *g, int argc, char **argv)
{
    return cli_remote_dispatch(g, "token", token_commands,
                               sizeof token_commands / sizeof token_commands[0], argc, argv);
}

/* ---- audit ---------------------------------------------------------------------- */

static const char audit_usage[] =
    "Usage: nobrick audit [--limit N] [--before ID] [--json]\n"
    "\n"
    "Shows the audit log, newest first: every change (release.upload,\n"
    "device.approve, deployment.create, token.create, ...) with its time (UTC),\n"
    "who made it (token:ID (NAME), a device, or the server host's CLI), what\n"
    "it touched and details. --limit defaults to 100; --before ID pages back\n"
    "from the entry with that id. Needs a viewer token.\n";

static enum nb_err add_audit_row(struct cli_table *t, const json_t *e)
{
    char id[24], when[32];
    (void)snprintf(id, sizeof id, "%lld", cli_json_int(e, "id"));
    cli_table_time(cli_json_int(e, "at"), when);
    char *detail = json_dumps(json_object_get(e, "detail"), JSON_COMPACT);
    const char *cells[] = {id,
                           when,
                           cli_json_str(e, "actor"),
                           cli_json_str(e, "action"),
                           cli_json_str(e, "object"),
                           detail != NULL && strcmp(detail, "{}") != 0 ? detail : ""};
    enum nb_err err = cli_table_add(t, cells);
    json_free_t jfree;
    json_malloc_t jmalloc;
    json_get_alloc_funcs(&jmalloc, &jfree);
    if (detail != NULL)
        jfree(detail);
    return err;
}

static int print_audit(const struct cli_remote *r, const json_t *entries)
{
    static const char *const head[] = {"ID", "AT", "ACTOR", "ACTION", "OBJECT", "DETAIL"};
    struct cli_table *t = cli_table_new(6, head);
    enum nb_err err = t == NULL ? NB_ENOMEM : NB_OK;
    size_t i;
    json_t *e;
    json_array_foreach(entries, i, e)
    {
        if (err == NB_OK)
            err = add_audit_row(t, e);
    }
    if (err == NB_OK)
        cli_table_print(t, stdout);
    cli_table_free(t);
    return err == NB_OK ? CLI_EXIT_OK : cli_fail(err, NULL, r->cmd);
}

static int audit(struct cli_remote *r, int argc, char **argv)
{
    const char *limit = NULL, *before = NULL;
    const struct cli_opt opts[] = {
        {"--limit", &limit, NULL, NULL, 0, NULL},
        {"--before", &before, NULL, NULL, 0, NULL},
    };
    size_t n_pos = 0;
    long long n = 100, b = 0;
    char path[96];
    json_t *doc = NULL;
    int rc = cli_remote_parse(r, argc, argv, opts, 2, NULL, 0, 0, &n_pos, NULL);
    if (rc == CLI_EXIT_OK && limit != NULL)
        rc = cli_remote_parse_id(r, "--limit", limit, &n);
    if (rc == CLI_EXIT_OK && before != NULL)
        rc = cli_remote_parse_id(r, "--before", before, &b);
    if (rc != CLI_EXIT_OK)
        return rc;
    int len = snprintf(path, sizeof path, "/api/v1/audit?limit=%lld", n);
    if (b > 0)
        (void)snprintf(path + len, sizeof path - (size_t)len, "&before=%lld", b);
    rc = cli_remote_call(r, "GET", path, NULL, &doc);
    if (rc != CLI_EXIT_OK || r->json)
        return rc != CLI_EXIT_OK ? rc : cli_remote_print_json(doc);
    rc = print_audit(r, json_object_get(doc, "entries"));
    json_decref(doc);
    return rc;
}

static const struct cli_remote_command audit_command = {"audit", audit, audit_usage};

int cli_cmd_audit(const struct cli_global *g, int argc, char **argv)
{
    return cli_remote_run(g, &audit_command, argc, argv);
}
