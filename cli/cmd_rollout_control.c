/* Rollout control in the CLI (cmd_rollout_control.h): the create options
 * of docs/api.md "Rollout control" and the commands approve, rollback,
 * advance and stop-all, each one request to /api/v1/rollouts. */
#include "cmd_rollout_control.h"
#include "table.h"

#include <stdio.h>
#include <string.h>

void cli_rollout_ctl_opts(struct cli_rollout_ctl *c, struct cli_opt *out)
{
    const struct cli_opt opts[CLI_ROLLOUT_CTL_OPTS] = {
        {"--min-version", &c->min_version, NULL, NULL, 0, NULL},
        {"--max-version", &c->max_version, NULL, NULL, 0, NULL},
        {"--rollback-to", &c->rollback_to, NULL, NULL, 0, NULL},
        {"--approvals", &c->approvals, NULL, NULL, 0, NULL},
        {"--window", &c->window_cron, NULL, NULL, 0, NULL},
        {"--window-duration", &c->window_duration, NULL, NULL, 0, NULL},
        {"--window-tz", &c->window_tz, NULL, NULL, 0, NULL},
        {"--auto-rollback", NULL, NULL, NULL, 0, &c->auto_rollback},
        {"--download-only", NULL, NULL, NULL, 0, &c->download_only},
    };
    memcpy(out, opts, sizeof opts);
}

static int window_body(struct cli_remote *r, const struct cli_rollout_ctl *c, json_t *body)
{
    unsigned long long s = 3600;
    if (c->window_cron == NULL) {
        if (c->window_duration != NULL || c->window_tz != NULL || c->download_only)
            return cli_usage_error(r->cmd,
                                   "%s: --window-duration, --window-tz and "
                                   "--download-only need --window CRON",
                                   r->cmd);
        return CLI_EXIT_OK;
    }
    if (c->window_duration != NULL && !cli_parse_u64(c->window_duration, 60, 604800, &s))
        return cli_usage_error(r->cmd, "%s: --window-duration: seconds, 60..604800", r->cmd);
    json_t *w = json_object();
    json_object_set_new(w, "cron", json_string(c->window_cron));
    json_object_set_new(w, "duration_s", json_integer((json_int_t)s));
    json_object_set_new(w, "tz", json_string(c->window_tz != NULL ? c->window_tz : "UTC"));
    json_object_set_new(w, "download_only", json_boolean(c->download_only));
    json_object_set_new(body, "window", w);
    return CLI_EXIT_OK;
}

int cli_rollout_ctl_body(struct cli_remote *r, const struct cli_rollout_ctl *c, json_t *body)
{
    json_t *sel = json_object_get(body, "select");
    unsigned long long n = 1;
    if (c->min_version != NULL)
        json_object_set_new(sel, "min_version", json_string(c->min_version));
    if (c->max_version != NULL)
        json_object_set_new(sel, "max_version", json_string(c->max_version));
    if (c->rollback_to != NULL)
        json_object_set_new(body, "auto_rollback", json_pack("{s:s}", "release", c->rollback_to));
    else if (c->auto_rollback)
        json_object_set_new(body, "auto_rollback", json_true());
    if (c->approvals != NULL && !cli_parse_u64(c->approvals, 1, 5, &n))
        return cli_usage_error(r->cmd, "%s: --approvals: 1..5", r->cmd);
    if (c->approvals != NULL)
        json_object_set_new(body, "approvals_required", json_integer((json_int_t)n));
    return window_body(r, c, body);
}

/* ---- approve, rollback, advance, stop-all ------------------------------------------ */

const char cli_rollout_approve_usage[] =
    "Usage: nobrick rollout approve ID [--json]\n\n"
    "Approves a draft rollout that needs a second operator (--approvals 2): the\n"
    "token must not be the one that created it. Then 'rollout start ID' starts it.\n";
const char cli_rollout_rollback_usage[] =
    "Usage: nobrick rollout rollback ID [--release VERSION] [--json]\n\n"
    "Aborts rollout ID if it still runs, and creates and starts a rollout of the\n"
    "previous release (the highest version below it in its component, or VERSION)\n"
    "to the devices of ID that took its release, under the same waves and gates.\n"
    "Refused when that release's security counter is below the bad one's: devices\n"
    "would refuse it; re-sign the old image with the current counter first.\n";
const char cli_rollout_advance_usage[] =
    "Usage: nobrick rollout advance ID --reason TEXT [--json]\n\n"
    "Opens the next wave of a running or paused rollout now, whatever its gate\n"
    "says (a paused rollout runs again). The reason goes to the audit log.\n";
const char cli_rollout_stop_all_usage[] =
    "Usage: nobrick rollout stop-all --reason TEXT [--json]\n\n"
    "Emergency stop (admin token): pauses every running rollout and cancels the\n"
    "devices of plain deployments that have not started. Each is audited. There\n"
    "is no resume-all: resume rollouts one by one ('rollout resume ID').\n";

