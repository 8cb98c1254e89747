/* `nobrick device list|show|approve|preauthorise|decommission|tag|group|
 * unquarantine`: the fleet's devices on the server (/api/v1/devices). cmd_device.c
 * dispatches here for everything but the offline `device provision`. A
 * device's id is the keyid of its identity key (`keyid` in its .pub). */
#include "remote.h"
#include "table.h"

#include <nobrick/encoding.h>
#include <nobrick/keyfile.h>

#include <string.h>

#define MAX_TAGS 16
#define STORE_STATE_CELL 48 /* "decommissioned, quarantined" */

/* ---- list --------------------------------------------------------------------- */

static const char list_usage[] =
    "Usage: nobrick device list [--state S] [--hw-class C] [--group G] [--tag T]\n"
    "                           [--limit N] [--offset N] [--after CURSOR] [--json]\n"
    "\n"
    "Lists devices: id, hardware class, state (pending, preauthorized, active,\n"
    "decommissioned; \", quarantined\" when rollouts leave it out after repeated\n"
    "failures), group, installed version and last check-in (UTC). The filters\n"
    "combine; --limit defaults to the server's 100 (at most 1000). A full page\n"
    "ends with the option that shows the next one (--after CURSOR: as fast on\n"
    "the thousandth page as on the first; --offset reads past every device\n"
    "before it).\n";

static enum nb_err add_device_row(struct cli_table *t, const json_t *d)
{
    char seen[32], state[STORE_STATE_CELL];
    cli_table_time(cli_json_int(d, "last_seen"), seen);
    (void)snprintf(state, sizeof state, "%s%s", cli_json_str(d, "state"),
                   json_is_object(json_object_get(d, "quarantine")) ? ", quarantined" : "");
    const char *cells[] = {cli_json_str(d, "id"),    cli_json_str(d, "hw_class"),          state,
                           cli_json_str(d, "group"), cli_json_str(d, "installed_version"), seen};
    return cli_table_add(t, cells);
}

static int print_devices(const json_t *list)
{
    static const char *const head[] = {"ID", "HW CLASS", "STATE", "GROUP", "VERSION", "LAST SEEN"};
    struct cli_table *t = cli_table_new(6, head);
    enum nb_err err = t == NULL ? NB_ENOMEM : NB_OK;
    size_t i;
    json_t *d;
    json_array_foreach(list, i, d)
    {
        if (err == NB_OK)
            err = add_device_row(t, d);
    }
    if (err == NB_OK && cli_table_rows(t) == 0)
        printf("no devices match\n");
    else if (err == NB_OK)
        cli_table_print(t, stdout);
    cli_table_free(t);
    return err == NB_OK ? CLI_EXIT_OK : cli_fail(err, NULL, "device list");
}

/* Appends "&name=value" (escaped) when value is set. */
static int add_query(struct cli_remote *r, char *q, size_t size, const char *name,
                     const char *value)
{
    char esc[200];
    size_t len = strlen(q);
    if (value == NULL)
        return CLI_EXIT_OK;
    if (!cli_http_escape(value, esc, sizeof esc))
        return cli_usage_error(r->cmd, "%s: --%s too long", r->cmd, name);
    int n = snprintf(q + len, size - len, "%s%s=%s", len == 0 ? "?" : "&", name, esc);
    if (n < 0 || (size_t)n >= size - len)
        return cli_usage_error(r->cmd, "%s: filters too long", r->cmd);
    return CLI_EXIT_OK;
}

