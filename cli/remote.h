/* What every command that talks to nobrick-server shares (cli/remote.c):
 * the connection settings (flags > environment > cli.conf), one lazily
 * opened HTTP client, option parsing with --json, and one way to report a
 * failed call: "nobrick: CMD: 400 E_HASH (field bundle): MESSAGE", with a
 * hint for 401 and 403. */
#ifndef NOBRICK_CLI_REMOTE_H
#define NOBRICK_CLI_REMOTE_H

#include "cli.h"
#include "cli_config.h"
#include "http_client.h"

#include <jansson.h>

#define CLI_TIMEOUT_DEFAULT_S 60

/* A command's session with the server. */
struct cli_remote {
    const struct cli_global *g;
    const char *cmd; /* "release upload": names the command in messages */
    bool json;       /* --json, before or after the command */
    struct cli_http *http;
    const char *server, *token, *ca; /* resolved when the client opens */
    char token_from[1100];           /* where the token came from, for hints */
    char url[512];                   /* server without a trailing '/' */
    struct cli_config conf;
    bool unreachable; /* a call failed before the server answered */
};

/* A subcommand that talks to the server (`nobrick release list`). */
struct cli_remote_command {
    const char *name;
    int (*run)(struct cli_remote *r, int argc, char **argv);
    const char *usage; /* full --help text */
};

/* Runs the subcommand named by argv[1], as cli_dispatch does, with a
 * session whose client opens at its first call. */
int cli_remote_dispatch(const struct cli_global *g, const char *parent,
                        const struct cli_remote_command *table, size_t n, int argc, char **argv);

/* Runs one command without subcommands (`nobrick deploy`): argv[0] is its
 * name, --help prints usage. */
int cli_remote_run(const struct cli_global *g, const struct cli_remote_command *c, int argc,
                   char **argv);

/* cli_parse_opts with --json added; between min_pos and max_pos positional
 * arguments, pos_name naming them when too few ("ID"). */
int cli_remote_parse(struct cli_remote *r, int argc, char **argv, const struct cli_opt *opts,
                     size_t n, const char **pos, size_t min_pos, size_t max_pos, size_t *n_pos,
                     const char *pos_name);

/* One request; body (NULL: none) is consumed. On a 2xx answer, *answer is
 * its JSON (owned by the caller) and CLI_EXIT_OK is returned; otherwise the
 * failure is printed and CLI_EXIT_FAIL returned (r->unreachable set when
 * the server did not answer at all). */
int cli_remote_call(struct cli_remote *r, const char *method, const char *path, json_t *body,
                    json_t **answer);

/* As cli_remote_call, POSTing the file at file_path, streamed. */
int cli_remote_upload(struct cli_remote *r, const char *path, const char *file_path,
                      json_t **answer);

/* POST /api/v1/deployments: release_id to one device (device not NULL)
 * or to a group; as cli_remote_call (cmd_deployment.c: `nobrick deploy`
 * and `nobrick bench run` both deploy through it). */
int cli_deploy_create(struct cli_remote *r, long long release_id, const char *device,
                      const char *group, json_t **dep);

/* Prints doc as indented JSON on stdout; consumes it. */
int cli_remote_print_json(json_t *doc);

/* An id argument: a decimal number 1..2^53 (releases, deployments,
 * tokens), or a usage error naming what. */
int cli_remote_parse_id(struct cli_remote *r, const char *what, const char *s, long long *out);

/* A path segment: percent-encoded s into out, or a usage error. */
int cli_remote_segment(struct cli_remote *r, const char *s, char *out, size_t size);

/* Accessors that never fail: "" / 0 / false when absent or of another type. */
const char *cli_json_str(const json_t *o, const char *key);
long long cli_json_int(const json_t *o, const char *key);
bool cli_json_bool(const json_t *o, const char *key);

/* "a,b,c" from a JSON array of strings, cut at a whole value to fit. */
void cli_json_join(const json_t *a, char *out, size_t size);
/* A quarantine record of the API (api.md) in words: "quarantined until
 * 2026-11-30T14:00:00Z after 3 failed attempts (E_HEALTH)". */
void cli_quarantine_text(const json_t *q, char *out, size_t size);

#endif
