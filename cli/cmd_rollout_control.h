/* `nobrick rollout approve|rollback|advance|stop-all` and the control
 * options of create/plan (cmd_rollout_control.c): version range,
 * automatic rollback, approvals and the maintenance window. */
#ifndef NOBRICK_CLI_CMD_ROLLOUT_CONTROL_H
#define NOBRICK_CLI_CMD_ROLLOUT_CONTROL_H

#include "remote.h"

#define CLI_ROLLOUT_CTL_OPTS 9

struct cli_rollout_ctl {
    const char *min_version, *max_version, *rollback_to, *approvals;
    const char *window_cron, *window_duration, *window_tz;
    bool auto_rollback, download_only;
};

/* Writes the CLI_ROLLOUT_CTL_OPTS options that fill c into out. */
void cli_rollout_ctl_opts(struct cli_rollout_ctl *c, struct cli_opt *out);
/* Adds c's fields to a create body; rc != OK after a usage message. */
int cli_rollout_ctl_body(struct cli_remote *r, const struct cli_rollout_ctl *c, json_t *body);

extern const char cli_rollout_approve_usage[], cli_rollout_rollback_usage[],
    cli_rollout_advance_usage[], cli_rollout_stop_all_usage[];
int cli_rollout_approve(struct cli_remote *r, int argc, char **argv);
int cli_rollout_rollback(struct cli_remote *r, int argc, char **argv);
int cli_rollout_advance(struct cli_remote *r, int argc, char **argv);
int cli_rollout_stop_all(struct cli_remote *r, int argc, char **argv);

#endif
