/* The server's options (config.c): one table of names shared by the
 * command line (--name VALUE) and the config file (name = VALUE lines, '#'
 * comments), so the two can never drift apart. Command-line values win
 * over the file's. */
#ifndef NOBRICK_SERVER_CONFIG_H
#define NOBRICK_SERVER_CONFIG_H

#include "srv.h"

#include <stdio.h>

/* Fills cfg from argv[first..argc-1], after the file named by --config if
 * any. NB_EINVAL (diag says which option) for an unknown option, a missing
 * or malformed value. Strings point into argv or into memory owned until
 * config_free. */
NB_MUST_CHECK enum nb_err config_load(struct srv_config *cfg, int argc, char **argv, int first,
                                      struct nb_diag *diag);
void config_free(void);
/* Prints the options with their defaults. */
void config_usage(FILE *f);

#endif