static int device_list(struct cli_remote *r, int argc, char **argv)
{
    const char *v[7] = {NULL};
    static const char *const names[] = {"state", "hw_class", "group", "tag",
                                        "limit", "offset",   "after"};
    const struct cli_opt opts[] = {
        {"--state", &v[0], NULL, NULL, 0, NULL}, {"--hw-class", &v[1], NULL, NULL, 0, NULL},
        {"--group", &v[2], NULL, NULL, 0, NULL}, {"--tag", &v[3], NULL, NULL, 0, NULL},
        {"--limit", &v[4], NULL, NULL, 0, NULL}, {"--offset", &v[5], NULL, NULL, 0, NULL},
        {"--after", &v[6], NULL, NULL, 0, NULL},
    };
    char path[1024] = "/api/v1/devices", q[900] = "";
    size_t n_pos = 0;
    json_t *doc = NULL;
    int rc = cli_remote_parse(r, argc, argv, opts, 7, NULL, 0, 0, &n_pos, NULL);
    for (size_t i = 0; rc == CLI_EXIT_OK && i < 7; i++)
        rc = add_query(r, q, sizeof q, names[i], v[i]);
    if (rc != CLI_EXIT_OK)
        return rc;
    (void)snprintf(path + strlen(path), sizeof path - strlen(path), "%s", q);
    rc = cli_remote_call(r, "GET", path, NULL, &doc);
    if (rc != CLI_EXIT_OK || r->json)
        return rc != CLI_EXIT_OK ? rc : cli_remote_print_json(doc);
    rc = print_devices(json_object_get(doc, "devices"));
    const json_t *next = json_object_get(doc, "next");
    if (rc == CLI_EXIT_OK && json_is_string(next))
        printf("more: nobrick device list --after %s (with the same filters)\n",
               json_string_value(next));
    json_decref(doc);
    return rc;
}

/* ---- show --------------------------------------------------------------------- */

static const char show_usage[] =
    "Usage: nobrick device show ID [--json]\n"
    "\n"
    "Shows one device: identity, hardware class, state, group and tags, what\n"
    "it last reported (version, security counter, slots, last result), its\n"
    "assignments, and its latest reports (--json has the last 200).\n";

/* "a=good b=empty" from the slots object. */
static void slot_states(const json_t *slots, char *out, size_t size)
{
    size_t o = 0;
    const char *k;
    json_t *v;
    out[0] = '\0';
    json_object_foreach((json_t *)slots, k, v)
    {
        int n = snprintf(out + o, size - o, "%s%s=%s", o > 0 ? " " : "", k,
                         json_is_string(v) ? json_string_value(v) : "?");
        if (n < 0 || (size_t)n >= size - o)
            return;
        o += (size_t)n;
    }
}

static const char *or_dash(const char *s)
{
    return s[0] != '\0' ? s : "-";
}

static void print_identity(const json_t *d)
{
    char when[32], seen[32], tags[600], slots[200];
    cli_json_join(json_object_get(d, "tags"), tags, sizeof tags);
    slot_states(json_object_get(d, "slots"), slots, sizeof slots);
    cli_table_time(cli_json_int(d, "created_at"), when);
    cli_table_time(cli_json_int(d, "last_seen"), seen);
    printf("device:           %s\n", cli_json_str(d, "id"));
    printf("public key:       %s\n", cli_json_str(d, "public_key"));
    printf("hardware class:   %s\nstate:            %s\n", cli_json_str(d, "hw_class"),
           cli_json_str(d, "state"));
    printf("group:            %s\ntags:             %s\n", or_dash(cli_json_str(d, "group")),
           or_dash(tags));
    printf("installed:        %s (security counter %lld)\n",
           or_dash(cli_json_str(d, "installed_version")), cli_json_int(d, "security_counter"));
    printf("slots:            %s\nlast result:      %s\n", or_dash(slots),
           or_dash(cli_json_str(d, "last_result")));
    printf("registered:       %s\nlast seen:        %s\n", when, seen);
    const json_t *q = json_object_get(d, "quarantine");
    if (json_is_object(q)) {
        char text[160];
        cli_quarantine_text(q, text, sizeof text);
        printf("quarantine:       %s\n                  (rollouts leave it out; 'nobrick device "
               "unquarantine %.16s' lifts it)\n",
               text, cli_json_str(d, "id"));
    }
}

