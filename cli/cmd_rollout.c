/* `nobrick rollout create|plan|start|pause|resume|abort|status` (and
 * approve|rollback|advance|stop-all, cmd_rollout_control.c): a release
 * to a selection of devices in gated waves (/api/v1/rollouts). plan is a
 * dry run of create; status shows per wave the funnel and why the rollout
 * is where it is, in the gate's own words. */
#include "cmd_rollout_control.h"
#include "remote.h"
#include "table.h"

#include <stdlib.h>
#include <string.h>

/* ---- create, plan ------------------------------------------------------------------- */

static const char create_usage[] =
    "Usage: nobrick rollout create RELEASE_ID [SELECTION] [PLAN] [GATES] [--name N] [--json]\n"
    "       nobrick rollout plan RELEASE_ID [the same options]\n"
    "\n"
    "Creates a rollout (state draft; 'rollout start ID' starts it), or with 'plan'\n"
    "only shows what it would do: the devices per wave, the devices left out and\n"
    "why, and the bytes to serve. Needs an operator token.\n"
    "\n"
    "Selection (active devices of a hardware class the release lists):\n"
    "  --group G, --tag T, --hw-class C   only devices that match (all given)\n"
    "  --canary ID                        wave 0, before every other (repeatable)\n"
    "Plan: --waves LIST, comma-separated cumulative steps after the canary:\n"
    "  P% (a share), P%:MIN (a share, at least MIN devices), N (a count)\n"
    "  default 1%:10,5%,25%,50%,100%\n"
    "Gates (defaults in brackets):\n"
    "  --soak S [86400]  --success-pct P [95]  --fail-pct P [5]  --fail-min N [3]\n"
    "  --min-finished N [10]  --cum-fail-pct P [5]  --abort-pct P [0: never]\n"
    "  --unseen-wait S [0: never]  a wave none of whose devices checked in advances\n"
    "                    after S s if the waves before have healthy devices\n"
    "  --salt S [from the release: the same waves when re-created]\n"
    "Per-device safety (docs/rollouts.md):\n"
    "  --device-timeout S [7200: an attempt's total]  --lease S [1800: silent this long]\n"
    "  --retry-max N [3 attempts]  --retry-backoff S [300, doubling]\n"
    "  --quarantine S [86400]  --start-rate N [0: no cap; devices started per minute]\n"
    "  --max-downloading N [0: the server's --max-downloading]\n"
    "Control:\n"
    "  --min-version V, --max-version V  only devices running a version in [V, V]\n"
    "  --auto-rollback                   on abort (or a gate's pause), roll the devices\n"
    "                                    that took it back to the previous release\n"
    "  --rollback-to V                   the same, to release version V\n"
    "  --approvals N [1]                 operators in all: 2 = a second one approves\n"
    "  --window CRON --window-duration S [3600] --window-tz TZ [UTC]\n"
    "                                    waves open and devices install only inside\n"
    "  --download-only                   with --window: download outside, install inside\n";

/* Numeric options and the JSON fields they set. */
static const char *const num_opts[][2] = {
    {"--soak", "soak_s"},
    {"--success-pct", "success_pct"},
    {"--fail-pct", "fail_pct"},
    {"--fail-min", "fail_min"},
    {"--min-finished", "min_finished"},
    {"--cum-fail-pct", "cum_fail_pct"},
    {"--abort-pct", "abort_pct"},
    {"--unseen-wait", "unseen_wait_s"},
    {"--device-timeout", "device_timeout_s"},
    {"--lease", "lease_s"},
    {"--retry-max", "retry_max"},
    {"--retry-backoff", "retry_backoff_s"},
    {"--quarantine", "quarantine_s"},
    {"--start-rate", "start_rate_per_min"},
    {"--max-downloading", "max_downloading"},
};
#define N_NUM (sizeof num_opts / sizeof num_opts[0])

/* "1%:10" / "5%" / "20" into a step object; NULL when malformed. */
static json_t *parse_step(const char *s)
{
    char buf[32], *colon;
    unsigned long long v = 0, min = 0;
    if (strlen(s) >= sizeof buf)
        return NULL;
    memcpy(buf, s, strlen(s) + 1);
    colon = strchr(buf, ':');
    if (colon != NULL) {
        *colon = '\0';
        if (!cli_parse_u64(colon + 1, 1, 100000, &min))
            return NULL;
    }
    size_t len = strlen(buf);
    bool pct = len > 0 && buf[len - 1] == '%';
    if (pct)
        buf[len - 1] = '\0';
    if (!cli_parse_u64(buf, 1, pct ? 100 : 100000, &v) || (!pct && colon != NULL))
        return NULL;
    json_t *o = json_pack("{s:I}", pct ? "percent" : "count", (json_int_t)v);
    if (min > 0)
        json_object_set_new(o, "min", json_integer((json_int_t)min));
    return o;
}

