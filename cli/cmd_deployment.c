/* `nobrick deploy` and `nobrick deployment list|show|cancel`: sending a
 * release to a device or a group, and following it (/api/v1/deployments).
 * One file for both commands, as the server has one api_deployment.c: they
 * share the card and the per-device table of a deployment. */
#include "remote.h"
#include "table.h"

#include <string.h>

static const char *deployment_state(const json_t *d)
{
    return cli_json_bool(d, "cancelled") ? "cancelled" : "active";
}

/* "device 1a2b..." or "group canary". */
static void target(const json_t *d, char *out, size_t size)
{
    (void)snprintf(out, size, "%s %s", cli_json_str(d, "target_kind"), cli_json_str(d, "target"));
}

/* ---- deploy ------------------------------------------------------------------- */

static const char deploy_usage[] =
    "Usage: nobrick deploy RELEASE_ID (--device ID | --group G) [--json]\n"
    "\n"
    "Sends a release to one device or to every device of a group: each active\n"
    "device of a hardware class the release lists gets an assignment, which it\n"
    "receives, signed by the director, at its next check-in. The others are\n"
    "listed as excluded, with the reason. A newer deployment replaces a\n"
    "device's unfinished one. Needs an operator token.\n";

static int print_created(const json_t *dep)
{
    const json_t *ex = json_object_get(dep, "excluded");
    long long n = cli_json_int(dep, "devices");
    printf("deployment %lld: release %lld to %lld device%s", cli_json_int(dep, "id"),
           cli_json_int(dep, "release_id"), n, n == 1 ? "" : "s");
    if (json_array_size(ex) == 0) {
        putchar('\n');
        return CLI_EXIT_OK;
    }
    printf(", %zu excluded:\n", json_array_size(ex));
    static const char *const head[] = {"DEVICE", "REASON"};
    struct cli_table *t = cli_table_new(2, head);
    enum nb_err err = t == NULL ? NB_ENOMEM : NB_OK;
    size_t i;
    json_t *e;
    json_array_foreach(ex, i, e)
    {
        const char *cells[] = {cli_json_str(e, "device_id"), cli_json_str(e, "reason")};
        if (err == NB_OK)
            err = cli_table_add(t, cells);
    }
    if (err == NB_OK)
        cli_table_print(t, stdout);
    cli_table_free(t);
    return err == NB_OK ? CLI_EXIT_OK : cli_fail(err, NULL, "deploy");
}

int cli_deploy_create(struct cli_remote *r, long long release_id, const char *device,
                      const char *group, json_t **dep)
{
    json_t *body =
        json_pack("{s:I, s:s}", "release_id", (json_int_t)release_id,
                  device != NULL ? "device_id" : "group", device != NULL ? device : group);
    return cli_remote_call(r, "POST", "/api/v1/deployments", body, dep);
}

static int deploy(struct cli_remote *r, int argc, char **argv)
{
    const char *arg = NULL, *device = NULL, *group = NULL;
    const struct cli_opt opts[] = {
        {"--device", &device, NULL, NULL, 0, NULL},
        {"--group", &group, NULL, NULL, 0, NULL},
    };
    size_t n_pos = 0;
    long long rel = 0;
    json_t *dep = NULL;
    int rc = cli_remote_parse(r, argc, argv, opts, 2, &arg, 1, 1, &n_pos, "RELEASE_ID");
    if (rc == CLI_EXIT_OK && (device == NULL) == (group == NULL))
        rc = cli_usage_error(r->cmd, "%s: give --device ID or --group G", r->cmd);
    if (rc == CLI_EXIT_OK)
        rc = cli_remote_parse_id(r, "release id", arg, &rel);
    if (rc != CLI_EXIT_OK)
        return rc;
    rc = cli_deploy_create(r, rel, device, group, &dep);
    if (rc != CLI_EXIT_OK || r->json)
        return rc != CLI_EXIT_OK ? rc : cli_remote_print_json(dep);
    rc = print_created(dep);
    json_decref(dep);
    return rc;
}

static const struct cli_remote_command deploy_command = {"deploy", deploy, deploy_usage};

int cli_cmd_deploy(const struct cli_global *g, int argc, char **argv)
{
    return cli_remote_run(g, &deploy_command, argc, argv);
}

/* ---- deployment list ------------------------------------------------------------ */

static const char list_usage[] =
    "Usage: nobrick deployment list [--json]\n"
    "\n"
    "Lists deployments: id, release, target (a device or a group), who made it,\n"
    "when (UTC), and whether it is active or cancelled. 'deployment show ID'\n"
    "has the state of each device.\n";

static enum nb_err add_deployment_row(struct cli_table *t, const json_t *d)
{
    char id[24], rel[24], tgt[160], when[32];
    (void)snprintf(id, sizeof id, "%lld", cli_json_int(d, "id"));
    (void)snprintf(rel, sizeof rel, "%lld", cli_json_int(d, "release_id"));
    target(d, tgt, sizeof tgt);
    cli_table_time(cli_json_int(d, "created_at"), when);
    const char *cells[] = {id, rel, tgt, cli_json_str(d, "created_by"), when, deployment_state(d)};
    return cli_table_add(t, cells);
}

