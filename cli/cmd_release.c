/* `nobrick release upload|list|show|withdraw`: releases on the server
 * (POST/GET /api/v1/releases). An upload streams the .nbb from disk; the
 * server verifies every frame against the root before it keeps anything.
 * Human output is a table or a card; --json prints the server's JSON. */
#include "remote.h"
#include "table.h"

#include <string.h>

static const char *release_state(const json_t *rel)
{
    return cli_json_bool(rel, "withdrawn") ? "withdrawn" : "available";
}

static void print_card(const json_t *rel)
{
    char hw[512], size[32], when[32];
    cli_json_join(json_object_get(rel, "hw_classes"), hw, sizeof hw);
    cli_table_size((uint64_t)cli_json_int(rel, "bundle_size"), size);
    cli_table_time(cli_json_int(rel, "created_at"), when);
    printf("release:          %lld\n", cli_json_int(rel, "id"));
    printf("version:          %s\n", cli_json_str(rel, "version"));
    printf("component:        %s\n", cli_json_str(rel, "component"));
    printf("security counter: %lld\n", cli_json_int(rel, "security_counter"));
    printf("hardware classes: %s\n", hw);
    printf("bundle:           %s (%lld bytes), sha256 %s\n", size, cli_json_int(rel, "bundle_size"),
           cli_json_str(rel, "bundle_sha256"));
    printf("envelope sha256:  %s\n", cli_json_str(rel, "envelope_sha256"));
    printf("encrypted:        %s\n", cli_json_bool(rel, "encrypted") ? "yes" : "no");
    printf("uploaded:         %s\n", when);
    printf("state:            %s\n", release_state(rel));
}

/* ---- upload ------------------------------------------------------------------- */

static const char upload_usage[] =
    "Usage: nobrick release upload FILE.nbb [--json]\n"
    "\n"
    "Uploads a bundle made by 'nobrick bundle create'. The file is streamed from\n"
    "disk, so its size does not matter; the server verifies every byte against\n"
    "the fleet's root (signatures, frame table, every frame) before it keeps the\n"
    "release, and refuses it with the verification's code otherwise (E_SIG,\n"
    "E_HASH, ...). Needs an operator token. Prints the new release.\n";

static int release_upload(struct cli_remote *r, int argc, char **argv)
{
    const char *file = NULL;
    size_t n_pos = 0;
    json_t *rel = NULL;
    int rc = cli_remote_parse(r, argc, argv, NULL, 0, &file, 1, 1, &n_pos, "FILE.nbb");
    if (rc == CLI_EXIT_OK)
        rc = cli_remote_upload(r, "/api/v1/releases", file, &rel);
    if (rc != CLI_EXIT_OK)
        return rc;
    if (r->json)
        return cli_remote_print_json(rel);
    printf("uploaded %s as release %lld (version %s)\n", file, cli_json_int(rel, "id"),
           cli_json_str(rel, "version"));
    print_card(rel);
    json_decref(rel);
    return CLI_EXIT_OK;
}

/* ---- list --------------------------------------------------------------------- */

static const char list_usage[] =
    "Usage: nobrick release list [--json]\n"
    "\n"
    "Lists the releases on the server, oldest first: id, version, component,\n"
    "security counter, hardware classes, bundle size, upload time (UTC) and\n"
    "state (available or withdrawn).\n";

static enum nb_err add_release_row(struct cli_table *t, const json_t *rel)
{
    char id[24], counter[24], hw[512], size[32], when[32];
    (void)snprintf(id, sizeof id, "%lld", cli_json_int(rel, "id"));
    (void)snprintf(counter, sizeof counter, "%lld", cli_json_int(rel, "security_counter"));
    cli_json_join(json_object_get(rel, "hw_classes"), hw, sizeof hw);
    cli_table_size((uint64_t)cli_json_int(rel, "bundle_size"), size);
    cli_table_time(cli_json_int(rel, "created_at"), when);
    const char *cells[] = {id,
                           cli_json_str(rel, "version"),
                           cli_json_str(rel, "component"),
                           counter,
                           hw,
                           size,
                           when,
                           release_state(rel)};
    return cli_table_add(t, cells);
}