static int parse_waves(struct cli_remote *r, const char *list, json_t *body)
{
    json_t *a = json_array();
    char buf[256];
    (void)snprintf(buf, sizeof buf, "%s", list);
    for (char *p = buf, *next; p != NULL; p = next) {
        next = strchr(p, ',');
        if (next != NULL)
            *next++ = '\0';
        json_t *step = parse_step(p);
        if (step == NULL) {
            json_decref(a);
            return cli_usage_error(r->cmd, "%s: --waves: '%s' is not P%%, P%%:MIN or N", r->cmd, p);
        }
        json_array_append_new(a, step);
    }
    json_object_set_new(body, "waves", a);
    return CLI_EXIT_OK;
}

/* The request body from the options; rc != OK after a usage message. */
static int build_create(struct cli_remote *r, const char *rel_arg, const char *const *vals,
                        const char *const *sel, const char **canary, size_t n_canary, json_t *body)
{
    long long rel = 0;
    static const char *const sel_keys[] = {"group", "tag", "hw_class"};
    int rc = cli_remote_parse_id(r, "release id", rel_arg, &rel);
    json_object_set_new(body, "release_id", json_integer(rel));
    json_t *s = json_object(), *c = json_array();
    for (size_t i = 0; i < 3; i++) {
        if (sel[i] != NULL)
            json_object_set_new(s, sel_keys[i], json_string(sel[i]));
    }
    json_object_set_new(body, "select", s);
    for (size_t i = 0; i < n_canary; i++)
        json_array_append_new(c, json_string(canary[i]));
    json_object_set_new(body, "canary", c);
    for (size_t i = 0; rc == CLI_EXIT_OK && i < N_NUM; i++) {
        unsigned long long v = 0;
        if (vals[i] == NULL)
            continue;
        if (!cli_parse_u64(vals[i], 0, 100000000, &v))
            rc = cli_usage_error(r->cmd, "%s: %s: not a number", r->cmd, num_opts[i][0]);
        json_object_set_new(body, num_opts[i][1], json_integer((json_int_t)v));
    }
    return rc;
}

static void print_plan(const json_t *plan)
{
    char size[32];
    cli_table_size((uint64_t)cli_json_int(plan, "bytes"), size);
    printf("devices:     %lld (%s to serve)\n", cli_json_int(plan, "devices"), size);
    size_t i;
    json_t *w, *e;
    json_array_foreach(json_object_get(plan, "waves"), i, w)
    {
        printf("  wave %lld %-7s %6lld devices, %6lld in all\n", cli_json_int(w, "wave"),
               cli_json_int(w, "wave") == 0 ? "(canary)" : "", cli_json_int(w, "devices"),
               cli_json_int(w, "cumulative"));
    }
    const json_t *ex = json_object_get(plan, "excluded");
    if (json_array_size(ex) > 0)
        printf("excluded:    %zu\n", json_array_size(ex));
    json_array_foreach(ex, i, e)
    {
        printf("  %s  %s\n", cli_json_str(e, "device_id"), cli_json_str(e, "reason"));
    }
}

