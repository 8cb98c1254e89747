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

/* Matches "--name VALUE" or "--name=VALUE" at argv[*i]: 1 with *val set,
 * 0 when it is another option, -1 when the value is missing. */
static int match(int argc, char **argv, int *i, const char *name, bool flag, const char **val)
{
    size_t n = strlen(name);
    const char *a = argv[*i];
    if (strncmp(a, name, n) != 0 || (a[n] != '\0' && (flag || a[n] != '=')))
        return 0;
    if (flag || a[n] == '=') {
        *val = flag ? "" : a + n + 1;
        return 1;
    }
    if (*i + 1 >= argc)
        return -1;
    *val = argv[++*i];
    return 1;
}

static int take(const char *cmd, const struct cli_opt *o, const char *val)
{
    if (o->flag != NULL) {
        *o->flag = true;
    } else if (o->list != NULL) {
        if (*o->n == o->max)
            return cli_usage_error(cmd, "%s: at most %zu %s options", cmd, o->max, o->name);
        o->list[(*o->n)++] = val;
    } else {
        if (*o->value != NULL)
            return cli_usage_error(cmd, "%s: %s given twice", cmd, o->name);
        *o->value = val;
    }
    return CLI_EXIT_OK;
}

static int positional(const char *cmd, const char *arg, const char **pos, size_t max_pos,
                      size_t *n_pos)
{
    if (*n_pos == max_pos)
        return cli_usage_error(cmd, "%s: unexpected argument '%s'", cmd, arg);
    pos[(*n_pos)++] = arg;
    return CLI_EXIT_OK;
}

int cli_parse_opts(const char *cmd, int argc, char **argv, const struct cli_opt *opts, size_t n,
                   const char **pos, size_t max_pos, size_t *n_pos)
{
    bool only_pos = false;
    *n_pos = 0;
    for (int i = 1; i < argc; i++) {
        const char *val = NULL;
        size_t k = 0;
        int r = 0;
        if (!only_pos && strcmp(argv[i], "--") == 0) {
            only_pos = true;
            continue;
        }
        for (; !only_pos && k < n && r == 0; k++)
            r = match(argc, argv, &i, opts[k].name, opts[k].flag != NULL, &val);
        if (r < 0)
            return cli_usage_error(cmd, "%s: %s needs a value", cmd, argv[i]);
        int rc = r > 0 ? take(cmd, &opts[k - 1], val) : CLI_EXIT_OK;
        if (r == 0 && !only_pos && argv[i][0] == '-' && argv[i][1] != '\0')
            return cli_usage_error(cmd, "%s: unknown option '%s'", cmd, argv[i]);
        if (r == 0)
            rc = positional(cmd, argv[i], pos, max_pos, n_pos);
        if (rc != CLI_EXIT_OK)
            return rc;
    }
    return CLI_EXIT_OK;
}
