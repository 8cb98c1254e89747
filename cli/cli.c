/* What every command of the CLI shares: subcommand dispatch, one-line
 * failure reports naming the error code, strict number parsing. */
#include "cli.h"

#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

int cli_dispatch(const char *parent, const struct cli_subcommand *table, size_t n, int argc,
                 char **argv)
{
    if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
        strcmp(argv[1], "help") == 0) {
        FILE *f = argc < 2 ? stderr : stdout;
        fprintf(f, "Usage: nobrick %s SUBCOMMAND [OPTIONS]\n\nSubcommands:\n", parent);
        for (size_t i = 0; i < n; i++)
            fprintf(f, "  %s\n", table[i].name);
        fprintf(f, "\nRun 'nobrick %s SUBCOMMAND --help' for details.\n", parent);
        return argc < 2 ? CLI_EXIT_USAGE : CLI_EXIT_OK;
    }
    for (size_t i = 0; i < n; i++) {
        if (strcmp(argv[1], table[i].name) != 0)
            continue;
        if (cli_wants_help(argc - 1, argv + 1)) {
            fputs(table[i].usage, stdout);
            return CLI_EXIT_OK;
        }
        return table[i].run(argc - 1, argv + 1);
    }
    return cli_usage_error(parent, "%s: unknown subcommand '%s'", parent, argv[1]);
}

int cli_fail(enum nb_err err, const struct nb_diag *diag, const char *what)
{
    const char *detail = (diag != NULL && diag->msg[0] != '\0') ? diag->msg : nb_strerror(err);
    fprintf(stderr, "nobrick: %s: %s (%s)\n", what, detail, nb_errname(err));
    return CLI_EXIT_FAIL;
}

int cli_usage_error(const char *cmd, const char *fmt, ...)
{
    va_list ap;
    fputs("nobrick: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, "\nTry 'nobrick %s --help'.\n", cmd);
    return CLI_EXIT_USAGE;
}

bool cli_wants_help(int argc, char **argv)
{
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--") == 0)
            return false;
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0)
            return true;
    }
    return false;
}

bool cli_parse_u64(const char *s, unsigned long long min, unsigned long long max,
                   unsigned long long *out)
{
    if (s == NULL || *s < '0' || *s > '9')
        return false;
    errno = 0;
    char *end = NULL;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno != 0 || end == NULL || *end != '\0' || v < min || v > max)
        return false;
    *out = v;
    return true;
}
