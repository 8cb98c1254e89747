/* nobrick-agent: the device agent's offline CLI (install, status, mark-good,
 * mark-bad, health), in the manner of `rauc install|status|mark-good`, the
 * online agent (run) and the clients of its control socket (watch, ctl).
 * main() reads -c agent.conf and dispatches through the verb table below;
 * each verb owns its options and help. docs/agent.md is the reference. */
#include "cmd.h"
#include "device.h"

#include <stdio.h>
#include <string.h>

#define AGENT_DEFAULT_CONFIG "/etc/nobrick/agent.conf"

struct verb {
    const char *name;
    int (*run)(const struct agent_config *cfg, int argc, char **argv);
    const char *usage;
    const char *summary;
    bool writes; /* takes the power-cut options */
};

static const struct verb verbs[] = {
    {"install", agent_cmd_install, agent_install_usage, "install a bundle into the other slot",
     true},
    {"status", agent_cmd_status, agent_status_usage, "show slots, versions and what runs", false},
    {"mark-good", agent_cmd_mark_good, agent_mark_good_usage, "commit the running trial image",
     true},
    {"mark-bad", agent_cmd_mark_bad, agent_mark_bad_usage, "reject the running trial image", true},
    {"health", agent_cmd_health, agent_health_usage, "run health checks, then commit or reject",
     true},
    {"run", agent_cmd_run, agent_run_usage, "the online agent: poll the server, update, report",
     true},
    {"watch", agent_cmd_watch, agent_watch_usage, "print the running agent's events", false},
    {"ctl", agent_cmd_ctl, agent_ctl_usage, "send a command to the running agent", false},
};
#define N_VERBS (sizeof verbs / sizeof verbs[0])

static void usage(FILE *f)
{
    fprintf(f, "Usage: nobrick-agent [-c agent.conf] VERB [OPTIONS]\n\n"
               "The nobrick device agent. -c names the device's configuration\n"
               "(default " AGENT_DEFAULT_CONFIG ").\n\nVerbs:\n");
    for (size_t i = 0; i < N_VERBS; i++)
        fprintf(f, "  %-10s %s\n", verbs[i].name, verbs[i].summary);
    fprintf(f, "\nRun 'nobrick-agent VERB --help' for a verb's options.\n"
               "Exit codes: 0 done, 1 failed, 2 bad command line, 3 power cut (simulated\n"
               "flash), 4 a health check failed and the trial image was rejected, 5 run:\n"
               "reboot needed.\n");
}

static bool is_help(const char *a)
{
    return strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0 || strcmp(a, "help") == 0;
}

static bool wants_help(int argc, char **argv)
{
    for (int i = 1; i < argc; i++)
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0)
            return true;
    return false;
}

/* Global options before the verb: -c FILE, --config FILE, --config=FILE. */
static int global_opts(int argc, char **argv, const char **config)
{
    int i = 1;
    while (i < argc && argv[i][0] == '-' && !is_help(argv[i])) {
        if ((strcmp(argv[i], "-c") == 0 || strcmp(argv[i], "--config") == 0) && i + 1 < argc) {
            *config = argv[i + 1];
            i += 2;
        } else if (strncmp(argv[i], "--config=", 9) == 0) {
            *config = argv[i++] + 9;
        } else if (strcmp(argv[i], "--version") == 0) {
            printf("nobrick-agent 0.1.0\n");
            return -AGENT_EXIT_OK - 1;
        } else {
            fprintf(stderr, "nobrick-agent: unknown option '%s'\n", argv[i]);
            usage(stderr);
            return -AGENT_EXIT_USAGE - 1;
        }
    }
    return i;
}

int main(int argc, char **argv)
{
    const char *config = AGENT_DEFAULT_CONFIG;
    int i = global_opts(argc, argv, &config);
    if (i < 0)
        return -i - 1;
    if (i >= argc || is_help(argv[i])) {
        usage(i >= argc ? stderr : stdout);
        return i >= argc ? AGENT_EXIT_USAGE : AGENT_EXIT_OK;
    }
    for (size_t k = 0; k < N_VERBS; k++) {
        if (strcmp(argv[i], verbs[k].name) != 0)
            continue;
        if (wants_help(argc - i, argv + i)) {
            fputs(verbs[k].usage, stdout);
            if (verbs[k].writes)
                fputs(agent_power_help, stdout);
            return AGENT_EXIT_OK;
        }
        struct agent_config cfg;
        struct nb_diag diag = {{0}};
        enum nb_err err = agent_config_load(config, &cfg, &diag);
        if (err != NB_OK)
            return agent_fail(AGENT_PROG, NULL, err, &diag, "configuration");
        return verbs[k].run(&cfg, argc - i, argv + i);
    }
    fprintf(stderr, "nobrick-agent: unknown verb '%s'\n", argv[i]);
    usage(stderr);
    return AGENT_EXIT_USAGE;
}