static int create_or_plan(struct cli_remote *r, int argc, char **argv, bool dry)
{
    const char *arg = NULL, *vals[N_NUM] = {NULL}, *sel[3] = {NULL}, *waves = NULL, *name = NULL,
               *salt = NULL, *canary[64];
    size_t n_canary = 0, n_pos = 0;
    struct cli_rollout_ctl ctl;
    memset(&ctl, 0, sizeof ctl);
    struct cli_opt opts[N_NUM + 7 + CLI_ROLLOUT_CTL_OPTS] = {
        {"--group", &sel[0], NULL, NULL, 0, NULL},       {"--tag", &sel[1], NULL, NULL, 0, NULL},
        {"--hw-class", &sel[2], NULL, NULL, 0, NULL},    {"--waves", &waves, NULL, NULL, 0, NULL},
        {"--name", &name, NULL, NULL, 0, NULL},          {"--salt", &salt, NULL, NULL, 0, NULL},
        {"--canary", NULL, canary, &n_canary, 64, NULL},
    };
    for (size_t i = 0; i < N_NUM; i++)
        opts[7 + i] = (struct cli_opt){num_opts[i][0], &vals[i], NULL, NULL, 0, NULL};
    cli_rollout_ctl_opts(&ctl, &opts[7 + N_NUM]);
    int rc = cli_remote_parse(r, argc, argv, opts, 7 + N_NUM + CLI_ROLLOUT_CTL_OPTS, &arg, 1, 1,
                              &n_pos, "RELEASE_ID");
    if (rc != CLI_EXIT_OK)
        return rc;
    json_t *body = json_object(), *doc = NULL;
    rc = build_create(r, arg, vals, sel, canary, n_canary, body);
    if (rc == CLI_EXIT_OK && waves != NULL)
        rc = parse_waves(r, waves, body);
    if (rc == CLI_EXIT_OK)
        rc = cli_rollout_ctl_body(r, &ctl, body);
    if (name != NULL)
        json_object_set_new(body, "name", json_string(name));
    if (salt != NULL)
        json_object_set_new(body, "salt", json_string(salt));
    json_object_set_new(body, "dry_run", json_boolean(dry));
    if (rc != CLI_EXIT_OK) {
        json_decref(body);
        return rc;
    }
    rc = cli_remote_call(r, "POST", "/api/v1/rollouts", body, &doc);
    if (rc != CLI_EXIT_OK || r->json)
        return rc != CLI_EXIT_OK ? rc : cli_remote_print_json(doc);
    if (dry)
        printf("plan of rollout '%s' (salt %s):\n", cli_json_str(doc, "name"),
               cli_json_str(doc, "salt"));
    else
        printf("rollout %lld '%s' created (draft): 'nobrick rollout start %lld' starts it\n",
               cli_json_int(doc, "id"), cli_json_str(doc, "name"), cli_json_int(doc, "id"));
    print_plan(json_object_get(doc, "plan"));
    json_decref(doc);
    return CLI_EXIT_OK;
}

static int rollout_create(struct cli_remote *r, int argc, char **argv)
{
    return create_or_plan(r, argc, argv, false);
}

static int rollout_plan(struct cli_remote *r, int argc, char **argv)
{
    return create_or_plan(r, argc, argv, true);
}

/* ---- start, pause, resume, abort ---------------------------------------------------- */

static const char start_usage[] =
    "Usage: nobrick rollout start ID [--json]\n\n"
    "Starts a draft rollout: the canary wave opens at the engine's next tick.\n";
static const char pause_usage[] =
    "Usage: nobrick rollout pause ID [--json]\n\n"
    "Pauses a running rollout: no new wave opens and its devices that have not\n"
    "yet been told to install wait; devices already installing finish.\n";
static const char resume_usage[] =
    "Usage: nobrick rollout resume ID [--json]\n\n"
    "Resumes a paused rollout. The gate is asked again at once: a rollout a gate\n"
    "paused pauses again while its counts still fail the gate.\n";
static const char abort_usage[] =
    "Usage: nobrick rollout abort ID [--json]\n\n"
    "Aborts a rollout for good: devices not yet told to install are cancelled;\n"
    "devices already installing finish.\n";

static int control(struct cli_remote *r, int argc, char **argv, const char *action)
{
    const char *arg = NULL;
    size_t n_pos = 0;
    long long id = 0;
    json_t *doc = NULL;
    char path[96];
    int rc = cli_remote_parse(r, argc, argv, NULL, 0, &arg, 1, 1, &n_pos, "ID");
    if (rc == CLI_EXIT_OK)
        rc = cli_remote_parse_id(r, "rollout id", arg, &id);
    if (rc != CLI_EXIT_OK)
        return rc;
    (void)snprintf(path, sizeof path, "/api/v1/rollouts/%lld/%s", id, action);
    rc = cli_remote_call(r, "POST", path, NULL, &doc);
    if (rc != CLI_EXIT_OK || r->json)
        return rc != CLI_EXIT_OK ? rc : cli_remote_print_json(doc);
    printf("rollout %lld is %s\n", id, cli_json_str(doc, "state"));
    json_decref(doc);
    return CLI_EXIT_OK;
}

static int rollout_start(struct cli_remote *r, int argc, char **argv)
{
    return control(r, argc, argv, "start");
}

static int rollout_pause(struct cli_remote *r, int argc, char **argv)
{
    return control(r, argc, argv, "pause");
}

