/* Shared declarations of the operator CLI `nobrick`: the command table, and
 * how every command reports a failure (one line naming the error, exit 1;
 * usage errors exit 2). */
#ifndef NOBRICK_CLI_H
#define NOBRICK_CLI_H

#include <nobrick/err.h>

#include <stdbool.h>
#include <stdio.h>

#define CLI_EXIT_OK 0
#define CLI_EXIT_FAIL 1
#define CLI_EXIT_USAGE 2

/* A top-level command: argv[0] is the command's own name. */
struct cli_command {
    const char *name;
    int (*run)(int argc, char **argv);
    const char *summary;
};

/* A subcommand of a command (`nobrick root rotate`). */
struct cli_subcommand {
    const char *name;
    int (*run)(int argc, char **argv);
    const char *usage; /* full --help text */
};

/* Runs the subcommand named by argv[1] from table (n entries), handling
 * `--help`, `help` and unknown names for the parent command `parent`. */
int cli_dispatch(const char *parent, const struct cli_subcommand *table, size_t n, int argc,
                 char **argv);

/* Prints "nobrick: WHAT: DETAIL (E_NAME)" to stderr, DETAIL being the
 * diag's message when set, else nb_strerror(err). Returns CLI_EXIT_FAIL. */
int cli_fail(enum nb_err err, const struct nb_diag *diag, const char *what);

/* Prints "nobrick: MESSAGE" and "Try 'nobrick CMD --help'." to stderr.
 * Returns CLI_EXIT_USAGE. */
int cli_usage_error(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* True when argv holds -h or --help (before any "--"). */
bool cli_wants_help(int argc, char **argv);

/* Strict decimal parsing for options: the whole string, no sign, no
 * overflow, within [min, max]. false on any bad input. */
bool cli_parse_u64(const char *s, unsigned long long min, unsigned long long max,
                   unsigned long long *out);

/* The commands, one file each (cmd_<name>.c). */
int cli_cmd_key(int argc, char **argv);
int cli_cmd_root(int argc, char **argv);
int cli_cmd_bundle(int argc, char **argv);
int cli_cmd_device(int argc, char **argv);

#endif
