/* Human output of the CLI (cli/table.c): aligned tables whose columns are
 * as wide as their widest cell, and the cell formats every command shares
 * (UTC ISO 8601 times, binary-prefixed sizes). --json output bypasses it. */
#ifndef NOBRICK_CLI_TABLE_H
#define NOBRICK_CLI_TABLE_H

#include <nobrick/err.h>

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define CLI_TABLE_MAX_COLS 12
#define CLI_TABLE_MAX_ROWS 100000

struct cli_table;

/* A table with n_cols columns (at most CLI_TABLE_MAX_COLS) named by
 * headers, which must outlive it. NULL when out of memory or n_cols is 0 or too large. */
struct cli_table *cli_table_new(size_t n_cols, const char *const *headers);
void cli_table_free(struct cli_table *t); /* NULL: no-op */

/* Appends a row of n_cols cells, copied; a NULL or empty cell shows as "-".
 * NB_ENOMEM, or NB_ELENGTH past CLI_TABLE_MAX_ROWS rows. */
NB_MUST_CHECK enum nb_err cli_table_add(struct cli_table *t, const char *const *cells);

size_t cli_table_rows(const struct cli_table *t);

/* Prints the header and the rows, columns two spaces apart, no trailing
 * blanks. */
void cli_table_print(const struct cli_table *t, FILE *f);

/* UNIX seconds as "2026-03-01T12:00:00Z"; 0 or less as "-" (never). */
void cli_table_time(int64_t t, char out[32]);

/* Bytes as "512 B", "1.5 KiB", "293.8 MiB", "4.0 GiB". */
void cli_table_size(uint64_t n, char out[32]);

#endif