static int rollout_resume(struct cli_remote *r, int argc, char **argv)
{
    return control(r, argc, argv, "resume");
}

static int rollout_abort(struct cli_remote *r, int argc, char **argv)
{
    return control(r, argc, argv, "abort");
}

/* ---- status ------------------------------------------------------------------------- */

static const char status_usage[] =
    "Usage: nobrick rollout status [ID] [--json]\n\n"
    "Without ID, lists the rollouts. With ID, shows its state and why, the gate\n"
    "of the current wave in words, per wave the funnel (planned, targeted, not\n"
    "seen, notified, downloading, installing, succeeded, failed by reason, timed\n"
    "out), the devices waiting for a cap, retrying or quarantined (each quarantine\n"
    "with its end, its failed attempts and the last code), and how long the\n"
    "rollout took to reach each share of its devices.\n";

static int list_rollouts(struct cli_remote *r)
{
    static const char *const head[] = {"ID", "NAME", "RELEASE", "STATE", "WAVE", "REASON"};
    json_t *doc = NULL, *o;
    size_t i;
    int rc = cli_remote_call(r, "GET", "/api/v1/rollouts", NULL, &doc);
    if (rc != CLI_EXIT_OK || r->json)
        return rc != CLI_EXIT_OK ? rc : cli_remote_print_json(doc);
    struct cli_table *t = cli_table_new(6, head);
    enum nb_err err = t == NULL ? NB_ENOMEM : NB_OK;
    json_array_foreach(json_object_get(doc, "rollouts"), i, o)
    {
        char id[24], rel[24], wave[24];
        (void)snprintf(id, sizeof id, "%lld", cli_json_int(o, "id"));
        (void)snprintf(rel, sizeof rel, "%lld", cli_json_int(o, "release_id"));
        (void)snprintf(wave, sizeof wave, "%lld", cli_json_int(o, "current_wave"));
        const char *cells[] = {id,   cli_json_str(o, "name"),  rel, cli_json_str(o, "state"),
                               wave, cli_json_str(o, "reason")};
        if (err == NB_OK)
            err = cli_table_add(t, cells);
    }
    if (err == NB_OK && cli_table_rows(t) == 0)
        printf("no rollouts yet: 'nobrick rollout plan RELEASE_ID' shows what one would do\n");
    else if (err == NB_OK)
        cli_table_print(t, stdout);
    cli_table_free(t);
    json_decref(doc);
    return err == NB_OK ? CLI_EXIT_OK : cli_fail(err, NULL, r->cmd);
}

static enum nb_err add_wave_row(struct cli_table *t, const json_t *w)
{
    static const char *const keys[] = {"planned",   "targeted",    "not_seen",
                                       "notified",  "downloading", "installing",
                                       "succeeded", "failed",      "timed_out"};
    char cells_buf[10][24], failed_by[160] = "";
    const char *cells[11];
    (void)snprintf(cells_buf[0], sizeof cells_buf[0], "%lld%s", cli_json_int(w, "wave"),
                   cli_json_int(w, "wave") == 0 ? " canary" : "");
    cells[0] = cells_buf[0];
    for (size_t k = 0; k < 9; k++) {
        (void)snprintf(cells_buf[k + 1], sizeof cells_buf[0], "%lld", cli_json_int(w, keys[k]));
        cells[k + 1] = cells_buf[k + 1];
    }
    size_t o = 0;
    const char *reason;
    json_t *v;
    json_object_foreach(json_object_get(w, "failed_by_reason"), reason, v)
    {
        if (json_integer_value(v) == 0 || o >= sizeof failed_by)
            continue;
        int n = snprintf(failed_by + o, sizeof failed_by - o, "%s%lld %s", o ? ", " : "",
                         (long long)json_integer_value(v), reason);
        o = n < 0 ? sizeof failed_by : o + (size_t)n;
    }
    cells[10] = failed_by;
    return cli_table_add(t, cells);
}