/* The assignments (kind 0) or the latest reports (kind 1) as a table. */
static enum nb_err print_history(const json_t *list, int kind, size_t max)
{
    static const char *const ah[] = {"DEPLOYMENT", "RELEASE", "STATE",
                                     "PROGRESS",   "CODE",    "UPDATED"};
    static const char *const rh[] = {"AT", "DEPLOYMENT", "STATE", "PROGRESS", "CODE", "MESSAGE"};
    struct cli_table *t = cli_table_new(6, kind == 0 ? ah : rh);
    enum nb_err err = t == NULL ? NB_ENOMEM : NB_OK;
    size_t i;
    json_t *a;
    json_array_foreach(list, i, a)
    {
        char dep[24], rel[24], pct[8], when[32];
        if (err != NB_OK || i >= max)
            break;
        (void)snprintf(dep, sizeof dep, "%lld", cli_json_int(a, "deployment_id"));
        (void)snprintf(rel, sizeof rel, "%lld", cli_json_int(a, "release_id"));
        (void)snprintf(pct, sizeof pct, "%lld%%", cli_json_int(a, "progress"));
        cli_table_time(cli_json_int(a, kind == 0 ? "updated_at" : "at"), when);
        const char *ac[] = {dep, rel, cli_json_str(a, "state"), pct, cli_json_str(a, "code"), when};
        const char *rc[] = {when,
                            dep,
                            cli_json_str(a, "state"),
                            pct,
                            cli_json_str(a, "code"),
                            cli_json_str(a, "message")};
        err = cli_table_add(t, kind == 0 ? ac : rc);
    }
    if (err == NB_OK)
        cli_table_print(t, stdout);
    cli_table_free(t);
    return err;
}

static int print_device(const json_t *d)
{
    const json_t *as = json_object_get(d, "assignments"), *rs = json_object_get(d, "reports");
    enum nb_err err = NB_OK;
    print_identity(d);
    if (json_array_size(as) > 0) {
        printf("\nassignments:\n");
        err = print_history(as, 0, (size_t)-1);
    }
    if (err == NB_OK && json_array_size(rs) > 0) {
        printf("\nreports (latest %zu of %zu; --json for all):\n",
               json_array_size(rs) < 10 ? json_array_size(rs) : 10, json_array_size(rs));
        err = print_history(rs, 1, 10);
    }
    return err == NB_OK ? CLI_EXIT_OK : cli_fail(err, NULL, "device show");
}

/* ---- actions on one device ------------------------------------------------------ */

/* Parses "ID" (plus up to max_extra more arguments into extra) and builds
 * /api/v1/devices/ID[/suffix]. */
static int device_path(struct cli_remote *r, int argc, char **argv, const char *suffix,
                       const char **extra, size_t max_extra, size_t *n_extra, char *path,
                       size_t size)
{
    const char *pos[1 + MAX_TAGS + 1];
    char seg[200];
    size_t n_pos = 0;
    int rc = cli_remote_parse(r, argc, argv, NULL, 0, pos, 1, 1 + max_extra, &n_pos, "ID");
    if (rc == CLI_EXIT_OK)
        rc = cli_remote_segment(r, pos[0], seg, sizeof seg);
    if (rc != CLI_EXIT_OK)
        return rc;
    for (size_t i = 1; i < n_pos; i++)
        extra[i - 1] = pos[i];
    if (n_extra != NULL)
        *n_extra = n_pos - 1;
    (void)snprintf(path, size, "/api/v1/devices/%s%s%s", seg, suffix ? "/" : "",
                   suffix ? suffix : "");
    return CLI_EXIT_OK;
}

/* METHOD on /api/v1/devices/ID[/suffix]; *d the answer. */
static int device_request(struct cli_remote *r, int argc, char **argv, const char *method,
                          const char *suffix, json_t **d)
{
    char path[256];
    int rc = device_path(r, argc, argv, suffix, NULL, 0, NULL, path, sizeof path);
    return rc != CLI_EXIT_OK ? rc : cli_remote_call(r, method, path, NULL, d);
}

static int device_show(struct cli_remote *r, int argc, char **argv)
{
    json_t *d = NULL;
    int rc = device_request(r, argc, argv, "GET", NULL, &d);
    if (rc != CLI_EXIT_OK || r->json)
        return rc != CLI_EXIT_OK ? rc : cli_remote_print_json(d);
    rc = print_device(d);
    json_decref(d);
    return rc;
}

