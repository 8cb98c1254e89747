/* The CLI's configuration file (cli/cli_config.c), by default
 * $XDG_CONFIG_HOME/nobrick/cli.conf (else ~/.config/nobrick/cli.conf):
 * `name = value` lines (server, token, ca, timeout), `#` comments. A file
 * holding a token must be private to its owner (chmod 600). */
#ifndef NOBRICK_CLI_CONFIG_H
#define NOBRICK_CLI_CONFIG_H

#include <nobrick/err.h>

#include <stdbool.h>
#include <stddef.h>

#define CLI_CONFIG_MAX_FILE (64u * 1024u)

/* A setting's value; "" when the file does not set it. */
struct cli_config {
    char server[512];
    char token[160];
    char ca[1024];
    char timeout[16];
};

/* Parses the file's text (len bytes, need not be NUL-terminated) into *c.
 * Unknown names, a setting given twice, a line without '=' or a value too
 * long: NB_EPARSE / NB_ELENGTH with "line N: ..." in diag. */
NB_MUST_CHECK enum nb_err cli_config_parse(const char *text, size_t len, struct cli_config *c,
                                           struct nb_diag *diag);

/* Reads and parses path. *found is false (and *c empty, NB_OK) when the
 * file does not exist. A file with a token that group or others may read or
 * write: NB_EUNAUTHORIZED, diag saying to chmod 600 it. */
NB_MUST_CHECK enum nb_err cli_config_load(const char *path, struct cli_config *c, bool *found,
                                          struct nb_diag *diag);

/* The default path from the environment (XDG_CONFIG_HOME, else HOME).
 * false when neither is set or the path does not fit in size bytes. */
bool cli_config_default_path(char *out, size_t size);

#endif
