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

/* The global options, given before the command (`nobrick --server URL
 * release list`). Only commands that talk to a server use them; NULL when
 * not given. cli/remote.c completes them from the environment and cli.conf. */
struct cli_global {
    const char *server, *token, *ca, *config, *timeout;
    bool json;
};

/* A top-level command: argv[0] is the command's own name. */
struct cli_command {
    const char *name;
    int (*run)(const struct cli_global *g, int argc, char **argv);
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

/* One option of a command: a value (`--name V` or `--name=V`), a repeatable
 * list (at most max values, counted in *n), or a flag (no value). */
struct cli_opt {
    const char *name;
    const char **value;
    const char **list;
    size_t *n;
    size_t max;
    bool *flag;
};

/* Parses argv[1..] against opts (n of them). Other arguments are positional:
 * at most max_pos go to pos, counted in *n_pos; "--" ends the options.
 * Returns CLI_EXIT_OK, or CLI_EXIT_USAGE after printing what was wrong. */
int cli_parse_opts(const char *cmd, int argc, char **argv, const struct cli_opt *opts, size_t n,
                   const char **pos, size_t max_pos, size_t *n_pos);

/* Strict decimal parsing for options: the whole string, no sign, no
 * overflow, within [min, max]. false on any bad input. */
bool cli_parse_u64(const char *s, unsigned long long min, unsigned long long max,
                   unsigned long long *out);

/* The commands, one file each (cmd_<name>.c). */
int cli_cmd_key(const struct cli_global *g, int argc, char **argv);
int cli_cmd_root(const struct cli_global *g, int argc, char **argv);
/* cmd_root_publish.c: `root publish|show`, the verbs that talk to the server. */
bool cli_root_is_remote(const char *verb);
int cli_root_remote(const struct cli_global *g, int argc, char **argv);
int cli_cmd_bundle(const struct cli_global *g, int argc, char **argv);
int cli_cmd_device(const struct cli_global *g, int argc, char **argv);
int cli_cmd_release(const struct cli_global *g, int argc, char **argv);
int cli_cmd_deploy(const struct cli_global *g, int argc, char **argv);
int cli_cmd_bench(const struct cli_global *g, int argc, char **argv);
int cli_cmd_rollout(const struct cli_global *g, int argc, char **argv);
int cli_cmd_deployment(const struct cli_global *g, int argc, char **argv);
int cli_cmd_token(const struct cli_global *g, int argc, char **argv);
int cli_cmd_audit(const struct cli_global *g, int argc, char **argv);

/* The server-side subcommands of `nobrick device` (cmd_fleet_device.c). */
int cli_fleet_device(const struct cli_global *g, int argc, char **argv);

#endif