/* Prints the device after a change: "approved DEVICE: state active". */
static int changed(struct cli_remote *r, json_t *d, const char *verb)
{
    if (r->json)
        return cli_remote_print_json(d);
    printf("%s %s: state %s, group %s\n", verb, cli_json_str(d, "id"), cli_json_str(d, "state"),
           or_dash(cli_json_str(d, "group")));
    json_decref(d);
    return CLI_EXIT_OK;
}

static int state_change(struct cli_remote *r, int argc, char **argv, const char *action,
                        const char *verb)
{
    json_t *d = NULL;
    int rc = device_request(r, argc, argv, "POST", action, &d);
    return rc != CLI_EXIT_OK ? rc : changed(r, d, verb);
}

static const char unquarantine_usage[] =
    "Usage: nobrick device unquarantine ID [--json]\n\n"
    "Lifts the quarantine of a device that failed its rollout attempts too often:\n"
    "rollouts offer it their release again, and its failures count from zero.\n"
    "Audited (device.unquarantine). Needs an operator token.\n";

static int device_unquarantine(struct cli_remote *r, int argc, char **argv)
{
    json_t *d = NULL;
    int rc = device_request(r, argc, argv, "DELETE", "quarantine", &d);
    if (rc != CLI_EXIT_OK || r->json)
        return rc != CLI_EXIT_OK ? rc : cli_remote_print_json(d);
    printf("lifted the quarantine of %s\n", cli_json_str(d, "device_id"));
    json_decref(d);
    return CLI_EXIT_OK;
}

static const char approve_usage[] =
    "Usage: nobrick device approve ID [--json]\n"
    "\n"
    "Approves a device that enrolled on its own (state pending -> active): from\n"
    "its next check-in it can be deployed to. Needs an operator token.\n";

static int device_approve(struct cli_remote *r, int argc, char **argv)
{
    return state_change(r, argc, argv, "approve", "approved");
}

static const char decommission_usage[] =
    "Usage: nobrick device decommission ID [--json]\n"
    "\n"
    "Retires a device for good (state decommissioned): its tokens stop working\n"
    "at once and it is never deployed to again. Needs an operator token.\n";

static int device_decommission(struct cli_remote *r, int argc, char **argv)
{
    return state_change(r, argc, argv, "decommission", "decommissioned");
}

static const char tag_usage[] =
    "Usage: nobrick device tag ID [TAG...] [--json]\n"
    "\n"
    "Sets the device's tags to exactly the TAGs given (at most 16 names of\n"
    "[A-Za-z0-9._-]); no TAG clears them. Needs an operator token.\n";

static int device_tag(struct cli_remote *r, int argc, char **argv)
{
    const char *tags[MAX_TAGS + 1];
    size_t n = 0;
    char path[256];
    json_t *d = NULL, *a = json_array();
    int rc = device_path(r, argc, argv, "tags", tags, MAX_TAGS + 1, &n, path, sizeof path);
    if (rc == CLI_EXIT_OK && n > MAX_TAGS)
        rc = cli_usage_error(r->cmd, "%s: at most %d tags", r->cmd, MAX_TAGS);
    for (size_t i = 0; rc == CLI_EXIT_OK && i < n; i++)
        json_array_append_new(a, json_string(tags[i]));
    if (rc != CLI_EXIT_OK) {
        json_decref(a);
        return rc;
    }
    rc = cli_remote_call(r, "PUT", path, json_pack("{s:o}", "tags", a), &d);
    return rc != CLI_EXIT_OK ? rc : changed(r, d, n > 0 ? "tagged" : "cleared the tags of");
}

static const char group_usage[] =
    "Usage: nobrick device group ID [GROUP] [--json]\n"
    "\n"
    "Puts the device in GROUP (a name of [A-Za-z0-9._-]), or takes it out of\n"
    "its group when GROUP is omitted. 'nobrick deploy R --group G' targets a\n"
    "group. Needs an operator token.\n";