static int print_releases(const json_t *list)
{
    static const char *const head[] = {"ID",         "VERSION", "COMPONENT", "COUNTER",
                                       "HW CLASSES", "SIZE",    "UPLOADED",  "STATE"};
    struct cli_table *t = cli_table_new(8, head);
    enum nb_err err = t == NULL ? NB_ENOMEM : NB_OK;
    size_t i;
    json_t *rel;
    json_array_foreach(list, i, rel)
    {
        if (err == NB_OK)
            err = add_release_row(t, rel);
    }
    if (err == NB_OK && cli_table_rows(t) == 0)
        printf("no releases yet: 'nobrick release upload FILE.nbb' adds one\n");
    else if (err == NB_OK)
        cli_table_print(t, stdout);
    cli_table_free(t);
    return err == NB_OK ? CLI_EXIT_OK : cli_fail(err, NULL, "release list");
}

static int release_list(struct cli_remote *r, int argc, char **argv)
{
    size_t n_pos = 0;
    json_t *doc = NULL;
    int rc = cli_remote_parse(r, argc, argv, NULL, 0, NULL, 0, 0, &n_pos, NULL);
    if (rc == CLI_EXIT_OK)
        rc = cli_remote_call(r, "GET", "/api/v1/releases", NULL, &doc);
    if (rc != CLI_EXIT_OK || r->json)
        return rc != CLI_EXIT_OK ? rc : cli_remote_print_json(doc);
    rc = print_releases(json_object_get(doc, "releases"));
    json_decref(doc);
    return rc;
}

/* ---- show, withdraw ------------------------------------------------------------- */

static const char show_usage[] =
    "Usage: nobrick release show ID [--json]\n"
    "\n"
    "Shows one release: version, component, security counter, hardware classes,\n"
    "bundle size and hashes, encryption, upload time (UTC) and state.\n";

static const char withdraw_usage[] =
    "Usage: nobrick release withdraw ID [--json]\n"
    "\n"
    "Withdraws a release: it is never offered to a device again and its\n"
    "assignments that have not started are cancelled. Devices that already\n"
    "installed it keep it. Needs an operator token. Cannot be undone.\n";

/* show (action NULL) or POST .../ID/action. */
static int release_one(struct cli_remote *r, int argc, char **argv, const char *action)
{
    const char *arg = NULL;
    size_t n_pos = 0;
    long long id = 0;
    json_t *rel = NULL;
    char path[96];
    int rc = cli_remote_parse(r, argc, argv, NULL, 0, &arg, 1, 1, &n_pos, "ID");
    if (rc == CLI_EXIT_OK)
        rc = cli_remote_parse_id(r, "release id", arg, &id);
    if (rc != CLI_EXIT_OK)
        return rc;
    (void)snprintf(path, sizeof path, "/api/v1/releases/%lld%s%s", id, action ? "/" : "",
                   action ? action : "");
    rc = cli_remote_call(r, action ? "POST" : "GET", path, NULL, &rel);
    if (rc != CLI_EXIT_OK || r->json)
        return rc != CLI_EXIT_OK ? rc : cli_remote_print_json(rel);
    if (action != NULL)
        printf("withdrew release %lld (version %s)\n", id, cli_json_str(rel, "version"));
    else
        print_card(rel);
    json_decref(rel);
    return CLI_EXIT_OK;
}

static int release_show(struct cli_remote *r, int argc, char **argv)
{
    return release_one(r, argc, argv, NULL);
}

static int release_withdraw(struct cli_remote *r, int argc, char **argv)
{
    return release_one(r, argc, argv, "withdraw");
}

static const struct cli_remote_command release_commands[] = {
    {"upload", release_upload, upload_usage},
    {"list", release_list, list_usage},
    {"show", release_show, show_usage},
    {"withdraw", release_withdraw, withdraw_usage},
};

int cli_cmd_release(const struct cli_global *g, int argc, char **argv)
{
    return cli_remote_dispatch(g, "release", release_commands,
                               sizeof release_commands / sizeof release_commands[0], argc, argv);
}
