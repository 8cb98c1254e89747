/* nobrick: the operator CLI. main() only dispatches to one cmd_<name>.c per
 * command through the table below; each command owns its options and help. */
#include "cli.h"

#include <string.h>

static const struct cli_command commands[] = {
    {"key", cli_cmd_key, "make signing and device keys"},
    {"root", cli_cmd_root, "create, rotate and verify the fleet's root of trust"},
    {"bundle", cli_cmd_bundle, "create, inspect and verify signed update bundles"},
    {"device", cli_cmd_device, "provision a simulated device"},
};

static void usage(FILE *f)
{
    fprintf(f, "Usage: nobrick COMMAND [ARGS...]\n\n"
               "nobrick is the operator tool of the nobrick OTA system.\n\nCommands:\n");
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        fprintf(f, "  %-8s %s\n", commands[i].name, commands[i].summary);
    fprintf(f, "\nRun 'nobrick COMMAND --help' for a command's options.\n");
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return CLI_EXIT_USAGE;
    }
    if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
        strcmp(argv[1], "help") == 0) {
        usage(stdout);
        return CLI_EXIT_OK;
    }
    if (strcmp(argv[1], "--version") == 0) {
        printf("nobrick 0.1.0\n");
        return CLI_EXIT_OK;
    }
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++) {
        if (strcmp(argv[1], commands[i].name) == 0)
            return commands[i].run(argc - 1, argv + 1);
    }
    fprintf(stderr, "nobrick: unknown command '%s'\n", argv[1]);
    usage(stderr);
    return CLI_EXIT_USAGE;
}
