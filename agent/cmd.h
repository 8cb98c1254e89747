/* The verbs of nobrick-agent, one cmd_<name>.c each, dispatched from the
 * table in agent/main.c. argv[0] is the verb; cfg is the loaded agent.conf. */
#ifndef AGENT_CMD_H
#define AGENT_CMD_H

#include "config.h"

#define AGENT_PROG "nobrick-agent"

int agent_cmd_install(const struct agent_config *cfg, int argc, char **argv);
int agent_cmd_status(const struct agent_config *cfg, int argc, char **argv);
int agent_cmd_mark_good(const struct agent_config *cfg, int argc, char **argv);
int agent_cmd_mark_bad(const struct agent_config *cfg, int argc, char **argv);
int agent_cmd_health(const struct agent_config *cfg, int argc, char **argv);
int agent_cmd_run(const struct agent_config *cfg, int argc, char **argv);
int agent_cmd_watch(const struct agent_config *cfg, int argc, char **argv);
int agent_cmd_ctl(const struct agent_config *cfg, int argc, char **argv);

extern const char agent_install_usage[], agent_status_usage[], agent_mark_good_usage[],
    agent_mark_bad_usage[], agent_health_usage[], agent_run_usage[], agent_watch_usage[],
    agent_ctl_usage[];

#endif