/* POST /api/v1/rollouts/ID/ACTION with body; prints the answer. */
static int post_id(struct cli_remote *r, const char *arg, const char *action, json_t *body,
                   json_t **doc)
{
    long long id = 0;
    char path[96];
    int rc = cli_remote_parse_id(r, "rollout id", arg, &id);
    if (rc != CLI_EXIT_OK) {
        json_decref(body);
        return rc;
    }
    (void)snprintf(path, sizeof path, "/api/v1/rollouts/%lld/%s", id, action);
    return cli_remote_call(r, "POST", path, body, doc);
}

int cli_rollout_approve(struct cli_remote *r, int argc, char **argv)
{
    const char *arg = NULL;
    size_t n_pos = 0;
    json_t *doc = NULL;
    int rc = cli_remote_parse(r, argc, argv, NULL, 0, &arg, 1, 1, &n_pos, "ID");
    if (rc == CLI_EXIT_OK)
        rc = post_id(r, arg, "approve", NULL, &doc);
    if (rc != CLI_EXIT_OK || r->json)
        return rc != CLI_EXIT_OK ? rc : cli_remote_print_json(doc);
    printf("rollout %lld approved by %s; %lld more approval(s) needed\n", cli_json_int(doc, "id"),
           cli_json_str(doc, "approved_by"), cli_json_int(doc, "approvals_missing"));
    json_decref(doc);
    return CLI_EXIT_OK;
}

int cli_rollout_rollback(struct cli_remote *r, int argc, char **argv)
{
    const char *arg = NULL, *version = NULL;
    size_t n_pos = 0;
    json_t *doc = NULL, *body = json_object();
    const struct cli_opt opts[] = {{"--release", &version, NULL, NULL, 0, NULL}};
    int rc = cli_remote_parse(r, argc, argv, opts, 1, &arg, 1, 1, &n_pos, "ID");
    if (rc != CLI_EXIT_OK) {
        json_decref(body);
        return rc;
    }
    if (version != NULL)
        json_object_set_new(body, "release", json_string(version));
    rc = post_id(r, arg, "rollback", body, &doc);
    if (rc != CLI_EXIT_OK || r->json)
        return rc != CLI_EXIT_OK ? rc : cli_remote_print_json(doc);
    printf("rollout %lld '%s' is %s: %s\n", cli_json_int(doc, "id"), cli_json_str(doc, "name"),
           cli_json_str(doc, "state"), cli_json_str(doc, "reason"));
    json_decref(doc);
    return CLI_EXIT_OK;
}

/* The commands that take only --reason TEXT (and ID when id_action). */
static int with_reason(struct cli_remote *r, int argc, char **argv, const char *id_action,
                       json_t **doc)
{
    const char *arg = NULL, *reason = NULL;
    size_t n_pos = 0;
    const struct cli_opt opts[] = {{"--reason", &reason, NULL, NULL, 0, NULL}};
    size_t want = id_action != NULL ? 1 : 0;
    int rc = cli_remote_parse(r, argc, argv, opts, 1, &arg, want, want, &n_pos, "ID");
    if (rc == CLI_EXIT_OK && (reason == NULL || reason[0] == '\0'))
        rc = cli_usage_error(r->cmd, "%s: --reason TEXT is required (it goes to the audit log)",
                             r->cmd);
    if (rc != CLI_EXIT_OK)
        return rc;
    json_t *body = json_pack("{s:s}", "reason", reason);
    if (id_action != NULL)
        return post_id(r, arg, id_action, body, doc);
    return cli_remote_call(r, "POST", "/api/v1/rollouts/stop-all", body, doc);
}

int cli_rollout_advance(struct cli_remote *r, int argc, char **argv)
{
    json_t *doc = NULL;
    int rc = with_reason(r, argc, argv, "advance", &doc);
    if (rc != CLI_EXIT_OK || r->json)
        return rc != CLI_EXIT_OK ? rc : cli_remote_print_json(doc);
    printf("rollout %lld is %s at wave %lld\n", cli_json_int(doc, "id"), cli_json_str(doc, "state"),
           cli_json_int(doc, "current_wave"));
    json_decref(doc);
    return CLI_EXIT_OK;
}

int cli_rollout_stop_all(struct cli_remote *r, int argc, char **argv)
{
    json_t *doc = NULL;
    int rc = with_reason(r, argc, argv, NULL, &doc);
    if (rc != CLI_EXIT_OK || r->json)
        return rc != CLI_EXIT_OK ? rc : cli_remote_print_json(doc);
    printf("emergency stop: %lld rollout(s) paused, %lld deployment(s) stopped\n",
           cli_json_int(doc, "rollouts_paused"), cli_json_int(doc, "deployments_stopped"));
    json_decref(doc);
    return CLI_EXIT_OK;
}