static int device_group(struct cli_remote *r, int argc, char **argv)
{
    const char *group[1] = {NULL};
    size_t n = 0;
    char path[256];
    json_t *d = NULL;
    int rc = device_path(r, argc, argv, "group", group, 1, &n, path, sizeof path);
    if (rc != CLI_EXIT_OK)
        return rc;
    json_t *body = n > 0 ? json_pack("{s:s}", "group", group[0]) : json_object();
    rc = cli_remote_call(r, "PUT", path, body, &d);
    return rc != CLI_EXIT_OK ? rc : changed(r, d, n > 0 ? "grouped" : "ungrouped");
}

/* ---- preauthorise --------------------------------------------------------------- */

static const char preauth_usage[] =
    "Usage: nobrick device preauthorise (--pub DEVICE.pub | --public-key HEX)\n"
    "                                   --hw-class C [--group G] [--json]\n"
    "\n"
    "Registers a device before it first connects, from its public identity key\n"
    "(the .pub of 'nobrick key new device NAME', or its 64-hex Ed25519 key): it\n"
    "becomes active as soon as it enrols with that key and hardware class, with\n"
    "no approval. Prints the device id. Needs an operator token.\n";

/* The hex Ed25519 public key of a device .pub file. */
static int pub_hex(const char *path, char *hex, size_t size)
{
    struct nb_keyfile k;
    struct nb_diag diag = {{0}};
    enum nb_err err = nb_keyfile_load(path, &k, &diag);
    if (err == NB_OK && (k.role != NB_KEY_DEVICE || k.secret))
        err = nb_diag_set(&diag, NB_EINVAL, "not a device .pub file");
    if (err == NB_OK)
        err = nb_hex_encode(k.ed_pub, sizeof k.ed_pub, hex, size);
    nb_keyfile_wipe(&k);
    return err == NB_OK ? CLI_EXIT_OK : cli_fail(err, &diag, path);
}

static int device_preauthorise(struct cli_remote *r, int argc, char **argv)
{
    const char *pub = NULL, *hex = NULL, *hw = NULL, *group = NULL;
    const struct cli_opt opts[] = {
        {"--pub", &pub, NULL, NULL, 0, NULL},
        {"--public-key", &hex, NULL, NULL, 0, NULL},
        {"--hw-class", &hw, NULL, NULL, 0, NULL},
        {"--group", &group, NULL, NULL, 0, NULL},
    };
    char key[2 * NB_ED25519_PUB_LEN + 1];
    size_t n_pos = 0;
    json_t *d = NULL;
    int rc = cli_remote_parse(r, argc, argv, opts, 4, NULL, 0, 0, &n_pos, NULL);
    if (rc == CLI_EXIT_OK && (pub == NULL) == (hex == NULL))
        rc = cli_usage_error(r->cmd, "%s: give --pub FILE.pub or --public-key HEX", r->cmd);
    if (rc == CLI_EXIT_OK && hw == NULL)
        rc = cli_usage_error(r->cmd, "%s: --hw-class C is required", r->cmd);
    if (rc == CLI_EXIT_OK && pub != NULL)
        rc = pub_hex(pub, key, sizeof key);
    if (rc != CLI_EXIT_OK)
        return rc;
    json_t *body = json_pack("{s:s, s:s}", "public_key", pub != NULL ? key : hex, "hw_class", hw);
    if (group != NULL)
        json_object_set_new(body, "group", json_string(group));
    rc = cli_remote_call(r, "POST", "/api/v1/devices", body, &d);
    return rc != CLI_EXIT_OK ? rc : changed(r, d, "preauthorised");
}

static const struct cli_remote_command fleet_commands[] = {
    {"list", device_list, list_usage},
    {"show", device_show, show_usage},
    {"approve", device_approve, approve_usage},
    {"preauthorise", device_preauthorise, preauth_usage},
    {"preauthorize", device_preauthorise, preauth_usage},
    {"decommission", device_decommission, decommission_usage},
    {"tag", device_tag, tag_usage},
    {"group", device_group, group_usage},
    {"unquarantine", device_unquarantine, unquarantine_usage},
};

int cli_fleet_device(const struct cli_global *g, int argc, char **argv)
{
    return cli_remote_dispatch(g, "device", fleet_commands,
                               sizeof fleet_commands / sizeof fleet_commands[0], argc, argv);
}