/* The per-device safety in words: "3 waiting for the rate cap", "1 quarantined until ...". */
static void print_safety(const json_t *doc)
{
    static const char *const keys[] = {"waiting_rate_cap", "waiting_download_cap", "retrying",
                                       "quarantined"};
    static const char *const words[] = {"waiting for the rate cap", "waiting for the download cap",
                                        "retrying after a failed attempt (back-off)",
                                        "quarantined (out of the gates)"};
    long long n[4] = {0, 0, 0, 0};
    size_t i;
    json_t *v;
    json_array_foreach(json_object_get(doc, "waves"), i, v)
    {
        for (size_t k = 0; k < 4; k++)
            n[k] += cli_json_int(v, keys[k]);
    }
    for (size_t k = 0; k < 4; k++) {
        if (n[k] > 0)
            printf("devices:     %lld %s\n", n[k], words[k]);
    }
    json_array_foreach(json_object_get(doc, "quarantined"), i, v)
    {
        char text[160];
        cli_quarantine_text(v, text, sizeof text);
        printf("quarantine:  %.16s %s\n", cli_json_str(v, "device_id"), text);
    }
}

static int show_rollout(struct cli_remote *r, long long id)
{
    static const char *const head[] = {"WAVE",     "PLANNED",     "TARGETED",   "NOT SEEN",
                                       "NOTIFIED", "DOWNLOADING", "INSTALLING", "SUCCEEDED",
                                       "FAILED",   "TIMED OUT",   "FAILURES"};
    char path[64];
    json_t *doc = NULL, *w;
    size_t i;
    (void)snprintf(path, sizeof path, "/api/v1/rollouts/%lld", id);
    int rc = cli_remote_call(r, "GET", path, NULL, &doc);
    if (rc != CLI_EXIT_OK || r->json)
        return rc != CLI_EXIT_OK ? rc : cli_remote_print_json(doc);
    const json_t *gate = json_object_get(doc, "gate");
    printf("rollout:     %lld '%s', release %lld (%s)\n", cli_json_int(doc, "id"),
           cli_json_str(doc, "name"), cli_json_int(doc, "release_id"),
           cli_json_str(doc, "release_version"));
    printf("state:       %s, wave %lld\n", cli_json_str(doc, "state"),
           cli_json_int(doc, "current_wave"));
    if (cli_json_str(doc, "reason")[0] != '\0')
        printf("why:         %s\n", cli_json_str(doc, "reason"));
    if (json_is_object(gate))
        printf("gate:        %s\n", cli_json_str(gate, "reason"));
    struct cli_table *t = cli_table_new(11, head);
    enum nb_err err = t == NULL ? NB_ENOMEM : NB_OK;
    json_array_foreach(json_object_get(doc, "waves"), i, w)
    {
        if (err == NB_OK)
            err = add_wave_row(t, w);
    }
    if (err == NB_OK) {
        putchar('\n');
        cli_table_print(t, stdout);
    }
    cli_table_free(t);
    print_safety(doc);
    printf("\ntime to share:");
    const char *share;
    json_t *v;
    json_object_foreach(json_object_get(doc, "time_to_share"), share, v)
    {
        if (json_is_integer(v))
            printf(" %s %llds", share, (long long)json_integer_value(v));
        else
            printf(" %s -", share);
    }
    putchar('\n');
    json_decref(doc);
    return err == NB_OK ? CLI_EXIT_OK : cli_fail(err, NULL, r->cmd);
}

static int rollout_status(struct cli_remote *r, int argc, char **argv)
{
    const char *arg = NULL;
    size_t n_pos = 0;
    long long id = 0;
    int rc = cli_remote_parse(r, argc, argv, NULL, 0, &arg, 0, 1, &n_pos, "ID");
    if (rc != CLI_EXIT_OK)
        return rc;
    if (n_pos == 0)
        return list_rollouts(r);
    rc = cli_remote_parse_id(r, "rollout id", arg, &id);
    return rc != CLI_EXIT_OK ? rc : show_rollout(r, id);
}

static const struct cli_remote_command rollout_commands[] = {
    {"create", rollout_create, create_usage},
    {"plan", rollout_plan, create_usage},
    {"start", rollout_start, start_usage},
    {"pause", rollout_pause, pause_usage},
    {"resume", rollout_resume, resume_usage},
    {"abort", rollout_abort, abort_usage},
    {"status", rollout_status, status_usage},
    {"approve", cli_rollout_approve, cli_rollout_approve_usage},
    {"rollback", cli_rollout_rollback, cli_rollout_rollback_usage},
    {"advance", cli_rollout_advance, cli_rollout_advance_usage},
    {"stop-all", cli_rollout_stop_all, cli_rollout_stop_all_usage},
};

int cli_cmd_rollout(const struct cli_global *g, int argc, char **argv)
{
    return cli_remote_dispatch(g, "rollout", rollout_commands,
                               sizeof rollout_commands / sizeof rollout_commands[0], argc, argv);
}