static int deployment_list(struct cli_remote *r, int argc, char **argv)
{
    static const char *const head[] = {"ID", "RELEASE", "TARGET", "BY", "CREATED", "STATE"};
    size_t n_pos = 0, i;
    json_t *doc = NULL, *d;
    int rc = cli_remote_parse(r, argc, argv, NULL, 0, NULL, 0, 0, &n_pos, NULL);
    if (rc == CLI_EXIT_OK)
        rc = cli_remote_call(r, "GET", "/api/v1/deployments", NULL, &doc);
    if (rc != CLI_EXIT_OK || r->json)
        return rc != CLI_EXIT_OK ? rc : cli_remote_print_json(doc);
    struct cli_table *t = cli_table_new(6, head);
    enum nb_err err = t == NULL ? NB_ENOMEM : NB_OK;
    json_array_foreach(json_object_get(doc, "deployments"), i, d)
    {
        if (err == NB_OK)
            err = add_deployment_row(t, d);
    }
    if (err == NB_OK && cli_table_rows(t) == 0)
        printf("no deployments yet: 'nobrick deploy RELEASE_ID --device ID' makes one\n");
    else if (err == NB_OK)
        cli_table_print(t, stdout);
    cli_table_free(t);
    json_decref(doc);
    return err == NB_OK ? CLI_EXIT_OK : cli_fail(err, NULL, r->cmd);
}

/* ---- deployment show, cancel ---------------------------------------------------- */

static const char show_usage[] =
    "Usage: nobrick deployment show ID [--json]\n"
    "\n"
    "Shows a deployment: its release and target, how many devices are in each\n"
    "state (pending, notified, downloading, installing, rebooting, committed,\n"
    "succeeded, failed, rolled_back, cancelled), and every device's state,\n"
    "progress and last error code.\n";

static const char cancel_usage[] =
    "Usage: nobrick deployment cancel ID [--json]\n"
    "\n"
    "Cancels a deployment: its devices that have not started are not told to\n"
    "install; devices already installing finish. Needs an operator token.\n";

static void print_card(const json_t *d)
{
    char tgt[160], when[32], counts[400] = "";
    size_t o = 0;
    const char *k;
    json_t *v;
    json_object_foreach(json_object_get(d, "counts"), k, v)
    {
        int n = snprintf(counts + o, sizeof counts - o, "%s%s %lld", o > 0 ? ", " : "", k,
                         (long long)json_integer_value(v));
        if (n < 0 || (size_t)n >= sizeof counts - o)
            break;
        o += (size_t)n;
    }
    target(d, tgt, sizeof tgt);
    cli_table_time(cli_json_int(d, "created_at"), when);
    printf("deployment:  %lld\nrelease:     %lld\ntarget:      %s\n", cli_json_int(d, "id"),
           cli_json_int(d, "release_id"), tgt);
    printf("created:     %s by %s\nstate:       %s\ndevices:     %s\n", when,
           cli_json_str(d, "created_by"), deployment_state(d), counts[0] ? counts : "none");
}

static int print_assignments(const struct cli_remote *r, const json_t *list)
{
    static const char *const head[] = {"DEVICE", "STATE", "PROGRESS", "CODE", "UPDATED"};
    struct cli_table *t = cli_table_new(5, head);
    enum nb_err err = t == NULL ? NB_ENOMEM : NB_OK;
    size_t i;
    json_t *a;
    json_array_foreach(list, i, a)
    {
        char pct[8], when[32];
        (void)snprintf(pct, sizeof pct, "%lld%%", cli_json_int(a, "progress"));
        cli_table_time(cli_json_int(a, "updated_at"), when);
        const char *cells[] = {cli_json_str(a, "device_id"), cli_json_str(a, "state"), pct,
                               cli_json_str(a, "code"), when};
        if (err == NB_OK)
            err = cli_table_add(t, cells);
    }
    if (err == NB_OK && cli_table_rows(t) > 0) {
        putchar('\n');
        cli_table_print(t, stdout);
    }
    cli_table_free(t);
    return err == NB_OK ? CLI_EXIT_OK : cli_fail(err, NULL, r->cmd);
}

/* show (action NULL) or POST .../ID/action. */
static int deployment_one(struct cli_remote *r, int argc, char **argv, const char *action)
{
    const char *arg = NULL;
    size_t n_pos = 0;
    long long id = 0;
    json_t *d = NULL;
    char path[96];
    int rc = cli_remote_parse(r, argc, argv, NULL, 0, &arg, 1, 1, &n_pos, "ID");
    if (rc == CLI_EXIT_OK)
        rc = cli_remote_parse_id(r, "deployment id", arg, &id);
    if (rc != CLI_EXIT_OK)
        return rc;
    (void)snprintf(path, sizeof path, "/api/v1/deployments/%lld%s%s", id, action ? "/" : "",
                   action ? action : "");
    rc = cli_remote_call(r, action ? "POST" : "GET", path, NULL, &d);
    if (rc != CLI_EXIT_OK || r->json)
        return rc != CLI_EXIT_OK ? rc : cli_remote_print_json(d);
    if (action != NULL) {
        printf("cancelled deployment %lld (release %lld)\n", id, cli_json_int(d, "release_id"));
    } else {
        print_card(d);
        rc = print_assignments(r, json_object_get(d, "assignments"));
    }
    json_decref(d);
    return rc;
}

static int deployment_show(struct cli_remote *r, int argc, char **argv)
{
    return deployment_one(r, argc, argv, NULL);
}

static int deployment_cancel(struct cli_remote *r, int argc, char **argv)
{
    return deployment_one(r, argc, argv, "cancel");
}

static const struct cli_remote_command deployment_commands[] = {
    {"list", deployment_list, list_usage},
    {"show", deployment_show, show_usage},
    {"cancel", deployment_cancel, cancel_usage},
};

int cli_cmd_deployment(const struct cli_global *g, int argc, char **argv)
{
    return cli_remote_dispatch(g, "deployment", deployment_commands,
                               sizeof deployment_commands / sizeof deployment_commands[0], argc,
                               argv);
}
