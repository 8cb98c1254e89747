/* nobrick: the operator CLI. main() reads the global options (server,
 * token, CA, output format) and dispatches to one cmd_<name>.c per command
 * through the table below; each command owns its options and help. */
#include "cli.h"

#include <string.h>

static const struct cli_command commands[] = {
    {"key", cli_cmd_key, "make signing and device keys"},
    {"root", cli_cmd_root, "create, rotate and verify the fleet's root of trust"},
    {"bundle", cli_cmd_bundle, "create, inspect and verify signed update bundles"},
    {"release", cli_cmd_release, "upload, list, show and withdraw releases on the server"},
    {"device", cli_cmd_device, "the fleet's devices; provision a simulated device"},
    {"deploy", cli_cmd_deploy, "send a release to a device or a group"},
    {"deployment", cli_cmd_deployment, "list, show and cancel deployments"},
    {"bench", cli_cmd_bench, "deploy a release to test devices and run a battery of tests"},
    {"rollout", cli_cmd_rollout, "send a release to a fleet in gated waves"},
    {"token", cli_cmd_token, "create, list and revoke API tokens"},
    {"audit", cli_cmd_audit, "the server's audit log"},
};

static void usage(FILE *f)
{
    fprintf(f, "Usage: nobrick [GLOBAL OPTIONS] COMMAND [ARGS...]\n\n"
               "nobrick is the operator tool of the nobrick OTA system.\n\nCommands:\n");
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        fprintf(f, "  %-11s %s\n", commands[i].name, commands[i].summary);
    fprintf(f, "\nGlobal options (for the commands that talk to nobrick-server):\n"
               "  --server URL    the server (env NOBRICK_SERVER; cli.conf 'server')\n"
               "  --token T       an API token (env NOBRICK_TOKEN, safer than argv;\n"
               "                  cli.conf 'token')\n"
               "  --ca FILE       PEM CA certificates for HTTPS (env NOBRICK_CA; cli.conf 'ca')\n"
               "  --timeout S     seconds to wait for an answer (default 60)\n"
               "  --config FILE   instead of $XDG_CONFIG_HOME/nobrick/cli.conf\n"
               "  --json          print the server's JSON instead of tables\n"
               "\nRun 'nobrick COMMAND --help' for a command's options; docs/cli.md has them "
               "all.\n");
}

/* Reads the global options before the command; returns the index of the
 * command in argv, or -1 after a usage error. */
static int parse_global(int argc, char **argv, struct cli_global *g)
{
    const struct {
        const char *name;
        const char **value;
    } opts[] = {{"--server", &g->server},
                {"--token", &g->token},
                {"--ca", &g->ca},
                {"--timeout", &g->timeout},
                {"--config", &g->config}};
    int i = 1;
    while (i < argc && strncmp(argv[i], "--", 2) == 0) {
        if (strcmp(argv[i], "--json") == 0) {
            g->json = true;
            i++;
            continue;
        }
        size_t k = 0;
        while (k < sizeof opts / sizeof opts[0] && strcmp(argv[i], opts[k].name) != 0)
            k++;
        if (k == sizeof opts / sizeof opts[0])
            return i; /* --help, --version or an unknown option: main() answers */
        if (i + 1 >= argc || *opts[k].value != NULL) {
            fprintf(stderr, "nobrick: %s %s\nTry 'nobrick --help'.\n", argv[i],
                    i + 1 >= argc ? "needs a value" : "given twice");
            return -1;
        }
        *opts[k].value = argv[i + 1];
        i += 2;
    }
    return i;
}

int main(int argc, char **argv)
{
    struct cli_global g;
    memset(&g, 0, sizeof g);
    int at = parse_global(argc, argv, &g);
    if (at < 0)
        return CLI_EXIT_USAGE;
    if (at >= argc) {
        usage(stderr);
        return CLI_EXIT_USAGE;
    }
    const char *cmd = argv[at];
    if (strcmp(cmd, "--help") == 0 || strcmp(cmd, "-h") == 0 || strcmp(cmd, "help") == 0) {
        usage(stdout);
        return CLI_EXIT_OK;
    }
    if (strcmp(cmd, "--version") == 0) {
        printf("nobrick 0.1.0\n");
        return CLI_EXIT_OK;
    }
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++) {
        if (strcmp(cmd, commands[i].name) == 0)
            return commands[i].run(&g, argc - at, argv + at);
    }
    if (cmd[0] == '-')
        fprintf(stderr, "nobrick: unknown global option '%s'\n", cmd);
    else
        fprintf(stderr, "nobrick: unknown command '%s'\n", cmd);
    usage(stderr);
    return CLI_EXIT_USAGE;
}
